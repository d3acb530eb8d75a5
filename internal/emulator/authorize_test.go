package emulator

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAuthorizeErrorPages(t *testing.T) {
	e := newTestEnv(t, nil)
	_, challenge := pkce()
	tests := []struct {
		name      string
		tenant    string
		overrides map[string]string
		wantCode  string
	}{
		{"unknown tenant", "11111111-2222-4333-8444-555555555555", nil, "AADSTS90002"},
		{"missing client_id", DefaultTenant, map[string]string{"client_id": ""}, "AADSTS900144"},
		{"unknown client_id", DefaultTenant, map[string]string{"client_id": "11111111-2222-4333-8444-555555555555"}, "AADSTS700016"},
		{"missing redirect_uri", DefaultTenant, map[string]string{"redirect_uri": ""}, "AADSTS900971"},
		{"unregistered redirect_uri", DefaultTenant, map[string]string{"redirect_uri": "http://localhost:5001/getAToken"}, "AADSTS50011"},
		{"redirect_uri differs in case", DefaultTenant, map[string]string{"redirect_uri": "http://localhost:5000/GetAToken"}, "AADSTS50011"},
		// As Entra: a silent request (what `graphauth check` sends) is refused on the page too.
		{"unregistered redirect_uri, prompt none", DefaultTenant, map[string]string{"redirect_uri": "http://localhost:5001/getAToken", "prompt": "none"}, "AADSTS50011"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams(challenge, tt.overrides)
			status, h, body := e.get(e.url("/" + tt.tenant + "/oauth2/v2.0/authorize?" + q.Encode()))
			if status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", status)
			}
			if loc := h.Get("Location"); loc != "" {
				t.Errorf("error page redirected to %q; it must not", loc)
			}
			if !strings.Contains(body, `<strong id="error-code">`+tt.wantCode+`</strong>`) {
				t.Errorf("page lacks %s:\n%s", tt.wantCode, body)
			}
			if !strings.Contains(body, "not Microsoft") {
				t.Error("page does not say it is the emulator")
			}
		})
	}
}

func TestAuthorizeErrorRedirects(t *testing.T) {
	e := newTestEnv(t, nil)
	_, challenge := pkce()
	tests := []struct {
		name      string
		overrides map[string]string
		wantError string
		wantCode  string // "" for an emulator-only error
	}{
		{"missing response_type", map[string]string{"response_type": ""}, "invalid_request", "AADSTS900144"},
		{"implicit flow", map[string]string{"response_type": "token"}, "unsupported_response_type", "AADSTS700054"},
		{"missing scope", map[string]string{"scope": ""}, "invalid_request", "AADSTS900144"},
		{"unknown Graph scope", map[string]string{"scope": "User.Fly"}, "invalid_scope", "AADSTS70011"},
		{"other resource", map[string]string{"scope": "api://someapi/read"}, "invalid_resource", "AADSTS500011"},
		{"plain PKCE", map[string]string{"code_challenge_method": "plain"}, "invalid_request", ""},
		{"PKCE without method", map[string]string{"code_challenge_method": ""}, "invalid_request", ""},
		{"PKCE challenge too short", map[string]string{"code_challenge": "abc"}, "invalid_request", "AADSTS501491"},
		{"prompt none without session", map[string]string{"prompt": "none"}, "login_required", "AADSTS50058"},
		{"unknown response_mode", map[string]string{"response_mode": "web_message"}, "invalid_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams(challenge, tt.overrides)
			status, h, body := e.get(e.tenantPath("/oauth2/v2.0/authorize?" + q.Encode()))
			if status != http.StatusFound {
				t.Fatalf("status = %d, want 302\n%s", status, body)
			}
			loc, _ := url.Parse(h.Get("Location"))
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != DemoRedirectURI {
				t.Errorf("redirected to %s", got)
			}
			back := loc.Query()
			if back.Get("error") != tt.wantError {
				t.Errorf("error = %q, want %q (%s)", back.Get("error"), tt.wantError, back.Get("error_description"))
			}
			if back.Get("state") != "state-123" {
				t.Errorf("state = %q", back.Get("state"))
			}
			desc := back.Get("error_description")
			if tt.wantCode != "" && !strings.HasPrefix(desc, tt.wantCode+": ") {
				t.Errorf("error_description = %q, want prefix %s", desc, tt.wantCode)
			}
			if tt.wantCode == "" && !strings.HasPrefix(desc, "Emulator: ") {
				t.Errorf("error_description = %q, want an Emulator: message", desc)
			}
			if back.Get("code") != "" {
				t.Error("an error redirect carried a code")
			}
		})
	}
}

