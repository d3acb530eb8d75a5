package deploy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
)

// A full multi-step run, logged at debug level as JSON by every instance, must not put a single
// token, authorization code, state, nonce, secret, password or cookie value in any log line.
// The values are collected as the run goes: every cookie, code, state and nonce the browser
// carried (harness_test.go's recordingTransport), every token in the stored MSAL caches, the
// client secret and the Redis password; deployment.checkLogs greps each line for each of them
// and for anything shaped like a JWT or an emulator code or refresh token.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	r := redisStore(t)
	d := deploy(t, deployOpts{
		instances: 3, balancer: "http",
		env: map[string]string{"SESSION_TYPE": "redis", "REDIS_URL_FILE": r.env["REDIS_URL_FILE"], "SESSION_KEY": r.env["SESSION_KEY"],
			"TRUSTED_PROXIES": "127.0.0.1", "LOG_FORMAT": "json", "LOG_LEVEL": "debug"},
		// C has a wrong secret: its token request fails, and its error path logs too.
		perInst: []map[string]string{nil, nil, {"CLIENT_SECRET": "wrong-client-secret-value-0123"}},
	})
	d.emu.SetLifetimes(2*time.Minute, time.Hour) // refreshes on every /msal-demo
	public := d.lb.url
	br := d.browser()

	// Sign in on A, keeping the callback URL (code and state) to replay it later.
	d.lb.use(0)
	authorize := br.authorizeURL(public)
	callback := callbackURL(t, br, authorize)
	if p := br.get(callback); p.status != http.StatusOK || !strings.Contains(p.body, "Welcome") {
		t.Fatalf("sign-in: %d at %s", p.status, p.url)
	}
	for _, rec := range signedInRecords(t, r) {
		d.secrets.add(tokenSecrets(t, sessionValues(t, rec)["token_cache"].([]byte))...)
	}

	// Demo and refresh on B, then the tokens of the refreshed cache.
	d.lb.use(1)
	for range 2 {
		if p := br.get(public + "/msal-demo"); p.status != http.StatusOK {
			t.Fatalf("/msal-demo: %d", p.status)
		}
	}
	for _, rec := range signedInRecords(t, r) {
		d.secrets.add(tokenSecrets(t, sessionValues(t, rec)["token_cache"].([]byte))...)
	}

	// Refused callbacks: a replayed one, a forged one, an error from the identity platform.
	if p := br.get(callback); p.status != http.StatusBadRequest {
		t.Errorf("replayed callback: %d", p.status)
	}
	forged := "0.EMUforged-code-that-must-not-be-logged"
	d.secrets.add(forged, "forged-state-value-0123")
	if p := br.get(public + "/getAToken?code=" + forged + "&state=forged-state-value-0123"); p.status != http.StatusBadRequest {
		t.Errorf("forged callback: %d", p.status)
	}
	d.emu.FailNext(emulator.Fault{Endpoint: "graph", Status: 401, Error: "InvalidAuthenticationToken"})
	if p := br.get(public + "/msal-demo"); p.status < 400 {
		t.Errorf("Graph 401: %d", p.status)
	}

	// A wrong client secret on C.
	d.lb.use(2)
	cb := d.browser()
	if p := cb.get(cb.authorizeURL(public)); p.status < 400 {
		t.Errorf("wrong secret: %d", p.status)
	}

	// The store goes down and comes back.
	d.lb.use(1)
	r.stop()
	if p := br.get(public + "/msal-demo"); p.status != http.StatusInternalServerError {
		t.Errorf("store down: %d", p.status)
	}
	_ = br.get(public + "/readyz")
	r.start(t)

	// Sign out on B.
	out := br.post(br.noFollow(), public+"/logout", nil)
	loc, _ := url.Parse(out.header.Get("Location"))
	if end := br.get(loc.String()); end.url.Path != "/login" {
		t.Errorf("logout ended at %s", end.url)
	}

	// The run produced real material to look for, and real logs to look in.
	if n := len(d.secrets.list()); n < 15 {
		t.Errorf("only %d secret values collected: the run did not exercise the flow", n)
	}
	lines := 0
	for _, in := range d.insts {
		lines += strings.Count(in.logs.String(), "\n")
	}
	if lines < 20 {
		t.Errorf("only %d log lines", lines)
	}
	t.Logf("%d log lines checked against %d secret values", lines, len(d.secrets.list()))
	// deployment.checkLogs runs at cleanup.
}

// callbackURL follows authorize up to, not into, the app's callback.
func callbackURL(t *testing.T, br *browser, authorize string) string {
	t.Helper()
	nf := br.noFollow()
	next := authorize
	for range 6 {
		resp, err := nf.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		u, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil || resp.Header.Get("Location") == "" {
			t.Fatalf("no redirect from %s (%d)", next, resp.StatusCode)
		}
		if u.Path == "/getAToken" {
			return u.String()
		}
		next = u.String()
	}
	t.Fatal("never reached the callback")
	return ""
}
