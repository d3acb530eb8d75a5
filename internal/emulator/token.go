package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// tokenResponse is a successful token response, in Entra ID's field order.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

var knownGrants = map[string]bool{"authorization_code": true, "refresh_token": true, "client_credentials": true}

// handleToken serves POST /{tenant}/oauth2/v2.0/token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.count("token")
	if r.Method != http.MethodPost {
		s.writeEntraError(w, r, aad(900561, "method", r.Method))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.writeEntraError(w, r, aad(9002313))
		return
	}
	form := r.PostForm // the token endpoint reads the body only
	grant := form.Get("grant_type")
	if knownGrants[grant] {
		s.count("token:" + grant)
	}
	tenantPath := r.PathValue("tenant")
	if s.injectJSONFault(w, r, "token", "app", form.Get("client_id"), "tenant", s.tenant, "resource", graphResource) {
		return
	}
	if !s.knownTenant(tenantPath) {
		s.writeEntraError(w, r, aad(90002, "tenant", tenantPath))
		return
	}
	if grant == "" {
		s.writeEntraError(w, r, aad(900144, "param", "grant_type"))
		return
	}
	if !knownGrants[grant] {
		s.writeEntraError(w, r, aad(70003, "grant", grant))
		return
	}
	app, acr, e := s.authenticateClient(r, form, tenantPath)
	if e != nil {
		s.writeEntraError(w, r, e)
		return
	}
	var resp *tokenResponse
	switch grant {
	case "authorization_code":
		resp, e = s.grantAuthorizationCode(r, form, app, acr)
	case "refresh_token":
		resp, e = s.grantRefreshToken(r, form, app, acr)
	case "client_credentials":
		resp, e = s.grantClientCredentials(r, form, app, acr)
	}
	if e != nil {
		s.writeEntraError(w, r, e)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("x-ms-request-id", newGUID())
	if id := r.Header.Get("client-request-id"); id != "" && strings.EqualFold(r.Header.Get("return-client-request-id"), "true") {
		h.Set("client-request-id", id)
	}
	writeJSON(w, http.StatusOK, resp)
}

// grantAuthorizationCode redeems a code: single use, short-lived, same client and redirect
// URI as at /authorize, and the PKCE verifier when a challenge was sent.
func (s *Server) grantAuthorizationCode(r *http.Request, form url.Values, app App, acr string) (*tokenResponse, *entraError) {
	codeParam := form.Get("code")
	if codeParam == "" {
		return nil, aad(900144, "param", "code")
	}
	code, ok := s.redeemCode(codeParam) // spent from now on, whatever happens next
	switch {
	case !ok:
		return nil, aad(9002313)
	case !strings.EqualFold(code.clientID, app.ClientID):
		return nil, aad(70000)
	case code.redeemed:
		return nil, aad(54005)
	case time.Now().After(code.expiresAt):
		return nil, aad(70008)
	}
	redirectURI := form.Get("redirect_uri")
	if redirectURI == "" {
		return nil, aad(900144, "param", "redirect_uri")
	}
	if redirectURI != code.redirectURI {
		return nil, aad(500112, "uri", redirectURI, "expected", code.redirectURI)
	}
	// MSAL Go always sends code_verifier, empty when the app used no PKCE: empty is absent.
	verifier := form.Get("code_verifier")
	switch {
	case code.challenge != "" && verifier == "":
		return nil, aad(900144, "param", "code_verifier")
	case code.challenge != "" && !pkceMatches(verifier, code.challenge):
		return nil, aad(501481)
	case code.challenge == "" && verifier != "":
		// A verifier without a challenge means the challenge was lost on the way: refuse.
		return nil, aad(501481)
	}
	user, ok := s.findUser(code.userID)
	if !ok {
		return nil, aad(70000)
	}
	scopeParam := form.Get("scope")
	if strings.TrimSpace(scopeParam) == "" {
		scopeParam = code.scopeParam
	}
	scopes, e := parseScopes(scopeParam, s.tenant)
	if e != nil {
		return nil, e
	}
	if s.needsConsent(app.ClientID, user.ID, scopes.grantedGraph()) {
		return nil, aad(65001, "app", app.ClientID, "appname", appName(app))
	}
	codeScopes, _ := parseScopes(code.scopeParam, s.tenant)
	return s.userTokens(r, form, app, acr, user, scopes, userGrant{
		nonce:        code.nonce,
		authTime:     code.authTime,
		sid:          code.sid,
		offline:      scopes.oidc["offline_access"] || codeScopes.oidc["offline_access"],
		refreshScope: scopeParam,
	})
}

