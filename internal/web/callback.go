package web

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/explain"
)

// maxCallbackQuery bounds the callback's query: a real one (code, state, session_state) is well
// under this.
const maxCallbackQuery = 8 << 10

// callback is /getAToken, the registered redirect URI: steps 4 and 5.
// Step 4: the identity platform sends the browser back with an authorization code (or an error).
// Step 5: the app redeems the code for tokens.
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if len(r.URL.RawQuery) > maxCallbackQuery {
		a.fail(w, r, badCallback("The sign-in response is far larger than any real one.", auth.ErrStateMismatch))
		return
	}
	q := r.URL.Query()

	// 4a. The state must match a sign-in started in this browser (its sealed sign-in cookie),
	// compared in constant time. Anything else is refused without touching the session: it may
	// be a forged response.
	pending := a.signInsOf(r)
	flow, err := auth.MatchFlow(pending.Flows, q.Get("state"), a.now())
	if err != nil {
		a.fail(w, r, badCallback(stateProblemText(err), err))
		return
	}
	// A state is good for one response: the flow leaves the cookie, so a replayed callback
	// fails the check above.
	started := a.finishSignIn(w, pending, flow.State)

	// 4b. The identity platform may send an error instead of a code (e.g. the user declined consent).
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		x := explain.Entra(auth.AADSTSFromText(desc), e, a.explainC)
		p := problem{Status: http.StatusBadRequest, Title: "Sign-in did not complete",
			What: "The Microsoft identity platform sent back an error instead of a sign-in.", Code: x.Code,
			Meaning: x.Meaning, Fix: x.Fix, Action: "/login", ActionText: "Sign in again",
			logErr: errors.New("authorize error " + e)}
		if flow.Incremental() {
			// A later request for more (e.g. Notes.Read) was declined: the sign-in still stands.
			p = a.incrementalDeclined(flow, x, e)
		}
		// The IDs to quote to support, which Entra puts at the end of error_description.
		p.TraceID, p.CorrelationID = auth.TraceIDs(desc)
		a.fail(w, r, p)
		return
	}
	code := q.Get("code")
	if code == "" {
		a.fail(w, r, badCallback("The sign-in response has no authorization code.", errors.New("callback without code")))
		return
	}

	// 5. Redeem the code (with the PKCE verifier) for tokens, into a fresh token cache, and check
	// the ID token (nonce, issuer, audience, expiry).
	tc := &auth.TokenCache{}
	rec := &auth.Recorder{} // keeps the token request and response, secrets removed, for /flow
	signIn, err := a.auth.Redeem(auth.WithRecorder(ctx, rec), code, flow, tc)
	if err != nil {
		a.fail(w, r, a.problemFor(err, "redeeming the sign-in code"))
		return
	}

	// Signed in: a new session ID, so an ID planted before sign-in is worthless (session fixation).
	if err := a.sessions.RenewToken(ctx); err != nil {
		a.fail(w, r, a.storeProblem(err, "renew"))
		return
	}
	claims, _ := json.Marshal(signIn.Claims)
	a.sessions.Put(ctx, keyUser, signIn.Identity)
	a.sessions.Put(ctx, keyClaims, claims)
	a.sessions.Put(ctx, keyAccount, signIn.HomeAccountID)
	a.saveTokenCache(ctx, tc)
	a.recordCallback(ctx, flow, started, q, rec) // for /flow: steps 4 and 5 as they happened
	a.log.Info("signed in", "user", signIn.Identity.Key(), "scopes", len(flow.Scopes), "request_id", requestID(r))
	// Back to the page the user asked for before signing in (or consenting), else home.
	http.Redirect(w, r, cmp.Or(returnPath(flow.ReturnTo), "/"), http.StatusFound)
}

func badCallback(what string, err error) problem {
	return problem{Status: http.StatusBadRequest, Title: "Sign-in response refused", What: what,
		Fix:    "Start the sign-in again from this app's sign-in page, in the same browser.",
		Action: "/login", ActionText: "Sign in again", logErr: err}
}

func stateProblemText(err error) string {
	switch {
	case errors.Is(err, auth.ErrStateMissing):
		return "The sign-in response has no state, so the app cannot tell it belongs to a sign-in you started."
	case errors.Is(err, auth.ErrFlowExpired):
		return "This sign-in was started too long ago and has expired."
	default:
		return "The sign-in response does not belong to a sign-in started in this browser, or was already used (a reloaded or replayed callback)."
	}
}
