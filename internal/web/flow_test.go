package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/session"
	"github.com/graphauth/graphauth/internal/stacktest"
)

func TestSignedOutIndexRedirectsToLogin(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	p := h.Get(h.Browser(), "/")
	if p.URL.Path != "/login" || p.Status != http.StatusOK {
		t.Fatalf("ended at %s (%d), want /login", p.URL.Path, p.Status)
	}
	stacktest.MustContain(t, p, `id="sign-in"`, "Login with Microsoft Identity")
}

func TestAuthorizeURLCarriesStateNoncePKCE(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	u, err := url.Parse(h.AuthorizeURL(h.Browser()))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for _, k := range []string{"state", "nonce", "code_challenge", "client_id", "redirect_uri", "scope"} {
		if q.Get(k) == "" {
			t.Errorf("authorize URL lacks %s: %s", k, u)
		}
	}
	if got := q.Get("code_challenge_method"); got != "S256" {
		t.Errorf("code_challenge_method = %q, want S256", got)
	}
	if got := q.Get("redirect_uri"); got != h.Base+"/getAToken" {
		t.Errorf("redirect_uri = %q", got)
	}
	if !strings.Contains(q.Get("scope"), "User.ReadBasic.All") {
		t.Errorf("scope = %q", q.Get("scope"))
	}
	// A second sign-in draws new values.
	q2, _ := url.Parse(h.AuthorizeURL(h.Browser()))
	if q2.Query().Get("state") == q.Get("state") || q2.Query().Get("nonce") == q.Get("nonce") ||
		q2.Query().Get("code_challenge") == q.Get("code_challenge") {
		t.Error("two sign-ins share state, nonce or challenge")
	}
}

// The tutorial's whole journey: sign in, MSAL Demo, logout.
func TestSignInDemoLogout(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	user := emulator.DefaultConfig().Users[0]
	c := h.Browser()

	home := h.SignIn(c)
	stacktest.MustContain(t, home, "Welcome", user.DisplayName, `href="/msal-demo"`, `action="/logout"`)
	if got := h.Counter("token:authorization_code"); got != 1 {
		t.Errorf("authorization_code grants = %d, want 1", got)
	}

	demo := h.Get(c, "/msal-demo")
	if demo.Status != http.StatusOK {
		t.Fatalf("/msal-demo: %d\n%s", demo.Status, demo.Body)
	}
	stacktest.MustContain(t, demo, `"displayName": "`+user.DisplayName+`"`, `"userPrincipalName": "`+user.UserPrincipalName+`"`,
		`"id": "`+user.ID+`"`, "Back Home", "token cache")

	// The cached access token is reused: no second token call.
	tokenCalls := h.Counter("token")
	for range 3 {
		if p := h.Get(c, "/msal-demo"); p.Status != http.StatusOK {
			t.Fatalf("/msal-demo again: %d", p.Status)
		}
	}
	if got := h.Counter("token"); got != tokenCalls {
		t.Errorf("token calls went from %d to %d: the cached token was not reused", tokenCalls, got)
	}
	if got := h.Counter("graph:me"); got != 4 {
		t.Errorf("graph calls = %d, want 4", got)
	}

	// GET /logout is a confirmation page; the POST signs out at the app and the identity platform.
	confirm := h.Get(c, "/logout")
	stacktest.MustContain(t, confirm, `method="post" action="/logout"`)
	nf := stacktest.NoFollow(c)
	out := h.Post(nf, "/logout", nil)
	if out.Status != http.StatusSeeOther {
		t.Fatalf("POST /logout: %d", out.Status)
	}
	loc, _ := url.Parse(out.Header.Get("Location"))
	if !strings.HasPrefix(loc.String(), h.Emu.Authority()+"/oauth2/v2.0/logout?") ||
		loc.Query().Get("post_logout_redirect_uri") != h.Base+"/" {
		t.Errorf("logout redirect = %s", loc)
	}
	end := h.Get(c, loc.String()) // the emulator sends the browser back to the app
	if end.URL.Path != "/login" {
		t.Errorf("after logout ended at %s, want /login", end.URL)
	}
	if p := h.Get(c, "/msal-demo"); p.URL.Path != "/login" {
		t.Errorf("/msal-demo after logout ended at %s", p.URL)
	}
	if got := h.Counter("logout"); got != 1 {
		t.Errorf("emulator logout calls = %d", got)
	}
}

