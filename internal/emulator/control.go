package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
)

// The control API changes the emulator's behaviour from a test. Each method has an HTTP twin
// under /_emulator/ with the same effect.

var (
	errUnknownApp  = errors.New("unknown client_id")
	errUnknownUser = errors.New("unknown user")
)

// SetLifetimes sets the lifetimes of tokens issued from now on. A value <= 0 leaves that
// lifetime unchanged. (MSAL Go never caches an access token with expires_in <= 300 s.)
func (s *Server) SetLifetimes(accessToken, refreshToken time.Duration) {
	s.setLifetimes(accessToken, refreshToken, 0)
}

func (s *Server) setLifetimes(accessToken, refreshToken, code time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if accessToken > 0 {
		s.atLife = accessToken
	}
	if refreshToken > 0 {
		s.rtLife = refreshToken
	}
	if code > 0 {
		s.codeLife = code
	}
}

// SetAutoApprove makes /authorize for clientID sign user (UPN or ID) in at once, with
// consent; "" turns it off. An unknown app or user is logged and ignored.
func (s *Server) SetAutoApprove(clientID, user string) {
	if err := s.setAutoApprove(clientID, user); err != nil {
		s.log.Warn("emulator: SetAutoApprove ignored", "client_id", clientID, "err", err)
	}
}

func (s *Server) setAutoApprove(clientID, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.apps[strings.ToLower(clientID)]
	if app == nil {
		return errUnknownApp
	}
	if user != "" && s.findUserLocked(user) == nil {
		return errUnknownUser
	}
	app.AutoApproveUser = user
	return nil
}

// SetUser replaces the user with u.ID, or adds u. An invalid user is logged and ignored.
func (s *Server) SetUser(u User) {
	if err := s.setUser(u); err != nil {
		s.log.Warn("emulator: SetUser ignored", "err", err)
	}
}

func (s *Server) setUser(u User) error {
	u = u.clone()
	if err := u.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(u.ID)
	if other := s.findUserLocked(u.UserPrincipalName); other != nil && !strings.EqualFold(other.ID, u.ID) {
		return fmt.Errorf("userPrincipalName %q belongs to user %s", u.UserPrincipalName, other.ID)
	}
	if _, ok := s.users[key]; !ok {
		s.userOrder = append(s.userOrder, key)
	}
	s.users[key] = &u
	return nil
}

// RevokeRefreshTokens revokes the refresh tokens granted so far to user (ID or UPN), as
// revoking a user's sessions does; "" revokes everyone's. Redeeming one then fails with
// invalid_grant, AADSTS50173. Access tokens stay valid until they expire, as with Graph.
func (s *Server) RevokeRefreshTokens(user string) {
	if err := s.revoke(user); err != nil {
		s.log.Warn("emulator: RevokeRefreshTokens ignored", "err", err)
	}
}

func (s *Server) revoke(user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if user == "" {
		s.revokedAll = now
		return nil
	}
	u := s.findUserLocked(user)
	if u == nil {
		return errUnknownUser
	}
	s.validFrom[strings.ToLower(u.ID)] = now
	return nil
}

// Counters returns a copy of the call counters. Keys: metadata, keys, authorize, token,
// token:authorization_code, token:refresh_token, token:client_credentials, graph:me,
// graph:userinfo, logout. A key is absent until its first call.
func (s *Server) Counters() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counters)
}

// ResetCounters sets every counter to zero.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	clear(s.counters)
	s.mu.Unlock()
}

// findUserLocked finds a user by object ID or UPN (case-insensitive). s.mu must be held.
func (s *Server) findUserLocked(idOrUPN string) *User {
	if u := s.users[strings.ToLower(idOrUPN)]; u != nil {
		return u
	}
	for _, k := range s.userOrder {
		if u := s.users[k]; strings.EqualFold(u.UserPrincipalName, idOrUPN) {
			return u
		}
	}
	return nil
}

// findUser returns a copy of a user found by ID or UPN.
func (s *Server) findUser(idOrUPN string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUserLocked(idOrUPN)
	if u == nil {
		return User{}, false
	}
	return u.clone(), true
}

// findApp returns a copy of an app registration.
func (s *Server) findApp(clientID string) (App, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[strings.ToLower(clientID)]
	if a == nil {
		return App{}, false
	}
	return a.clone(), true
}

