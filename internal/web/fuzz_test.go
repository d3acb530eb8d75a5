package web_test

import (
	"bufio"
	"bytes"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/stacktest"
)

// FuzzCallbackQuery sends crafted queries to /getAToken through the real router, in a browser
// session with a sign-in pending. "STATE" in the query stands for that sign-in's real state, so
// the fuzzer also reaches the code and error handling behind the state check. Whatever the
// query: the server does not panic (the recovery page would say "Something went wrong"), the
// answer is a 4xx page, nobody is signed in, and nothing is written outside the session folder
// (which holds only files named as the store names them).
func FuzzCallbackQuery(f *testing.F) {
	h := stacktest.Start(f, stacktest.Options{})
	// Each input runs from an empty folder, so a write to a relative path would show up there.
	work := f.TempDir()
	watched := []string{work, filepath.Dir(h.Cfg.SessionDir)}
	before := make([][]string, len(watched))
	for i, dir := range watched {
		before[i] = names(f, dir)
	}
	f.Add("code=abc&state=STATE")
	f.Fuzz(func(t *testing.T, query string) {
		t.Chdir(work)
		// (The stack's helpers report to f, which a fuzz target must not use: plain calls here.)
		c := h.Browser()
		defer c.CloseIdleConnections()
		login := get(t, c, h.Base+"/login")
		m := signInLink.FindStringSubmatch(login.Body)
		if m == nil {
			t.Fatalf("/login: %d without a sign-in link", login.Status)
		}
		authz, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		query = strings.ReplaceAll(query, "STATE", url.QueryEscape(authz.Query().Get("state")))

		// Sent as raw bytes, as an attacker would: Go's client refuses to send some of them.
		resp := rawGet(t, h.Base, "/getAToken?"+query, h.CookieName, h.SessionCookie(c))
		base, _ := url.Parse(h.Base)
		c.Jar.SetCookies(base, resp.Cookies())
		p := stacktest.ReadPage(t, resp)
		if p.Status < 400 || p.Status > 499 || strings.Contains(p.Body, "Something went wrong") {
			t.Fatalf("GET /getAToken?%q: %d, want a 4xx page\n%s", query, p.Status, p.Body)
		}
		if home := get(t, c, h.Base+"/"); home.URL.Path != "/login" {
			t.Fatalf("GET /getAToken?%q signed the browser in", query)
		}
		for _, name := range names(t, h.Cfg.SessionDir) {
			if !sessionFileName.MatchString(name) && !strings.HasPrefix(name, ".tmp-") && name != ".lock" { // .lock: the store's advisory lock
				t.Fatalf("GET /getAToken?%q left a file the store never writes in the session folder: %q", query, name)
			}
		}
		for i, dir := range watched {
			if got := names(t, dir); !slices.Equal(got, before[i]) {
				t.Fatalf("GET /getAToken?%q wrote outside the session folder: %s went from %v to %v", query, dir, before[i], got)
			}
		}
	})
}

// rawGet sends a GET with target written as is on the request line, and the session cookie.
func rawGet(t *testing.T, base, target, cookieName, cookie string) *http.Response {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET " + target + " HTTP/1.1\r\nHost: " + u.Host + "\r\nCookie: " + cookieName + "=" + cookie +
		"\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %q: no HTTP answer: %v", target, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.Request = &http.Request{URL: u}
	return resp
}

// sessionFileName is how the file store names a session: hex(SHA-256(key)).
var sessionFileName = regexp.MustCompile(`^[0-9a-f]{64}$`)

var signInLink = regexp.MustCompile(`id="sign-in" href="([^"]+)"`)

func get(t *testing.T, c *http.Client, u string) stacktest.Page {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return stacktest.ReadPage(t, resp)
}

func names(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
