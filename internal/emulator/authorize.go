package emulator

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// handleAuthorize serves /{tenant}/oauth2/v2.0/authorize: it checks the request as Entra ID
// does, then shows the sign-in page (or, with auto-approve, redirects back with a code).
//
// Until client_id and redirect_uri are known to be good, errors are shown on an error page:
// redirecting to an unregistered URI would hand codes to anyone. After that, errors go back
// to the app as error and error_description on the redirect URI.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.count("authorize")
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		s.renderError(w, r, http.StatusMethodNotAllowed, emuError(405, "invalid_request", "use GET (or a form POST) for /authorize"))
		return
	}
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, aad(900144, "param", "client_id"))
		return
	}
	q := r.Form
	tenantPath := r.PathValue("tenant")
	if !s.knownTenant(tenantPath) {
		s.renderError(w, r, http.StatusBadRequest, aad(90002, "tenant", tenantPath))
		return
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		s.renderError(w, r, http.StatusBadRequest, aad(900144, "param", "client_id"))
		return
	}
	app, ok := s.findApp(clientID)
	if !ok {
		s.renderError(w, r, http.StatusBadRequest, aad(700016, "app", clientID, "tenant", s.tenant))
		return
	}
	redirectURI := q.Get("redirect_uri")
	if redirectURI == "" {
		s.renderError(w, r, http.StatusBadRequest, aad(900971))
		return
	}
	if !slices.Contains(app.RedirectURIs, redirectURI) { // exact, case-sensitive match
		s.renderError(w, r, http.StatusBadRequest, aad(50011, "uri", redirectURI, "app", app.ClientID))
		return
	}

	// From here on the redirect URI is trusted: errors go back to the app.
	back := authResponse{redirectURI: redirectURI, state: q.Get("state"), mode: q.Get("response_mode")}
	if f, ok := s.takeFault("authorize"); ok {
		if !s.sleep(r, f.Delay) {
			return
		}
		if !f.delayOnly() {
			s.redirectError(w, r, back, f.entraError("app", app.ClientID, "tenant", s.tenant, "resource", graphResource))
			return
		}
	}
	switch back.mode {
	case "", "query", "fragment", "form_post":
	default:
		back.mode = "query"
		s.redirectError(w, r, back, emuError(400, "invalid_request", "response_mode '"+q.Get("response_mode")+"' is not supported; use query, fragment or form_post"))
		return
	}
	switch rt := q.Get("response_type"); {
	case rt == "":
		s.redirectError(w, r, back, aad(900144, "param", "response_type"))
		return
	case rt != "code":
		s.redirectError(w, r, back, aad(700054, "value", rt))
		return
	}
	scopeParam := q.Get("scope")
	if strings.TrimSpace(scopeParam) == "" {
		s.redirectError(w, r, back, aad(900144, "param", "scope"))
		return
	}
	scopes, serr := parseScopes(scopeParam, s.tenant)
	if serr != nil {
		s.redirectError(w, r, back, serr)
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge != "" {
		if method != "S256" {
			// Entra ID also accepts "plain"; the emulator refuses it so tests catch the
			// downgrade (a missing method means plain).
			s.redirectError(w, r, back, emuError(400, "invalid_request", "code_challenge_method must be S256 (plain, or no method, is refused)"))
			return
		}
		if !validChallenge(challenge) {
			s.redirectError(w, r, back, aad(501491))
			return
		}
	}

	p := &pendingAuth{
		tenantPath:   tenantPath,
		clientID:     app.ClientID,
		redirectURI:  redirectURI,
		responseMode: back.mode,
		state:        back.state,
		nonce:        q.Get("nonce"),
		challenge:    challenge,
		prompt:       q.Get("prompt"),
		loginHint:    q.Get("login_hint"),
		scopeParam:   scopeParam,
		scopes:       scopes,
		forceConsent: q.Get("prompt") == "consent",
	}

	if app.AutoApproveUser != "" {
		u, ok := s.findUser(app.AutoApproveUser)
		if !ok {
			s.renderError(w, r, http.StatusBadRequest, emuError(400, "invalid_request", "the auto-approve user '"+app.AutoApproveUser+"' does not exist"))
			return
		}
		s.grantConsent(app.ClientID, u.ID, scopes.grantedGraph())
		s.redirectCode(w, r, *p, u.ID)
		return
	}
	if p.prompt == "none" {
		// No single-sign-on session exists here, so a silent request cannot succeed.
		s.redirectError(w, r, back, aad(50058))
		return
	}
	s.putPending(p)
	s.renderSignIn(w, r, *p, "")
}

