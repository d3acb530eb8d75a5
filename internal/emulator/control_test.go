package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFaultsToken(t *testing.T) {
	e := newTestEnv(t, nil)
	e.srv.FailNext(Fault{Endpoint: "token", Count: 2, Status: 503, RetryAfter: 7})
	e.srv.FailNext(Fault{Endpoint: "token", Code: 7000222})
	code, verifier := e.code(alex.ID)

	for i := 0; i < 2; i++ {
		status, h, body := e.postForm(e.tenantPath("/oauth2/v2.0/token"), tokenForm(code, verifier))
		var m map[string]any
		_ = json.Unmarshal([]byte(body), &m)
		wantEntraError(t, status, m, 503, "temporarily_unavailable", 90033)
		if h.Get("Retry-After") != "7" {
			t.Errorf("Retry-After = %q", h.Get("Retry-After"))
		}
	}
	status, m := e.token(tokenForm(code, verifier))
	wantEntraError(t, status, m, 401, "invalid_client", 7000222)
	if !strings.Contains(m["error_description"].(string), DemoClientID) {
		t.Errorf("description does not name the app: %v", m["error_description"])
	}
	// Faults did not spend the code.
	if status, m := e.token(tokenForm(code, verifier)); status != http.StatusOK {
		t.Errorf("after the faults: %v", m)
	}
	if c := e.srv.Counters(); c["token"] != 4 || c["token:authorization_code"] != 4 {
		t.Errorf("counters = %v (faulted calls count too)", c)
	}

	e.srv.FailNext(Fault{Endpoint: "token", Error: "invalid_grant", Code: 50173, Description: "custom text"})
	status, m = e.token(tokenForm(code, verifier))
	wantEntraError(t, status, m, 400, "invalid_grant", 50173)
	if !strings.HasPrefix(m["error_description"].(string), "AADSTS50173: custom text") {
		t.Errorf("description = %v", m["error_description"])
	}
}

func TestFaultsGraphMetadataAuthorize(t *testing.T) {
	e := newTestEnv(t, nil)
	at := e.tokens(alex.ID)["access_token"].(string)

	e.srv.FailNext(Fault{Endpoint: "graph", Status: 429, RetryAfter: 3})
	status, h, body := e.me(at, "")
	if status != 429 || h.Get("Retry-After") != "3" || !strings.Contains(body, `"code":"TooManyRequests"`) {
		t.Errorf("graph 429: %d %q %s", status, h.Get("Retry-After"), body)
	}
	e.srv.FailNext(Fault{Endpoint: "graph", Error: "serviceNotAvailable"})
	if status, _, body = e.me(at, ""); status != 503 {
		t.Errorf("graph serviceNotAvailable: %d %s", status, body)
	}
	if status, _, _ = e.me(at, ""); status != 200 {
		t.Errorf("after the faults: %d", status)
	}

	e.srv.FailNext(Fault{Endpoint: "metadata", Status: 500})
	status, _, body = e.get(e.tenantPath("/v2.0/.well-known/openid-configuration"))
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	wantEntraError(t, status, m, 500, "server_error", 90033)

	e.srv.FailNext(Fault{Endpoint: "authorize", Error: "interaction_required", Code: 50076})
	_, challenge := pkce()
	status, h, _ = e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, nil).Encode()))
	back := e.redirectQuery(h)
	if status != http.StatusFound || back.Get("error") != "interaction_required" ||
		!strings.HasPrefix(back.Get("error_description"), "AADSTS50076: ") || back.Get("state") != "state-123" {
		t.Errorf("authorize fault: %d %v", status, back)
	}
	// An authorize fault never redirects to an unregistered URI.
	e.srv.FailNext(Fault{Endpoint: "authorize", Error: "server_error"})
	status, h, _ = e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, map[string]string{"redirect_uri": "https://evil.example/cb"}).Encode()))
	if status != http.StatusBadRequest || h.Get("Location") != "" {
		t.Errorf("fault with a bad redirect_uri: %d %q", status, h.Get("Location"))
	}
}

func TestFaultDelay(t *testing.T) {
	e := newTestEnv(t, nil)

	// The client's deadline ends the request; the server gives up sleeping.
	e.srv.FailNext(Fault{Endpoint: "metadata", Delay: 10 * time.Second, Status: 500})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.tenantPath("/v2.0/.well-known/openid-configuration"), nil)
	start := time.Now()
	_, err := e.client.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline error", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %v", time.Since(start))
	}

	// A delay-only fault delays a normal answer.
	e.srv.FailNext(Fault{Endpoint: "metadata", Delay: 150 * time.Millisecond})
	start = time.Now()
	status, _, _ := e.get(e.tenantPath("/v2.0/.well-known/openid-configuration"))
	if status != 200 || time.Since(start) < 150*time.Millisecond {
		t.Errorf("delay-only: %d after %v", status, time.Since(start))
	}
}