func TestLogoutDeletesSessionFile(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	files := func() int {
		n := 0
		_ = filepath.WalkDir(h.Cfg.SessionDir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() != ".lock" { // .lock: the store's advisory lock
				n++
			}
			return nil
		})
		return n
	}
	if files() == 0 {
		t.Fatal("no session file after sign-in")
	}
	old := h.SessionCookie(c)
	sum := sha256.Sum256([]byte(old))
	key := base64.RawURLEncoding.EncodeToString(sum[:]) // what scs hands the store
	st, err := session.NewFileStore(h.Cfg.SessionDir, session.FileStoreOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, found, err := st.Find(key); err != nil || !found {
		t.Fatalf("the session's record before logout: found %v, %v", found, err)
	}
	h.Post(stacktest.NoFollow(c), "/logout", nil)
	if _, found, err := st.Find(key); err != nil || found {
		t.Errorf("the session's record after logout: found %v, %v", found, err)
	}
	// What may remain is the record that the sign-in's state was used, until the flow expires.
	if n := files(); n > 1 {
		t.Errorf("%d files left after logout, want at most the used-state record", n)
	}
	// The old session ID is worthless now.
	c2 := h.Browser()
	u, _ := url.Parse(h.Base)
	c2.Jar.SetCookies(u, []*http.Cookie{{Name: h.CookieName, Value: old}})
	if p := h.Get(c2, "/"); p.URL.Path != "/login" {
		t.Errorf("old cookie still signed in: %s", p.URL)
	}
}

func TestSessionIDChangesAtSignIn(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	// A session ID the browser had before signing in: an attacker's own session, planted.
	planter := h.Browser()
	h.SignIn(planter)
	before := h.SessionCookie(planter)
	u0, _ := url.Parse(h.Base)
	c.Jar.SetCookies(u0, []*http.Cookie{{Name: h.CookieName, Value: before, Path: "/"}})
	authz := h.AuthorizeURL(c)
	h.Get(c, authz)
	after := h.SessionCookie(c)
	if after == "" || after == before {
		t.Fatalf("session ID not renewed at sign-in: before %q after %q", before, after)
	}
	// The pre-sign-in ID (which an attacker could have planted) does not carry the sign-in.
	c2 := h.Browser()
	u, _ := url.Parse(h.Base)
	c2.Jar.SetCookies(u, []*http.Cookie{{Name: h.CookieName, Value: before}})
	if p := h.Get(c2, "/"); p.URL.Path != "/login" {
		t.Errorf("pre-sign-in session ID is signed in: %s", p.URL)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	// The sign-in cookie (sealed, short-lived) from /login, the session cookie from the callback.
	resp, err := c.Get(h.Base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	signin := resp.Header.Get("Set-Cookie")
	cb := h.CallbackURL(c, h.AuthorizeURL(c))
	resp, err = stacktest.NoFollow(c).Get(cb)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session string
	for _, sc := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "graphauth_session=") {
			session = sc
		}
	}
	for name, sc := range map[string]string{"graphauth_signin=": signin, "graphauth_session=": session} {
		for _, want := range []string{name, "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(sc, want) {
				t.Errorf("Set-Cookie %q lacks %q", sc, want)
			}
		}
		if strings.Contains(sc, "Secure") {
			t.Errorf("Secure cookie on an http redirect URI would never come back: %q", sc)
		}
	}
	if !strings.Contains(signin, "Max-Age=600") {
		t.Errorf("the sign-in cookie outlives its flow: %q", signin)
	}
	// The session cookie holds an ID, not data: short.
	if v := strings.SplitN(strings.SplitN(session, ";", 2)[0], "=", 2)[1]; len(v) > 64 {
		t.Errorf("session cookie is %d bytes", len(v))
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := stacktest.NoFollow(h.Browser())
	for _, path := range []string{"/", "/login", "/getAToken", "/msal-demo", "/logout", "/healthz", "/static/style.css", "/nope"} {
		p := h.Get(c, path)
		want := map[string]string{
			"Content-Security-Policy": "default-src 'self'; form-action 'self' https://",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
		}
		for k, v := range want {
			if !strings.Contains(p.Header.Get(k), v) {
				t.Errorf("%s: %s = %q, want %q", path, k, p.Header.Get(k), v)
			}
		}
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "base-uri 'none'") {
			t.Errorf("%s: CSP %q lacks frame-ancestors or base-uri 'none'", path, csp)
		}
	}
}

