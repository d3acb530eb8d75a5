package web

import (
	"context"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/graphauth/graphauth/internal/export"
	"github.com/graphauth/graphauth/internal/notemd"
)

// notesMarkdown is GET /notes/pages/{id}/markdown: the page as Markdown. A page with no images
// or attachments downloads as "<title>.md"; one with any, as "<title>.zip" holding the Markdown
// and assets/ with each file exactly as Graph served it. The zip is built in a temporary file
// first, so a resource that fails gives an error page, never a truncated download, and memory
// does not grow with the page's attachments.
func (a *App) notesMarkdown(w http.ResponseWriter, r *http.Request) {
	on, _, ok := a.notesFor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	p, content, ok := a.pageAndContent(w, r, on)
	if !ok {
		return
	}
	release, ok := a.pageTurn(w, r, len(content))
	if !ok {
		return
	}
	defer release()
	if notemd.CountResources(content) == 0 { // a token scan; WritePage parses for the resources
		pf := export.PlanPage(p.Title, nil, &notemd.Names{})
		md, err := export.PageMarkdown(content, pf)
		if err != nil {
			a.fail(w, r, a.notesProblem(err, "converting the page"))
			return
		}
		download(w, pf.Markdown, "text/markdown; charset=utf-8", int64(len(md)))
		_, _ = io.WriteString(w, md)
		return
	}

	tmp, err := os.CreateTemp("", "graphauth-page-*.zip")
	if err != nil {
		a.fail(w, r, problem{Status: http.StatusInternalServerError, Title: "Download failed",
			What: "The app could not make a temporary file for the zip.", logErr: err})
		return
	}
	defer func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }()
	open := func(ctx context.Context, rid string) (io.ReadCloser, error) {
		rs, err := on.Resource(ctx, rid)
		if err != nil {
			return nil, err
		}
		return rs.Body, nil
	}
	if _, err := export.WritePage(ctx, tmp, p.Title, content, p.LastModified, open); err != nil {
		a.fail(w, r, a.notesProblem(err, "downloading the page's images and attachments"))
		return
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		a.fail(w, r, problem{Status: http.StatusInternalServerError, Title: "Download failed",
			What: "The app could not read back the zip it wrote.", logErr: err})
		return
	}
	download(w, notemd.FileName(p.Title)+".zip", "application/zip", size)
	_, _ = io.Copy(w, tmp)
}

// download sets the headers of a file download named name.
func download(w http.ResponseWriter, name, contentType string, size int64) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	w.WriteHeader(http.StatusOK)
}

// inlineImageTypes are the image types shown inline; anything else a page names is downloaded.
var inlineImageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/bmp": true}

// notesResource is GET /notes/resources/{id}: one image or attachment of a page, fetched from
// Graph with the user's token and streamed back. The content type comes from the page's
// data-src-type/type (Graph often says application/octet-stream); only plain image types are
// shown inline, everything else downloads as a file, and nosniff stops a browser guessing.
func (a *App) notesResource(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id") // checked by oneNoteID
	on, _, ok := a.notesFor(w, r)
	if !ok {
		return
	}
	rs, err := on.Resource(r.Context(), id)
	if err != nil {
		a.fail(w, r, a.notesProblem(err, "fetching an image or attachment"))
		return
	}
	defer rs.Body.Close()
	q := r.URL.Query()
	typ := strings.ToLower(strings.TrimSpace(q.Get("type")))
	name := q.Get("download")
	h := w.Header()
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-store")
	if rs.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(rs.ContentLength, 10))
	}
	if inlineImageTypes[typ] && name == "" {
		h.Set("Content-Type", typ)
		w.WriteHeader(http.StatusOK)
	} else {
		if mt, _, err := mime.ParseMediaType(typ); err != nil || typ == "" || strings.Contains(mt, "html") || strings.Contains(mt, "xml") || strings.Contains(mt, "javascript") {
			typ = "application/octet-stream"
		}
		download(w, notemd.FileName(strings.TrimSuffix(name, extOf(name)))+extOf(name), typ, rs.ContentLength)
	}
	_, _ = io.Copy(w, rs.Body)
}

// extOf is name's extension (".pdf"), or "" when none, or one that is not plain letters and digits.
func extOf(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || len(name)-i > 10 {
		return ""
	}
	for _, c := range name[i+1:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return ""
		}
	}
	return name[i:]
}
