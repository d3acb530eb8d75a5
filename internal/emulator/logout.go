package emulator

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// handleLogout serves /{tenant}/oauth2/v2.0/logout. A post_logout_redirect_uri must be
// registered for the app (client_id, or the aud of id_token_hint, when given; else any app);
// without one the user sees a "You signed out" page.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	s.count("logout")
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		s.renderError(w, r, http.StatusMethodNotAllowed, emuError(405, "invalid_request", "use GET or POST for /logout"))
		return
	}
	if f, ok := s.takeFault("logout"); ok {
		if !s.sleep(r, f.Delay) {
			return
		}
		if !f.delayOnly() {
			e := f.entraError("tenant", s.tenant)
			s.renderError(w, r, e.Status, e)
			return
		}
	}
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, emuError(400, "invalid_request", "unreadable request"))
		return
	}
	tenantPath := r.PathValue("tenant")
	if !s.knownTenant(tenantPath) {
		s.renderError(w, r, http.StatusBadRequest, aad(90002, "tenant", tenantPath))
		return
	}
	target := r.Form.Get("post_logout_redirect_uri")
	if target == "" {
		s.renderSignedOut(w, r)
		return
	}
	clientID := r.Form.Get("client_id")
	if clientID == "" {
		if t, err := parseJWS(r.Form.Get("id_token_hint")); err == nil {
			clientID = t.str(t.claims, "aud")
		}
	}
	if !s.postLogoutRegistered(clientID, target) {
		s.renderError(w, r, http.StatusBadRequest, emuError(400, "invalid_request",
			"the post_logout_redirect_uri '"+target+"' is not registered for the app; add it to the app registration's front-channel/logout URLs"))
		return
	}
	u, _ := url.Parse(target)
	if state := r.Form.Get("state"); state != "" {
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
	}
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// postLogoutRegistered reports whether uri is a registered post-logout (or redirect) URI of
// clientID's app, or of any app when clientID is "".
func (s *Server) postLogoutRegistered(clientID, uri string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.appOrder {
		a := s.apps[k]
		if clientID != "" && !strings.EqualFold(a.ClientID, clientID) {
			continue
		}
		if slices.Contains(a.PostLogoutRedirectURIs, uri) || slices.Contains(a.RedirectURIs, uri) {
			return true
		}
	}
	return false
}
