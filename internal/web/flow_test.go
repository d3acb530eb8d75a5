package web

import (
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
)

func TestSignedOutIndexRedirectsToLogin(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	p := h.get(h.browser(), "/")
	if p.url.Path != "/login" || p.status != http.StatusOK {
		t.Fatalf("ended at %s (%d), want /login", p.url.Path, p.status)
	}
	mustContain(t, p, `id="sign-in"`, "Login with Microsoft Identity")
}

func TestAuthorizeURLCarriesStateNoncePKCE(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	u, err := url.Parse(h.authorizeURL(h.browser()))
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
	if got := q.Get("redirect_uri"); got != h.base+"/getAToken" {
		t.Errorf("redirect_uri = %q", got)
	}
	if !strings.Contains(q.Get("scope"), "User.ReadBasic.All") {
		t.Errorf("scope = %q", q.Get("scope"))
	}
	// A second sign-in draws new values.
	q2, _ := url.Parse(h.authorizeURL(h.browser()))
	if q2.Query().Get("state") == q.Get("state") || q2.Query().Get("nonce") == q.Get("nonce") ||
		q2.Query().Get("code_challenge") == q.Get("code_challenge") {
		t.Error("two sign-ins share state, nonce or challenge")
	}
}

// The tutorial's whole journey: sign in, MSAL Demo, logout.
func TestSignInDemoLogout(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	user := emulator.DefaultConfig().Users[0]
	c := h.browser()

	home := h.signIn(c)
	mustContain(t, home, "Welcome", user.DisplayName, `href="/msal-demo"`, `action="/logout"`)
	if got := counter(h, "token:authorization_code"); got != 1 {
		t.Errorf("authorization_code grants = %d, want 1", got)
	}

	demo := h.get(c, "/msal-demo")
	if demo.status != http.StatusOK {
		t.Fatalf("/msal-demo: %d\n%s", demo.status, demo.body)
	}
	mustContain(t, demo, `"displayName": "`+user.DisplayName+`"`, `"userPrincipalName": "`+user.UserPrincipalName+`"`,
		`"id": "`+user.ID+`"`, "Back Home", "token cache")

	// The cached access token is reused: no second token call.
	tokenCalls := counter(h, "token")
	for range 3 {
		if p := h.get(c, "/msal-demo"); p.status != http.StatusOK {
			t.Fatalf("/msal-demo again: %d", p.status)
		}
	}
	if got := counter(h, "token"); got != tokenCalls {
		t.Errorf("token calls went from %d to %d: the cached token was not reused", tokenCalls, got)
	}
	if got := counter(h, "graph:me"); got != 4 {
		t.Errorf("graph calls = %d, want 4", got)
	}

	// GET /logout is a confirmation page; the POST signs out at the app and the identity platform.
	confirm := h.get(c, "/logout")
	mustContain(t, confirm, `method="post" action="/logout"`)
	nf := noFollow(c)
	out := h.post(nf, "/logout", nil)
	if out.status != http.StatusSeeOther {
		t.Fatalf("POST /logout: %d", out.status)
	}
	loc, _ := url.Parse(out.header.Get("Location"))
	if !strings.HasPrefix(loc.String(), h.emu.Authority()+"/oauth2/v2.0/logout?") ||
		loc.Query().Get("post_logout_redirect_uri") != h.base+"/" {
		t.Errorf("logout redirect = %s", loc)
	}
	end := h.get(c, loc.String()) // the emulator sends the browser back to the app
	if end.url.Path != "/login" {
		t.Errorf("after logout ended at %s, want /login", end.url)
	}
	if p := h.get(c, "/msal-demo"); p.url.Path != "/login" {
		t.Errorf("/msal-demo after logout ended at %s", p.url)
	}
	if got := counter(h, "logout"); got != 1 {
		t.Errorf("emulator logout calls = %d", got)
	}
}

