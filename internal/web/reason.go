package web

import "net/http"

// signInReasons are the fixed messages /login?reason= can show: the query picks one, it never
// supplies text, so a link cannot make the sign-in page say anything else.
var signInReasons = map[string]string{
	"signedout": "You are signed out of this app and of the Microsoft identity platform.",
	"expired":   "Your sign-in has expired or was revoked (for example, your password changed or an administrator signed you out everywhere), so you were signed out. Sign in again to go on.",
}

// grantEnded handles auth.ErrInteractionRequired on a signed-in page: the refresh token no longer
// works, so the session (the user and their token cache) is deleted and the user is sent to sign
// in again, with the reason shown there.
func (a *App) grantEnded(w http.ResponseWriter, r *http.Request, status int) {
	id, _ := a.currentUser(r.Context())
	if err := a.sessions.Destroy(r.Context()); err != nil {
		a.fail(w, r, a.storeProblem(err, "delete"))
		return
	}
	a.log.Info("signed out: the grant needs interactive sign-in again", "user", id.Key(), "request_id", requestID(r))
	http.Redirect(w, r, "/login?reason=expired", status)
}