func TestFaultDelayEndsAtClose(t *testing.T) {
	e := newTestEnv(t, nil)
	e.srv.FailNext(Fault{Endpoint: "token", Delay: time.Minute, Status: 500})
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest(http.MethodPost, e.tenantPath("/oauth2/v2.0/token"), strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := e.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	for e.srv.Counters()["token"] == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := e.srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("Close waited %v for a delayed request", time.Since(start))
	}
	<-done
}

// control sends a control API request through Handler(), with a chosen remote address.
func control(s *Server, method, path, remote, host, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = remote
	req.Host = host
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func TestControlAPIRefusesNonLoopback(t *testing.T) {
	s, err := New(Config{StateDir: sharedStateDir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name, remote, host string
		want               int
	}{
		{"remote client", "192.0.2.10:51000", "127.0.0.1:8443", 403},
		{"remote IPv6 client", "[2001:db8::1]:51000", "127.0.0.1:8443", 403},
		{"loopback but foreign Host (DNS rebinding)", "127.0.0.1:51000", "evil.example:8443", 403},
		{"loopback", "127.0.0.1:51000", "127.0.0.1:8443", 200},
		{"loopback IPv6", "[::1]:51000", "localhost:8443", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := control(s, http.MethodGet, "/_emulator/counters", tt.remote, tt.host, "")
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
		})
	}
	if rec := control(s, http.MethodPost, "/_emulator/faults", "192.0.2.10:1", "localhost", `{"endpoint":"token"}`); rec.Code != 403 {
		t.Errorf("remote fault injection: %d", rec.Code)
	}
	if _, queued := s.takeFault("token"); queued {
		t.Error("a refused request queued a fault")
	}
}

func TestControlAPI(t *testing.T) {
	e := newTestEnv(t, nil)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.url(path), strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		status, _, b := e.do(req)
		return status, b
	}

	e.tokens(alex.ID)
	status, body := call("GET", "/_emulator/counters", "")
	var counters map[string]int
	if err := json.Unmarshal([]byte(body), &counters); err != nil || status != 200 || counters["token:authorization_code"] != 1 || counters["authorize"] != 1 {
		t.Errorf("counters: %d %s", status, body)
	}
	if status, _ = call("POST", "/_emulator/reset-counters", ""); status != 204 || len(e.srv.Counters()) != 0 {
		t.Errorf("reset-counters: %d %v", status, e.srv.Counters())
	}

	if status, body = call("POST", "/_emulator/faults", `{"endpoint":"graph","status":429,"retry_after":2,"delay_ms":1}`); status != 204 {
		t.Errorf("faults: %d %s", status, body)
	}
	if f, ok := e.srv.takeFault("graph"); !ok || f.Status != 429 || f.RetryAfter != 2 || f.Delay != time.Millisecond || f.Count != 1 {
		t.Errorf("queued fault = %+v", f)
	}
	if status, _ = call("POST", "/_emulator/faults", `{"endpoint":"token","delay":"1.5s"}`); status != 204 {
		t.Errorf("faults with delay string: %d", status)
	}
	if f, _ := e.srv.takeFault("token"); f.Delay != 1500*time.Millisecond {
		t.Errorf("delay = %v", f.Delay)
	}
	for _, bad := range []string{`{"endpoint":"nope"}`, `{"endpoint":"token","status":200}`, `{"endpoint":"token","colour":"red"}`, `not json`} {
		if status, _ = call("POST", "/_emulator/faults", bad); status != 400 {
			t.Errorf("fault %s: %d, want 400", bad, status)
		}
	}
	req, _ := http.NewRequest("POST", e.url("/_emulator/faults"), strings.NewReader(`endpoint=token`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if status, _, _ := e.do(req); status != http.StatusUnsupportedMediaType {
		t.Errorf("form-encoded control request: %d, want 415", status)
	}

	if status, _ = call("POST", "/_emulator/lifetimes", `{"access_token_seconds":600,"refresh_token_seconds":120}`); status != 204 {
		t.Errorf("lifetimes: %d", status)
	}
	if at, rt := e.srv.lifetimes(); at != 10*time.Minute || rt != 2*time.Minute {
		t.Errorf("lifetimes = %v %v", at, rt)
	}
	if m := e.tokens(alex.ID); m["expires_in"] != float64(600) {
		t.Errorf("expires_in = %v", m["expires_in"])
	}

	status, body = call("PUT", "/_emulator/users/00000000-0000-4000-8000-00000000b001",
		`{"userPrincipalName":"new.user@graphauth.example","displayName":"New User","businessPhones":["1"]}`)
	if status != 204 {
		t.Errorf("PUT user: %d %s", status, body)
	}
	if u, ok := e.srv.findUser("new.user@graphauth.example"); !ok || u.ID != "00000000-0000-4000-8000-00000000b001" {
		t.Errorf("new user = %+v", u)
	}
	if status, _ = call("PUT", "/_emulator/users/00000000-0000-4000-8000-00000000b001", `{"id":"00000000-0000-4000-8000-00000000b002","userPrincipalName":"x@y"}`); status != 400 {
		t.Errorf("PUT with mismatched id: %d", status)
	}
	if status, _ = call("PUT", "/_emulator/users/not-a-guid", `{"userPrincipalName":"x@y"}`); status != 400 {
		t.Errorf("PUT with bad id: %d", status)
	}
	if status, body = call("GET", "/_emulator/users", ""); status != 200 || !strings.Contains(body, "new.user@graphauth.example") {
		t.Errorf("GET users: %d %s", status, body)
	}

	rt := e.tokens(priya.ID)["refresh_token"].(string)
	if status, _ = call("POST", "/_emulator/revoke", `{"user":"`+priya.ID+`"}`); status != 204 {
		t.Errorf("revoke: %d", status)
	}
	st, m := e.token(refreshForm(rt))
	wantEntraError(t, st, m, 400, "invalid_grant", 50173)
	if status, _ = call("POST", "/_emulator/revoke", `{"user":"ghost@graphauth.example"}`); status != 404 {
		t.Errorf("revoke unknown: %d", status)
	}

	if status, _ = call("POST", "/_emulator/auto-approve", `{"client_id":"`+DemoClientID+`","user":"`+zoe.UserPrincipalName+`"}`); status != 204 {
		t.Errorf("auto-approve: %d", status)
	}
	_, challenge := pkce()
	if status, _, _ := e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, nil).Encode())); status != http.StatusFound {
		t.Errorf("authorize after auto-approve: %d", status)
	}
	if status, _ = call("POST", "/_emulator/auto-approve", `{"client_id":"11111111-2222-4333-8444-555555555555","user":""}`); status != 404 {
		t.Errorf("auto-approve unknown app: %d", status)
	}
	if status, _ = call("POST", "/_emulator/auto-approve", `{"client_id":"`+DemoClientID+`","user":""}`); status != 204 {
		t.Errorf("auto-approve off: %d", status)
	}
	if status, _, _ := e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, nil).Encode())); status != http.StatusOK {
		t.Errorf("authorize after auto-approve off: %d", status)
	}
}

