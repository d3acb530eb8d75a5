package web

import (
	"net/http"

	"github.com/graphauth/graphauth/internal/auth"
)

type loginView struct {
	AuthURL   string
	Authority string
}

// login is step 2: send the user to the Microsoft identity platform.
//
// Each visit starts a new sign-in with fresh secrets that the browser carries but can neither read
// nor change: they go in a short-lived cookie sealed with the app's keys (signin_cookie.go), so a
// visitor who never signs in costs the session store nothing.
//   - state: the callback must echo it, proving the response belongs to a sign-in this browser
//     started (against login CSRF);
//   - nonce: must come back inside the ID token, binding the token to this sign-in;
//   - PKCE verifier: only its SHA-256 (the challenge) is sent now; the verifier goes with the code
//     in step 5, so a stolen code is useless to anyone else.
//
// MSAL Go builds the authorize URL but cannot add these three; auth.AuthCodeURL appends them.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	flow := auth.NewFlow(a.cfg.RedirectURI, a.now())
	// Where to land after sign-in: a path on this app only, sealed with the flow.
	flow.ReturnTo = returnPath(r.URL.Query().Get("next"))
	authURL, err := a.auth.AuthCodeURL(r.Context(), flow)
	if err != nil {
		a.fail(w, r, a.problemFor(err, "preparing the sign-in"))
		return
	}
	a.startSignIn(w, r, flow, loginLog(flow, authURL)) // with /flow's record of steps 1 and 2
	// Step 3 (the user signs in and consents) happens on Microsoft's pages, not here.
	a.render(w, r, http.StatusOK, "login.html", "Sign in", loginView{AuthURL: authURL, Authority: a.cfg.Authority})
}
