package deploy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
)

// Two instances behind one load balancer share a session store: what one instance wrote, the
// other reads. The cases are the ones users of single-process session stores report: a sign-in
// whose callback lands on another instance, a token refresh on one instance and the next
// request on another, and a sign-out that must end the session everywhere.
func TestSharedStores(t *testing.T) {
	t.Parallel()
	stores := []struct {
		name string
		open func(*testing.T) store
	}{
		{"filesystem (one directory, one machine)", fileStore},
		{"redis", redisStore},
		{"postgres", postgresStore},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			env := map[string]string{"TRUSTED_PROXIES": "127.0.0.1"}
			for k, v := range s.env {
				env[k] = v
			}
			d := deploy(t, deployOpts{instances: 2, balancer: "http", env: env})
			// MSAL treats a token as expired 5 minutes early: with 2-minute access tokens, every
			// /msal-demo refreshes, and stores the rotated refresh token in the session.
			d.emu.SetLifetimes(2*time.Minute, time.Hour)

			t.Run("sign in on A; demo, refresh and logout on B", func(t *testing.T) {
				signInOnAUseOnB(t, d, s)
			})
			t.Run("a sign-in started on A finishes on B", func(t *testing.T) {
				flowAcrossInstances(t, d)
			})
		})
	}
}

func signInOnAUseOnB(t *testing.T, d *deployment, s store) {
	a, b, public := d.insts[0], d.insts[1], d.lb.url
	user := emulator.DefaultConfig().Users[0]
	br := d.browser()

	d.lb.use(0)
	markA, markB := a.served.mark(), b.served.mark()
	br.signIn(public)
	if !served(a, markA, "GET /login") || !served(a, markA, "GET /getAToken") {
		t.Fatalf("A did not serve the sign-in: %v", a.served.since(markA))
	}
	if got := b.served.since(markB); len(got) != 0 {
		t.Fatalf("B served %v during A's sign-in", got)
	}
	recs := signedInRecords(t, s)
	if len(recs) != 1 {
		t.Fatalf("%d signed-in sessions in the store, want 1", len(recs))
	}
	cacheAfterSignIn := len(sessionValues(t, recs[0])["token_cache"].([]byte))
	recordAfterSignIn := len(recs[0])
	d.secrets.add(tokenSecrets(t, sessionValues(t, recs[0])["token_cache"].([]byte))...)

	// B serves the demo page from the session A wrote, refreshing the expired access token.
	d.lb.use(1)
	markA, markB = a.served.mark(), b.served.mark()
	refreshes := d.emu.Counters()["token:refresh_token"]
	p := br.get(public + "/msal-demo")
	if p.status != http.StatusOK {
		t.Fatalf("/msal-demo on B: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, user.DisplayName, user.UserPrincipalName)
	if !served(b, markB, "GET /msal-demo") || len(a.served.since(markA)) != 0 {
		t.Fatalf("/msal-demo: served by A %v, B %v; want B only", a.served.since(markA), b.served.since(markB))
	}
	if got := d.emu.Counters()["token:refresh_token"]; got != refreshes+1 {
		t.Fatalf("refresh_token grants = %d, want %d", got, refreshes+1)
	}

	// A picks up the cache B refreshed: it refreshes again with the refresh token B stored.
	d.lb.use(0)
	if p := br.get(public + "/msal-demo"); p.status != http.StatusOK {
		t.Fatalf("/msal-demo on A after B's refresh: %d\n%s", p.status, p.body)
	}
	if got := d.emu.Counters()["token:refresh_token"]; got != refreshes+2 {
		t.Fatalf("refresh_token grants = %d, want %d", got, refreshes+2)
	}
	recs = signedInRecords(t, s)
	if len(recs) != 1 {
		t.Fatalf("%d signed-in sessions after the refreshes, want 1", len(recs))
	}
	cache := sessionValues(t, recs[0])["token_cache"].([]byte)
	d.secrets.add(tokenSecrets(t, cache)...)
	t.Logf("%s: per signed-in user: token cache %s after sign-in, %s after a refresh; whole session record %s, then %s",
		s.kind, fmtBytes(cacheAfterSignIn), fmtBytes(len(cache)), fmtBytes(recordAfterSignIn), fmtBytes(len(recs[0])))

	// B signs the user out: the session ends for every instance.
	d.lb.use(1)
	old := br.sessionCookie(public)
	if old == nil || len(old.Value) != 43 {
		t.Fatalf("session cookie = %v, want an scs token (43 characters)", old)
	}
	// The store keys the session by a hash of the cookie's ID, never by the ID itself: a copy
	// of the store does not hold usable cookies.
	ids := s.ids(t)
	if len(ids) == 0 {
		t.Fatal("the store lists no session")
	}
	for _, id := range ids {
		if strings.Contains(id, old.Value) {
			t.Errorf("the store keys a session by the cookie value: %q", id)
		}
	}
	markB = b.served.mark()
	out := br.post(br.noFollow(), public+"/logout", nil)
	if out.status != http.StatusSeeOther || !served(b, markB, "POST /logout") {
		t.Fatalf("POST /logout on B: %d, B served %v", out.status, b.served.since(markB))
	}
	loc, err := url.Parse(out.header.Get("Location"))
	if err != nil || loc.Query().Get("post_logout_redirect_uri") != public+"/" {
		t.Fatalf("logout redirect = %s, want post_logout_redirect_uri=%s/", out.header.Get("Location"), public)
	}
	if end := br.get(loc.String()); end.url.Path != "/login" {
		t.Errorf("after logout ended at %s, want the app's /login", end.url)
	}
	if n := len(signedInRecords(t, s)); n != 0 {
		t.Errorf("%d signed-in sessions left in the store after logout", n)
	}
	// Replaying the old session cookie on A finds nothing.
	replay := d.browser()
	u, _ := url.Parse(a.url)
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: old.Name, Value: old.Value, Path: "/"}})
	if p := replay.get(a.url + "/msal-demo"); p.url.Path != "/login" {
		t.Errorf("the signed-out session still works on A: ended at %s (%d)", p.url, p.status)
	}
}

func flowAcrossInstances(t *testing.T, d *deployment) {
	a, b, public := d.insts[0], d.insts[1], d.lb.url
	br := d.browser()
	d.lb.use(0)
	markA := a.served.mark()
	authorize := br.authorizeURL(public)
	if !served(a, markA, "GET /login") {
		t.Fatalf("A did not serve /login: %v", a.served.since(markA))
	}
	// The balancer now sends everything to B, callback included: B finds the flow (state,
	// nonce, PKCE verifier) that A stored, and finishes the sign-in.
	d.lb.use(1)
	markA, markB := a.served.mark(), b.served.mark()
	p := br.get(authorize)
	if p.status != http.StatusOK || p.url.Path != "/" {
		t.Fatalf("callback on B ended at %s with %d:\n%s", p.url, p.status, p.body)
	}
	mustContain(t, p, "Welcome", emulator.DefaultConfig().Users[0].DisplayName)
	if !served(b, markB, "GET /getAToken") || len(a.served.since(markA)) != 0 {
		t.Fatalf("callback: served by A %v, B %v; want B only", a.served.since(markA), b.served.since(markB))
	}
	// And the session works on A again.
	d.lb.use(0)
	if p := br.get(public + "/msal-demo"); p.status != http.StatusOK {
		t.Errorf("/msal-demo on A: %d\n%s", p.status, p.body)
	}
}