// pkceMatches checks BASE64URL(SHA256(verifier)) == challenge (RFC 7636, S256).
func pkceMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}

// grantRefreshToken redeems a refresh token and issues a new one. The old one keeps working until
// it expires or is revoked, as in Entra ID, unless Config.StrictRefreshRotation is set.
func (s *Server) grantRefreshToken(r *http.Request, form url.Values, app App, acr string) (*tokenResponse, *entraError) {
	token := form.Get("refresh_token")
	if token == "" {
		return nil, aad(900144, "param", "refresh_token")
	}
	g, st, validFrom := s.redeemRefresh(token, app.ClientID)
	switch st {
	case refreshUnknown:
		return nil, aad(9002313)
	case refreshOtherClient:
		return nil, aad(70000)
	case refreshUsed:
		// Only with StrictRefreshRotation: Entra ID keeps old refresh tokens working.
		return nil, aad(70000)
	case refreshExpired:
		return nil, aad(700082, "issued", g.issuedAt.UTC().Format(time.RFC3339),
			"inactive", strconv.FormatFloat(time.Since(g.issuedAt).Hours(), 'f', 2, 64)+" hours")
	case refreshRevoked:
		return nil, aad(50173, "issued", g.authTime.UTC().Format("2006-01-02T15:04:05.0000000Z"),
			"validfrom", validFrom.UTC().Format("2006-01-02T15:04:05.0000000Z"))
	}
	user, ok := s.findUser(g.userID)
	if !ok {
		return nil, aad(70000)
	}
	scopeParam := form.Get("scope")
	if strings.TrimSpace(scopeParam) == "" {
		scopeParam = g.scopeParam
	}
	scopes, e := parseScopes(scopeParam, s.tenant)
	if e != nil {
		return nil, e
	}
	if s.needsConsent(app.ClientID, user.ID, scopes.grantedGraph()) {
		return nil, aad(65001, "app", app.ClientID, "appname", appName(app))
	}
	return s.userTokens(r, form, app, acr, user, scopes, userGrant{
		authTime:     g.authTime,
		sid:          g.sid,
		offline:      true,
		refreshScope: scopeParam,
	})
}

// grantClientCredentials issues an app-only Graph token. The scope must be one
// "<resource>/.default"; the response has no id_token, refresh_token or scope.
func (s *Server) grantClientCredentials(r *http.Request, form url.Values, app App, acr string) (*tokenResponse, *entraError) {
	if acr == acrPublic {
		return nil, aad(7000218)
	}
	scope := strings.TrimSpace(form.Get("scope"))
	if scope == "" {
		return nil, aad(900144, "param", "scope")
	}
	// MSAL Go appends "openid offline_access profile" to every request, client credentials
	// included, and Entra ID ignores them here.
	var fields []string
	for _, f := range strings.Fields(scope) {
		if !oidcScopes[strings.ToLower(f)] {
			fields = append(fields, f)
		}
	}
	if len(fields) != 1 || !strings.HasSuffix(strings.ToLower(fields[0]), "/.default") {
		return nil, aad(1002012, "scope", scope)
	}
	resource := strings.TrimSuffix(fields[0][:len(fields[0])-len("/.default")], "/")
	if !isGraphResource(resource) {
		return nil, aad(500011, "resource", resource, "tenant", s.tenant)
	}
	atLife, _ := s.lifetimes()
	now := time.Now()
	spID := servicePrincipalID(app.ClientID)
	claims := map[string]any{
		"aud":              graphResource,
		"iss":              s.issuer(r),
		"iat":              now.Unix(),
		"nbf":              now.Unix(),
		"exp":              now.Add(atLife).Unix(),
		"aio":              randomToken(24),
		"app_displayname":  appName(app),
		"appid":            app.ClientID,
		"appidacr":         acr,
		"azp":              app.ClientID,
		"azpacr":           acr,
		"idtyp":            "app",
		"oid":              spID,
		"rh":               randomToken(12),
		"roles":            appRoles,
		"sub":              spID,
		"tid":              s.tenant,
		"uti":              randomToken(16),
		"ver":              "2.0",
		"emulator_warning": "issued by a local emulator, not by Microsoft",
	}
	at, err := s.st.signer.sign(claims)
	if err != nil {
		return nil, emuError(500, "server_error", "signing failed")
	}
	secs := int64(atLife / time.Second)
	return &tokenResponse{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: at}, nil
}

// userGrant is what a user token response carries over from the code or refresh token.
type userGrant struct {
	nonce        string
	authTime     time.Time
	sid          string
	offline      bool   // issue a refresh token
	refreshScope string // scope remembered with the refresh token
}