func TestAuthorizePages(t *testing.T) {
	e := newTestEnv(t, nil)
	_, challenge := pkce()
	q := authParams(challenge, map[string]string{"login_hint": priya.UserPrincipalName, "scope": "User.Read Mail.Read openid"})

	status, h, body := e.get(e.tenantPath("/oauth2/v2.0/authorize?" + q.Encode()))
	if status != http.StatusOK {
		t.Fatalf("authorize: %d", status)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	for _, want := range []string{`id="user-1"`, `id="user-2"`, `id="user-3"`, `value="` + alex.ID + `"`,
		`class="account hinted" autofocus data-upn="` + priya.UserPrincipalName + `"`, "not Microsoft", `href="/_static/emulator.css"`} {
		if !strings.Contains(body, want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	req := hiddenRequest(t, body)

	// An unknown user re-shows the page.
	status, _, body = e.postForm(e.tenantPath("/login"), url.Values{"request": {req}, "user": {"nobody@example.com"}})
	if status != http.StatusBadRequest || !strings.Contains(body, `id="signin-error"`) {
		t.Errorf("unknown user: %d", status)
	}

	// Picking by UPN works as well as by ID, and leads to the consent page.
	status, _, body = e.postForm(e.tenantPath("/login"), url.Values{"request": {req}, "user": {priya.UserPrincipalName}})
	if status != http.StatusOK {
		t.Fatalf("sign-in: %d\n%s", status, body)
	}
	for _, want := range []string{`id="accept"`, `id="cancel"`, `data-scope="User.Read"`, `data-scope="Mail.Read"`, "Priya Natarajan"} {
		if !strings.Contains(body, want) {
			t.Errorf("consent page lacks %s", want)
		}
	}
	status, h, _ = e.postForm(e.tenantPath("/consent"), url.Values{"request": {hiddenRequest(t, body)}, "action": {"accept"}})
	if status != http.StatusFound {
		t.Fatalf("accept: %d", status)
	}
	back := e.redirectQuery(h)
	if back.Get("code") == "" || back.Get("state") != "state-123" || back.Get("session_state") == "" {
		t.Errorf("redirect query = %v", back)
	}

	// The pending request is single-use.
	status, _, _ = e.postForm(e.tenantPath("/consent"), url.Values{"request": {req}, "action": {"accept"}})
	if status != http.StatusBadRequest {
		t.Errorf("second accept: %d, want 400", status)
	}

	// Consent is remembered: the next sign-in skips the consent page...
	back = e.signIn(authParams(challenge, map[string]string{"scope": "User.Read"}), priya.ID)
	if back.Get("code") == "" {
		t.Errorf("second sign-in: %v", back)
	}
	// ...unless prompt=consent.
	_, _, body = e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, map[string]string{"prompt": "consent"}).Encode()))
	status, _, body = e.postForm(e.tenantPath("/login"), url.Values{"request": {hiddenRequest(t, body)}, "user": {priya.ID}})
	if status != http.StatusOK || !strings.Contains(body, `id="accept"`) {
		t.Errorf("prompt=consent did not show the consent page: %d", status)
	}
	if got := e.srv.Counters()["authorize"]; got != 3 {
		t.Errorf("authorize counter = %d, want 3 (form posts are not counted)", got)
	}
}

func TestAuthorizeCancelConsent(t *testing.T) {
	e := newTestEnv(t, nil)
	_, challenge := pkce()
	_, _, body := e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, nil).Encode()))
	_, _, body = e.postForm(e.tenantPath("/login"), url.Values{"request": {hiddenRequest(t, body)}, "user": {zoe.ID}})
	status, h, _ := e.postForm(e.tenantPath("/consent"), url.Values{"request": {hiddenRequest(t, body)}, "action": {"cancel"}})
	if status != http.StatusFound {
		t.Fatalf("cancel: %d", status)
	}
	back := e.redirectQuery(h)
	if back.Get("error") != "access_denied" || !strings.HasPrefix(back.Get("error_description"), "AADSTS65004:") || back.Get("state") != "state-123" {
		t.Errorf("cancel redirect = %v", back)
	}
}

func TestAuthorizeAutoApprove(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Apps[0].AutoApproveUser = alex.UserPrincipalName })
	verifier, challenge := pkce()
	status, h, body := e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, nil).Encode()))
	if status != http.StatusFound {
		t.Fatalf("auto-approve: %d %s", status, body)
	}
	back := e.redirectQuery(h)
	status, m := e.token(tokenForm(back.Get("code"), verifier))
	if status != http.StatusOK {
		t.Fatalf("token: %v", m)
	}
	if got := jwtClaims(t, m["id_token"].(string))["oid"]; got != alex.ID {
		t.Errorf("oid = %v", got)
	}

	// prompt=none succeeds with auto-approve; turning it off brings the pages back.
	status, _, _ = e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, map[string]string{"prompt": "none"}).Encode()))
	if status != http.StatusFound {
		t.Errorf("prompt=none with auto-approve: %d", status)
	}
	e.srv.SetAutoApprove(DemoClientID, "")
	status, _, _ = e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, nil).Encode()))
	if status != http.StatusOK {
		t.Errorf("after SetAutoApprove off: %d, want the sign-in page", status)
	}
	e.srv.SetAutoApprove(DemoClientID, zoe.ID)
	back = e.signIn(authParams(challenge, nil), "")
	if back.Get("code") == "" {
		t.Errorf("SetAutoApprove(zoe): %v", back)
	}
}

func TestAuthorizeResponseModes(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Apps[0].AutoApproveUser = alex.ID })
	_, challenge := pkce()

	status, _, body := e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, map[string]string{"response_mode": "form_post"}).Encode()))
	if status != http.StatusOK {
		t.Fatalf("form_post: %d", status)
	}
	for _, want := range []string{`action="` + DemoRedirectURI + `"`, `name="code"`, `name="state" value="state-123"`, `src="/_static/formpost.js"`} {
		if !strings.Contains(body, want) {
			t.Errorf("form_post page lacks %s", want)
		}
	}

	status, h, _ := e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, map[string]string{"response_mode": "fragment"}).Encode()))
	loc, _ := url.Parse(h.Get("Location"))
	frag, _ := url.ParseQuery(loc.Fragment)
	if status != http.StatusFound || frag.Get("code") == "" || loc.RawQuery != "" {
		t.Errorf("fragment: %d %s", status, h.Get("Location"))
	}
}

func TestStaticAndIndex(t *testing.T) {
	e := newTestEnv(t, nil)
	for _, p := range []string{"/", "/_static/emulator.css", "/_static/formpost.js"} {
		if status, _, _ := e.get(e.url(p)); status != http.StatusOK {
			t.Errorf("GET %s: %d", p, status)
		}
	}
}
