package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokenAuthorizationCode(t *testing.T) {
	e := newTestEnv(t, nil)
	code, verifier := e.code(alex.ID)
	req, _ := http.NewRequest(http.MethodPost, e.tenantPath("/oauth2/v2.0/token"), strings.NewReader(tokenForm(code, verifier).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("client-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e")
	req.Header.Set("return-client-request-id", "true")
	status, h, body := e.do(req)
	if status != http.StatusOK {
		t.Fatalf("token: %d %s", status, body)
	}
	if h.Get("client-request-id") != "0f8fad5b-d9cb-469f-a165-70867728950e" {
		t.Errorf("client-request-id not echoed: %q", h.Get("client-request-id"))
	}
	if !strings.Contains(h.Get("Cache-Control"), "no-store") {
		t.Errorf("Cache-Control = %q", h.Get("Cache-Control"))
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	if m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) || m["ext_expires_in"] != float64(3600) {
		t.Errorf("token_type/expires_in = %v/%v/%v", m["token_type"], m["expires_in"], m["ext_expires_in"])
	}
	if got := m["scope"]; got != "User.Read openid profile email" {
		t.Errorf("scope = %q, want every requested scope but offline_access, plus email", got)
	}
	if rt, _ := m["refresh_token"].(string); rt == "" {
		t.Error("no refresh_token with offline_access")
	}

	ci := m["client_info"].(string)
	if strings.ContainsAny(ci, "=+/") {
		t.Errorf("client_info %q is not unpadded base64url", ci)
	}
	raw, err := base64.RawURLEncoding.DecodeString(ci)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]string
	if err := json.Unmarshal(raw, &info); err != nil || info["uid"] != alex.ID || info["utid"] != DefaultTenant {
		t.Errorf("client_info = %s", raw)
	}

	issuer := e.srv.URL() + "/" + DefaultTenant + "/v2.0"
	id := jwtClaims(t, m["id_token"].(string))
	for k, want := range map[string]any{
		"aud": DemoClientID, "iss": issuer, "oid": alex.ID, "tid": DefaultTenant, "nonce": "nonce-456",
		"ver": "2.0", "name": alex.DisplayName, "preferred_username": alex.UserPrincipalName,
	} {
		if id[k] != want {
			t.Errorf("id_token %s = %v, want %v", k, id[k], want)
		}
	}
	for _, k := range []string{"sub", "iat", "nbf", "exp", "sid"} {
		if id[k] == nil {
			t.Errorf("id_token lacks %s", k)
		}
	}
	at := jwtClaims(t, m["access_token"].(string))
	for k, want := range map[string]any{
		"aud": "https://graph.microsoft.com", "iss": issuer, "oid": alex.ID, "tid": DefaultTenant,
		"scp": "email openid profile User.Read", "upn": alex.UserPrincipalName, "name": alex.DisplayName,
		"preferred_username": alex.UserPrincipalName, "azp": DemoClientID, "appid": DemoClientID, "idtyp": "user",
	} {
		if at[k] != want {
			t.Errorf("access_token %s = %v, want %v", k, at[k], want)
		}
	}
	if exp, iat := at["exp"].(float64), at["iat"].(float64); exp-iat != 3600 {
		t.Errorf("access token lifetime = %v", exp-iat)
	}
	if at["sub"] == id["sub"] {
		t.Error("sub should be pairwise (differ between the ID token and the Graph token)")
	}
	c := e.srv.Counters()
	if c["token"] != 1 || c["token:authorization_code"] != 1 {
		t.Errorf("counters = %v", c)
	}
}

func TestTokenScopeForms(t *testing.T) {
	e := newTestEnv(t, nil)
	for _, scope := range []string{"https://graph.microsoft.com/User.Read", "00000003-0000-0000-c000-000000000000/user.read", "https://graph.microsoft.com/.default"} {
		t.Run(scope, func(t *testing.T) {
			verifier, challenge := pkce()
			back := e.signIn(authParams(challenge, map[string]string{"scope": scope}), alex.ID)
			form := tokenForm(back.Get("code"), verifier)
			form.Set("scope", scope+" openid offline_access profile")
			status, m := e.token(form)
			if status != http.StatusOK {
				t.Fatalf("token: %v", m)
			}
			got := strings.Fields(m["scope"].(string))
			if !containsFold(got, scope) {
				t.Errorf("scope %q does not echo %q (MSAL would report it declined)", m["scope"], scope)
			}
			if containsFold(got, "offline_access") {
				t.Errorf("scope %q lists offline_access, which Entra never returns", m["scope"])
			}
			if scp := jwtClaims(t, m["access_token"].(string))["scp"].(string); !strings.Contains(scp, "User.Read") {
				t.Errorf("scp = %q", scp)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	e := newTestEnv(t, func(c *Config) {
		c.Apps = append(c.Apps, App{ClientID: "00000000-0000-4000-8000-00000000c0de", RedirectURIs: []string{"http://localhost:5002/cb"}})
	})
	tests := []struct {
		name       string
		tenant     string
		form       func(code, verifier string) url.Values
		wantStatus int
		wantErr    string
		wantCode   int
	}{
		{"wrong secret", DefaultTenant, func(c, v string) url.Values { f := tokenForm(c, v); f.Set("client_secret", "not-the-secret"); return f },
			401, "invalid_client", 7000215},
		{"no credential", DefaultTenant, func(c, v string) url.Values { f := tokenForm(c, v); f.Del("client_secret"); return f },
			401, "invalid_client", 7000218},
		{"unknown client", DefaultTenant, func(c, v string) url.Values {
			f := tokenForm(c, v)
			f.Set("client_id", "11111111-2222-4333-8444-555555555555")
			return f
		}, 400, "unauthorized_client", 700016},
		{"missing client_id", DefaultTenant, func(c, v string) url.Values { f := tokenForm(c, v); f.Del("client_id"); return f },
			400, "invalid_request", 900144},
		{"unknown tenant", "11111111-2222-4333-8444-555555555555", tokenForm, 400, "invalid_request", 90002},
		{"missing grant_type", DefaultTenant, func(c, v string) url.Values { f := tokenForm(c, v); f.Del("grant_type"); return f },
			400, "invalid_request", 900144},
		{"unsupported grant", DefaultTenant, func(c, v string) url.Values { f := tokenForm(c, v); f.Set("grant_type", "password"); return f },
			400, "unsupported_grant_type", 70003},
		{"garbage code", DefaultTenant, func(c, v string) url.Values { return tokenForm("0.EMUnotacode", v) },
			400, "invalid_grant", 9002313},
		{"missing code", DefaultTenant, func(c, v string) url.Values { f := tokenForm(c, v); f.Del("code"); return f },
			400, "invalid_request", 900144},
		{"PKCE mismatch", DefaultTenant, func(c, v string) url.Values { w, _ := pkce(); return tokenForm(c, w) },
			400, "invalid_grant", 501481},
		{"PKCE verifier missing (empty, as MSAL sends it)", DefaultTenant, func(c, v string) url.Values { return tokenForm(c, "") },
			400, "invalid_request", 900144},
		{"redirect_uri mismatch", DefaultTenant, func(c, v string) url.Values {
			f := tokenForm(c, v)
			f.Set("redirect_uri", "http://localhost:5000/getAToken/")
			return f
		}, 401, "invalid_client", 500112},
		{"public client sends a secret", DefaultTenant, func(c, v string) url.Values {
			f := tokenForm(c, v)
			f.Set("client_id", "00000000-0000-4000-8000-00000000c0de")
			return f
		}, 401, "invalid_client", 700025},
		{"scope not consented", DefaultTenant, func(c, v string) url.Values { f := tokenForm(c, v); f.Set("scope", "Mail.Read openid"); return f },
			400, "invalid_grant", 65001},
		{"code of another client", DefaultTenant, func(c, v string) url.Values {
			f := tokenForm(c, v)
			f.Set("client_id", "00000000-0000-4000-8000-00000000c0de")
			f.Del("client_secret")
			return f
		}, 400, "invalid_grant", 70000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, verifier := e.code(alex.ID)
			status, _, body := e.postForm(e.url("/"+tt.tenant+"/oauth2/v2.0/token"), tt.form(code, verifier))
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatalf("not JSON: %s", body)
			}
			wantEntraError(t, status, m, tt.wantStatus, tt.wantErr, tt.wantCode)
		})
	}

	t.Run("GET is refused", func(t *testing.T) {
		status, _, body := e.get(e.tenantPath("/oauth2/v2.0/token"))
		var m map[string]any
		_ = json.Unmarshal([]byte(body), &m)
		wantEntraError(t, status, m, 400, "invalid_request", 900561)
	})

	t.Run("correlation_id is the client-request-id", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.tenantPath("/oauth2/v2.0/token"), strings.NewReader("grant_type=password"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("client-request-id", "6D3E3B52-AAAA-4BBB-8CCC-0123456789AB")
		_, h, body := e.do(req)
		var m map[string]any
		_ = json.Unmarshal([]byte(body), &m)
		if m["correlation_id"] != "6d3e3b52-aaaa-4bbb-8ccc-0123456789ab" {
			t.Errorf("correlation_id = %v", m["correlation_id"])
		}
		if h.Get("x-ms-request-id") != m["trace_id"] {
			t.Errorf("x-ms-request-id %q != trace_id %v", h.Get("x-ms-request-id"), m["trace_id"])
		}
	})
}

func TestTokenCodeSingleUseAndExpiry(t *testing.T) {
	e := newTestEnv(t, nil)
	code, verifier := e.code(alex.ID)
	if status, m := e.token(tokenForm(code, verifier)); status != http.StatusOK {
		t.Fatalf("first redemption: %v", m)
	}
	status, m := e.token(tokenForm(code, verifier))
	wantEntraError(t, status, m, 400, "invalid_grant", 54005)

	// A failed attempt spends the code too.
	code, verifier = e.code(alex.ID)
	wrong, _ := pkce()
	if status, _ := e.token(tokenForm(code, wrong)); status != http.StatusBadRequest {
		t.Fatalf("wrong verifier: %d", status)
	}
	status, m = e.token(tokenForm(code, verifier))
	wantEntraError(t, status, m, 400, "invalid_grant", 54005)

	e.srv.setLifetimes(0, 0, time.Millisecond)
	code, verifier = e.code(alex.ID)
	time.Sleep(5 * time.Millisecond)
	status, m = e.token(tokenForm(code, verifier))
	wantEntraError(t, status, m, 400, "invalid_grant", 70008)
}

func TestTokenWithoutPKCE(t *testing.T) {
	e := newTestEnv(t, nil)
	back := e.signIn(authParams("", map[string]string{"code_challenge_method": ""}), alex.ID)
	status, m := e.token(tokenForm(back.Get("code"), "")) // MSAL sends code_verifier= when unused
	if status != http.StatusOK {
		t.Fatalf("no PKCE, empty verifier: %v", m)
	}
	back = e.signIn(authParams("", map[string]string{"code_challenge_method": ""}), alex.ID)
	v, _ := pkce()
	status, m = e.token(tokenForm(back.Get("code"), v))
	wantEntraError(t, status, m, 400, "invalid_grant", 501481)
}

func TestTokenClientSecretBasic(t *testing.T) {
	e := newTestEnv(t, nil)
	code, verifier := e.code(alex.ID)
	form := tokenForm(code, verifier)
	form.Del("client_secret")
	req, _ := http.NewRequest(http.MethodPost, e.tenantPath("/oauth2/v2.0/token"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(DemoClientID), url.QueryEscape(DemoClientSecret))
	if status, _, body := e.do(req); status != http.StatusOK {
		t.Errorf("client_secret_basic: %d %s", status, body)
	}
}

func refreshForm(rt string) url.Values {
	return url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt},
		"client_id":     {DemoClientID},
		"client_secret": {DemoClientSecret},
		"client_info":   {"1"},
		"scope":         {"User.Read openid offline_access profile"},
	}
}

// freshRefreshToken signs Alex in and returns a fresh refresh token.
func freshRefreshToken(t *testing.T, e *testEnv) string {
	t.Helper()
	return e.tokens(alex.ID)["refresh_token"].(string)
}

func TestRefreshRotation(t *testing.T) {
	e := newTestEnv(t, func(c *Config) {
		c.Apps = append(c.Apps, App{ClientID: "00000000-0000-4000-8000-00000000c0de", RedirectURIs: []string{"http://localhost:5002/cb"}})
	})
	rt1 := e.tokens(alex.ID)["refresh_token"].(string)

	status, m := e.token(refreshForm(rt1))
	if status != http.StatusOK {
		t.Fatalf("refresh: %v", m)
	}
	rt2 := m["refresh_token"].(string)
	if rt2 == "" || rt2 == rt1 {
		t.Fatal("refresh token not rotated")
	}
	if m["id_token"] == nil || m["client_info"] == nil || m["access_token"] == nil {
		t.Errorf("refresh response = %v", m)
	}
	if _, ok := jwtClaims(t, m["id_token"].(string))["nonce"]; ok {
		t.Error("a refreshed ID token carries the nonce")
	}

	// As in Entra ID, the replaced refresh token still works.
	if status, m = e.token(refreshForm(rt1)); status != http.StatusOK {
		t.Fatalf("the replaced refresh token stopped working: %v", m)
	}

	form := refreshForm(rt2)
	form.Set("client_secret", "wrong")
	status, m = e.token(form)
	wantEntraError(t, status, m, 401, "invalid_client", 7000215)

	if status, m = e.token(refreshForm(rt2)); status != http.StatusOK {
		t.Fatalf("rt2 after a failed client auth: %v", m)
	}

	status, m = e.token(refreshForm("1.EMUgarbage"))
	wantEntraError(t, status, m, 400, "invalid_grant", 9002313)

	form = refreshForm(freshRefreshToken(t, e))
	form.Set("client_id", "00000000-0000-4000-8000-00000000c0de") // a public client
	form.Del("client_secret")
	status, m = e.token(form)
	wantEntraError(t, status, m, 400, "invalid_grant", 70000)

	e.srv.SetLifetimes(0, time.Millisecond)
	rt := e.tokens(alex.ID)["refresh_token"].(string)
	time.Sleep(5 * time.Millisecond)
	status, m = e.token(refreshForm(rt))
	wantEntraError(t, status, m, 400, "invalid_grant", 700082)

	if c := e.srv.Counters(); c["token:refresh_token"] != 7 {
		t.Errorf("token:refresh_token = %d, want 7", c["token:refresh_token"])
	}
}

func TestRevokeRefreshTokens(t *testing.T) {
	e := newTestEnv(t, nil)
	alexRT := e.tokens(alex.ID)["refresh_token"].(string)
	priyaRT := e.tokens(priya.ID)["refresh_token"].(string)

	e.srv.RevokeRefreshTokens(alex.UserPrincipalName)
	status, m := e.token(refreshForm(alexRT))
	wantEntraError(t, status, m, 400, "invalid_grant", 50173)
	status, m = e.token(refreshForm(priyaRT))
	if status != http.StatusOK {
		t.Fatalf("other user's refresh token: %v", m)
	}
	priyaRT = m["refresh_token"].(string)

	// A new sign-in after the revocation works.
	alexRT = e.tokens(alex.ID)["refresh_token"].(string)
	if status, m := e.token(refreshForm(alexRT)); status != http.StatusOK {
		t.Fatalf("after re-sign-in: %v", m)
	}

	e.srv.RevokeRefreshTokens("")
	status, m = e.token(refreshForm(priyaRT))
	wantEntraError(t, status, m, 400, "invalid_grant", 50173)
}

func TestClientCredentials(t *testing.T) {
	e := newTestEnv(t, nil)
	form := func(scope string) url.Values {
		return url.Values{
			"grant_type":    {"client_credentials"},
			"client_id":     {DemoClientID},
			"client_secret": {DemoClientSecret},
			"scope":         {scope},
		}
	}
	for _, scope := range []string{"https://graph.microsoft.com/.default", "00000003-0000-0000-c000-000000000000/.default",
		"https://graph.microsoft.com/.default openid offline_access profile"} { // the last is what MSAL Go sends
		status, m := e.token(form(scope))
		if status != http.StatusOK {
			t.Fatalf("%s: %v", scope, m)
		}
		for _, absent := range []string{"id_token", "refresh_token", "client_info", "scope"} {
			if _, ok := m[absent]; ok {
				t.Errorf("client_credentials response has %s", absent)
			}
		}
		at := jwtClaims(t, m["access_token"].(string))
		if at["idtyp"] != "app" || at["scp"] != nil || at["roles"] == nil || at["aud"] != "https://graph.microsoft.com" {
			t.Errorf("app token claims = %v", at)
		}
		// Graph refuses /me for an app-only token.
		req, _ := http.NewRequest(http.MethodGet, e.srv.GraphMeURL(), nil)
		req.Header.Set("Authorization", "Bearer "+m["access_token"].(string))
		status, _, body := e.do(req)
		if status != http.StatusBadRequest || !strings.Contains(body, "/me request is only valid with delegated authentication flow.") {
			t.Errorf("/me with an app token: %d %s", status, body)
		}
	}
	tests := []struct {
		scope    string
		wantErr  string
		wantCode int
	}{
		{"User.Read", "invalid_scope", 1002012},
		{"https://graph.microsoft.com/.default User.Read", "invalid_scope", 1002012},
		{"openid", "invalid_scope", 1002012},
		{"api://other/.default", "invalid_resource", 500011},
		{"", "invalid_request", 900144},
	}
	for _, tt := range tests {
		status, m := e.token(form(tt.scope))
		wantEntraError(t, status, m, 400, tt.wantErr, tt.wantCode)
	}
	if got := e.srv.Counters()["token:client_credentials"]; got != 8 {
		t.Errorf("token:client_credentials = %d, want 8", got)
	}
}

func TestStrictRefreshRotation(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.StrictRefreshRotation = true })
	rt1 := freshRefreshToken(t, e)
	status, m := e.token(refreshForm(rt1))
	if status != http.StatusOK {
		t.Fatalf("refresh: %v", m)
	}
	status, m = e.token(refreshForm(rt1))
	wantEntraError(t, status, m, 400, "invalid_grant", 70000)
}
