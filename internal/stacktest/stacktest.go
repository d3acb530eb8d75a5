// Package stacktest starts the whole graphauth stack for tests: the local emulator over HTTPS and
// the real app (router, MSAL, session store) on loopback, both stopped when the test ends, plus a
// cookie-jar "browser" and helpers to walk the sign-in flow.
package stacktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"html"
	"io"
	"log/slog"
	"maps"
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
	"github.com/graphauth/graphauth/internal/session"
	"github.com/graphauth/graphauth/internal/web"
)

// Stack is the real app (router, MSAL, session store) running against the real emulator over
// HTTPS, both on loopback; both stop when the test ends.
type Stack struct {
	t      testing.TB
	Emu    *emulator.Server
	Cfg    config.Config
	App    *web.App
	Base   string      // http://127.0.0.1:PORT
	Logs   *SyncBuffer // everything the app logged
	CAPool *x509.CertPool
	// CookieName is the app's session cookie.
	CookieName string
	// Users are the emulator's test users, in the order its sign-in page lists them.
	Users []emulator.User
}

// Options adjust the stack.
type Options struct {
	Env         map[string]string      // extra or overriding config variables
	NoAutoLogin bool                   // do not auto-approve the first user
	EmuConfig   func(*emulator.Config) // adjust the emulator before it starts
	// Wrap, if set, wraps the app's handler (e.g. to record what a browser sent).
	Wrap func(http.Handler) http.Handler
}

// Start runs the emulator and the app and returns when both serve.
func Start(t testing.TB, o Options) *Stack {
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
	if !o.NoAutoLogin {
		ecfg.Apps[0].AutoApproveUser = ecfg.Users[0].ID
	}
	if o.EmuConfig != nil {
		o.EmuConfig(&ecfg)
	}
	emu, err := emulator.New(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })

	vars := emu.AppEnv()
	maps.Copy(vars, map[string]string{
		"HOST":             "127.0.0.1",
		"PORT":             strconv.Itoa(port),
		"SESSION_DIR":      t.TempDir(),
		"OUTBOUND_TIMEOUT": "3s",
		"SESSION_KEY":      NewSessionKey(), // the test's own; never one from the repository
	})
	maps.Copy(vars, o.Env)
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	app, closeStore, err := web.Build(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	handler := app.Handler()
	if o.Wrap != nil {
		handler = o.Wrap(handler)
	}
	go func() { done <- web.Serve(ctx, ln, handler, log, "", "") }()

	h := &Stack{t: t, Emu: emu, Cfg: cfg, App: app, Base: base, Logs: logs, CookieName: app.CookieName(), Users: ecfg.Users}
	pem, err := os.ReadFile(emu.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	h.CAPool = x509.NewCertPool()
	h.CAPool.AppendCertsFromPEM(pem)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		_ = closeStore()
		h.CheckLogsClean()
	})
	return h
}

// checkLogsClean fails the test if a secret, token, code or cookie reached the log.
func (h *Stack) CheckLogsClean() {
	logs := h.Logs.String()
	for _, bad := range []string{h.Cfg.ClientSecret, "eyJ", "refresh_token", "graphauth_session="} {
		if strings.Contains(logs, bad) {
			h.t.Errorf("log contains %q:\n%s", bad, logs)
		}
	}
	if authCodeInLog.MatchString(logs) {
		h.t.Errorf("log contains an authorization code:\n%s", logs)
	}
}

// browser is a cookie-jar client that follows redirects across the app and the emulator.
func (h *Stack) Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:     jar,
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: h.CAPool},
		},
	}
}

// noFollow returns a copy of c that stops at the first redirect.
func NoFollow(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// Page is a response as a test looks at it.
type Page struct {
	Status int
	URL    *url.URL // where the request ended, after redirects
	Body   string
	Header http.Header
}

func (h *Stack) Get(c *http.Client, path string) Page {
	h.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = h.Base + path
	}
	resp, err := c.Get(u)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	return ReadPage(h.t, resp)
}