func TestXSSInDisplayNameShownAsText(t *testing.T) {
	const evil = `<img src=x onerror=alert(1)>`
	h := stacktest.Start(t, stacktest.Options{EmuConfig: func(c *emulator.Config) { c.Users[0].DisplayName = evil }})
	c := h.Browser()
	home := h.SignIn(c)
	demo := h.Get(c, "/msal-demo")
	for _, p := range []stacktest.Page{home, demo} {
		if strings.Contains(p.Body, evil) || strings.Contains(p.Body, "<img") {
			t.Errorf("%s renders the display name as HTML:\n%s", p.URL.Path, p.Body)
		}
		stacktest.MustContain(t, p, "&lt;img src=x onerror=alert(1)&gt;")
	}
}

func TestCrossOriginLogoutRefused(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	for name, hdr := range map[string]map[string]string{
		"sec-fetch-site cross-site": {"Sec-Fetch-Site": "cross-site"},
		"foreign origin":            {"Origin": "https://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			p := h.Post(stacktest.NoFollow(c), "/logout", hdr)
			if p.Status != http.StatusForbidden {
				t.Fatalf("cross-origin POST /logout: %d, want 403", p.Status)
			}
			stacktest.MustContain(t, p, "Cross-site request refused")
			if home := h.Get(c, "/"); home.URL.Path != "/" {
				t.Errorf("the refused logout signed the user out: %s", home.URL)
			}
		})
	}
	// The app's own form (same-origin, as a browser marks it) still works.
	p := h.Post(stacktest.NoFollow(c), "/logout", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": h.Base})
	if p.Status != http.StatusSeeOther {
		t.Errorf("same-origin POST /logout: %d", p.Status)
	}
}

// Every bad callback gets a 4xx page, leaves the session as it was and stores no token.
func TestBadCallbacks(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	cases := []struct {
		name  string
		query func(state string) string
		want  string
	}{
		{"no state", func(string) string { return "code=abc" }, "has no state"},
		{"empty state", func(string) string { return "code=abc&state=" }, "has no state"},
		{"wrong state", func(string) string { return "code=abc&state=not-the-state" }, "does not belong"},
		{"state prefix", func(s string) string { return "code=abc&state=" + s[:len(s)-1] }, "does not belong"},
		{"no code", func(s string) string { return "state=" + s }, "no authorization code"},
		{"oversized", func(s string) string { return "state=" + s + "&code=" + strings.Repeat("A", 10000) }, "far larger"},
		{"malformed", func(s string) string { return "state=%zz&code=%" }, "has no state"},
		{"consent declined", func(s string) string {
			return "state=" + s + "&error=access_denied&error_description=" + url.QueryEscape("AADSTS65004: User declined to consent to access the app.")
		}, "AADSTS65004"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := h.Browser()
			authz, _ := url.Parse(h.AuthorizeURL(c))
			state := authz.Query().Get("state")
			grants := h.Counter("token")
			p := h.Get(stacktest.NoFollow(c), "/getAToken?"+tc.query(state))
			if p.Status < 400 || p.Status > 499 {
				t.Fatalf("status %d, want 4xx\n%s", p.Status, p.Body)
			}
			stacktest.MustContain(t, p, tc.want, "Sign in again")
			if got := h.Counter("token"); got != grants {
				t.Errorf("a bad callback reached the token endpoint")
			}
			if home := h.Get(c, "/"); home.URL.Path != "/login" {
				t.Errorf("a bad callback signed the user in")
			}
		})
	}
}

