package web

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/config"
	"github.com/graphauth/graphauth/internal/emulator"
)

// harness runs the real app (router, MSAL, session store) against the real emulator over HTTPS,
// both on loopback, and stops both when the test ends.
type harness struct {
	t      *testing.T
	emu    *emulator.Server
	cfg    config.Config
	app    *App
	base   string // http://127.0.0.1:PORT
	logs   *syncBuffer
	caPool *x509.CertPool
}

type harnessOpts struct {
	env         map[string]string // extra or overriding config variables
	noAutoLogin bool              // do not auto-approve the first user
	emuConfig   func(*emulator.Config)
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	base := "http://127.0.0.1:" + strconv.Itoa(port)

	ecfg := emulator.DefaultConfig()
	ecfg.Apps[0].RedirectURIs = []string{base + "/getAToken"}
	ecfg.Apps[0].PostLogoutRedirectURIs = []string{base + "/"}
	if !o.noAutoLogin {
		ecfg.Apps[0].AutoApproveUser = ecfg.Users[0].ID
	}
	if o.emuConfig != nil {
		o.emuConfig(&ecfg)
	}
	emu, err := emulator.New(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })

	vars := map[string]string{
		"CLIENT_ID":          emulator.DemoClientID,
		"CLIENT_SECRET":      emulator.DemoClientSecret,
		"AUTHORITY":          emu.Authority(),
		"INSTANCE_DISCOVERY": "false",
		"EXTRA_CA_FILE":      emu.CAFile(),
		"GRAPH_ENDPOINT":     emu.GraphMeURL(),
		"HOST":               "127.0.0.1",
		"PORT":               strconv.Itoa(port),
		"SESSION_DIR":        t.TempDir(),
		"OUTBOUND_TIMEOUT":   "3s",
	}
	for k, v := range o.env {
		vars[k] = v
	}
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	app, closeStore, err := Build(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, app.Handler(), log, "", "") }()

	h := &harness{t: t, emu: emu, cfg: cfg, app: app, base: base, logs: logs}
	pem, err := os.ReadFile(emu.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	h.caPool = x509.NewCertPool()
	h.caPool.AppendCertsFromPEM(pem)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		_ = closeStore()
		h.checkLogsClean()
	})
	return h
}

// checkLogsClean fails the test if a secret, token, code or cookie reached the log.
func (h *harness) checkLogsClean() {
	logs := h.logs.String()
	for _, bad := range []string{h.cfg.ClientSecret, "eyJ", "refresh_token", "graphauth_session="} {
		if strings.Contains(logs, bad) {
			h.t.Errorf("log contains %q:\n%s", bad, logs)
		}
	}
	if authCodeInLog.MatchString(logs) {
		h.t.Errorf("log contains an authorization code:\n%s", logs)
	}
}

// browser is a cookie-jar client that follows redirects across the app and the emulator.
func (h *harness) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:     jar,
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: h.caPool},
		},
	}
}

// noFollow returns a copy of c that stops at the first redirect.
func noFollow(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func (h *harness) get(c *http.Client, path string) page {
	h.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = h.base + path
	}
	resp, err := c.Get(u)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	return readPage(h.t, resp)
}

func (h *harness) post(c *http.Client, path string, hdr map[string]string) page {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.base+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	return readPage(h.t, resp)
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(b), header: resp.Header}
}

var signInHref = regexp.MustCompile(`id="sign-in" href="([^"]+)"`)

// authorizeURL loads /login and returns the sign-in button's target.
func (h *harness) authorizeURL(c *http.Client) string {
	h.t.Helper()
	p := h.get(c, "/login")
	if p.status != http.StatusOK {
		h.t.Fatalf("/login: %d\n%s", p.status, p.body)
	}
	m := signInHref.FindStringSubmatch(p.body)
	if m == nil {
		h.t.Fatalf("no sign-in link on /login:\n%s", p.body)
	}
	return htmlUnescape(m[1])
}

// signIn runs the whole flow for the emulator's auto-approved user and returns the final page.
func (h *harness) signIn(c *http.Client) page {
	h.t.Helper()
	p := h.get(c, h.authorizeURL(c))
	if p.status != http.StatusOK || p.url.Path != "/" {
		h.t.Fatalf("sign-in ended at %s with %d:\n%s", p.url, p.status, p.body)
	}
	return p
}

// callbackURL follows the authorize URL up to (not into) the app's callback.
func (h *harness) callbackURL(c *http.Client, authorize string) string {
	h.t.Helper()
	nf := noFollow(c)
	next := authorize
	for range 5 {
		resp, err := nf.Get(next)
		if err != nil {
			h.t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if loc == "" {
			h.t.Fatalf("no redirect from %s (status %d)", next, resp.StatusCode)
		}
		u, _ := resp.Request.URL.Parse(loc)
		if u.Path == "/getAToken" {
			return u.String()
		}
		next = u.String()
	}
	h.t.Fatal("never reached the callback")
	return ""
}

func (h *harness) sessionCookie(c *http.Client) string {
	u, _ := url.Parse(h.base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == h.app.sessions.Cookie.Name {
			return ck.Value
		}
	}
	return ""
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#39;", "'", "&quot;", `"`, "&lt;", "<", "&gt;", ">").Replace(s)
}

func counter(h *harness, key string) int { return h.emu.Counters()[key] }

func mustContain(t *testing.T, p page, parts ...string) {
	t.Helper()
	text := html.UnescapeString(p.body)
	for _, s := range parts {
		if !strings.Contains(p.body, s) && !strings.Contains(text, s) {
			t.Errorf("page %s (%d) lacks %q:\n%s", p.url, p.status, s, p.body)
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var errStop = errors.New("stop")

// authCodeInLog matches a code= parameter or attribute (not error_code=).
var authCodeInLog = regexp.MustCompile(`(^|[^_A-Za-z])code=`)

var _ = fmt.Sprintf
