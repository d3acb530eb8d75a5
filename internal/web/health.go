package web

import (
	"net/http"

	"github.com/go-chi/chi/v5/middleware"
)

// healthz says the process is up.
func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz says whether the app can serve sign-ins: its session store and the authority's
// metadata are reachable.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if a.ready != nil {
		if err := a.ready(r); err != nil {
			a.log.Warn("not ready", "err", err.Error(), "request_id", requestID(r))
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

func requestID(r *http.Request) string { return middleware.GetReqID(r.Context()) }
