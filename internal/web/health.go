package web

import (
	"net/http"
	"strings"

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
			// Name what is down; the detail (addresses, driver errors) stays in the log.
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + failedParts(err) + "\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

// failedParts turns "session store: dial tcp ...\nauthority metadata: ..." into
// "session store, authority metadata".
func failedParts(err error) string {
	var parts []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && name != "" {
			parts = append(parts, name)
		}
	}
	if len(parts) == 0 {
		return "a dependency is unavailable"
	}
	return strings.Join(parts, ", ")
}

func requestID(r *http.Request) string { return middleware.GetReqID(r.Context()) }
