package web

import "net/http"

type indexView struct {
	Name     string
	Username string
}

// index is step 1: the user visits the app. Signed out, they are sent to sign in (as the
// tutorial's index() does), told so when they just signed out; signed in, they are welcomed by
// name.
func (a *App) index(w http.ResponseWriter, r *http.Request) {
	id, ok := a.currentUser(r.Context())
	if !ok {
		login := loginURL(r.URL.RequestURI())
		if a.justSignedOut(w, r) {
			login = "/login?reason=signedout"
		}
		http.Redirect(w, r, login, http.StatusFound)
		return
	}
	renderMemo(a, w, r, "index.html", "Welcome", indexView{Name: id.Name, Username: id.Username})
}
