package web

import (
	"context"
	"encoding/json"

	"github.com/graphauth/graphauth/internal/auth"
)

// Session keys. The session lives server-side; the cookie carries only its ID.
const (
	keyUser       = "user"        // auth.Identity: who is signed in
	keyClaims     = "claims"      // []byte: the ID token's claims as JSON (the tutorial's session["user"])
	keyAccount    = "account"     // string: MSAL's home account ID for silent token calls
	keyTokenCache = "token_cache" // []byte: the serialized MSAL token cache
	// keyAbsoluteExpiry is when the session ends however active it is (SESSION_LIFETIME), as
	// Unix seconds; touchSession never moves the expiry past it.
	keyAbsoluteExpiry = "absolute_expiry"

	keyFlowLog        = "flow_log"         // []byte: JSON record of this sign-in's six steps, for /flow (flowlog.go)
	keyFlowLogConsent = "flow_log_consent" // []byte: JSON record of a later authorization for more scopes (Notes.Read)
	keyTokenFlash     = "token_flash"      // []byte: the result of "Refresh now", shown once on /token
	keyFlowGraphDone  = "flow_graph_done"  // bool: step 6 of /flow is recorded; later cached calls skip the record
)

// maxPendingFlows lets a few tabs sign in at once without one tab's flow erasing another's
// (they share the sign-in cookie).
const maxPendingFlows = 3

func (a *App) currentUser(ctx context.Context) (auth.Identity, bool) {
	defer func() { _ = recover() }() // no session in this request (e.g. a static file): signed out
	id, ok := a.sessions.Get(ctx, keyUser).(auth.Identity)
	return id, ok && id.OID != ""
}

func (a *App) tokenCache(ctx context.Context) *auth.TokenCache {
	return &auth.TokenCache{Data: a.sessions.GetBytes(ctx, keyTokenCache)}
}

func (a *App) saveTokenCache(ctx context.Context, tc *auth.TokenCache) {
	if tc.Changed {
		a.sessions.Put(ctx, keyTokenCache, tc.Data)
	}
}

func (a *App) claims(ctx context.Context) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(a.sessions.GetBytes(ctx, keyClaims), &m)
	return m
}
