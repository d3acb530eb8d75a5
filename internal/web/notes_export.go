package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/export"
)

// Export a whole section or notebook as a zip of Markdown files (internal/export does the work).
// A job runs on the instance that started it, but its record and its zip live in the shared
// session store, so the progress page, the cancel button and the download work on any instance.
// A person runs one export at a time; another person's job id answers 404, as a missing one.

// exportStart is POST /notes/sections/{id}/export and POST /notes/notebooks/{id}/export.
func (a *App) exportStart(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if !a.validID(w, r, id) {
			return
		}
		if a.exports == nil {
			a.fail(w, r, problem{Status: http.StatusServiceUnavailable, Title: "Exports are off",
				What: "This instance of the app was started without exports.", Action: "/notes", ActionText: "Your notebooks"})
			return
		}
		// A redirect to sign in or to consent comes back to /notes (a POST cannot be replayed).
		back := r.Clone(r.Context())
		back.URL.Path, back.URL.RawQuery = "/notes", ""
		_, ts, ok := a.notesFor(w, back)
		if !ok {
			return
		}
		a.saveNotesToken(r.Context(), ts)
		user, _ := a.currentUser(r.Context())
		// The job gets its own copy of the token cache: it outlives this request, refreshes the
		// access token when it expires, and never writes the session.
		jobTokens := ts.copy()
		src := a.onenote.For(user.Key(), jobTokens.get)
		job, err := a.exports.Start(r.Context(), user.Key(), export.Scope{Kind: kind, ID: id}, src)
		var busy *export.BusyError
		switch {
		case errors.As(err, &busy):
			a.render(w, r, http.StatusConflict, "notes_export_busy.html", "An export is already running", exportViewOf(busy.Running, a.now()))
			return
		case err != nil:
			a.fail(w, r, a.storeProblem(err, "write"))
			return
		}
		a.log.Info("export started", "job", job.ID, "kind", kind, "user", user.Key(), "request_id", requestID(r))
		http.Redirect(w, r, "/notes/exports/"+job.ID, http.StatusSeeOther)
	}
}

// copy is a token source of its own over a copy of the session's token cache.
func (t *notesToken) copy() *notesToken {
	t.mu.Lock()
	defer t.mu.Unlock()
	return &notesToken{a: t.a, account: t.account, tc: &auth.TokenCache{Data: bytes.Clone(t.tc.Data)}, tok: t.tok} // no gate: see notesToken
}

// exportRef is the signed-in user's key and the job id {job}; it answers the request itself
// when there is no user. The manager's Get, Cancel and Open refuse an id that is not a job's
// before asking the store (export.ValidID), and another person's job as a missing one.
func (a *App) exportRef(w http.ResponseWriter, r *http.Request) (owner, id string, ok bool) {
	user, ok := a.currentUser(r.Context())
	if !ok {
		http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusFound)
		return "", "", false
	}
	if a.exports == nil {
		a.fail(w, r, exportNotFound())
		return "", "", false
	}
	return user.Key(), chi.URLParam(r, "job"), true
}

// exportJob finds the signed-in user's job {job}; it answers the request itself when there is none.
func (a *App) exportJob(w http.ResponseWriter, r *http.Request) (export.Job, bool) {
	owner, id, ok := a.exportRef(w, r)
	if !ok {
		return export.Job{}, false
	}
	job, err := a.exports.Get(r.Context(), owner, id)
	switch {
	case errors.Is(err, export.ErrNotFound):
		a.fail(w, r, exportNotFound())
		return export.Job{}, false
	case err != nil:
		a.fail(w, r, a.storeProblem(err, "load"))
		return export.Job{}, false
	}
	return job, true
}

func exportNotFound() problem {
	return problem{Status: http.StatusNotFound, Title: "No such export",
		What:    "There is no export of yours at this address.",
		Meaning: "Finished exports are kept for a limited time, then deleted.",
		Fix:     "Start the export again from your notebooks.", Action: "/notes", ActionText: "Your notebooks"}
}

// exportProgress is GET /notes/exports/{job}: the job's progress, its cancel button, and when
// it is done its download button. static/export.js refreshes the figures from /status.
func (a *App) exportProgress(w http.ResponseWriter, r *http.Request) {
	job, ok := a.exportJob(w, r)
	if !ok {
		return
	}
	a.render(w, r, http.StatusOK, "notes_export.html", "Export to Markdown", exportViewOf(job, a.now()))
}

