package web

import (
	"net/http"
)

type logoutView struct{ SignedIn bool }

// logoutConfirm keeps the tutorial's GET /logout link working: a page with one button, because
// signing out changes state and so must be a POST that other sites cannot forge. Signed out
// already, it says so instead.
func (a *App) logoutConfirm(w http.ResponseWriter, r *http.Request) {
	_, signedIn := a.currentUser(r.Context())
	title := "Sign out"
	if !signedIn {
		title = "You are signed out"
	}
	a.render(w, r, http.StatusOK, "logout.html", title, logoutView{SignedIn: signedIn})
}

// logout destroys the session with its token cache (the tutorial's session.clear()) and then
// signs the user out of the identity platform too, which sends them back to the app's home page.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	id, signedIn := a.currentUser(r.Context())
	if err := a.sessions.Destroy(r.Context()); err != nil {
		a.fail(w, r, a.storeProblem(err, "delete"))
		return
	}
	if signedIn {
		a.log.Info("signed out", "user", id.Key(), "request_id", requestID(r))
		if a.exports != nil {
			a.exports.CancelOwner(r.Context(), id.Key()) // an export runs on the user's tokens: it ends too
		}
	}
	a.markSignedOut(w) // the sign-in page after the round trip says "You are signed out"
	// Back to the app's home page, at the address the user reached it by (see publicOrigin).
	http.Redirect(w, r, a.auth.LogoutURL(a.publicOrigin(r)+"/"), http.StatusSeeOther)
}
