package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/graphauth/graphauth/internal/session"
)

// logRequests writes one line per request. It logs the path without the query: the callback's
// query carries the authorization code and state.
func (a *App) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		h := a.log.Handler()
		if !h.Enabled(r.Context(), slog.LevelInfo) {
			return
		}
		// The record is made here, not by Logger.LogAttrs, which also walks the stack for the
		// caller's address (no handler here shows a source): a line per request.
		rec := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
		rec.AddAttrs(slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", ww.Status()), slog.Int("bytes", ww.BytesWritten()),
			slog.Float64("duration_ms", float64(rec.Time.Sub(start).Microseconds())/1000),
			slog.String("request_id", middleware.GetReqID(r.Context())))
		_ = h.Handle(r.Context(), rec)
	})
}

// requestID gives every request an ID for its log lines and error page: one the app makes, or
// the X-Request-Id a trusted proxy (TRUSTED_PROXIES) sent, if it looks like an ID. Anyone else's
// header is ignored, so a client cannot plant misleading IDs (or text) in the logs.
func (a *App) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !trustedPeer(r.RemoteAddr, a.cfg.TrustedProxies) || !validRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), middleware.RequestIDKey, id)))
	})
}

// validRequestID accepts up to 128 characters of letters, digits and -_.:/+=
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-_.:/+=", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// contentSecurityPolicy: only the app's own files; forms post to the app or the authority
// (Chromium also checks form-action on the redirect after the logout form, which goes to the
// authority's end_session_endpoint); no <base>, no plugins, no framing.
func contentSecurityPolicy(authority string) string {
	formAction := "'self'"
	if u, err := url.Parse(authority); err == nil && u.Scheme != "" && u.Host != "" {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'self'; form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
}

// recoverPanics turns a panic into the error page and a log line, never a stack trace to the user.
func (a *App) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("panic", "value", v, "request_id", middleware.GetReqID(r.Context()))
				a.fail(w, r, problem{Status: http.StatusInternalServerError, Title: "Something went wrong",
					What: "The app hit an internal error.", Action: "/", ActionText: "Go home"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders: a strict CSP (the app serves its own CSS and script), no sniffing, no referrer
// (the callback URL carries the code), no caching of personal pages, HSTS on HTTPS.
func (a *App) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, f := range a.security {
			f.set(h)
		}
		if r.Body != http.NoBody { // the server's body for a request without one
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		}
		next.ServeHTTP(w, r)
	})
}

// crossOriginProtection refuses state-changing requests (POST, ...) that a browser marks as
// cross-site, using Go's CrossOriginProtection (Sec-Fetch-Site first, then Origin vs Host).
func (a *App) crossOriginProtection(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, problem{Status: http.StatusForbidden, Title: "Cross-site request refused",
			What: "This request came from another site, so the app refused it (it protects sign-out against cross-site forgery).",
			Fix:  "Use the buttons on the app's own pages.", Action: "/", ActionText: "Go home"})
	}))
	return cop.Handler(next)
}

// loadSessionFor loads the session named by r's cookie (a new, empty one when there is none),
// marking the response personal: stored by no cache. It answers the request itself with the
// error page when the store fails (ok=false).
//
// No "Vary: Cookie": it tells a cache how to match a response it stored, and no-store lets none
// store it. It was also the ninth header of a page, which costs more than the other eight: net/http
// keeps a header of up to eight names in one small map (and copies it once per response), and a
// ninth makes both maps full tables, several allocations and a kilobyte more per request.
func (a *App) loadSessionFor(w http.ResponseWriter, r *http.Request) (context.Context, bool) {
	noStore.set(w.Header()) // personal pages stay out of every cache
	var token string
	if c, err := r.Cookie(a.sessions.Cookie.Name); err == nil {
		token = c.Value
	}
	ctx, err := a.sessions.Load(r.Context(), token)
	if err != nil {
		a.fail(w, r, a.storeProblem(err, "load"))
		return nil, false
	}
	return ctx, true
}

