package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The app lends a small pool of MSAL clients to requests (see auth.Client), shared by every
// user. A page that may call the identity platform (a silent token call can become a refresh)
// therefore runs at most once at a time per session: a user's other such requests wait their
// turn without holding a pooled client, a queue too long or a wait too long gets a 429 page. A
// forced refresh ("Refresh now") never waits, and each session gets a few at once, then one per
// forcedRefreshEvery. The counts are per instance.
const (
	maxWaitingPerSession = 16               // requests of one session queued behind the one running
	maxSessionWait       = 30 * time.Second // then 429 (half the server's WriteTimeout)
	forcedRefreshBurst   = 3                // "Refresh now" allowed back to back
	forcedRefreshEvery   = 20 * time.Second // then one more per this
	gatePruneAbove       = 4096             // idle entries kept before a prune
)

type idpGate struct {
	mu    sync.Mutex
	slots map[string]*idpSlot
}

type idpSlot struct {
	sem     chan struct{} // holds one token while a request of this session runs
	refs    int           // running or waiting
	credit  float64       // forced refreshes available
	updated time.Time     // when credit was last topped up
}

func newIDPGate() *idpGate { return &idpGate{slots: map[string]*idpSlot{}} }

// acquire waits (up to wait) for the session's turn. It returns release, or how long to wait
// before trying again.
func (g *idpGate) acquire(r *http.Request, key string, forced bool, wait time.Duration, now time.Time) (release func(), retry time.Duration) {
	g.mu.Lock()
	s := g.slots[key]
	if s == nil {
		if len(g.slots) > gatePruneAbove {
			g.prune(now)
		}
		s = &idpSlot{sem: make(chan struct{}, 1), credit: forcedRefreshBurst, updated: now}
		g.slots[key] = s
	}
	if forced {
		s.credit = min(forcedRefreshBurst, s.credit+now.Sub(s.updated).Seconds()/forcedRefreshEvery.Seconds())
		s.updated = now
		if s.credit < 1 {
			retry = time.Duration((1 - s.credit) * float64(forcedRefreshEvery))
			g.mu.Unlock()
			return nil, retry.Round(time.Second) + time.Second
		}
		if s.refs > 0 {
			g.mu.Unlock()
			return nil, time.Second
		}
	} else if s.refs > maxWaitingPerSession {
		g.mu.Unlock()
		return nil, time.Second
	}
	s.refs++
	g.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case s.sem <- struct{}{}:
	case <-timer.C:
		g.done(key, s)
		return nil, time.Second
	case <-r.Context().Done():
		g.done(key, s)
		return nil, time.Second
	}
	if forced {
		g.mu.Lock()
		s.credit--
		g.mu.Unlock()
	}
	return func() { <-s.sem; g.done(key, s) }, 0
}

func (g *idpGate) done(key string, s *idpSlot) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s.refs--
	if s.refs == 0 && s.credit >= forcedRefreshBurst {
		delete(g.slots, key)
	}
}

// prune drops idle entries whose credit would be full by now.
func (g *idpGate) prune(now time.Time) {
	for k, s := range g.slots {
		if s.refs == 0 && now.Sub(s.updated) >= forcedRefreshEvery*forcedRefreshBurst {
			delete(g.slots, k)
		}
	}
}

// oneIdentityCall runs the page once at a time per session (see idpGate).
func (a *App) oneIdentityCall(next http.Handler) http.Handler { return a.gateIdentity(next, false) }

// forcedRefresh is oneIdentityCall for "Refresh now": never queued, and rationed per session.
func (a *App) forcedRefresh(next http.Handler) http.Handler { return a.gateIdentity(next, true) }

func (a *App) gateIdentity(next http.Handler, forced bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := a.sessions.Token(r.Context())
		if _, signedIn := a.currentUser(r.Context()); key == "" || !signedIn {
			next.ServeHTTP(w, r) // signed out: the page sends the visitor to sign in, no call made
			return
		}
		release, retry := a.idp.acquire(r, key, forced, maxSessionWait, a.now())
		if release == nil {
			a.identityBusy(w, r, forced, retry)
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}

// identityBusy is the 429 page for a session whose turn to call the identity platform did not
// come (forced: a "Refresh now" refused), with how long to wait.
func (a *App) identityBusy(w http.ResponseWriter, r *http.Request, forced bool, retry time.Duration) {
	secs := strconv.Itoa(max(1, int(retry.Seconds())))
	w.Header().Set("Retry-After", secs)
	what := "Another request of yours to the Microsoft identity platform is still running, or too many are queued."
	if forced {
		what = "You asked for a refresh while another was running, or several times in a short while."
	}
	a.fail(w, r, problem{Status: http.StatusTooManyRequests, Title: "Too many requests at once",
		What: what + " The app lets each session make one such call at a time, so that one user cannot hold the connections everyone shares.",
		Fix:  "Wait a moment, then try again.", RetryAfter: secs + "s", Action: r.URL.Path, ActionText: "Try again"})
}