func TestBadCallbackLeavesSignedInSessionAlone(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	before := h.SessionCookie(c)
	p := h.Get(stacktest.NoFollow(c), "/getAToken?code=forged&state=forged")
	if p.Status != http.StatusBadRequest {
		t.Fatalf("forged callback: %d", p.Status)
	}
	if h.SessionCookie(c) != before {
		t.Error("forged callback changed the session ID")
	}
	if demo := h.Get(c, "/msal-demo"); demo.Status != http.StatusOK {
		t.Errorf("session broken by a forged callback: %d", demo.Status)
	}
}

func TestReplayedCallbackRefused(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	cb := h.CallbackURL(c, h.AuthorizeURL(c))
	first := h.Get(stacktest.NoFollow(c), cb)
	if first.Status != http.StatusFound || first.Header.Get("Location") != "/" {
		t.Fatalf("first callback: %d %s\n%s", first.Status, first.Header.Get("Location"), first.Body)
	}
	grants := h.Counter("token")
	again := h.Get(stacktest.NoFollow(c), cb)
	if again.Status != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d, want 400", again.Status)
	}
	stacktest.MustContain(t, again, "already used")
	if h.Counter("token") != grants {
		t.Error("the replayed code was sent to the token endpoint")
	}
	// The replay did not sign the user out either.
	if home := h.Get(c, "/"); home.URL.Path != "/" {
		t.Errorf("replay broke the session: %s", home.URL)
	}
}

func TestConsentDeclinedAtIdentityPlatform(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	h.Emu.FailNext(emulator.Fault{Endpoint: "authorize", Error: "access_denied", Code: 65004})
	c := h.Browser()
	p := h.Get(c, h.AuthorizeURL(c))
	if p.Status != http.StatusBadRequest || p.URL.Path != "/getAToken" {
		t.Fatalf("declined consent: %d at %s", p.Status, p.URL)
	}
	stacktest.MustContain(t, p, "AADSTS65004", "declined", "Sign in again")
}

func TestNonceMismatchRefused(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	u, _ := url.Parse(h.AuthorizeURL(c))
	q := u.Query()
	q.Set("nonce", "a-nonce-the-app-never-sent")
	u.RawQuery = q.Encode()
	p := h.Get(c, u.String())
	if p.Status != http.StatusBadRequest {
		t.Fatalf("nonce mismatch: %d\n%s", p.Status, p.Body)
	}
	stacktest.MustContain(t, p, "could not be verified", "nonce")
	if home := h.Get(c, "/"); home.URL.Path != "/login" {
		t.Error("signed in despite a nonce mismatch")
	}
}

func TestPKCEVerifierIsChecked(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	u, _ := url.Parse(h.AuthorizeURL(c))
	q := u.Query()
	q.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") // someone else's challenge
	u.RawQuery = q.Encode()
	p := h.Get(c, u.String())
	if p.Status != http.StatusBadRequest {
		t.Fatalf("PKCE mismatch: %d\n%s", p.Status, p.Body)
	}
	stacktest.MustContain(t, p, "AADSTS501481")
}

func TestExpiredAccessTokenRefreshedSilently(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	// MSAL treats a token as expired 5 minutes early, so a 2-minute token is always "expired".
	h.Emu.SetLifetimes(2*time.Minute, time.Hour)
	c := h.Browser()
	h.SignIn(c)
	refreshes := h.Counter("token:refresh_token")
	p := h.Get(c, "/msal-demo")
	if p.Status != http.StatusOK {
		t.Fatalf("/msal-demo: %d\n%s", p.Status, p.Body)
	}
	stacktest.MustContain(t, p, "refresh token")
	if got := h.Counter("token:refresh_token"); got != refreshes+1 {
		t.Errorf("refresh_token grants = %d, want %d", got, refreshes+1)
	}
	// The rotated refresh token was saved in the session: the next refresh works too.
	if p := h.Get(c, "/msal-demo"); p.Status != http.StatusOK {
		t.Fatalf("second refresh: %d\n%s", p.Status, p.Body)
	}
	if got := h.Counter("token:refresh_token"); got != refreshes+2 {
		t.Errorf("refresh_token grants = %d, want %d", got, refreshes+2)
	}
}

