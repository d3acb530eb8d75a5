package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// pendingAuth is an authorization request waiting for the sign-in and consent pages. Its ID
// travels in a hidden form field, so no cookie is needed.
type pendingAuth struct {
	id            string
	tenantPath    string // the tenant segment the client used: GUID, common or organizations
	clientID      string
	redirectURI   string
	responseMode  string
	state         string
	nonce         string
	challenge     string
	prompt        string
	loginHint     string
	scopeParam    string
	scopes        scopeRequest
	userID        string // set once a user is picked
	expiresAt     time.Time
	forceConsent  bool
	consentNeeded bool
}

// authCode is an issued authorization code.
type authCode struct {
	clientID    string
	redirectURI string
	userID      string
	scopeParam  string
	nonce       string
	challenge   string // S256 challenge, "" without PKCE
	authTime    time.Time
	sid         string
	expiresAt   time.Time
	redeemed    bool
}

// refreshGrant is an issued refresh token. Each redemption issues a new one and marks this
// one used; a used one still works (as in Entra ID) unless Config.StrictRefreshRotation is set.
type refreshGrant struct {
	clientID   string
	userID     string
	scopeParam string
	authTime   time.Time // when the user signed in; revocation compares against it
	issuedAt   time.Time
	expiresAt  time.Time
	sid        string
	used       bool
}

// Pending sign-ins expire after this; real sign-in pages time out too.
const pendingLifetime = 15 * time.Minute

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenKey is how codes and refresh tokens are stored: by hash, never in the clear.
func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func consentKey(clientID, userID string) string {
	return strings.ToLower(clientID) + "|" + strings.ToLower(userID)
}

// sweepLocked drops expired entries, at most once a minute. s.mu must be held.
func (s *Server) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for k, p := range s.pending {
		if now.After(p.expiresAt) {
			delete(s.pending, k)
		}
	}
	// Keep spent codes a while, so a second redemption reports AADSTS54005.
	for k, c := range s.codes {
		if now.After(c.expiresAt.Add(time.Hour)) {
			delete(s.codes, k)
		}
	}
	for k, g := range s.refresh {
		if now.After(g.expiresAt.Add(time.Hour)) {
			delete(s.refresh, k)
		}
	}
}

func (s *Server) putPending(p *pendingAuth) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.sweepLocked(now)
	p.id = randomToken(24)
	p.expiresAt = now.Add(pendingLifetime)
	s.pending[p.id] = p
}

// getPending returns a copy of a live pending request.
func (s *Server) getPending(id string) (pendingAuth, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[id]
	if p == nil || time.Now().After(p.expiresAt) {
		return pendingAuth{}, false
	}
	return *p, true
}

func (s *Server) setPendingUser(id, userID string, consentNeeded bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pending[id]; p != nil {
		p.userID = userID
		p.consentNeeded = consentNeeded
	}
}

// takePending removes and returns a pending request, so each one completes once.
func (s *Server) takePending(id string) (pendingAuth, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[id]
	delete(s.pending, id)
	if p == nil || time.Now().After(p.expiresAt) {
		return pendingAuth{}, false
	}
	return *p, true
}

// consented returns the Graph scopes userID has granted clientID.
func (s *Server) consented(clientID, userID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.consents[consentKey(clientID, userID)]...)
}

// needsConsent reports whether some of scopes are not yet granted.
func (s *Server) needsConsent(clientID, userID string, scopes []string) bool {
	granted := s.consented(clientID, userID)
	for _, sc := range scopes {
		if !containsFold(granted, sc) {
			return true
		}
	}
	return false
}

// grantConsent records consent to scopes.
func (s *Server) grantConsent(clientID, userID string, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := consentKey(clientID, userID)
	for _, sc := range scopes {
		if !containsFold(s.consents[key], sc) {
			s.consents[key] = append(s.consents[key], sc)
		}
	}
}

// issueCode stores and returns a new authorization code.
func (s *Server) issueCode(c *authCode) string {
	code := "0.EMU" + randomToken(48)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.sweepLocked(now)
	c.expiresAt = now.Add(s.codeLife)
	s.codes[tokenKey(code)] = c
	return code
}

// redeemCode marks a code used and returns a copy of it as it was before, or false if unknown.
func (s *Server) redeemCode(code string) (authCode, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.codes[tokenKey(code)]
	if c == nil {
		return authCode{}, false
	}
	before := *c
	c.redeemed = true
	return before, true
}

// issueRefresh stores and returns a new refresh token.
func (s *Server) issueRefresh(g *refreshGrant) string {
	token := "1.EMU" + randomToken(64)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.sweepLocked(now)
	g.issuedAt = now
	g.expiresAt = now.Add(s.rtLife)
	s.refresh[tokenKey(token)] = g
	return token
}

// refreshState is what redeeming a refresh token found.
type refreshState int

const (
	refreshOK refreshState = iota
	refreshUnknown
	refreshOtherClient
	refreshUsed
	refreshExpired
	refreshRevoked
)

// redeemRefresh checks a refresh token for clientID and, if it is good, marks it used. It
// returns a copy of the grant and, for a revoked grant, the time tokens are valid from.
func (s *Server) redeemRefresh(token, clientID string) (refreshGrant, refreshState, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.refresh[tokenKey(token)]
	switch {
	case g == nil:
		return refreshGrant{}, refreshUnknown, time.Time{}
	case !strings.EqualFold(g.clientID, clientID):
		return refreshGrant{}, refreshOtherClient, time.Time{}
	}
	now := time.Now()
	switch {
	case g.used && s.strictRT:
		return *g, refreshUsed, time.Time{}
	case now.After(g.expiresAt):
		return *g, refreshExpired, time.Time{}
	}
	validFrom := s.validFrom[strings.ToLower(g.userID)]
	if s.revokedAll.After(validFrom) {
		validFrom = s.revokedAll
	}
	if !validFrom.IsZero() && !g.authTime.After(validFrom) {
		return *g, refreshRevoked, validFrom
	}
	g.used = true
	return *g, refreshOK, time.Time{}
}

// lifetimes returns the current token lifetimes.
func (s *Server) lifetimes() (access, refresh time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.atLife, s.rtLife
}
