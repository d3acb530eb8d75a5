package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/graphauth/graphauth/static"
)

// Handler is the app's table of contents: every route it serves.
func (a *App) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(a.requestID) // generated, or a trusted proxy's X-Request-Id
	r.Use(a.logRequests)
	r.Use(a.recoverPanics)
	r.Use(a.securityHeaders)
	r.Use(a.crossOriginProtection) // every POST must come from this app's own pages

	// No session needed.
	r.Get("/healthz", a.healthz)
	r.Get("/readyz", a.readyz)
	r.Handle("/static/*", http.StripPrefix("/static/", staticFiles(static.FS, func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, notFound()) // a folder: no listing
	})))

	// Pages with a session.
	r.Group(func(r chi.Router) {
		r.Use(a.loadAndSaveSession)
		r.Get("/", a.index)                                 // step 1: the user visits the app
		r.Get("/login", a.login)                            // step 2: off to the Microsoft identity platform
		r.Get("/getAToken", a.callback)                     // steps 4-5: back with a code, redeemed for tokens
		r.With(a.oneIdentityCall).Get("/msal-demo", a.demo) // step 6: call Graph /me with the access token
		r.Get("/logout", a.logoutConfirm)
		r.Post("/logout", a.logout)

		// Teaching pages: this sign-in as it happened, and the tokens shown as their claims.
		r.Get("/flow", a.flow)                                 // the six steps, with what was sent and received
		r.With(a.oneIdentityCall).Get("/token", a.token)       // ID token claims; the access token's scopes and expiry
		r.With(a.forcedRefresh).Post("/token", a.refreshToken) // "Refresh now": a silent refresh on demand

		// The next chapter: OneNote, with Notes.Read asked for on first use (incremental consent).
		// Every {id} is checked before it can reach a Graph URL; a page view has a deadline.
		r.Group(func(r chi.Router) {
			r.Use(a.oneNoteID, a.pageDeadline)
			r.Get("/notes", a.notes)                         // notebooks, section groups and sections
			r.Get("/notes/consent", a.notesConsent)          // the second trip to the authorize endpoint
			r.Get("/notes/sections/{id}", a.notesSection)    // a section's pages, in OneNote's order
			r.Get("/notes/pages/{id}", a.notesPage)          // a page: details, rendered, its HTML
			r.Get("/notes/pages/{id}/body", a.notesPageBody) // the page sanitized, sandboxed, for the iframe
		})

		// Export a section or a whole notebook to Markdown: starts a job, shown at /notes/exports/{job}.
		r.Post("/notes/sections/{id}/export", a.exportStart("section"))
		r.Post("/notes/notebooks/{id}/export", a.exportStart("notebook"))
	})

	// Downloads stream, so they read the session without writing it back.
	r.Group(func(r chi.Router) {
		r.Use(a.loadSession)
		r.With(a.oneNoteID).Get("/notes/pages/{id}/markdown", a.notesMarkdown) // .md, or .zip with its assets
		r.With(a.oneNoteID).Get("/notes/resources/{id}", a.notesResource)      // an image or attachment, with the user's token

		// An export's progress, cancel and zip: from the shared store, on any instance.
		r.Get("/notes/exports/{job}", a.exportProgress)          // progress, cancel, download button
		r.Get("/notes/exports/{job}/status", a.exportStatus)     // the progress as JSON (static/export.js)
		r.Post("/notes/exports/{job}/cancel", a.exportCancel)    // stop it; nothing is kept
		r.Get("/notes/exports/{job}/download", a.exportDownload) // the zip, streamed from the store
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, notFound())
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, problem{Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
			What: "This page does not accept that kind of request.", Fix: "Use the app's links and buttons."})
	})
	return r
}