func TestRevokedRefreshTokenSendsUserToSignIn(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	h.Emu.SetLifetimes(2*time.Minute, time.Hour)
	c := h.Browser()
	h.SignIn(c)
	h.Emu.RevokeRefreshTokens("")
	p := h.Get(c, "/msal-demo")
	if p.URL.Path != "/login" || p.Status != http.StatusOK {
		t.Fatalf("revoked refresh token: ended at %s (%d), want the sign-in page", p.URL, p.Status)
	}
	// Signing in again works (no error loop).
	h.SignIn(c)
	if p := h.Get(c, "/msal-demo"); p.Status != http.StatusOK {
		t.Fatalf("after signing in again: %d", p.Status)
	}
}

func TestGraphErrorsExplainedAndSessionKept(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	cases := []struct {
		fault      emulator.Fault
		wantStatus int
		want       []string
	}{
		{emulator.Fault{Endpoint: "graph", Status: 429, RetryAfter: 7, Error: "TooManyRequests"}, 503,
			[]string{"Graph 429 TooManyRequests", "throttling", "Retry after: 7s"}},
		{emulator.Fault{Endpoint: "graph", Status: 503, Error: "ServiceUnavailable"}, 503,
			[]string{"Graph 503", "Wait and try again"}},
		{emulator.Fault{Endpoint: "graph", Status: 401, Error: "InvalidAuthenticationToken"}, 502,
			[]string{"Graph 401 InvalidAuthenticationToken", "did not accept the access token"}},
		{emulator.Fault{Endpoint: "graph", Status: 403, Error: "Authorization_RequestDenied"}, 502,
			[]string{"Graph 403", "User.ReadBasic.All"}},
	}
	for _, tc := range cases {
		t.Run(tc.fault.Error, func(t *testing.T) {
			h.Emu.FailNext(tc.fault)
			p := h.Get(c, "/msal-demo")
			if p.Status != tc.wantStatus {
				t.Fatalf("status %d, want %d\n%s", p.Status, tc.wantStatus, p.Body)
			}
			stacktest.MustContain(t, p, append(tc.want, "still signed in")...)
			if ok := h.Get(c, "/msal-demo"); ok.Status != http.StatusOK {
				t.Errorf("session not kept after Graph %d: %d", tc.fault.Status, ok.Status)
			}
		})
	}
}

func TestGraphTimeout(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{Env: map[string]string{"OUTBOUND_TIMEOUT": "500ms"}})
	c := h.Browser()
	h.SignIn(c)
	h.Emu.FailNext(emulator.Fault{Endpoint: "graph", Delay: 3 * time.Second})
	p := h.Get(c, "/msal-demo")
	if p.Status != http.StatusGatewayTimeout {
		t.Fatalf("slow Graph: %d\n%s", p.Status, p.Body)
	}
	stacktest.MustContain(t, p, "did not answer")
	if ok := h.Get(c, "/msal-demo"); ok.Status != http.StatusOK {
		t.Errorf("session not kept after a Graph timeout: %d", ok.Status)
	}
}