// --- HTTP twins ---

// loopbackOnly refuses control requests from anything but a loopback client, and from pages
// reaching the emulator under another host name (DNS rebinding).
func (s *Server) loopbackOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() {
			controlError(w, http.StatusForbidden, "the control API only answers loopback clients")
			return
		}
		reqHost, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			reqHost = r.Host
		}
		if !isLoopbackHost(reqHost) {
			controlError(w, http.StatusForbidden, "the control API needs a loopback Host (localhost, 127.0.0.1 or [::1])")
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		}
		next(w, r)
	}
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// decodeJSONBody decodes a JSON request body into v. Requiring application/json also keeps
// cross-site HTML forms from reaching the control API.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		controlError(w, http.StatusUnsupportedMediaType, "send Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		controlError(w, http.StatusBadRequest, "bad JSON: trailing data")
		return false
	}
	return true
}

func (s *Server) handleGetCounters(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Counters())
}

func (s *Server) handleResetCounters(w http.ResponseWriter, r *http.Request) {
	s.ResetCounters()
	w.WriteHeader(http.StatusNoContent)
}

// faultJSON is Fault on the wire. delay_ms is milliseconds; delay may instead be a Go
// duration string such as "1.5s".
type faultJSON struct {
	Endpoint    string `json:"endpoint"`
	Count       int    `json:"count"`
	Status      int    `json:"status"`
	RetryAfter  int    `json:"retry_after"`
	Error       string `json:"error"`
	Code        int    `json:"code"`
	Description string `json:"description"`
	DelayMS     int64  `json:"delay_ms"`
	Delay       string `json:"delay"`
}

func (s *Server) handlePostFault(w http.ResponseWriter, r *http.Request) {
	var in faultJSON
	if !decodeJSONBody(w, r, &in) {
		return
	}
	f := Fault{
		Endpoint: in.Endpoint, Count: in.Count, Status: in.Status, RetryAfter: in.RetryAfter,
		Error: in.Error, Code: in.Code, Description: in.Description,
		Delay: time.Duration(in.DelayMS) * time.Millisecond,
	}
	if in.Delay != "" {
		d, err := time.ParseDuration(in.Delay)
		if err != nil {
			controlError(w, http.StatusBadRequest, "delay: "+err.Error())
			return
		}
		f.Delay = d
	}
	if err := s.failNext(f); err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handlePostLifetimes(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AccessTokenSeconds  int64 `json:"access_token_seconds"`
		RefreshTokenSeconds int64 `json:"refresh_token_seconds"`
		CodeSeconds         int64 `json:"code_seconds"`
	}
	if !decodeJSONBody(w, r, &in) {
		return
	}
	if in.AccessTokenSeconds < 0 || in.RefreshTokenSeconds < 0 || in.CodeSeconds < 0 {
		controlError(w, http.StatusBadRequest, "lifetimes must not be negative (0 keeps the current one)")
		return
	}
	s.setLifetimes(time.Duration(in.AccessTokenSeconds)*time.Second,
		time.Duration(in.RefreshTokenSeconds)*time.Second, time.Duration(in.CodeSeconds)*time.Second)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleGetUsers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string][]User{"value": s.userList()})
}

// userList returns copies of the users in display order.
func (s *Server) userList() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.userOrder))
	for _, k := range s.userOrder {
		out = append(out, s.users[k].clone())
	}
	return out
}

func (s *Server) handlePutUser(w http.ResponseWriter, r *http.Request) {
	var u User
	if !decodeJSONBody(w, r, &u) {
		return
	}
	id := r.PathValue("id")
	if u.ID == "" {
		u.ID = id
	}
	if !strings.EqualFold(u.ID, id) {
		controlError(w, http.StatusBadRequest, "the id in the body differs from the one in the path")
		return
	}
	if err := s.setUser(u); err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handlePostRevoke(w http.ResponseWriter, r *http.Request) {
	var in struct {
		User string `json:"user"`
	}
	if !decodeJSONBody(w, r, &in) {
		return
	}
	if err := s.revoke(in.User); err != nil {
		controlError(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handlePostAutoApprove(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID string `json:"client_id"`
		User     string `json:"user"`
	}
	if !decodeJSONBody(w, r, &in) {
		return
	}
	if err := s.setAutoApprove(in.ClientID, in.User); err != nil {
		controlError(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
