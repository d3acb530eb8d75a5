package web

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/graphauth/graphauth/internal/auth"
)

// A sign-in in progress (its state, nonce and PKCE verifier, where to return, and /flow's record
// of steps 1 and 2) lives in a short-lived cookie sealed with the session keys (AES-256-GCM), not
// in the session store. So an anonymous GET /login writes nothing to the store: a flood of them
// neither fills the disk nor the memory, and the browser forgets the cookie with the flow
// (auth.FlowLifetime). The cookie is HttpOnly and SameSite=Lax, so it comes back with the
// callback's top-level GET; sealed, so nobody can read the verifier or forge a state; and any
// instance holding the same keys can open it, so the callback may land on another instance.
// A state answers one callback: the flow leaves the cookie then. (A replay with a copy of the old
// cookie would need the HttpOnly cookie itself and brings a code the identity platform has
// already redeemed, which it refuses: AADSTS54005. Remembering used states in the store would
// make every sign-in write one more record, for no case that is not already refused.)
// (oauth2-proxy and Microsoft.Identity.Web keep their sign-ins in progress the same way.)

// signIns is what the cookie holds.
type signIns struct {
	Flows []auth.Flow `json:"f,omitempty"`
	Logs  []flowLog   `json:"l,omitempty"` // one per flow, by State: /flow's steps 1 and 2
}

const (
	signInAD = "graphauth sign-in in progress"
	// maxSignInCookie keeps the cookie under browsers' 4 KB per cookie, name and attributes included.
	maxSignInCookie = 3600
)

func (a *App) signInCookieName() string {
	if a.cfg.HTTPS() {
		return "__Host-graphauth_signin"
	}
	return "graphauth_signin"
}

// signInsOf opens the request's sign-in cookie; a missing, forged, or undecodable one is empty.
// Flows older than auth.FlowLifetime are dropped.
func (a *App) signInsOf(r *http.Request) signIns {
	var s signIns
	c, err := r.Cookie(a.signInCookieName())
	if err != nil {
		return s
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return s
	}
	plain, err := a.keys.Open(raw, []byte(signInAD))
	if err != nil || json.Unmarshal(plain, &s) != nil {
		return signIns{}
	}
	now := a.now()
	keep := signIns{}
	for _, f := range s.Flows {
		if now.Sub(f.Started) <= auth.FlowLifetime {
			keep.Flows = append(keep.Flows, f)
			if l, ok := s.log(f.State); ok {
				keep.Logs = append(keep.Logs, l)
			}
		}
	}
	return keep
}

func (s signIns) log(state string) (flowLog, bool) {
	for _, l := range s.Logs {
		if l.State == state {
			return l, true
		}
	}
	return flowLog{}, false
}

// startSignIn adds a flow and its /flow record to the cookie, keeping the newest few (several
// tabs may sign in at once) within the cookie's size.
func (a *App) startSignIn(w http.ResponseWriter, r *http.Request, f auth.Flow, l flowLog) {
	s := a.signInsOf(r)
	s.Flows = append(s.Flows, f)
	s.Logs = append(s.Logs, l)
	if len(s.Flows) > maxPendingFlows {
		s.Flows = s.Flows[len(s.Flows)-maxPendingFlows:]
	}
	a.writeSignIns(w, s)
}

// finishSignIn removes the flow with this state from the cookie's sign-ins s (deleting the cookie
// when none is left) and returns its /flow record.
func (a *App) finishSignIn(w http.ResponseWriter, s signIns, state string) flowLog {
	l, _ := s.log(state)
	rest := signIns{}
	for _, f := range s.Flows {
		if f.State != state {
			rest.Flows = append(rest.Flows, f)
			if l2, ok := s.log(f.State); ok {
				rest.Logs = append(rest.Logs, l2)
			}
		}
	}
	a.writeSignIns(w, rest)
	return l
}

// writeSignIns seals s into the cookie. When it would be too large, the oldest /flow records go
// first (a sign-in works without them), then the oldest flows.
func (a *App) writeSignIns(w http.ResponseWriter, s signIns) {
	c := &http.Cookie{Name: a.signInCookieName(), Path: "/", HttpOnly: true, Secure: a.cfg.HTTPS(),
		SameSite: http.SameSiteLaxMode}
	if len(s.Flows) == 0 {
		c.MaxAge = -1
		http.SetCookie(w, c)
		return
	}
	for {
		plain, _ := json.Marshal(s)
		c.Value = base64.RawURLEncoding.EncodeToString(a.keys.Seal(plain, []byte(signInAD)))
		if len(c.Value) <= maxSignInCookie || len(s.Flows) <= 1 && len(s.Logs) == 0 {
			break
		}
		if len(s.Logs) > 0 {
			s.Logs = s.Logs[1:]
		} else {
			s.Flows = s.Flows[1:]
		}
	}
	c.MaxAge = int(auth.FlowLifetime / time.Second)
	http.SetCookie(w, c)
}
