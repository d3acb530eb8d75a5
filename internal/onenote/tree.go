package onenote

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
)

// notebookTree fetches the three user-wide lists at once (each paged) and assembles the tree.
func (u *User) notebookTree(ctx context.Context) ([]Notebook, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const expand = "?$expand=parentNotebook,parentSectionGroup&"
	var (
		nbs      []wireNotebook
		groups   []wireGroup
		sections []wireSection
		wg       sync.WaitGroup
		mu       sync.Mutex
		first    error
	)
	run := func(f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				mu.Lock()
				if first == nil {
					first = err
					cancel() // the other lists are of no use now
				}
				mu.Unlock()
			}
		})
	}
	run(func() (err error) {
		nbs, err = list[wireNotebook](ctx, u, u.c.base+"/me/onenote/notebooks?")
		return err
	})
	run(func() (err error) {
		groups, err = list[wireGroup](ctx, u, u.c.base+"/me/onenote/sectionGroups"+expand)
		return err
	})
	run(func() (err error) {
		sections, err = list[wireSection](ctx, u, u.c.base+"/me/onenote/sections"+expand)
		return err
	})
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return assemble(nbs, groups, sections), nil
}

// assemble nests section groups and sections under their notebooks, sorted by name at every
// level. A section or group whose parent group is not in the list sits at its notebook's top
// level; one whose notebook is not listed (created between the calls) gets a notebook built
// from its parentNotebook; one with no notebook at all, or in a cycle of groups, is left out.
func assemble(wnbs []wireNotebook, wgroups []wireGroup, wsections []wireSection) []Notebook {
	nbByID := map[string]*Notebook{}
	var order []string
	addNotebook := func(nb Notebook) {
		if _, ok := nbByID[nb.ID]; !ok {
			nbByID[nb.ID] = &nb
			order = append(order, nb.ID)
		}
	}
	for _, w := range wnbs {
		addNotebook(Notebook{ID: w.ID, Name: w.DisplayName, LastModified: w.LastModified.Time, WebURL: w.Links.OneNoteWebURL.Href})
	}

	groupByID := map[string]wireGroup{}
	for _, g := range wgroups {
		if _, dup := groupByID[g.ID]; !dup && g.ParentNotebook != nil {
			groupByID[g.ID] = g
		}
	}
	// parentKey is "g" + group id, or "n" + notebook id at a notebook's top level.
	parentKey := func(nb, group *wireRef) string {
		if group != nil && group.ID != "" {
			if _, ok := groupByID[group.ID]; ok {
				return "g" + group.ID
			}
		}
		addNotebook(Notebook{ID: nb.ID, Name: nb.name()})
		return "n" + nb.ID
	}
	groupsUnder := map[string][]wireGroup{}
	seen := map[string]bool{}
	for _, g := range wgroups {
		if seen[g.ID] || g.ParentNotebook == nil {
			continue
		}
		seen[g.ID] = true
		k := parentKey(g.ParentNotebook, g.ParentSectionGroup)
		groupsUnder[k] = append(groupsUnder[k], g)
	}
	sectionsUnder := map[string][]Section{}
	clear(seen)
	for _, w := range wsections {
		if seen[w.ID] || w.ParentNotebook == nil {
			continue
		}
		seen[w.ID] = true
		s := w.section()
		k := parentKey(w.ParentNotebook, w.ParentSectionGroup)
		if k[0] == 'n' { // a missing parent group: it now sits at the top level
			s.GroupID, s.GroupName = "", ""
		}
		sectionsUnder[k] = append(sectionsUnder[k], s)
	}

	built := map[string]bool{} // guards against a cycle of parent groups
	var build func(key string) ([]SectionGroup, []Section)
	build = func(key string) ([]SectionGroup, []Section) {
		var sgs []SectionGroup
		for _, g := range groupsUnder[key] {
			if built[g.ID] {
				continue
			}
			built[g.ID] = true
			sg := SectionGroup{ID: g.ID, Name: g.DisplayName}
			sg.SectionGroups, sg.Sections = build("g" + g.ID)
			sgs = append(sgs, sg)
		}
		secs := sectionsUnder[key]
		slices.SortStableFunc(sgs, func(a, b SectionGroup) int { return byName(a.Name, b.Name, a.ID, b.ID) })
		slices.SortStableFunc(secs, func(a, b Section) int { return byName(a.Name, b.Name, a.ID, b.ID) })
		return sgs, secs
	}

	nbs := make([]Notebook, 0, len(order))
	for _, id := range order {
		nb := *nbByID[id]
		nb.SectionGroups, nb.Sections = build("n" + id)
		nbs = append(nbs, nb)
	}
	slices.SortStableFunc(nbs, func(a, b Notebook) int { return byName(a.Name, b.Name, a.ID, b.ID) })
	return nbs
}

// byName orders case-insensitively, then exactly, then by id, so the order is stable.
func byName(a, b, aID, bID string) int {
	return cmp.Or(
		cmp.Compare(strings.ToLower(a), strings.ToLower(b)),
		cmp.Compare(a, b),
		cmp.Compare(aID, bID),
	)
}