func TestIdentityPlatformFailures(t *testing.T) {
	t.Run("unreachable at sign-in", func(t *testing.T) {
		h := stacktest.Start(t, stacktest.Options{})
		dead := h.Emu.URL()
		_ = h.Emu.Close()
		p := h.Get(h.Browser(), "/login")
		if p.Status != http.StatusBadGateway {
			t.Fatalf("dead authority %s: %d\n%s", dead, p.Status, p.Body)
		}
		stacktest.MustContain(t, p, "did not answer")
	})
	t.Run("500 during refresh keeps the session", func(t *testing.T) {
		h := stacktest.Start(t, stacktest.Options{})
		h.Emu.SetLifetimes(2*time.Minute, time.Hour)
		c := h.Browser()
		h.SignIn(c)
		h.Emu.FailNext(emulator.Fault{Endpoint: "token", Status: 500, Error: "server_error", Code: 90033})
		p := h.Get(c, "/msal-demo")
		if p.Status != http.StatusBadGateway {
			t.Fatalf("token 500: %d\n%s", p.Status, p.Body)
		}
		if ok := h.Get(c, "/msal-demo"); ok.Status != http.StatusOK {
			t.Errorf("session lost after a token endpoint 500: %d", ok.Status)
		}
	})
	t.Run("slow token endpoint past the deadline", func(t *testing.T) {
		h := stacktest.Start(t, stacktest.Options{Env: map[string]string{"OUTBOUND_TIMEOUT": "500ms"}})
		c := h.Browser()
		authz := h.AuthorizeURL(c)
		h.Emu.FailNext(emulator.Fault{Endpoint: "token", Delay: 3 * time.Second})
		start := time.Now()
		p := h.Get(c, authz)
		if p.Status != http.StatusBadGateway {
			t.Fatalf("slow token endpoint: %d\n%s", p.Status, p.Body)
		}
		if el := time.Since(start); el > 2500*time.Millisecond {
			t.Errorf("the app waited %v: no deadline on the token call", el)
		}
	})
	t.Run("invalid secret explained", func(t *testing.T) {
		h := stacktest.Start(t, stacktest.Options{Env: map[string]string{"CLIENT_SECRET": "a-wrong-secret-value"}})
		c := h.Browser()
		p := h.Get(c, h.AuthorizeURL(c))
		if p.Status != http.StatusBadRequest {
			t.Fatalf("wrong secret: %d\n%s", p.Status, p.Body)
		}
		stacktest.MustContain(t, p, "AADSTS7000215", "Value")
		if strings.Contains(p.Body, "a-wrong-secret-value") {
			t.Error("the secret is on the page")
		}
	})
}

func TestLoopbackAuthorityNoticeShown(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	p := h.Get(h.Browser(), "/login")
	stacktest.MustContain(t, p, `id="emulator-notice"`, "not Microsoft")
}

// The design's concurrency claim: 20 signed-in users x 10 concurrent /msal-demo requests each
// get their own /me, with no token call at all (every access token is still cached).
func TestConcurrentUsersGetTheirOwnProfile(t *testing.T) {
	const users, perUser = 20, 10
	h := stacktest.Start(t, stacktest.Options{NoAutoLogin: true})
	clients := make([]*http.Client, users)
	names := make([]string, users)
	for i := range users {
		u := emulator.User{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", 100+i),
			UserPrincipalName: fmt.Sprintf("user%02d@emulator.test", i), DisplayName: fmt.Sprintf("Concurrent User %02d", i),
			GivenName: "Concurrent", Surname: fmt.Sprintf("User%02d", i), Mail: fmt.Sprintf("user%02d@emulator.test", i)}
		h.Emu.SetUser(u)
		h.Emu.SetAutoApprove(emulator.DemoClientID, u.ID)
		clients[i] = h.Browser()
		home := h.SignIn(clients[i])
		stacktest.MustContain(t, home, u.DisplayName)
		names[i] = u.DisplayName
	}
	tokenCalls := h.Counter("token")
	var wg sync.WaitGroup
	errs := make(chan string, users*perUser)
	for i := range users {
		for range perUser {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := clients[i].Get(h.Base + "/msal-demo")
				if err != nil {
					errs <- err.Error()
					return
				}
				p := stacktest.ReadPage(t, resp)
				switch {
				case p.Status != http.StatusOK:
					errs <- fmt.Sprintf("user %d: status %d", i, p.Status)
				case !strings.Contains(html.UnescapeString(p.Body), `"displayName": "`+names[i]+`"`):
					errs <- fmt.Sprintf("user %d got someone else's page", i)
				}
				// The home page too (rendered once per user and kept: renderMemo).
				resp, err = clients[i].Get(h.Base + "/")
				if err != nil {
					errs <- err.Error()
					return
				}
				p = stacktest.ReadPage(t, resp)
				if p.Status != http.StatusOK || !strings.Contains(p.Body, "Welcome, <strong>"+names[i]+"</strong>") ||
					!strings.Contains(p.Body, "Signed in as "+names[i]+"<") {
					errs <- fmt.Sprintf("user %d: home page %d is not theirs", i, p.Status)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		n++
		if n <= 5 {
			t.Error(e)
		}
	}
	if n > 0 {
		t.Fatalf("%d of %d requests failed", n, users*perUser)
	}
	if got := h.Counter("token"); got != tokenCalls {
		t.Errorf("token endpoint called %d times during the run, want 0 (all tokens cached)", got-tokenCalls)
	}
}