func (h *Stack) Post(c *http.Client, path string, hdr map[string]string) Page {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.Base+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	return ReadPage(h.t, resp)
}

func ReadPage(t testing.TB, resp *http.Response) Page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Page{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(b), Header: resp.Header}
}

var signInHref = regexp.MustCompile(`id="sign-in" href="([^"]+)"`)

// authorizeURL loads /login and returns the sign-in button's target.
func (h *Stack) AuthorizeURL(c *http.Client) string {
	h.t.Helper()
	p := h.Get(c, "/login")
	if p.Status != http.StatusOK {
		h.t.Fatalf("/login: %d\n%s", p.Status, p.Body)
	}
	m := signInHref.FindStringSubmatch(p.Body)
	if m == nil {
		h.t.Fatalf("no sign-in link on /login:\n%s", p.Body)
	}
	return htmlUnescape(m[1])
}

// signIn runs the whole flow for the emulator's auto-approved user and returns the final page.
func (h *Stack) SignIn(c *http.Client) Page {
	h.t.Helper()
	p := h.Get(c, h.AuthorizeURL(c))
	if p.Status != http.StatusOK || p.URL.Path != "/" {
		h.t.Fatalf("sign-in ended at %s with %d:\n%s", p.URL, p.Status, p.Body)
	}
	return p
}

// callbackURL follows the authorize URL up to (not into) the app's callback.
func (h *Stack) CallbackURL(c *http.Client, authorize string) string {
	h.t.Helper()
	nf := NoFollow(c)
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

func (h *Stack) SessionCookie(c *http.Client) string {
	u, _ := url.Parse(h.Base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == h.CookieName {
			return ck.Value
		}
	}
	return ""
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#39;", "'", "&quot;", `"`, "&lt;", "<", "&gt;", ">").Replace(s)
}

func (h *Stack) Counter(key string) int { return h.Emu.Counters()[key] }

func MustContain(t testing.TB, p Page, parts ...string) {
	t.Helper()
	text := html.UnescapeString(p.Body)
	for _, s := range parts {
		if !strings.Contains(p.Body, s) && !strings.Contains(text, s) {
			t.Errorf("page %s (%d) lacks %q:\n%s", p.URL, p.Status, s, p.Body)
		}
	}
}

type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// authCodeInLog matches a code= parameter or attribute (not error_code=).
var authCodeInLog = regexp.MustCompile(`(^|[^_A-Za-z])code=`)

// NewSessionKey makes a SESSION_KEY: 32 random bytes as 64 hex characters.
func NewSessionKey() string {
	b := make([]byte, session.KeySize)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Keys is the key ring the app seals its sessions with.
func (h *Stack) Keys() *session.Keys {
	k, err := session.NewKeys(h.Cfg.SessionKeys...)
	if err != nil {
		h.t.Fatal(err)
	}
	return k
}

// StoreKey is what the app's store keeps a session under: scs's SHA-256 of the cookie value
// (HashTokenInStore).
func StoreKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// SessionValues reads c's session straight from the session folder (filesystem sessions), the way
// the app stores it: under the SHA-256 of the cookie (scs's HashTokenInStore), in web.SessionCodec.
func (h *Stack) SessionValues(c *http.Client) map[string]any {
	h.t.Helper()
	st, err := session.NewFileStore(h.Cfg.SessionDir, session.FileStoreOptions{SweepInterval: -1})
	if err != nil {
		h.t.Fatal(err)
	}
	defer st.Close()
	b, found, err := session.Sealed(st, h.Keys()).Find(StoreKey(h.SessionCookie(c)))
	if err != nil || !found {
		h.t.Fatalf("session not found (%v)", err)
	}
	_, values, err := web.SessionCodec{}.Decode(b)
	if err != nil {
		h.t.Fatal(err)
	}
	return values
}
