package onenote

import (
	"encoding/json"
	"slices"
	"time"
)

// Graph's JSON, as far as this package reads it.

type wireLink struct {
	Href string `json:"href"`
}

type wireLinks struct {
	OneNoteWebURL    wireLink `json:"oneNoteWebUrl"`
	OneNoteClientURL wireLink `json:"oneNoteClientUrl"`
}

// wireRef is an expanded parent: notebooks and section groups have displayName; the docs show
// a page's parentSection with name or displayName.
type wireRef struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Name        string `json:"name"`
}

func (r *wireRef) name() string {
	if r.DisplayName != "" {
		return r.DisplayName
	}
	return r.Name
}

type wireNotebook struct {
	ID           string    `json:"id"`
	DisplayName  string    `json:"displayName"`
	LastModified wireTime  `json:"lastModifiedDateTime"`
	Links        wireLinks `json:"links"`
}

type wireGroup struct {
	ID                 string   `json:"id"`
	DisplayName        string   `json:"displayName"`
	ParentNotebook     *wireRef `json:"parentNotebook"`
	ParentSectionGroup *wireRef `json:"parentSectionGroup"`
}

type wireSection struct {
	ID                 string    `json:"id"`
	DisplayName        string    `json:"displayName"`
	LastModified       wireTime  `json:"lastModifiedDateTime"`
	Links              wireLinks `json:"links"`
	ParentNotebook     *wireRef  `json:"parentNotebook"`
	ParentSectionGroup *wireRef  `json:"parentSectionGroup"`
}

func (w *wireSection) section() Section {
	s := Section{
		ID:           w.ID,
		Name:         w.DisplayName,
		LastModified: w.LastModified.Time,
		WebURL:       w.Links.OneNoteWebURL.Href,
	}
	if w.ParentNotebook != nil {
		s.NotebookID, s.NotebookName = w.ParentNotebook.ID, w.ParentNotebook.name()
	}
	if w.ParentSectionGroup != nil {
		s.GroupID, s.GroupName = w.ParentSectionGroup.ID, w.ParentSectionGroup.name()
	}
	return s
}

type wirePage struct {
	ID            string    `json:"id"`
	Title         string    `json:"title"`
	Created       wireTime  `json:"createdDateTime"`
	LastModified  wireTime  `json:"lastModifiedDateTime"`
	Level         *int      `json:"level"`
	Order         *int      `json:"order"`
	Links         wireLinks `json:"links"`
	ParentSection *wireRef  `json:"parentSection"`
}

// page converts; sectionID fills in the section when Graph did not expand it.
func (w *wirePage) page(sectionID string) Page {
	p := Page{
		ID:           w.ID,
		Title:        w.Title,
		Created:      w.Created.Time,
		LastModified: w.LastModified.Time,
		Order:        -1,
		WebURL:       w.Links.OneNoteWebURL.Href,
		ClientURL:    w.Links.OneNoteClientURL.Href,
		SectionID:    sectionID,
	}
	if w.Level != nil {
		p.Level = *w.Level
	}
	if w.Order != nil {
		p.Order = *w.Order
	}
	if w.ParentSection != nil {
		if w.ParentSection.ID != "" {
			p.SectionID = w.ParentSection.ID
		}
		p.SectionName = w.ParentSection.name()
	}
	return p
}

// sortPages converts a section's pages into OneNote's order: Order ascending, stable; pages
// without an order follow in Graph's order. A page listed twice (the list moved while it
// was paged) is kept once.
func sortPages(wps []wirePage, sectionID string) []Page {
	seen := make(map[string]bool, len(wps))
	pages := make([]Page, 0, len(wps))
	for i := range wps {
		if seen[wps[i].ID] {
			continue
		}
		seen[wps[i].ID] = true
		pages = append(pages, wps[i].page(sectionID))
	}
	slices.SortStableFunc(pages, func(a, b Page) int {
		switch {
		case a.Order < 0 && b.Order < 0:
			return 0
		case a.Order < 0:
			return 1
		case b.Order < 0:
			return -1
		}
		return a.Order - b.Order
	})
	return pages
}

// wireTime reads Graph's date-times; null, empty or unreadable ones become the zero time
// rather than failing a whole list over one odd item.
type wireTime struct{ time.Time }

func (t *wireTime) UnmarshalJSON(b []byte) error {
	var s *string
	if json.Unmarshal(b, &s) != nil || s == nil {
		return nil
	}
	if v, err := time.Parse(time.RFC3339Nano, *s); err == nil {
		t.Time = v
	}
	return nil
}