func TestLogout(t *testing.T) {
	e := newTestEnv(t, nil)
	status, h, _ := e.get(e.tenantPath("/oauth2/v2.0/logout?" + url.Values{"post_logout_redirect_uri": {DemoPostLogoutRedirectURI}, "state": {"s1"}}.Encode()))
	if status != http.StatusFound || h.Get("Location") != DemoPostLogoutRedirectURI+"?state=s1" {
		t.Errorf("registered: %d %q", status, h.Get("Location"))
	}
	status, h, body := e.get(e.tenantPath("/oauth2/v2.0/logout?post_logout_redirect_uri=" + url.QueryEscape("https://evil.example/")))
	if status != http.StatusBadRequest || h.Get("Location") != "" || !strings.Contains(body, "not registered") {
		t.Errorf("unregistered: %d %q", status, h.Get("Location"))
	}
	status, _, body = e.get(e.tenantPath("/oauth2/v2.0/logout"))
	if status != http.StatusOK || !strings.Contains(body, `id="signed-out"`) {
		t.Errorf("no redirect: %d", status)
	}
	// With a client_id, the URI must belong to that app.
	status, _, _ = e.get(e.tenantPath("/oauth2/v2.0/logout?" + url.Values{"post_logout_redirect_uri": {DemoPostLogoutRedirectURI}, "client_id": {"11111111-2222-4333-8444-555555555555"}}.Encode()))
	if status != http.StatusBadRequest {
		t.Errorf("other app's URI: %d", status)
	}
	if got := e.srv.Counters()["logout"]; got != 4 {
		t.Errorf("logout counter = %d", got)
	}
}
