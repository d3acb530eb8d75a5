package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/graphauth/graphauth/internal/auth"
)

type demoView struct {
	JSON        string // Graph's answer, indented; html/template escapes it
	TokenSource string // cache or refresh
	Duration    time.Duration
}

// demo is step 6: call Microsoft Graph /me on the user's behalf, with an access token taken
// silently from the session's token cache (refreshed by MSAL when it has expired).
func (a *App) demo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if _, ok := a.currentUser(ctx); !ok {
		http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusFound) // back here after sign-in
		return
	}
	rec := &auth.Recorder{} // keeps the token and Graph calls, secrets removed, for /flow
	ctx = auth.WithRecorder(ctx, rec)
	tc := a.tokenCache(ctx)
	tok, err := a.auth.Token(ctx, a.sessions.GetString(ctx, keyAccount), tc)
	if errors.Is(err, auth.ErrInteractionRequired) {
		// No usable token and no usable refresh token: signed out, to sign in again.
		a.grantEnded(w, r, http.StatusFound)
		return
	}
	if err != nil {
		a.fail(w, r, a.problemFor(err, "getting an access token"))
		return
	}
	a.saveTokenCache(ctx, tc) // a refresh changed the cache

	// Step 6 is recorded for /flow once (and again after a refresh); the usual later call is not
	// recorded at all, which spares decoding Graph's answer a second time.
	gctx := ctx
	if tok.Source != "refresh" && a.sessions.GetBool(ctx, keyFlowGraphDone) {
		gctx = auth.WithRecorder(ctx, nil)
	}
	res, err := a.graph.Me(gctx, tok.AccessToken)
	a.recordGraphCall(ctx, tok, rec) // for /flow: step 6 as it happened
	if err != nil {
		a.fail(w, r, a.problemFor(err, "calling Graph /me"))
		return
	}
	a.render(w, r, http.StatusOK, "demo.html", "Microsoft Identity", demoView{JSON: res.Pretty, TokenSource: tok.Source, Duration: res.Duration})
}
