package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

type sectionView struct {
	ID, Name, Notebook, Group, WebURL string
	Pages                             []pageRow
}

type pageRow struct {
	ID, Title, Modified string
	Level               int // sub-page depth, for indentation
}

// notesSection is GET /notes/sections/{id}: every page of one section in OneNote's order, sub-pages
// indented. Pages are listed one section at a time, as Microsoft recommends (a user-wide page list
// fails for users with many sections), 100 at a time until done.
func (a *App) notesSection(w http.ResponseWriter, r *http.Request) {
	on, ts, ok := a.notesFor(w, r)
	if !ok {
		return
	}
	ctx, id := r.Context(), chi.URLParam(r, "id") // checked by oneNoteID
	defer a.saveNotesToken(ctx, ts)
	sec, err := on.Section(ctx, id)
	if err != nil {
		a.fail(w, r, a.notesProblem(err, "opening the section"))
		return
	}
	pages, err := on.SectionPages(ctx, id)
	if err != nil {
		a.fail(w, r, a.notesProblem(err, "listing the section's pages"))
		return
	}
	v := sectionView{ID: sec.ID, Name: sec.Name, Notebook: sec.NotebookName, Group: sec.GroupName, WebURL: webURL(sec.WebURL)}
	for _, p := range pages {
		v.Pages = append(v.Pages, pageRow{ID: p.ID, Title: orUntitled(p.Title), Modified: day(p.LastModified), Level: min(max(p.Level, 0), 3)})
	}
	a.render(w, r, http.StatusOK, "notes_section.html", "Section: "+sec.Name, v)
}

func orUntitled(title string) string {
	if title == "" {
		return "Untitled page"
	}
	return title
}
