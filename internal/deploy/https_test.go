package deploy_test

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// checkHTTPSSession walks sign-in, demo and logout at an https public origin and checks what
// HTTPS brings: a __Host- session cookie that is Secure, HttpOnly, SameSite=Lax with Path=/ and
// no Domain, and HSTS on every page.
func checkHTTPSSession(t *testing.T, d *deployment, public string) {
	t.Helper()
	br := d.browser()
	authorize := br.authorizeURL(public)
	u, _ := url.Parse(authorize)
	if got := u.Query().Get("redirect_uri"); got != public+"/getAToken" {
		t.Errorf("redirect_uri = %q, want the public https callback %s/getAToken", got, public)
	}

	// Up to the callback by hand, to read the Set-Cookie of the sign-in.
	nf := br.noFollow()
	next := authorize
	var cb page
	for range 6 {
		resp, err := nf.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		p := readPage(t, resp)
		if p.url.Path == "/getAToken" {
			cb = p
			break
		}
		loc, err := p.url.Parse(p.header.Get("Location"))
		if err != nil || p.header.Get("Location") == "" {
			t.Fatalf("stuck at %s (%d)", p.url, p.status)
		}
		next = loc.String()
	}
	if cb.status != http.StatusFound {
		t.Fatalf("callback: %d\n%s", cb.status, cb.body)
	}
	var set string
	for _, c := range cb.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "__Host-graphauth_session=") {
			set = c
		}
	}
	if set == "" {
		t.Fatalf("no __Host-graphauth_session cookie at sign-in; Set-Cookie: %q", cb.header.Values("Set-Cookie"))
	}
	for _, attr := range []string{"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(set, "; "+attr) {
			t.Errorf("session cookie lacks %s: %s", attr, set)
		}
	}
	if strings.Contains(strings.ToLower(set), "domain=") {
		t.Errorf("a __Host- cookie must not have a Domain: %s", set)
	}
	if got := cb.header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q on the callback", got)
	}

	home := br.get(public + "/")
	mustContain(t, home, "Welcome")
	if got := home.header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q", got)
	}
	if p := br.get(public + "/msal-demo"); p.status != http.StatusOK {
		t.Fatalf("/msal-demo: %d\n%s", p.status, p.body)
	}
	out := br.post(nf, public+"/logout", nil)
	loc, _ := url.Parse(out.header.Get("Location"))
	if out.status != http.StatusSeeOther || loc.Query().Get("post_logout_redirect_uri") != public+"/" {
		t.Errorf("logout: %d to %s, want post_logout_redirect_uri=%s/", out.status, loc, public)
	}
	if end := br.get(loc.String()); !strings.HasPrefix(end.url.String(), public+"/login") || end.url.Path != "/login" {
		t.Errorf("after logout ended at %s", end.url)
	}
}

// Behind a TLS-terminating proxy the app itself speaks plain HTTP, yet every URL it gives out
// is the public https one: REDIRECT_URI decides the callback, and the proxy (trusted through
// TRUSTED_PROXIES) supplies scheme and host for the post-logout URL.
func TestBehindTLSProxy(t *testing.T) {
	t.Parallel()
	d := deploy(t, deployOpts{balancer: "https", env: map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32"}})
	if !strings.HasPrefix(d.insts[0].url, "http://") || !strings.HasPrefix(d.lb.url, "https://") {
		t.Fatalf("want an http app behind an https proxy: %s, %s", d.insts[0].url, d.lb.url)
	}
	checkHTTPSSession(t, d, d.lb.url)
}

// X-Forwarded-Proto and -Host build the post-logout URL only when the peer is a trusted proxy;
// from anyone else they are ignored and REDIRECT_URI's origin is used.
func TestForwardedHeadersTrustedOnlyFromProxies(t *testing.T) {
	t.Parallel()
	const public = "https://app.graphauth.example"
	d := deploy(t, deployOpts{instances: 3, perInst: []map[string]string{
		{"REDIRECT_URI": public + "/getAToken"},                                            // A: no TRUSTED_PROXIES
		{"REDIRECT_URI": public + "/getAToken", "TRUSTED_PROXIES": "10.0.0.0/8, fd00::/8"}, // B: the test is not a proxy
		{"REDIRECT_URI": public + "/getAToken", "TRUSTED_PROXIES": "127.0.0.1"},            // C: the test is the proxy
	}})
	br := d.browser()
	spoof := http.Header{
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-Host":  {"other.graphauth.example"},
	}
	want := []string{public + "/", public + "/", "https://other.graphauth.example/"}
	for i, in := range d.insts {
		out := br.post(br.noFollow(), in.url+"/logout", spoof)
		loc, _ := url.Parse(out.header.Get("Location"))
		if got := loc.Query().Get("post_logout_redirect_uri"); out.status != http.StatusSeeOther || got != want[i] {
			t.Errorf("instance %s (TRUSTED_PROXIES=%v): post_logout_redirect_uri = %q (status %d), want %q",
				in.name, in.cfg.TrustedProxies, got, out.status, want[i])
		}
		// The sign-in redirect URI never comes from headers.
		req, _ := http.NewRequest(http.MethodGet, in.url+"/login", nil)
		req.Header = spoof.Clone()
		resp, err := br.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		p := readPage(t, resp)
		m := signInHref.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("no sign-in link:\n%s", p.body)
		}
		au, _ := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
		if got := au.Query().Get("redirect_uri"); got != public+"/getAToken" {
			t.Errorf("instance %s: redirect_uri = %q, want REDIRECT_URI", in.name, got)
		}
	}
}

// The app serves HTTPS itself with TLS_CERT_FILE and TLS_KEY_FILE: the whole flow works over
// TLS, with the same cookie and HSTS rules, and plain HTTP on that port gets no page.
func TestAppServesTLS(t *testing.T) {
	t.Parallel()
	d := deploy(t, deployOpts{appTLS: true})
	in := d.insts[0]
	if !strings.HasPrefix(in.url, "https://") || in.public != in.url {
		t.Fatalf("instance at %s, public %s: want https", in.url, in.public)
	}
	checkHTTPSSession(t, d, in.url)

	// Plain HTTP to the TLS port: Go's server answers 400 without reaching the app.
	plain := &http.Client{Timeout: 5 * time.Second}
	resp, err := plain.Get("http://" + strings.TrimPrefix(in.url, "https://") + "/")
	if err == nil {
		p := readPage(t, resp)
		if p.status != http.StatusBadRequest || strings.Contains(p.body, "Welcome") {
			t.Errorf("plain HTTP to the TLS port: %d\n%s", p.status, p.body)
		}
	}
	// A client that does not trust the certificate is refused at the handshake.
	strict := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
	if _, err := strict.Get(in.url + "/healthz"); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
}