func TestLogoutDeletesSessionFile(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.browser()
	h.signIn(c)
	files := func() int {
		n := 0
		_ = filepath.WalkDir(h.cfg.SessionDir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	if files() == 0 {
		t.Fatal("no session file after sign-in")
	}
	old := h.sessionCookie(c)
	h.post(noFollow(c), "/logout", nil)
	if n := files(); n != 0 {
		t.Errorf("%d session files left after logout", n)
	}
	// The old session ID is worthless now.
	c2 := h.browser()
	u, _ := url.Parse(h.base)
	c2.Jar.SetCookies(u, []*http.Cookie{{Name: h.app.sessions.Cookie.Name, Value: old}})
	if p := h.get(c2, "/"); p.url.Path != "/login" {
		t.Errorf("old cookie still signed in: %s", p.url)
	}
}

func TestSessionIDChangesAtSignIn(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.browser()
	authz := h.authorizeURL(c)
	before := h.sessionCookie(c)
	if before == "" {
		t.Fatal("no session cookie after /login")
	}
	h.get(c, authz)
	after := h.sessionCookie(c)
	if after == "" || after == before {
		t.Fatalf("session ID not renewed at sign-in: before %q after %q", before, after)
	}
	// The pre-sign-in ID (which an attacker could have planted) does not carry the sign-in.
	c2 := h.browser()
	u, _ := url.Parse(h.base)
	c2.Jar.SetCookies(u, []*http.Cookie{{Name: h.app.sessions.Cookie.Name, Value: before}})
	if p := h.get(c2, "/"); p.url.Path != "/login" {
		t.Errorf("pre-sign-in session ID is signed in: %s", p.url)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	resp, err := h.browser().Get(h.base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"graphauth_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("Secure cookie on an http redirect URI would never come back: %q", sc)
	}
	// The cookie holds an ID, not data: short.
	if v := strings.SplitN(strings.SplitN(sc, ";", 2)[0], "=", 2)[1]; len(v) > 64 {
		t.Errorf("session cookie is %d bytes", len(v))
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := noFollow(h.browser())
	for _, path := range []string{"/", "/login", "/getAToken", "/msal-demo", "/logout", "/healthz", "/static/style.css", "/nope"} {
		p := h.get(c, path)
		want := map[string]string{
			"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
		}
		for k, v := range want {
			if !strings.Contains(p.header.Get(k), v) {
				t.Errorf("%s: %s = %q, want %q", path, k, p.header.Get(k), v)
			}
		}
	}
}

func TestXSSInDisplayNameShownAsText(t *testing.T) {
	const evil = `<img src=x onerror=alert(1)>`
	h := newHarness(t, harnessOpts{emuConfig: func(c *emulator.Config) { c.Users[0].DisplayName = evil }})
	c := h.browser()
	home := h.signIn(c)
	demo := h.get(c, "/msal-demo")
	for _, p := range []page{home, demo} {
		if strings.Contains(p.body, evil) || strings.Contains(p.body, "<img") {
			t.Errorf("%s renders the display name as HTML:\n%s", p.url.Path, p.body)
		}
		mustContain(t, p, "&lt;img src=x onerror=alert(1)&gt;")
	}
}

func TestCrossOriginLogoutRefused(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.browser()
	h.signIn(c)
	for name, hdr := range map[string]map[string]string{
		"sec-fetch-site cross-site": {"Sec-Fetch-Site": "cross-site"},
		"foreign origin":            {"Origin": "https://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			p := h.post(noFollow(c), "/logout", hdr)
			if p.status != http.StatusForbidden {
				t.Fatalf("cross-origin POST /logout: %d, want 403", p.status)
			}
			mustContain(t, p, "Cross-site request refused")
			if home := h.get(c, "/"); home.url.Path != "/" {
				t.Errorf("the refused logout signed the user out: %s", home.url)
			}
		})
	}
	// The app's own form (same-origin, as a browser marks it) still works.
	p := h.post(noFollow(c), "/logout", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": h.base})
	if p.status != http.StatusSeeOther {
		t.Errorf("same-origin POST /logout: %d", p.status)
	}
}

// Every bad callback gets a 4xx page, leaves the session as it was and stores no token.
func TestBadCallbacks(t *testing.T) {
	h := newHarness(t, harnessOpts{})
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
			c := h.browser()
			authz, _ := url.Parse(h.authorizeURL(c))
			state := authz.Query().Get("state")
			grants := counter(h, "token")
			p := h.get(noFollow(c), "/getAToken?"+tc.query(state))
			if p.status < 400 || p.status > 499 {
				t.Fatalf("status %d, want 4xx\n%s", p.status, p.body)
			}
			mustContain(t, p, tc.want, "Sign in again")
			if got := counter(h, "token"); got != grants {
				t.Errorf("a bad callback reached the token endpoint")
			}
			if home := h.get(c, "/"); home.url.Path != "/login" {
				t.Errorf("a bad callback signed the user in")
			}
		})
	}
}

func TestBadCallbackLeavesSignedInSessionAlone(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.browser()
	h.signIn(c)
	before := h.sessionCookie(c)
	p := h.get(noFollow(c), "/getAToken?code=forged&state=forged")
	if p.status != http.StatusBadRequest {
		t.Fatalf("forged callback: %d", p.status)
	}
	if h.sessionCookie(c) != before {
		t.Error("forged callback changed the session ID")
	}
	if demo := h.get(c, "/msal-demo"); demo.status != http.StatusOK {
		t.Errorf("session broken by a forged callback: %d", demo.status)
	}
}

func TestReplayedCallbackRefused(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.browser()
	cb := h.callbackURL(c, h.authorizeURL(c))
	first := h.get(noFollow(c), cb)
	if first.status != http.StatusFound || first.header.Get("Location") != "/" {
		t.Fatalf("first callback: %d %s\n%s", first.status, first.header.Get("Location"), first.body)
	}
	grants := counter(h, "token")
	again := h.get(noFollow(c), cb)
	if again.status != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d, want 400", again.status)
	}
	mustContain(t, again, "already used")
	if counter(h, "token") != grants {
		t.Error("the replayed code was sent to the token endpoint")
	}
	// The replay did not sign the user out either.
	if home := h.get(c, "/"); home.url.Path != "/" {
		t.Errorf("replay broke the session: %s", home.url)
	}
}

