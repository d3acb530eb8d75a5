package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/onenote"
)

// The tutorial's next chapter: the signed-in user's OneNote notebooks, read through Graph with a
// token for NOTES_SCOPE that the app asks for only when the user first opens them (incremental
// consent, notes_consent.go). The OneNote calls, the HTML rules and the Markdown export live in
// internal/onenote, internal/notemd and internal/export; these handlers only call them.

type notebooksView struct {
	Notebooks []notebookView
}

type notebookView struct {
	ID, Name, WebURL, Modified string
	Sections                   []sectionLink
	Groups                     []groupView
}

type groupView struct {
	ID, Name string
	Sections []sectionLink
	Groups   []groupView
}

type sectionLink struct{ ID, Name, Modified string }

// notes is GET /notes: every notebook with its section groups and sections, nested as in OneNote.
func (a *App) notes(w http.ResponseWriter, r *http.Request) {
	on, ts, ok := a.notesFor(w, r)
	if !ok {
		return
	}
	defer a.saveNotesToken(r.Context(), ts)
	books, err := on.Notebooks(r.Context())
	if err != nil {
		a.fail(w, r, a.notesProblem(err, "listing your notebooks"))
		return
	}
	v := notebooksView{}
	for _, b := range books {
		v.Notebooks = append(v.Notebooks, notebookView{ID: b.ID, Name: b.Name, WebURL: webURL(b.WebURL),
			Modified: day(b.LastModified), Sections: sectionLinks(b.Sections), Groups: groupViews(b.SectionGroups)})
	}
	a.render(w, r, http.StatusOK, "notes.html", "Your OneNote notebooks", v)
}

func sectionLinks(ss []onenote.Section) []sectionLink {
	out := make([]sectionLink, 0, len(ss))
	for _, s := range ss {
		out = append(out, sectionLink{ID: s.ID, Name: s.Name, Modified: day(s.LastModified)})
	}
	return out
}

func groupViews(gs []onenote.SectionGroup) []groupView {
	out := make([]groupView, 0, len(gs))
	for _, g := range gs {
		out = append(out, groupView{ID: g.ID, Name: g.Name, Sections: sectionLinks(g.Sections), Groups: groupViews(g.SectionGroups)})
	}
	return out
}

// notesToken gives the OneNote client access tokens for NOTES_SCOPE from the session's token
// cache. OneNote calls run several at once, so it serialises use of the cache, and it reuses a
// token until it is 5 minutes from expiry, asking MSAL (which refreshes) only then.
type notesToken struct {
	a       *App
	account string
	mu      sync.Mutex
	tc      *auth.TokenCache
	tok     auth.Token
	// gate, when set, is the request whose session may make one identity-platform call at a
	// time (limit.go): a page's OneNote calls and its images ask MSAL through it. An export's
	// own copy has none: it is one job per user, and outlives the request that started it.
	gate *http.Request
}

// errIdentityBusy: the session's turn to call the identity platform did not come in time.
var errIdentityBusy = errors.New("another request of this session is calling the identity platform")

func (t *notesToken) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok.AccessToken != "" && t.a.now().Add(5*time.Minute).Before(t.tok.ExpiresOn) {
		return t.tok.AccessToken, nil
	}
	if t.gate != nil {
		release, _ := t.a.idp.acquire(t.gate, t.a.sessions.Token(t.gate.Context()), false, maxSessionWait, t.a.now())
		if release == nil {
			return "", errIdentityBusy
		}
		defer release()
	}
	tok, err := t.a.auth.TokenFor(ctx, t.account, t.tc, t.a.cfg.NotesScopes)
	if err != nil {
		return "", err
	}
	t.tok = tok
	return tok.AccessToken, nil
}

// notesFor is the OneNote API for the signed-in user. It answers the request itself (ok=false)
// when there is none: signed out -> sign in and come back; no consent to NOTES_SCOPE yet -> the
// incremental consent page, which comes back here too.
func (a *App) notesFor(w http.ResponseWriter, r *http.Request) (*onenote.User, *notesToken, bool) {
	ctx := r.Context()
	id, ok := a.currentUser(ctx)
	if !ok {
		http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusFound)
		return nil, nil, false
	}
	ts := &notesToken{a: a, account: a.sessions.GetString(ctx, keyAccount), tc: a.tokenCache(ctx), gate: r}
	// Get a token now, so a missing consent sends the user to consent before any page is drawn.
	_, err := ts.get(ctx)
	switch {
	case errors.Is(err, auth.ErrConsentRequired):
		a.saveNotesToken(ctx, ts)
		http.Redirect(w, r, "/notes/consent?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return nil, nil, false
	case errors.Is(err, auth.ErrInteractionRequired):
		// The grant is gone (revoked, expired): signed out, and told why, as on every page.
		a.grantEnded(w, r, http.StatusFound)
		return nil, nil, false
	case errors.Is(err, errIdentityBusy):
		a.identityBusy(w, r, false, time.Second)
		return nil, nil, false
	case err != nil:
		a.fail(w, r, a.problemFor(err, "getting an access token for OneNote"))
		return nil, nil, false
	}
	return a.onenote.For(id.Key(), ts.get), ts, true
}

// saveNotesToken keeps a token cache that MSAL changed (a refresh) in the session.
func (a *App) saveNotesToken(ctx context.Context, ts *notesToken) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	a.saveTokenCache(ctx, ts.tc)
}

