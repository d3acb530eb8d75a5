package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/explain"
	"github.com/graphauth/graphauth/internal/graph"
	"github.com/graphauth/graphauth/templates"
)

// layout is what base.html needs on every page.
type layout struct {
	Title     string
	User      *auth.Identity // nil when signed out
	Notice    string         // the loopback-authority warning
	RequestID string
	Reason    string // on the sign-in page: why the user must sign in again (signInReasons)
	Page      any    // the page's own view model
}

var funcs = template.FuncMap{
	"ms":    func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) },
	"until": func(t time.Time) string { return time.Until(t).Round(time.Second).String() },
	"rfc3339": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	// params names a table of parameters for flow.html's "params" template.
	"params": func(id, head string, rows []paramRow) paramTable { return paramTable{id, head, rows} },
}

// paramTable is one table of parameters on /flow: name, value, what it is for.
type paramTable struct {
	ID, Head string // the table's id; the first column's heading
	Rows     []paramRow
}

// parsePages parses base.html with each page once, at start-up.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("base.html").Funcs(funcs).ParseFS(templates.FS, "base.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templates.FS, "*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		if n == "base.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templates.FS, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		pages[n] = t
	}
	return pages, nil
}

// render executes a page into a buffer first, so a template error never sends half a page.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, page, title string, view any) {
	body, ok := a.execute(w, r, status, page, title, view)
	if ok {
		writePage(w, status, body)
	}
}