// userTokens builds the response for a user: a Graph access token, an ID token when openid
// was requested, a rotated refresh token with offline_access, and client_info on request.
func (s *Server) userTokens(r *http.Request, form url.Values, app App, acr string, user User, scopes scopeRequest, g userGrant) (*tokenResponse, *entraError) {
	atLife, _ := s.lifetimes()
	now := time.Now()
	iss := s.issuer(r)
	consented := s.consented(app.ClientID, user.ID)
	ip := remoteIP(r)

	atClaims := map[string]any{
		"aud":                graphResource,
		"iss":                iss,
		"iat":                now.Unix(),
		"nbf":                now.Unix(),
		"exp":                now.Add(atLife).Unix(),
		"acct":               0,
		"acr":                "1",
		"aio":                randomToken(24),
		"amr":                []string{"pwd"},
		"app_displayname":    appName(app),
		"appid":              app.ClientID,
		"appidacr":           acr,
		"azp":                app.ClientID,
		"azpacr":             acr,
		"family_name":        user.Surname,
		"given_name":         user.GivenName,
		"idtyp":              "user",
		"ipaddr":             ip,
		"name":               user.DisplayName,
		"oid":                user.ID,
		"preferred_username": user.UserPrincipalName,
		"rh":                 randomToken(12),
		"scp":                scpClaim(scopes, consented),
		"sid":                g.sid,
		"sub":                pairwiseSub(user.ID, graphAppID, s.tenant),
		"tid":                s.tenant,
		"unique_name":        user.UserPrincipalName,
		"upn":                user.UserPrincipalName,
		"uti":                randomToken(16),
		"ver":                "2.0",
		"emulator_warning":   "issued by a local emulator, not by Microsoft",
	}
	at, err := s.st.signer.sign(atClaims)
	if err != nil {
		return nil, emuError(500, "server_error", "signing failed")
	}
	secs := int64(atLife / time.Second)
	resp := &tokenResponse{
		TokenType:    "Bearer",
		Scope:        responseScope(scopes, consented),
		ExpiresIn:    secs,
		ExtExpiresIn: secs,
		AccessToken:  at,
	}

	if scopes.oidc["openid"] {
		idClaims := map[string]any{
			"aud": app.ClientID,
			"iss": iss,
			"iat": now.Unix(),
			"nbf": now.Unix(),
			"exp": now.Add(time.Hour).Unix(), // Entra's ID tokens last an hour
			"aio": randomToken(24),
			"oid": user.ID,
			"rh":  randomToken(12),
			"sid": g.sid,
			"sub": pairwiseSub(user.ID, app.ClientID, s.tenant),
			"tid": s.tenant,
			"uti": randomToken(16),
			"ver": "2.0",
		}
		if scopes.oidc["profile"] {
			idClaims["name"] = user.DisplayName
			idClaims["preferred_username"] = user.UserPrincipalName
		}
		if scopes.oidc["email"] && user.Mail != "" {
			idClaims["email"] = user.Mail
		}
		if g.nonce != "" {
			idClaims["nonce"] = g.nonce
		}
		if resp.IDToken, err = s.st.signer.sign(idClaims); err != nil {
			return nil, emuError(500, "server_error", "signing failed")
		}
	}

	if g.offline {
		resp.RefreshToken = s.issueRefresh(&refreshGrant{
			clientID:   app.ClientID,
			userID:     user.ID,
			scopeParam: g.refreshScope,
			authTime:   g.authTime,
			sid:        g.sid,
		})
	}

	if form.Get("client_info") == "1" {
		ci, _ := json.Marshal(map[string]string{"uid": user.ID, "utid": s.tenant})
		resp.ClientInfo = base64.RawURLEncoding.EncodeToString(ci) // unpadded, as MSAL expects
	}
	return resp, nil
}

// pairwiseSub is a per-audience subject, as Entra ID's sub claim is.
func pairwiseSub(oid, audience, tenant string) string {
	sum := sha256.Sum256([]byte("emulator-sub|" + strings.ToLower(oid) + "|" + strings.ToLower(audience) + "|" + tenant))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// servicePrincipalID is a stable fake object ID for an app's service principal.
func servicePrincipalID(clientID string) string {
	sum := sha256.Sum256([]byte("emulator-sp|" + strings.ToLower(clientID)))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdigits[c>>4], hexdigits[c&0xf])
	}
	return string(out)
}

func appName(a App) string {
	if a.DisplayName != "" {
		return a.DisplayName
	}
	return "App " + a.ClientID
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