// loadAndSaveSession is scs's LoadAndSave, but it buffers the page and commits the session
// before sending anything: if the store fails, the user gets a clean 500 page instead of a page
// whose session change was silently lost.
func (a *App) loadAndSaveSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, ok := a.loadSessionFor(w, r)
		if !ok {
			return
		}
		loaded := a.sessions.Token(ctx) // "" unless the cookie named a stored session
		outer := r
		r = r.WithContext(ctx)
		bw := newBufferedWriter()
		defer bw.release()
		next.ServeHTTP(bw, r)
		a.touchSession(ctx)

		switch a.sessions.Status(ctx) {
		case scs.Modified:
			// Logout must win: write over the loaded session only if it still exists, and a
			// new ID (a new session, or RenewToken's) only if no record has it. The commit
			// outlives a client that hung up: a refreshed token must not be lost.
			cctx := context.WithoutCancel(ctx)
			if loaded != "" && a.sessions.Token(ctx) == loaded {
				cctx = session.IfExists(cctx)
			} else {
				cctx = session.IfNew(cctx)
			}
			tok, expiry, err := a.sessions.Commit(cctx)
			if errors.Is(err, session.ErrSessionGone) {
				// Signed out (or signed in again) while this request ran. No cookie is
				// written: the browser may already hold the new session's.
				a.fail(w, outer, problem{Status: http.StatusConflict, Title: "Your session ended",
					What:   "You signed out, or signed in again, while this page was loading, so what it would have saved was discarded.",
					Fix:    "Go on from the home page.",
					Action: "/", ActionText: "Go home", logErr: err})
				return
			}
			if err != nil {
				a.fail(w, r, a.storeProblem(err, "save"))
				return
			}
			a.sessions.WriteSessionCookie(ctx, w, tok, expiry)
		case scs.Destroyed:
			a.sessions.WriteSessionCookie(ctx, w, "", time.Time{})
		}
		for k, v := range bw.header {
			if k == "Set-Cookie" {
				// The handler's own cookies (the sign-in cookie) go out beside the session
				// cookie written above.
				v = append(w.Header()[k], v...)
			}
			w.Header()[k] = v // the handler's headers win over the defaults (a page's own CSP)
		}
		if bw.status == 0 {
			bw.status = http.StatusOK
		}
		// The whole page is here: say how long it is, so it goes out in one piece, not chunked.
		if w.Header().Get("Content-Length") == "" && bw.status != http.StatusNoContent && bw.status != http.StatusNotModified {
			w.Header()["Content-Length"] = []string{strconv.Itoa(bw.body.Len())}
		}
		w.WriteHeader(bw.status)
		_, _ = w.Write(bw.body.Bytes())
	})
}

// touchSession keeps a used session alive for SESSION_IDLE_TIMEOUT more, within its absolute
// SESSION_LIFETIME, by moving its expiry in the store. It moves it only when the stored expiry is
// more than touchEvery behind, so a page that changes nothing (the common case) writes nothing;
// the price is that the idle timeout is kept to within touchEvery.
func (a *App) touchSession(ctx context.Context) {
	if a.sessions.Status(ctx) == scs.Destroyed || a.sessions.Token(ctx) == "" && len(a.sessions.Keys(ctx)) == 0 {
		return // nothing worth keeping, e.g. a signed-out visitor's redirect (a stored session has keys)
	}
	now := a.now()
	absolute := time.Unix(a.sessions.GetInt64(ctx, keyAbsoluteExpiry), 0)
	if !a.sessions.Exists(ctx, keyAbsoluteExpiry) {
		absolute = now.Add(a.cfg.SessionLifetime)
		a.sessions.Put(ctx, keyAbsoluteExpiry, absolute.Unix())
	}
	want := now.Add(a.cfg.SessionIdleTimeout)
	if absolute.Before(want) {
		want = absolute
	}
	touchEvery := min(a.cfg.SessionIdleTimeout/10, time.Minute)
	if a.sessions.Status(ctx) == scs.Modified || a.sessions.Deadline(ctx).Before(want.Add(-touchEvery)) {
		a.sessions.SetDeadline(ctx, want)
	}
}

func (a *App) storeProblem(err error, op string) problem {
	return problem{Status: http.StatusInternalServerError, Title: "Session storage failed",
		What:   "The app could not " + op + " your session, so nothing was changed.",
		Fix:    "Try again in a moment. If you run this app: check SESSION_TYPE and its store (disk space, permissions, server up); the log has the detail.",
		Action: "/", ActionText: "Go home", logErr: err}
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// bufferedWriters are reused: growing a new buffer to a page's size was a quarter of the bytes a
// signed-in page allocated.
var bufferedWriters = sync.Pool{New: func() any { return &bufferedWriter{header: http.Header{}} }}

func newBufferedWriter() *bufferedWriter { return bufferedWriters.Get().(*bufferedWriter) }

// release returns b for reuse, once the page has been written out: the response holds its own
// copy of the bytes, and the header's values, which it shares, are never written in place.
func (b *bufferedWriter) release() {
	if b.body.Cap() > 64<<10 {
		return // a OneNote page: let it go rather than keep it for every later request
	}
	clear(b.header)
	b.status = 0
	b.body.Reset()
	bufferedWriters.Put(b)
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(s int) {
	if b.status == 0 {
		b.status = s
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
