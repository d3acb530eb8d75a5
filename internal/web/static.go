package web

import (
	"io/fs"
	"net/http"
	"strings"
)

// staticFiles serves the embedded CSS and script, cached for a day. A folder (a path ending in
// "/", the root included) is notFound, never a listing.
func staticFiles(fsys fs.FS, notFound http.HandlerFunc) http.Handler {
	h := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			notFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}