// validChallenge checks an S256 code_challenge: 43 base64url characters.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for _, ch := range c {
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// handleSignIn serves POST /{tenant}/login, the sign-in page's form: field "request" (the
// pending request) and "user" (object ID or UPN).
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, emuError(400, "invalid_request", "unreadable form"))
		return
	}
	p, ok := s.getPending(r.PostForm.Get("request"))
	if !ok {
		s.renderError(w, r, http.StatusBadRequest, emuError(400, "invalid_request", "this sign-in request is unknown or has expired; start again from the app"))
		return
	}
	u, ok := s.findUser(r.PostForm.Get("user"))
	if !ok {
		s.renderSignIn(w, r, p, "Pick one of the listed accounts.")
		return
	}
	if p.forceConsent || s.needsConsent(p.clientID, u.ID, p.scopes.grantedGraph()) {
		s.setPendingUser(p.id, u.ID, true)
		p.userID = u.ID
		s.renderConsent(w, r, p, u)
		return
	}
	if p, ok = s.takePending(p.id); !ok {
		s.renderError(w, r, http.StatusBadRequest, emuError(400, "invalid_request", "this sign-in request has already completed"))
		return
	}
	s.redirectCode(w, r, p, u.ID)
}

// handleConsent serves POST /{tenant}/consent: fields "request" and "action" (accept or cancel).
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, emuError(400, "invalid_request", "unreadable form"))
		return
	}
	p, ok := s.getPending(r.PostForm.Get("request"))
	if !ok || p.userID == "" || !p.consentNeeded {
		s.renderError(w, r, http.StatusBadRequest, emuError(400, "invalid_request", "this consent request is unknown or has expired; start again from the app"))
		return
	}
	action := r.PostForm.Get("action")
	if action != "accept" && action != "cancel" {
		u, _ := s.findUser(p.userID)
		s.renderConsent(w, r, p, u)
		return
	}
	if p, ok = s.takePending(p.id); !ok {
		s.renderError(w, r, http.StatusBadRequest, emuError(400, "invalid_request", "this consent request has already completed"))
		return
	}
	back := authResponse{redirectURI: p.redirectURI, state: p.state, mode: p.responseMode}
	if action == "cancel" {
		s.redirectError(w, r, back, aad(65004))
		return
	}
	s.grantConsent(p.clientID, p.userID, p.scopes.grantedGraph())
	s.redirectCode(w, r, p, p.userID)
}

// redirectCode issues a code for userID and sends it to the app.
func (s *Server) redirectCode(w http.ResponseWriter, r *http.Request, p pendingAuth, userID string) {
	sid := newGUID()
	code := s.issueCode(&authCode{
		clientID:    p.clientID,
		redirectURI: p.redirectURI,
		userID:      userID,
		scopeParam:  p.scopeParam,
		nonce:       p.nonce,
		challenge:   p.challenge,
		authTime:    time.Now(),
		sid:         sid,
	})
	params := url.Values{"code": {code}}
	if p.state != "" {
		params.Set("state", p.state)
	}
	params.Set("session_state", sid)
	s.sendAuthResponse(w, r, authResponse{redirectURI: p.redirectURI, state: p.state, mode: p.responseMode}, params)
}

// authResponse says where and how to send an authorization response.
type authResponse struct {
	redirectURI string
	state       string
	mode        string // query (default), fragment or form_post
}

// redirectError sends an OAuth error to the app's redirect URI.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, back authResponse, e *entraError) {
	ec := newErrorContext(r)
	params := url.Values{"error": {e.Err}, "error_description": {e.description(ec)}}
	if e.Code != 0 {
		params.Set("error_uri", "https://login.microsoftonline.com/error?code="+strconv.Itoa(e.Code))
	}
	if back.state != "" {
		params.Set("state", back.state)
	}
	s.log.Info("emulator authorize error", "error", e.Err, "code", e.Code)
	s.sendAuthResponse(w, r, back, params)
}

// sendAuthResponse delivers params to the redirect URI in the requested response mode.
func (s *Server) sendAuthResponse(w http.ResponseWriter, r *http.Request, back authResponse, params url.Values) {
	switch back.mode {
	case "form_post":
		s.renderFormPost(w, r, back.redirectURI, params)
	case "fragment":
		u, _ := url.Parse(back.redirectURI)
		u.Fragment = ""
		http.Redirect(w, r, u.String()+"#"+params.Encode(), http.StatusFound)
	default:
		u, _ := url.Parse(back.redirectURI) // registered URIs were checked by New
		q := u.Query()
		for k, vs := range params {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
}