// execute renders page into a new buffer; on failure it has answered 500 itself.
func (a *App) execute(w http.ResponseWriter, r *http.Request, status int, page, title string, view any) ([]byte, bool) {
	t, ok := a.pages[page]
	if !ok {
		a.log.Error("no such template", "template", page, "request_id", middleware.GetReqID(r.Context()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil, false
	}
	l := layout{Title: title, Notice: a.notice, Page: view}
	if status >= 400 {
		l.RequestID = middleware.GetReqID(r.Context()) // for a support request; every answer carries it in X-Request-Id
	}
	if id, ok := a.currentUser(r.Context()); ok {
		l.User = &id
	}
	if page == "login.html" {
		l.Reason = signInReason(r.URL.Query())
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base.html", l); err != nil {
		a.log.Error("render page", "template", page, "err", err, "request_id", middleware.GetReqID(r.Context()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil, false
	}
	return buf.Bytes(), true
}

func writePage(w http.ResponseWriter, status int, body []byte) {
	htmlContentType.set(w.Header())
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// pageMemo keeps rendered pages that are a pure function of their key (template, title, who is
// signed in, view model): the signed-in home page is most requests, and executing its templates
// was a fifth of its cost. Bounded; random eviction.
type pageMemo struct {
	mu sync.Mutex
	m  map[pageKey][]byte
}

// pageKey is everything a memoized page depends on (the notice is fixed for the process).
type pageKey struct {
	page, title string
	user        auth.Identity
	view        any // a comparable view model
}

const pageMemoEntries = 256

// renderMemo is render for a 200 page whose view model (a comparable value) and signed-in user
// say everything it shows.
func renderMemo[V comparable](a *App, w http.ResponseWriter, r *http.Request, page, title string, view V) {
	id, _ := a.currentUser(r.Context())
	key := pageKey{page: page, title: title, user: id, view: view}
	a.memo.mu.Lock()
	body, ok := a.memo.m[key]
	a.memo.mu.Unlock()
	if !ok {
		if body, ok = a.execute(w, r, http.StatusOK, page, title, view); !ok {
			return
		}
		a.memo.mu.Lock()
		if len(a.memo.m) >= pageMemoEntries {
			for k := range a.memo.m {
				delete(a.memo.m, k)
				break
			}
		}
		a.memo.m[key] = body
		a.memo.mu.Unlock()
	}
	writePage(w, http.StatusOK, body)
}

// problem is the error page's view model: what happened and what to do, never a token, secret
// or stack trace.
type problem struct {
	Status        int
	Title         string
	What          string // what happened, in plain words
	Code          string // AADSTSnnnnn, the OAuth error, or Graph's code
	Meaning       string
	Fix           string
	TraceID       string
	CorrelationID string
	RetryAfter    string
	Action        string // a link to go on with, e.g. /login
	ActionText    string
	logErr        error // for the log line only
}

func notFound() problem {
	return problem{Status: http.StatusNotFound, Title: "Page not found", What: "There is no page at this address.",
		Action: "/", ActionText: "Go home"}
}

// fail logs err's detail and shows the error page.
func (a *App) fail(w http.ResponseWriter, r *http.Request, p problem) {
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	level := "warn"
	if p.Status >= 500 {
		level = "error"
	}
	attrs := []any{"status", p.Status, "title", p.Title, "error_code", p.Code, "request_id", middleware.GetReqID(r.Context())}
	if p.logErr != nil {
		attrs = append(attrs, "err", p.logErr.Error())
	}
	if level == "error" {
		a.log.Error("request failed", attrs...)
	} else {
		a.log.Warn("request failed", attrs...)
	}
	a.render(w, r, p.Status, "error.html", p.Title, p)
}

// problemFor maps the flow's and Graph's errors to the error page.
func (a *App) problemFor(err error, during string) problem {
	var ee *auth.EntraError
	var ge *graph.Error
	switch {
	case errors.As(err, &ee):
		x := explain.Entra(ee.AADSTS, ee.Code, a.explainC)
		status := http.StatusBadGateway
		if ee.Status >= 400 && ee.Status < 500 {
			status = http.StatusBadRequest
		}
		return problem{Status: status, Title: "Sign-in failed", What: "The Microsoft identity platform refused " + during + ".",
			Code: x.Code, Meaning: x.Meaning, Fix: x.Fix, TraceID: ee.TraceID, CorrelationID: ee.CorrelationID,
			Action: "/login", ActionText: "Sign in again", logErr: err}
	case errors.As(err, &ge):
		x := explain.Graph(ge.Status, ge.Code, ge.RetryAfter, a.explainC)
		p := problem{Status: http.StatusBadGateway, Title: "Microsoft Graph call failed",
			What: fmt.Sprintf("Microsoft Graph answered %d while %s. You are still signed in.", ge.Status, during),
			Code: x.Code, Meaning: x.Meaning, Fix: x.Fix, CorrelationID: ge.RequestID,
			Action: "/msal-demo", ActionText: "Try again", logErr: err}
		if ge.Status == http.StatusTooManyRequests || ge.Status == http.StatusServiceUnavailable {
			p.Status = http.StatusServiceUnavailable
		}
		if ge.RetryAfter > 0 {
			p.RetryAfter = ge.RetryAfter.String()
		}
		return p
	case errors.Is(err, graph.ErrUnreachable):
		return problem{Status: http.StatusGatewayTimeout, Title: "Microsoft Graph did not answer",
			What:   "The call to Microsoft Graph failed or timed out while " + during + ". You are still signed in.",
			Fix:    "Try again in a moment; check GRAPH_ENDPOINT and the network if it keeps failing.",
			Action: "/msal-demo", ActionText: "Try again", logErr: err}
	case errors.Is(err, auth.ErrUnreachable):
		return problem{Status: http.StatusBadGateway, Title: "The identity platform did not answer",
			What:   "The Microsoft identity platform could not be reached, or timed out, while " + during + ".",
			Fix:    "Check the network and AUTHORITY (" + a.cfg.Authority + "), then try again. Your session is kept.",
			Action: "/", ActionText: "Go home", logErr: err}
	case errors.Is(err, auth.ErrNonceMismatch), errors.Is(err, auth.ErrIDToken):
		return problem{Status: http.StatusBadRequest, Title: "Sign-in could not be verified",
			What:    "The ID token returned for this sign-in did not pass the app's checks, so you were not signed in.",
			Meaning: strings.TrimPrefix(err.Error(), "the ID token failed validation: "),
			Fix:     "Start the sign-in again. If it keeps happening, check that AUTHORITY is the tenant the app is registered in.",
			Action:  "/login", ActionText: "Sign in again", logErr: err}
	}
	return problem{Status: http.StatusInternalServerError, Title: "Something went wrong",
		What: "The app hit an internal error while " + during + ".", Fix: "Try again; the details are in the server log under the request ID below.",
		Action: "/", ActionText: "Go home", logErr: err}
}