// pageDeadline bounds a notes page's Graph calls, retries included, so a slow Graph gives an
// explanatory page in seconds rather than a browser left waiting. Downloads have no such bound:
// each attempt has OUTBOUND_TIMEOUT to start answering, and a large file takes what it takes.
func (a *App) pageDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*a.cfg.OutboundTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// oneNoteID refuses a route's {id} that could change the Graph path (a 400), before the
// handler, the token cache or Graph is reached. internal/onenote checks again before any URL.
func (a *App) oneNoteID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc := chi.RouteContext(r.Context()); rc != nil && slices.Contains(rc.URLParams.Keys, "id") &&
			!a.validID(w, r, rc.URLParam("id")) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validID refuses an id that could change the Graph path before anything is called.
func (a *App) validID(w http.ResponseWriter, r *http.Request, id string) bool {
	if onenote.ValidID(id) {
		return true
	}
	a.fail(w, r, a.notesProblem(onenote.ErrInvalidID, ""))
	return false
}

// notesProblem explains a failed OneNote call. The session is untouched: the user stays signed in.
func (a *App) notesProblem(err error, during string) problem {
	p := problem{Action: "/notes", ActionText: "Your notebooks", logErr: err}
	var oe *onenote.Error
	if errors.As(err, &oe) {
		p.Code = oe.Code
	}
	switch {
	case errors.Is(err, onenote.ErrInvalidID):
		p.Status, p.Title = http.StatusBadRequest, "Not a OneNote id"
		p.What = "The address does not hold a OneNote id, so the app did not ask Graph for it."
		p.Fix = "Open your notes from the Notes page rather than typing an address."
	case errors.Is(err, onenote.ErrNotFound):
		p.Status, p.Title = http.StatusNotFound, "Not found in OneNote"
		p.What = "Graph says this page, section or image does not exist (error 20102) while " + during + "."
		p.Meaning = "It was deleted or moved, or it belongs to a notebook you can no longer open."
		p.Fix = "Go back to your notebooks and open it again from there."
	case errors.Is(err, onenote.ErrThrottled):
		p.Status, p.Title = http.StatusTooManyRequests, "OneNote is busy for you right now"
		p.What = "Graph throttled the app while " + during + " (error 20166), and kept doing so after the app slowed down and retried."
		p.Meaning = "Graph allows an app 120 OneNote requests a minute and 5 at once for each user, and says so without telling how long to wait."
		p.Fix = "Wait a minute, then reload the page. An export running at the same time uses the same allowance."
		p.RetryAfter = "60 seconds"
	case errors.Is(err, onenote.ErrTooManySections):
		p.Status, p.Title = http.StatusBadGateway, "Too many sections to list every page at once"
		p.What = "Graph refused to list pages across all your sections (error 20266) while " + during + "."
		p.Fix = "Open a section to list its pages; the app lists pages one section at a time."
	case errors.Is(err, onenote.ErrScope):
		p.Status, p.Title = http.StatusForbidden, "The app's token does not allow OneNote"
		p.What = "Graph refused the access token while " + during + ": it lacks a OneNote permission (error 40004)."
		p.Meaning = "The token was issued without " + strings.Join(a.cfg.NotesScopes, " ") + ", for example because consent was withdrawn or an administrator restricted the app."
		p.Fix = "Allow OneNote access again; if your organisation requires it, ask an administrator to grant " + strings.Join(a.cfg.NotesScopes, " ") + " to the app."
		p.Action, p.ActionText = "/notes/consent", "Allow access to OneNote"
	case errors.Is(err, onenote.ErrNoOneNote):
		p.Status, p.Title = http.StatusNotFound, "You have no OneNote yet"
		p.What = "Graph says there is no OneNote for your account" + codeSuffix(p.Code) + "."
		p.Meaning = "OneNote keeps notebooks in OneDrive; an account without OneDrive (or one never used with OneNote) has none."
		p.Fix = "Open OneNote once with this account (onenote.com), or ask your administrator for a OneDrive licence."
		p.Action, p.ActionText = "/", "Back Home"
	case errors.Is(err, onenote.ErrUnauthenticated):
		p.Status, p.Title = http.StatusBadGateway, "Graph refused the access token"
		p.What = "Graph did not accept the app's access token while " + during + ", even a freshly issued one."
		p.Fix = "Sign out and sign in again. If it persists, check GRAPH_ENDPOINT and the app registration."
		p.Action, p.ActionText = "/logout", "Sign out"
	case errors.Is(err, onenote.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		p.Status, p.Title = http.StatusBadGateway, "Graph is not answering"
		p.What = "Microsoft Graph was down or too slow while " + during + ", and stayed so after the app retried."
		p.Fix = "Try again in a few minutes. Your session is intact."
		if errors.Is(err, context.DeadlineExceeded) {
			p.Status = http.StatusGatewayTimeout
		}
	default:
		return a.problemFor(err, during)
	}
	if oe != nil && oe.RequestID != "" {
		p.CorrelationID = oe.RequestID
	}
	return p
}

func codeSuffix(code string) string {
	if code == "" {
		return ""
	}
	return " (error " + code + ")"
}

// webURL keeps only https links to OneNote on the web; anything else is dropped.
func webURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return ""
	}
	return u.String()
}

// day formats a date the one way the app shows dates.
func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
