package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/stacktest"
)

func TestSessionPagesAreNotCached(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	nf := stacktest.NoFollow(c)
	for _, path := range []string{"/", "/login", "/token", "/flow", "/msal-demo", "/logout"} {
		if got := h.Get(nf, path).Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", path, got)
		}
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	csp := h.Get(h.Browser(), "/login").Header.Get("Content-Security-Policy")
	u, _ := url.Parse(h.Emu.Authority())
	for _, want := range []string{"default-src 'self'", "form-action 'self' https://" + u.Host + ";", "base-uri 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
}

// Request IDs are the app's own unless a trusted proxy sends one.
func TestRequestIDs(t *testing.T) {
	get := func(h *stacktest.Stack, id string) string {
		req, _ := http.NewRequest(http.MethodGet, h.Base+"/healthz", nil)
		req.Header.Set("X-Request-Id", id)
		resp, err := h.Browser().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Request-Id")
	}
	untrusted := stacktest.Start(t, stacktest.Options{})
	if got := get(untrusted, "planted-by-client"); got == "planted-by-client" || len(got) != 24 {
		t.Errorf("from an untrusted peer: request ID %q, want the app's own (24 hex)", got)
	}
	if a, b := get(untrusted, ""), get(untrusted, ""); a == b {
		t.Errorf("two requests got one ID %q", a)
	}
	if strings.Contains(untrusted.Logs.String(), "planted-by-client") {
		t.Error("the client's X-Request-Id reached the log")
	}
	proxied := stacktest.Start(t, stacktest.Options{Env: map[string]string{"TRUSTED_PROXIES": "127.0.0.1"}})
	if got := get(proxied, "lb-7f3a:01"); got != "lb-7f3a:01" {
		t.Errorf("from a trusted proxy: request ID %q, want the proxy's", got)
	}
	if got := get(proxied, "bad id <script>"); strings.ContainsAny(got, " <>") {
		t.Errorf("a malformed ID from the proxy was kept: %q", got)
	}
}

// An error page shows its request ID (what a person quotes when asking for help); a page that
// worked does not, so it depends only on what it shows (the home page is kept rendered per
// user) and its ID travels in X-Request-Id alone.
func TestRequestIDOnErrorPagesOnly(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	missing := h.Get(c, "/no-such-page")
	if id := missing.Header.Get("X-Request-Id"); missing.Status != http.StatusNotFound || id == "" || !strings.Contains(missing.Body, id) {
		t.Errorf("404 page (%d) does not show its request ID %q", missing.Status, id)
	}
	for range 2 {
		home := h.Get(c, "/")
		if id := home.Header.Get("X-Request-Id"); home.Status != http.StatusOK || id == "" || strings.Contains(home.Body, "Request ID") {
			t.Errorf("home page (%d, X-Request-Id %q) shows a request ID", home.Status, id)
		}
	}
}

// "Refresh now" is one at a time per session and rationed; pages that may refresh wait their
// turn, one at a time per session.
func TestIdentityCallsBoundedPerSession(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	value := h.SessionCookie(c)
	nf := stacktest.NoFollow(c)

	done := refreshInFlight(t, h, value)
	second := h.Post(nf, "/token", sameOrigin)
	if second.Status != http.StatusTooManyRequests || second.Header.Get("Retry-After") == "" {
		t.Fatalf("a second Refresh now during the first: %d (Retry-After %q), want 429", second.Status, second.Header.Get("Retry-After"))
	}
	stacktest.MustContain(t, second, "Too many requests at once", "one such call at a time")
	if first := <-done; first.Status != http.StatusSeeOther {
		t.Fatalf("the first Refresh now: %d\n%s", first.Status, first.Body)
	}
	refreshes := h.Counter("token:refresh_token")
	for i := range 3 {
		p := h.Post(nf, "/token", sameOrigin)
		if want := map[bool]int{true: http.StatusSeeOther, false: http.StatusTooManyRequests}[i < 2]; p.Status != want {
			t.Errorf("Refresh now #%d in a row: %d, want %d", i+2, p.Status, want)
		}
	}
	if got := h.Counter("token:refresh_token") - refreshes; got != 2 {
		t.Errorf("refreshes made: %d, want 2 (the burst of 3, then wait)", got)
	}

	// Two /msal-demo of one session at once: the second waits for the first. Another user's
	// runs beside them, not held up by this one.
	other := h.Browser()
	h.SignIn(other)
	h.Emu.FailNext(emulator.Fault{Endpoint: "graph", Delay: time.Second})
	graph := h.Counter("graph:me")
	firstDone := make(chan time.Time, 1)
	go func() {
		resp, err := c.Get(h.Base + "/msal-demo")
		if err == nil {
			resp.Body.Close()
		}
		firstDone <- time.Now()
	}()
	for h.Counter("graph:me") == graph {
		time.Sleep(5 * time.Millisecond)
	}
	if p := h.Get(other, "/msal-demo"); p.Status != http.StatusOK {
		t.Errorf("another user's /msal-demo: %d", p.Status)
	}
	otherEnd := time.Now()
	p := h.Get(c, "/msal-demo")
	secondEnd := time.Now()
	if p.Status != http.StatusOK {
		t.Errorf("the waiting /msal-demo: %d", p.Status)
	}
	firstEnd := <-firstDone
	if secondEnd.Before(firstEnd) {
		t.Error("the second /msal-demo ran beside the first instead of after it")
	}
	if !otherEnd.Before(firstEnd) {
		t.Error("another user's /msal-demo waited for this user's")
	}
}

// A revoked grant signs the user out and says why on the sign-in page; the reason is one of
// the app's own texts, never the query's.
func TestRevokedGrantSignsOut(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	old := h.SessionCookie(c)
	h.Emu.RevokeRefreshTokens("")
	p := h.Post(stacktest.NoFollow(c), "/token", sameOrigin)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login?reason=expired" {
		t.Fatalf("revoked: %d to %q", p.Status, p.Header.Get("Location"))
	}
	login := h.Get(c, "/login?reason=expired")
	stacktest.MustContain(t, login, `id="sign-in-reason"`, "expired or was revoked")
	if strings.Contains(login.Body, `id="signed-in-as"`) {
		t.Error("the sign-in page still says who is signed in")
	}
	if idSignsIn(t, h, old) {
		t.Error("the session with the revoked grant still signs in")
	}
	if p := h.Get(c, "/login?reason=%3Cscript%3Ealert(1)%3C/script%3E"); strings.Contains(p.Body, "sign-in-reason") || strings.Contains(p.Body, "<script>alert") {
		t.Error("the sign-in page showed a reason the query made up")
	}
	if p := h.Get(c, "/login"); strings.Contains(p.Body, "sign-in-reason") {
		t.Error("a reason shown without one asked for")
	}

	// The same on /msal-demo, whose access token needs a refresh (MSAL refreshes 5 minutes early).
	h.Emu.SetLifetimes(2*time.Minute, time.Hour)
	h.SignIn(c)
	old = h.SessionCookie(c)
	h.Emu.RevokeRefreshTokens("")
	if p := h.Get(stacktest.NoFollow(c), "/msal-demo"); p.Status != http.StatusFound || p.Header.Get("Location") != "/login?reason=expired" {
		t.Fatalf("/msal-demo with a revoked grant: %d to %q", p.Status, p.Header.Get("Location"))
	}
	if idSignsIn(t, h, old) {
		t.Error("/msal-demo left the session with the revoked grant signed in")
	}
}

// Pages are buffered in writers that are reused: nothing a page set (the sign-in cookie, a
// redirect) may go out with the next one, which may be another user's.
func TestNoHeaderCarriesOver(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	for i := 0; i < 40; i++ {
		login := h.Get(stacktest.NoFollow(h.Browser()), "/login")
		if len(login.Header.Values("Set-Cookie")) == 0 {
			t.Fatalf("/login answered %d without its cookie: %v", login.Status, login.Header)
		}
		notes := h.Get(stacktest.NoFollow(h.Browser()), "/notes")
		if notes.Header.Get("Location") == "" {
			t.Fatalf("/notes signed out answered %d without a redirect: %v", notes.Status, notes.Header)
		}
		page := h.Get(stacktest.NoFollow(h.Browser()), "/logout") // "you are not signed in"
		if c, l := page.Header.Values("Set-Cookie"), page.Header.Get("Location"); len(c) > 0 || l != "" || page.Status != http.StatusOK {
			t.Fatalf("a new visitor's /logout (%d) carries Set-Cookie %q and Location %q", page.Status, c, l)
		}
	}
}
