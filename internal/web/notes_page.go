package web

import (
	"bytes"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/graphauth/graphauth/internal/notemd"
	"github.com/graphauth/graphauth/internal/onenote"
)

type pageView struct {
	ID, Title, SectionID, Section string
	Created, Modified             string
	WebURL                        string
	HTML                          string // Graph's HTML as text: html/template escapes it
	Assets                        int    // images and attachments: the download is a zip when > 0
	DownloadName                  string
}

// notesPage is GET /notes/pages/{id}: the page's details, the page itself (rendered from its
// own sandboxed URL, notesPageBody), the HTML Graph returned (the tutorial's "view its HTML"),
// and the Markdown download.
func (a *App) notesPage(w http.ResponseWriter, r *http.Request) {
	on, ts, ok := a.notesFor(w, r)
	if !ok {
		return
	}
	defer a.saveNotesToken(r.Context(), ts)
	p, content, ok := a.pageAndContent(w, r, on)
	if !ok {
		return
	}
	release, ok := a.pageTurn(w, r, len(content))
	if !ok {
		return
	}
	defer release()
	assets := notemd.CountResources(content) // a count, not the parse Markdown will do
	name := notemd.FileName(p.Title) + ".md"
	if assets > 0 {
		name = notemd.FileName(p.Title) + ".zip"
	}
	a.render(w, r, http.StatusOK, "notes_page.html", "Page: "+orUntitled(p.Title), pageView{
		ID: p.ID, Title: orUntitled(p.Title), SectionID: p.SectionID, Section: p.SectionName,
		Created: day(p.Created), Modified: day(p.LastModified), WebURL: webURL(p.WebURL),
		HTML: string(content), Assets: assets, DownloadName: name})
}

// pageAndContent fetches the route's page ({id}, checked by oneNoteID): its details, then its
// HTML. It answers the request itself when either fails (ok=false).
func (a *App) pageAndContent(w http.ResponseWriter, r *http.Request, on *onenote.User) (onenote.Page, []byte, bool) {
	ctx, id := r.Context(), chi.URLParam(r, "id")
	p, err := on.Page(ctx, id)
	if err != nil {
		a.fail(w, r, a.notesProblem(err, "opening the page"))
		return onenote.Page{}, nil, false
	}
	content, err := on.PageContent(ctx, id)
	if err != nil {
		a.fail(w, r, a.notesProblem(err, "reading the page"))
		return onenote.Page{}, nil, false
	}
	return p, content, true
}

// bodyCSP is the policy of a rendered page. The sandbox allows no script, forms, popups of its
// own or top-level navigation, whatever the sanitizer missed; default-src 'none' with img-src
// 'self' lets the page load only the app's own image proxy, and only the app may frame it.
// allow-same-origin is there for one reason: a fully sandboxed document has an opaque origin,
// and browsers then send no SameSite session cookie with its image requests, so every image
// would fail. Without allow-scripts (never add it next to allow-same-origin) that origin gives
// the document nothing to act with.
const bodyCSP = "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox; default-src 'none'; " +
	"img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"

// notesPageBody is GET /notes/pages/{id}/body: the page, sanitized, as its own document for the
// iframe on the page view. Images and attachments point at notesResource, which adds the user's
// token; the browser never sees a Graph URL or a token.
func (a *App) notesPageBody(w http.ResponseWriter, r *http.Request) {
	on, ts, ok := a.notesFor(w, r)
	if !ok {
		return
	}
	defer a.saveNotesToken(r.Context(), ts)
	content, err := on.PageContent(r.Context(), chi.URLParam(r, "id")) // checked by oneNoteID
	if err != nil {
		a.fail(w, r, a.notesProblem(err, "reading the page"))
		return
	}
	release, ok := a.pageTurn(w, r, len(content))
	if !ok {
		return
	}
	defer release()
	body, err := notemd.Sanitize(content, resourceURL)
	if err != nil {
		a.fail(w, r, a.notesProblem(err, "preparing the page to show"))
		return
	}
	var buf bytes.Buffer
	buf.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><style>` + bodyStyle + `</style></head><body>`)
	buf.Write(body)
	buf.WriteString(`</body></html>`)
	h := w.Header()
	h.Set("Content-Security-Policy", bodyCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// bodyStyle is the rendered page's own small stylesheet (the sandbox has no access to the app's).
const bodyStyle = `body{font-family:Calibri,Segoe UI,Helvetica,Arial,sans-serif;font-size:11pt;margin:12px;color:#222;overflow-wrap:anywhere}` +
	`img{max-width:100%;height:auto}table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 6px;vertical-align:top}` +
	`pre,code{font-family:Consolas,monospace}`

// resourceURL is where a rendered page loads an image or attachment: the app's proxy, with the
// content type and file name the page declared (Graph itself often says octet-stream).
func resourceURL(res notemd.Resource) string {
	q := url.Values{}
	if res.Type != "" {
		q.Set("type", res.Type)
	}
	if res.Kind == "attachment" {
		q.Set("download", notemd.AssetName(res))
	}
	u := "/notes/resources/" + url.PathEscape(res.ID)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}