func TestConsentDeclinedAtIdentityPlatform(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.emu.FailNext(emulator.Fault{Endpoint: "authorize", Error: "access_denied", Code: 65004})
	c := h.browser()
	p := h.get(c, h.authorizeURL(c))
	if p.status != http.StatusBadRequest || p.url.Path != "/getAToken" {
		t.Fatalf("declined consent: %d at %s", p.status, p.url)
	}
	mustContain(t, p, "AADSTS65004", "declined", "Sign in again")
}

func TestNonceMismatchRefused(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.browser()
	u, _ := url.Parse(h.authorizeURL(c))
	q := u.Query()
	q.Set("nonce", "a-nonce-the-app-never-sent")
	u.RawQuery = q.Encode()
	p := h.get(c, u.String())
	if p.status != http.StatusBadRequest {
		t.Fatalf("nonce mismatch: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "could not be verified", "nonce")
	if home := h.get(c, "/"); home.url.Path != "/login" {
		t.Error("signed in despite a nonce mismatch")
	}
}

func TestPKCEVerifierIsChecked(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.browser()
	u, _ := url.Parse(h.authorizeURL(c))
	q := u.Query()
	q.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") // someone else's challenge
	u.RawQuery = q.Encode()
	p := h.get(c, u.String())
	if p.status != http.StatusBadRequest {
		t.Fatalf("PKCE mismatch: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "AADSTS501481")
}

func TestExpiredAccessTokenRefreshedSilently(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	// MSAL treats a token as expired 5 minutes early, so a 2-minute token is always "expired".
	h.emu.SetLifetimes(2*time.Minute, time.Hour)
	c := h.browser()
	h.signIn(c)
	refreshes := counter(h, "token:refresh_token")
	p := h.get(c, "/msal-demo")
	if p.status != http.StatusOK {
		t.Fatalf("/msal-demo: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "refresh token")
	if got := counter(h, "token:refresh_token"); got != refreshes+1 {
		t.Errorf("refresh_token grants = %d, want %d", got, refreshes+1)
	}
	// The rotated refresh token was saved in the session: the next refresh works too.
	if p := h.get(c, "/msal-demo"); p.status != http.StatusOK {
		t.Fatalf("second refresh: %d\n%s", p.status, p.body)
	}
	if got := counter(h, "token:refresh_token"); got != refreshes+2 {
		t.Errorf("refresh_token grants = %d, want %d", got, refreshes+2)
	}
}

func TestRevokedRefreshTokenSendsUserToSignIn(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.emu.SetLifetimes(2*time.Minute, time.Hour)
	c := h.browser()
	h.signIn(c)
	h.emu.RevokeRefreshTokens("")
	p := h.get(c, "/msal-demo")
	if p.url.Path != "/login" || p.status != http.StatusOK {
		t.Fatalf("revoked refresh token: ended at %s (%d), want the sign-in page", p.url, p.status)
	}
	// Signing in again works (no error loop).
	h.signIn(c)
	if p := h.get(c, "/msal-demo"); p.status != http.StatusOK {
		t.Fatalf("after signing in again: %d", p.status)
	}
}

func TestGraphErrorsExplainedAndSessionKept(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.browser()
	h.signIn(c)
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
			h.emu.FailNext(tc.fault)
			p := h.get(c, "/msal-demo")
			if p.status != tc.wantStatus {
				t.Fatalf("status %d, want %d\n%s", p.status, tc.wantStatus, p.body)
			}
			mustContain(t, p, append(tc.want, "still signed in")...)
			if ok := h.get(c, "/msal-demo"); ok.status != http.StatusOK {
				t.Errorf("session not kept after Graph %d: %d", tc.fault.Status, ok.status)
			}
		})
	}
}

func TestGraphTimeout(t *testing.T) {
	h := newHarness(t, harnessOpts{env: map[string]string{"OUTBOUND_TIMEOUT": "500ms"}})
	c := h.browser()
	h.signIn(c)
	h.emu.FailNext(emulator.Fault{Endpoint: "graph", Delay: 3 * time.Second})
	p := h.get(c, "/msal-demo")
	if p.status != http.StatusGatewayTimeout {
		t.Fatalf("slow Graph: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "did not answer")
	if ok := h.get(c, "/msal-demo"); ok.status != http.StatusOK {
		t.Errorf("session not kept after a Graph timeout: %d", ok.status)
	}
}

func TestIdentityPlatformFailures(t *testing.T) {
	t.Run("unreachable at sign-in", func(t *testing.T) {
		h := newHarness(t, harnessOpts{})
		dead := h.emu.URL()
		_ = h.emu.Close()
		p := h.get(h.browser(), "/login")
		if p.status != http.StatusBadGateway {
			t.Fatalf("dead authority %s: %d\n%s", dead, p.status, p.body)
		}
		mustContain(t, p, "did not answer")
	})
	t.Run("500 during refresh keeps the session", func(t *testing.T) {
		h := newHarness(t, harnessOpts{})
		h.emu.SetLifetimes(2*time.Minute, time.Hour)
		c := h.browser()
		h.signIn(c)
		h.emu.FailNext(emulator.Fault{Endpoint: "token", Status: 500, Error: "server_error", Code: 90033})
		p := h.get(c, "/msal-demo")
		if p.status != http.StatusBadGateway {
			t.Fatalf("token 500: %d\n%s", p.status, p.body)
		}
		if ok := h.get(c, "/msal-demo"); ok.status != http.StatusOK {
			t.Errorf("session lost after a token endpoint 500: %d", ok.status)
		}
	})
	t.Run("slow token endpoint past the deadline", func(t *testing.T) {
		h := newHarness(t, harnessOpts{env: map[string]string{"OUTBOUND_TIMEOUT": "500ms"}})
		c := h.browser()
		authz := h.authorizeURL(c)
		h.emu.FailNext(emulator.Fault{Endpoint: "token", Delay: 3 * time.Second})
		start := time.Now()
		p := h.get(c, authz)
		if p.status != http.StatusBadGateway {
			t.Fatalf("slow token endpoint: %d\n%s", p.status, p.body)
		}
		if el := time.Since(start); el > 2500*time.Millisecond {
			t.Errorf("the app waited %v: no deadline on the token call", el)
		}
	})
	t.Run("invalid secret explained", func(t *testing.T) {
		h := newHarness(t, harnessOpts{env: map[string]string{"CLIENT_SECRET": "a-wrong-secret-value"}})
		c := h.browser()
		p := h.get(c, h.authorizeURL(c))
		if p.status != http.StatusBadRequest {
			t.Fatalf("wrong secret: %d\n%s", p.status, p.body)
		}
		mustContain(t, p, "AADSTS7000215", "Value")
		if strings.Contains(p.body, "a-wrong-secret-value") {
			t.Error("the secret is on the page")
		}
	})
}

func TestLoopbackAuthorityNoticeShown(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	p := h.get(h.browser(), "/login")
	mustContain(t, p, `id="emulator-notice"`, "not Microsoft")
}

// The design's concurrency claim: 20 signed-in users x 10 concurrent /msal-demo requests each
// get their own /me, with no token call at all (every access token is still cached).
func TestConcurrentUsersGetTheirOwnProfile(t *testing.T) {
	const users, perUser = 20, 10
	h := newHarness(t, harnessOpts{noAutoLogin: true})
	clients := make([]*http.Client, users)
	names := make([]string, users)
	for i := range users {
		u := emulator.User{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", 100+i),
			UserPrincipalName: fmt.Sprintf("user%02d@emulator.test", i), DisplayName: fmt.Sprintf("Concurrent User %02d", i),
			GivenName: "Concurrent", Surname: fmt.Sprintf("User%02d", i), Mail: fmt.Sprintf("user%02d@emulator.test", i)}
		h.emu.SetUser(u)
		h.emu.SetAutoApprove(emulator.DemoClientID, u.ID)
		clients[i] = h.browser()
		home := h.signIn(clients[i])
		mustContain(t, home, u.DisplayName)
		names[i] = u.DisplayName
	}
	tokenCalls := counter(h, "token")
	var wg sync.WaitGroup
	errs := make(chan string, users*perUser)
	for i := range users {
		for range perUser {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := clients[i].Get(h.base + "/msal-demo")
				if err != nil {
					errs <- err.Error()
					return
				}
				p := readPage(t, resp)
				switch {
				case p.status != http.StatusOK:
					errs <- fmt.Sprintf("user %d: status %d", i, p.status)
				case !strings.Contains(html.UnescapeString(p.body), `"displayName": "`+names[i]+`"`):
					errs <- fmt.Sprintf("user %d got someone else's page", i)
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
	if got := counter(h, "token"); got != tokenCalls {
		t.Errorf("token endpoint called %d times during the run, want 0 (all tokens cached)", got-tokenCalls)
	}
}
