package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (e *testEnv) me(token, query string) (int, http.Header, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.GraphMeURL()+query, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("client-request-id", "11111111-2222-4333-8444-555555555555")
	return e.do(req)
}

func TestGraphMe(t *testing.T) {
	e := newTestEnv(t, nil)
	at := e.tokens(alex.ID)["access_token"].(string)

	status, h, body := e.me(at, "")
	if status != http.StatusOK {
		t.Fatalf("/me: %d %s", status, body)
	}
	want := `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users/$entity","businessPhones":["+1 555 0101"],` +
		`"displayName":"Alex Rivera","givenName":"Alex","jobTitle":"Software Engineer","mail":"alex.rivera@graphauth.example",` +
		`"mobilePhone":"+1 555 0100","officeLocation":"Building 1, Room 101","preferredLanguage":"en-US","surname":"Rivera",` +
		`"userPrincipalName":"alex.rivera@graphauth.example","id":"00000000-0000-4000-8000-00000000a001"}`
	if body != want {
		t.Errorf("/me body\n got %s\nwant %s", body, want)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json;odata.metadata=minimal") || h.Get("request-id") == "" ||
		h.Get("client-request-id") != "11111111-2222-4333-8444-555555555555" {
		t.Errorf("headers = %v", h)
	}

	status, _, body = e.me(at, "?$select=displayName,MAIL")
	if status != http.StatusOK || body != `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users(displayName,mail)/$entity","displayName":"Alex Rivera","mail":"alex.rivera@graphauth.example"}` {
		t.Errorf("$select: %d %s", status, body)
	}
	status, _, body = e.me(at, "?$select=shoeSize")
	if status != http.StatusBadRequest || !strings.Contains(body, `"code":"BadRequest"`) {
		t.Errorf("$select unknown: %d %s", status, body)
	}

	// Unset properties are null, as in Graph; SetUser changes what /me returns.
	u := zoe
	u.ID = alex.ID
	u.UserPrincipalName = "alex.renamed@graphauth.example"
	u.JobTitle = "Director"
	e.srv.SetUser(u)
	_, _, body = e.me(at, "")
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got["jobTitle"] != "Director" || got["mail"] != nil || got["userPrincipalName"] != "alex.renamed@graphauth.example" {
		t.Errorf("after SetUser: %s", body)
	}
	if c := e.srv.Counters()["graph:me"]; c != 4 {
		t.Errorf("graph:me = %d, want 4", c)
	}
}

func TestGraphMeErrors(t *testing.T) {
	e := newTestEnv(t, nil)
	sign := func(mutate func(map[string]any)) string {
		now := time.Now()
		c := map[string]any{
			"aud": "https://graph.microsoft.com", "iss": e.srv.URL() + "/" + DefaultTenant + "/v2.0",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"oid": alex.ID, "tid": DefaultTenant, "scp": "User.Read", "idtyp": "user",
		}
		mutate(c)
		tok, err := e.srv.st.signer.sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := newSigningKey(otherKey)
	foreign.kid = e.srv.st.signer.kid // same kid, wrong key
	forged, _ := foreign.sign(map[string]any{"aud": "https://graph.microsoft.com", "oid": alex.ID, "scp": "User.Read", "exp": time.Now().Add(time.Hour).Unix()})

	tests := []struct {
		name       string
		token      string
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"no token", "", 401, "InvalidAuthenticationToken", "Access token is empty."},
		{"not a JWT", "abc", 401, "InvalidAuthenticationToken", "IDX14100"},
		{"forged signature", forged, 401, "InvalidAuthenticationToken", "Access token validation failure."},
		{"expired", sign(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Second).Unix() }), 401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."},
		{"wrong audience", sign(func(c map[string]any) { c["aud"] = DemoClientID }), 401, "InvalidAuthenticationToken", "Invalid audience."},
		{"wrong tenant", sign(func(c map[string]any) { c["tid"] = "11111111-2222-4333-8444-555555555555" }), 401, "InvalidAuthenticationToken", "Invalid issuer."},
		{"scope without /me", sign(func(c map[string]any) { c["scp"] = "Mail.Read openid" }), 403, "Authorization_RequestDenied", "Insufficient privileges"},
		{"app-only token", sign(func(c map[string]any) { delete(c, "scp"); c["idtyp"] = "app"; c["roles"] = []string{"User.Read.All"} }), 400, "BadRequest", "delegated authentication flow"},
		{"unknown user", sign(func(c map[string]any) { c["oid"] = "11111111-2222-4333-8444-555555555555" }), 404, "Request_ResourceNotFound", "does not exist"},
		{"Graph app ID audience is fine", sign(func(c map[string]any) { c["aud"] = "00000003-0000-0000-c000-000000000000" }), 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := e.me(tt.token, "")
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", status, tt.wantStatus, body)
			}
			if tt.wantStatus == 200 {
				return
			}
			var ge struct {
				Error struct {
					Code       string
					Message    string
					InnerError map[string]string
				}
			}
			if err := json.Unmarshal([]byte(body), &ge); err != nil {
				t.Fatal(err)
			}
			if ge.Error.Code != tt.wantCode || !strings.Contains(ge.Error.Message, tt.wantMsg) {
				t.Errorf("error = %+v", ge.Error)
			}
			if ge.Error.InnerError["request-id"] == "" || ge.Error.InnerError["date"] == "" ||
				ge.Error.InnerError["client-request-id"] != "11111111-2222-4333-8444-555555555555" {
				t.Errorf("innerError = %v", ge.Error.InnerError)
			}
			if hasWWW := h.Get("WWW-Authenticate") != ""; hasWWW != (status == 401) {
				t.Errorf("WWW-Authenticate = %q on %d", h.Get("WWW-Authenticate"), status)
			}
		})
	}
}

func TestGraphMeNeedsUserReadScope(t *testing.T) {
	e := newTestEnv(t, nil)
	verifier, challenge := pkce()
	back := e.signIn(authParams(challenge, map[string]string{"scope": "Mail.Read"}), priya.ID)
	form := tokenForm(back.Get("code"), verifier)
	form.Set("scope", "Mail.Read openid offline_access profile")
	status, m := e.token(form)
	if status != http.StatusOK {
		t.Fatalf("token: %v", m)
	}
	if status, _, body := e.me(m["access_token"].(string), ""); status != http.StatusForbidden {
		t.Errorf("/me with Mail.Read only: %d %s", status, body)
	}
}

func TestUserInfo(t *testing.T) {
	e := newTestEnv(t, nil)
	at := e.tokens(alex.ID)["access_token"].(string)
	req, _ := http.NewRequest(http.MethodGet, e.url("/oidc/userinfo"), nil)
	req.Header.Set("Authorization", "Bearer "+at)
	status, _, body := e.do(req)
	if status != http.StatusOK || !strings.Contains(body, `"name":"Alex Rivera"`) {
		t.Errorf("userinfo: %d %s", status, body)
	}
}
