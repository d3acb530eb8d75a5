package web

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/graphauth/graphauth/internal/config"
)

func cidrs(t *testing.T, ss ...string) []*net.IPNet {
	t.Helper()
	var out []*net.IPNet
	for _, s := range ss {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func TestPublicOrigin(t *testing.T) {
	const configured = "https://app.example.com"
	trusted := cidrs(t, "10.0.0.0/8", "fd00::/8")
	cases := []struct {
		name    string
		trusted []*net.IPNet
		peer    string
		proto   []string
		host    []string
		want    string
	}{
		{"no proxy configured: headers ignored", nil, "10.1.2.3:5555", []string{"http"}, []string{"evil.example"}, configured},
		{"untrusted peer: headers ignored", trusted, "192.0.2.7:5555", []string{"http"}, []string{"evil.example"}, configured},
		{"trusted peer", trusted, "10.1.2.3:5555", []string{"https"}, []string{"public.example.org"}, "https://public.example.org"},
		{"trusted IPv6 peer", trusted, "[fd00::1]:5555", []string{"https"}, []string{"public.example.org:8443"}, "https://public.example.org:8443"},
		{"trusted peer, no headers", trusted, "10.1.2.3:5555", nil, nil, configured},
		{"trusted peer, host only", trusted, "10.1.2.3:5555", nil, []string{"public.example.org"}, configured},
		{"the proxy's own value is the last one", trusted, "10.1.2.3:5555",
			[]string{"http, https"}, []string{"evil.example, public.example.org"}, "https://public.example.org"},
		{"repeated headers: the last line", trusted, "10.1.2.3:5555",
			[]string{"http", "https"}, []string{"evil.example", "public.example.org"}, "https://public.example.org"},
		{"odd scheme refused", trusted, "10.1.2.3:5555", []string{"javascript"}, []string{"public.example.org"}, configured},
		{"host with a path refused", trusted, "10.1.2.3:5555", []string{"https"}, []string{"evil.example/x"}, configured},
		{"host with userinfo refused", trusted, "10.1.2.3:5555", []string{"https"}, []string{"a@evil.example"}, configured},
		{"host with a bad port refused", trusted, "10.1.2.3:5555", []string{"https"}, []string{"public.example.org:44x"}, configured},
		{"IPv6 host", trusted, "10.1.2.3:5555", []string{"https"}, []string{"[2001:db8::1]:443"}, "https://[2001:db8::1]:443"},
		{"upper case folded", trusted, "10.1.2.3:5555", []string{"HTTPS"}, []string{"Public.Example.ORG"}, "https://public.example.org"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &App{cfg: config.Config{RedirectURI: configured + "/getAToken", TrustedProxies: tc.trusted}}
			r := httptest.NewRequest(http.MethodPost, "/logout", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.proto {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			for _, v := range tc.host {
				r.Header.Add("X-Forwarded-Host", v)
			}
			if got := a.publicOrigin(r); got != tc.want {
				t.Errorf("publicOrigin = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidForwardedHost(t *testing.T) {
	for h, want := range map[string]bool{
		"example.com": true, "example.com:443": true, "127.0.0.1:5000": true, "[::1]:5000": true, "[::1]": true,
		"": false, ":443": false, "example.com:": false, "exa mple.com": false, "example.com/": false,
		"example.com\\x": false, "user@example.com": false, "example.com?x": false, "example.com#x": false,
		"[::1": false, "[::1]x": false, "[127.0.0.1]": false, "example.com:123456": false, "ex\u00e4mple.com": false,
	} {
		if got := validForwardedHost(h); got != want {
			t.Errorf("validForwardedHost(%q) = %v, want %v", h, got, want)
		}
	}
}
