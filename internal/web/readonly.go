package web

import (
	"net/http"
)

// loadSession is for downloads that stream: it loads the session so the handler knows the user,
// but never writes it back, so the response can go out as it is produced instead of being
// buffered whole (loadAndSaveSession buffers to commit before sending). A token that MSAL
// refreshes during such a request is not kept; the next page view refreshes and keeps it.
func (a *App) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ctx, ok := a.loadSessionFor(w, r); ok {
			next.ServeHTTP(w, r.WithContext(ctx))
		}
	})
}