// exportStatus is GET /notes/exports/{job}/status: the progress as JSON, for static/export.js.
func (a *App) exportStatus(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.currentUser(r.Context()); !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"signed out"}`))
		return
	}
	job, ok := a.exportJob(w, r)
	if !ok {
		return
	}
	b, err := json.Marshal(exportViewOf(job, a.now()))
	if err != nil {
		a.fail(w, r, problem{Title: "Export status", What: "The app could not encode the export's status.", logErr: err})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// exportCancel is POST /notes/exports/{job}/cancel.
// Cancel loads the job itself (and checks its owner): one store read, not two.
func (a *App) exportCancel(w http.ResponseWriter, r *http.Request) {
	owner, id, ok := a.exportRef(w, r)
	if !ok {
		return
	}
	_, err := a.exports.Cancel(r.Context(), owner, id)
	switch {
	case errors.Is(err, export.ErrNotFound):
		a.fail(w, r, exportNotFound())
		return
	case err != nil:
		a.fail(w, r, a.storeProblem(err, "write"))
		return
	}
	a.log.Info("export cancel asked", "job", id, "request_id", requestID(r))
	http.Redirect(w, r, "/notes/exports/"+id, http.StatusSeeOther)
}

// exportDownload is GET /notes/exports/{job}/download: the zip, streamed chunk by chunk from the
// shared store (never whole in memory). Open loads the job itself and checks its owner.
func (a *App) exportDownload(w http.ResponseWriter, r *http.Request) {
	owner, id, ok := a.exportRef(w, r)
	if !ok {
		return
	}
	d, err := a.exports.Open(r.Context(), owner, id)
	switch {
	case errors.Is(err, export.ErrNotDone):
		http.Redirect(w, r, "/notes/exports/"+id, http.StatusSeeOther)
		return
	case errors.Is(err, export.ErrGone), errors.Is(err, export.ErrNotFound):
		a.fail(w, r, exportNotFound())
		return
	case err != nil:
		a.fail(w, r, a.storeProblem(err, "load"))
		return
	}
	download(w, d.Job.FileName, "application/zip", d.Job.Bytes)
	if _, err := d.WriteTo(r.Context(), w); err != nil && !errors.Is(err, context.Canceled) {
		// Too late for an error page: the client sees a short download (Content-Length).
		a.log.Warn("export download cut short", "job", id, "err", err, "request_id", requestID(r))
	}
}

// exportView is what the progress page and /status show; it never holds the owner's key.
type exportView struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	Phase       string `json:"phase"`
	Pages       int    `json:"pages"`
	PagesDone   int    `json:"pagesDone"`
	PagesFailed int    `json:"pagesFailed"`
	Images      int    `json:"images"`
	Attachments int    `json:"attachments"`
	AssetsLost  int    `json:"assetsLost"`
	Current     string `json:"current"`
	Percent     int    `json:"percent"`
	TimeLeft    string `json:"timeLeft"`
	Started     string `json:"started"`
	Size        string `json:"size"`
	Expires     string `json:"expires"`
	Error       string `json:"error"`
	Download    string `json:"download"`
	Problems    []export.Problem
}

func exportViewOf(j export.Job, now time.Time) exportView {
	v := exportView{ID: j.ID, Kind: j.Kind, Name: j.ScopeName, Status: j.Status, Phase: j.Phase, Pages: j.Pages,
		PagesDone: j.PagesDone, PagesFailed: j.PagesFailed, Images: j.Images, Attachments: j.Attachments,
		AssetsLost: j.AssetsLost, Current: j.Current, Started: day(j.Started), Error: j.Error, Problems: j.Problems}
	if v.Name == "" {
		v.Name = "your " + j.Kind
	}
	if j.Pages > 0 {
		v.Percent = 100 * j.PagesDone / j.Pages
	}
	switch j.Status {
	case export.StatusRunning:
		v.TimeLeft = timeLeft(j, now)
	case export.StatusDone:
		v.Percent, v.Download = 100, "/notes/exports/"+j.ID+"/download"
		v.Size = fmt.Sprintf("%.1f MiB", float64(j.Bytes)/(1<<20))
		v.Expires = day(j.Expires)
	}
	return v
}

// timeLeft extrapolates from the pages done so far ("" until there is something to go on).
func timeLeft(j export.Job, now time.Time) string {
	if j.Phase == "saving" {
		return "a few seconds"
	}
	elapsed := now.Sub(j.Started)
	if j.PagesDone == 0 || j.Pages == 0 || elapsed <= 0 {
		return ""
	}
	left := time.Duration(float64(elapsed) / float64(j.PagesDone) * float64(j.Pages-j.PagesDone))
	switch {
	case left < 10*time.Second:
		return "a few seconds"
	case left < time.Minute:
		return fmt.Sprintf("about %d seconds", int(left.Seconds()+5)/10*10)
	default:
		return fmt.Sprintf("about %d minutes", int(left.Minutes()+0.5))
	}
}
