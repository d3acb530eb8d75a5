package web_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/stacktest"
)

// sessionOf reads the browser's session straight from the session folder: its user and its
// serialized MSAL token cache.
func sessionOf(t *testing.T, h *stacktest.Stack, c *http.Client) (user string, cache []byte) {
	t.Helper()
	values := h.SessionValues(c)
	if id, ok := values["user"].(auth.Identity); ok {
		user = id.Key()
	}
	cache, _ = values["token_cache"].([]byte)
	return user, cache
}

// Every identity-provider and Graph failure, during sign-in, during a token refresh and during
// the Graph call: the user gets a page that explains it, their session and token cache are as
// they were, they (and everyone else) carry on once the fault is gone, and no goroutine is left
// behind. The provider is reached through a proxy the test can cut, so "unreachable" is a real
// refused connection.
func TestFaultsLeaveSessionsAndNoGoroutines(t *testing.T) {
	proxy := newTCPProxy(t)
	h := stacktest.Start(t, stacktest.Options{NoAutoLogin: true, Env: map[string]string{
		"AUTHORITY":        "https://" + proxy.addr + "/" + emulator.DefaultTenant,
		"GRAPH_ENDPOINT":   "https://" + proxy.addr + "/v1.0/me",
		"OUTBOUND_TIMEOUT": "500ms",
	}})
	proxy.setTarget(strings.TrimPrefix(h.Emu.URL(), "https://"))
	users := emulator.DefaultConfig().Users

	// Two signed-in people: one whose access token is cached for an hour (Graph faults), one
	// whose token is always refreshed (MSAL counts a token as expired 5 minutes early).
	signInAs := func(u emulator.User) *http.Client {
		h.Emu.SetAutoApprove(emulator.DemoClientID, u.ID)
		c := h.Browser()
		h.SignIn(c)
		return c
	}
	cached := signInAs(users[0])
	h.Emu.SetLifetimes(2*time.Minute, time.Hour)
	refreshing := signInAs(users[1])
	h.Emu.SetAutoApprove(emulator.DemoClientID, users[2].ID) // new sign-ins below
	for _, c := range []*http.Client{cached, refreshing} {
		if p := h.Get(c, "/msal-demo"); p.Status != http.StatusOK {
			t.Fatalf("/msal-demo before any fault: %d\n%s", p.Status, p.Body)
		}
	}

	type fault struct {
		name   string
		inject func()
		lift   func()
		status int
		want   []string
	}
	none := func() {}
	slowToken := func() { h.Emu.FailNext(emulator.Fault{Endpoint: "token", Delay: 3 * time.Second}) }
	token500 := func() {
		h.Emu.FailNext(emulator.Fault{Endpoint: "token", Status: 500, Error: "server_error", Code: 90033})
	}
	unreachable := fault{name: "unreachable", inject: proxy.cut, lift: proxy.restore,
		status: http.StatusBadGateway, want: []string{"did not answer", "could not be reached, or timed out"}}
	slow := fault{name: "slow past the deadline", inject: slowToken, lift: none,
		status: http.StatusBadGateway, want: []string{"did not answer", "could not be reached, or timed out"}}
	answers500 := fault{name: "answers 500", inject: token500, lift: none,
		status: http.StatusBadGateway, want: []string{"Sign-in failed", "AADSTS90033"}}

	// During sign-in: the failure hits the code redemption in the callback.
	for _, f := range []fault{unreachable, slow, answers500} {
		t.Run("sign-in/"+f.name, func(t *testing.T) {
			c := h.Browser()
			cb := h.CallbackURL(c, h.AuthorizeURL(c))
			base := quiesce(proxy, c, cached, refreshing)
			f.inject()
			p := h.Get(stacktest.NoFollow(c), cb)
			f.lift()
			if p.Status != f.status {
				t.Fatalf("status %d, want %d\n%s", p.Status, f.status, p.Body)
			}
			stacktest.MustContain(t, p, f.want...)
			if home := h.Get(c, "/"); home.URL.Path != "/login" {
				t.Errorf("a failed sign-in signed the user in: %s", home.URL)
			}
			expectGoroutinesBack(t, base, proxy, c, cached, refreshing)
			// Once the provider is back, the same browser signs in.
			h.SignIn(c)
			stillWorks(t, h, cached, refreshing)
		})
	}

	// During a token refresh on /msal-demo.
	for _, f := range []fault{unreachable, slow, answers500} {
		t.Run("refresh/"+f.name, func(t *testing.T) {
			who, before := sessionOf(t, h, refreshing)
			base := quiesce(proxy, refreshing, cached)
			f.inject()
			p := h.Get(refreshing, "/msal-demo")
			f.lift()
			if p.Status != f.status {
				t.Fatalf("status %d, want %d\n%s", p.Status, f.status, p.Body)
			}
			stacktest.MustContain(t, p, f.want...)
			whoAfter, after := sessionOf(t, h, refreshing)
			if whoAfter != who || !bytes.Equal(after, before) {
				t.Errorf("the failed refresh changed the session (user %q -> %q, cache %d -> %d bytes)", who, whoAfter, len(before), len(after))
			}
			expectGoroutinesBack(t, base, proxy, refreshing, cached)
			stillWorks(t, h, cached, refreshing)
		})
	}

	// During the Graph call, with a cached access token.
	graphFaults := []struct {
		fault  emulator.Fault
		status int
		want   []string
	}{
		{emulator.Fault{Endpoint: "graph", Status: 429, RetryAfter: 7, Error: "TooManyRequests"}, http.StatusServiceUnavailable,
			[]string{"Graph 429 TooManyRequests", "Retry after: 7s", "still signed in"}},
		{emulator.Fault{Endpoint: "graph", Status: 503, Error: "ServiceUnavailable"}, http.StatusServiceUnavailable,
			[]string{"Graph 503", "still signed in"}},
		{emulator.Fault{Endpoint: "graph", Status: 401, Error: "InvalidAuthenticationToken",
			Description: "Lifetime validation failed, the token is expired."}, http.StatusBadGateway,
			[]string{"Graph 401 InvalidAuthenticationToken", "did not accept the access token", "still signed in"}},
	}
	for _, g := range graphFaults {
		t.Run("graph/"+g.fault.Error, func(t *testing.T) {
			who, before := sessionOf(t, h, cached)
			tokenCalls := h.Counter("token")
			base := quiesce(proxy, cached, refreshing)
			h.Emu.FailNext(g.fault)
			p := h.Get(cached, "/msal-demo")
			if p.Status != g.status {
				t.Fatalf("status %d, want %d\n%s", p.Status, g.status, p.Body)
			}
			stacktest.MustContain(t, p, g.want...)
			whoAfter, after := sessionOf(t, h, cached)
			if whoAfter != who || !bytes.Equal(after, before) {
				t.Errorf("the Graph failure changed the session (user %q -> %q, cache %d -> %d bytes)", who, whoAfter, len(before), len(after))
			}
			expectGoroutinesBack(t, base, proxy, cached, refreshing)
			// The cached token is still used: no token call to recover.
			if p := h.Get(cached, "/msal-demo"); p.Status != http.StatusOK {
				t.Errorf("after Graph %d: %d", g.fault.Status, p.Status)
			}
			if got := h.Counter("token"); got != tokenCalls {
				t.Errorf("%d token calls after a Graph failure: the cached token was lost", got-tokenCalls)
			}
		})
	}
}

// stillWorks checks that every browser's session is signed in and gets its own Graph profile.
func stillWorks(t *testing.T, h *stacktest.Stack, clients ...*http.Client) {
	t.Helper()
	for i, c := range clients {
		if p := h.Get(c, "/msal-demo"); p.Status != http.StatusOK || p.URL.Path != "/msal-demo" {
			t.Errorf("browser %d after the fault: %d at %s\n%s", i, p.Status, p.URL, p.Body)
		}
	}
}
