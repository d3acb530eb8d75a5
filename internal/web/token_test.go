package web_test

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/stacktest"
)

var (
	countdown = regexp.MustCompile(`<span id="token-countdown" data-expires="([^"]+)">([^<]+)</span>`)
	flashNew  = regexp.MustCompile(`id="refreshed".*?expires at\s+<strong>([^<]+)</strong>`)
)

func TestTokenPageShowsClaimsScopesAndExpiry(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	sent, _ := signInStepwise(t, h, c)
	user := emulator.DefaultConfig().Users[0]
	p := h.Get(c, "/token")
	if p.Status != http.StatusOK {
		t.Fatalf("/token: %d\n%s", p.Status, p.Body)
	}
	stacktest.MustContain(t, p,
		// the ID token's claims, each explained
		`id="id-claims"`, `id="claim-oid"`, user.ID, "Object ID: your immutable ID", `id="claim-aud"`, emulator.DemoClientID,
		"The app checked it is its own client ID", `id="claim-nonce"`, sent.Get("nonce"), `id="claim-exp"`, "UTC",
		`id="claim-preferred_username"`, user.UserPrincipalName, "never as a key",
		// the access token: audience, scopes, expiry, origin; never the token
		`id="at-audience"`, "https://graph.microsoft.com", `id="at-scopes"`, "User.ReadBasic.All",
		`id="at-expires"`, `id="token-source"`, "<strong>token cache</strong>", `id="token-origin"`, "code redemption",
		`id="access-token-claims"`,
		// Refresh now is a POST; the countdown is a script from /static/, not inline
		`<form method="post" action="/token"`, `id="refresh-now"`, `<script src="/static/token.js" defer></script>`)
	if strings.Count(p.Body, "<script") != 1 {
		t.Error("an inline script on /token (the CSP forbids it)")
	}
	// Readable without JavaScript: the time left is in the page itself.
	m := countdown.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no countdown on /token")
	}
	exp, err := time.Parse(time.RFC3339, m[1])
	if err != nil || time.Until(exp) < 50*time.Minute || time.Until(exp) > 61*time.Minute {
		t.Errorf("countdown expiry %q (err %v), want about an hour from now", m[1], err)
	}
	if !strings.HasSuffix(m[2], "s") || !strings.Contains(m[2], "m ") {
		t.Errorf("server-rendered time left %q", m[2])
	}
	mustNotLeak(t, p, secretsOf(t, h, c), sent.Get("code_challenge"))
	if n := h.Counter("token:refresh_token"); n != 0 {
		t.Errorf("/token refreshed a valid token (%d refreshes)", n)
	}
}

func TestRefreshNow(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	sent, _ := signInStepwise(t, h, c)
	before := countdown.FindStringSubmatch(h.Get(c, "/token").Body)
	h.Emu.SetLifetimes(2*time.Hour, 24*time.Hour) // so the new token visibly outlives the old

	nf := stacktest.NoFollow(c)
	same := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": h.Base}
	p := h.Post(nf, "/token", same)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/token" {
		t.Fatalf("POST /token: %d to %q\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}
	if n := h.Counter("token:refresh_token"); n != 1 {
		t.Errorf("refresh_token grants = %d, want 1", n)
	}
	after := h.Get(c, "/token")
	stacktest.MustContain(t, after, `id="refreshed"`, "Refreshed in", `id="token-origin"`, "refresh",
		"grant_type=refresh_token", "200 OK")
	m := flashNew.FindStringSubmatch(strings.ReplaceAll(after.Body, "\n", " "))
	newExp, err := time.Parse(time.RFC3339, html.UnescapeString(valueOr(m, 1)))
	oldExp, err2 := time.Parse(time.RFC3339, valueOr(before, 1))
	if err != nil || err2 != nil || !newExp.After(oldExp.Add(30*time.Minute)) {
		t.Errorf("new expiry %v (err %v) is not later than the old %v (err %v)", newExp, err, oldExp, err2)
	}
	if cd := countdown.FindStringSubmatch(after.Body); cd == nil || cd[1] != newExp.UTC().Format(time.RFC3339) {
		t.Errorf("the countdown does not show the new expiry: %v", cd)
	}
	// The result is shown once; reloading does not refresh again.
	again := h.Get(c, "/token")
	if strings.Contains(again.Body, `id="refreshed"`) {
		t.Error("the refresh result is shown twice")
	}
	if n := h.Counter("token:refresh_token"); n != 1 {
		t.Errorf("reloading /token refreshed again (%d refreshes)", n)
	}
	// The new tokens work, and were saved (the rotated refresh token too).
	if p := h.Get(c, "/msal-demo"); p.Status != http.StatusOK {
		t.Errorf("/msal-demo after Refresh now: %d", p.Status)
	}
	h.Post(nf, "/token", same)
	if n := h.Counter("token:refresh_token"); n != 2 {
		t.Errorf("second Refresh now: %d refreshes, want 2", n)
	}
	mustNotLeak(t, after, secretsOf(t, h, c), sent.Get("code_challenge"))
}

func TestRefreshNowRefusals(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	nf := stacktest.NoFollow(c)

	t.Run("cross-site POST", func(t *testing.T) {
		p := h.Post(nf, "/token", map[string]string{"Sec-Fetch-Site": "cross-site"})
		if p.Status != http.StatusForbidden {
			t.Fatalf("cross-site POST /token: %d, want 403", p.Status)
		}
		if n := h.Counter("token:refresh_token"); n != 0 {
			t.Errorf("a cross-site POST refreshed the token")
		}
	})
	t.Run("identity platform error explained", func(t *testing.T) {
		h.Emu.FailNext(emulator.Fault{Endpoint: "token", Code: 7000222})
		p := h.Post(nf, "/token", map[string]string{"Sec-Fetch-Site": "same-origin"})
		if p.Status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400\n%s", p.Status, p.Body)
		}
		stacktest.MustContain(t, p, "AADSTS7000222", "expired", "refreshing the access token")
		if ok := h.Get(c, "/token"); ok.Status != http.StatusOK {
			t.Errorf("session lost after a failed refresh: %d", ok.Status)
		}
	})
	t.Run("revoked refresh token signs in again", func(t *testing.T) {
		h.Emu.RevokeRefreshTokens("")
		p := h.Post(nf, "/token", map[string]string{"Sec-Fetch-Site": "same-origin"})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login?reason=expired" {
			t.Fatalf("revoked: %d to %q\n%s", p.Status, p.Header.Get("Location"), p.Body)
		}
	})
}

func TestTokenScriptServed(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	p := h.Get(h.Browser(), "/static/token.js")
	if p.Status != http.StatusOK || !strings.Contains(p.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("/static/token.js: %d %q", p.Status, p.Header.Get("Content-Type"))
	}
	stacktest.MustContain(t, p, "token-countdown", "data-expires")
	if strings.Contains(p.Header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Error("the CSP allows inline script")
	}
}

func valueOr(m []string, i int) string {
	if len(m) > i {
		return m[i]
	}
	return ""
}
