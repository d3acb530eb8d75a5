package export

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/graphauth/graphauth/internal/notemd"
	"github.com/graphauth/graphauth/internal/onenote"
)

// Source is the OneNote API of the user whose notes are exported (*onenote.User).
type Source interface {
	Notebook(ctx context.Context, id string) (onenote.Notebook, error)
	Section(ctx context.Context, id string) (onenote.Section, error)
	SectionPages(ctx context.Context, sectionID string) ([]onenote.Page, error)
	PageContent(ctx context.Context, id string) ([]byte, error)
	Resource(ctx context.Context, id string) (*onenote.Resource, error)
}

// The zip's layout, planned before any page is fetched:
//
//	export-report.md                 what was exported, and what was not and why
//	index.md                         the folder's pages and sub-folders
//	<Section group>/<Section>/       one folder per section group and section, nested as in OneNote
//	    index.md
//	    <Page>.md                    one file per page, named after its title
//	    <Page>/                      a page's sub-pages (level 1, and level 2 inside those)
//	        <Sub-page>.md
//	        assets/...
//	    assets/<image>.png           the images and attachments of the folder's pages
//
// Every name comes from notemd.FileName and is made unique in its folder with notemd.Names
// (case-insensitively), so nothing is ever written over. "index.md" and "assets" (and at the
// top "export-report.md") are taken before any page is named. A section export has the
// section's pages at the top of the zip.

// folder is one directory of the zip.
type folder struct {
	path    string // "" for the top, else "Group/Section" (no trailing slash)
	title   string // the section group's, section's or parent page's name
	names   notemd.Names
	assets  notemd.Names
	entries []entry // in OneNote's order, for index.md
}

type entry struct {
	name   string // "Page.md" or "Sub folder"
	title  string
	folder bool
	page   int // index into plan.pages for a page, -1 for a folder
}

// plannedPage is one page with where it goes.
type plannedPage struct {
	meta    onenote.Page
	section string  // its section's name, for the report
	dir     *folder // the folder its .md is in
	file    string  // "Page.md"
	sub     *folder // its sub-pages' folder, made when the first one comes
}

func (p *plannedPage) path() string { return join(p.dir.path, p.file) }

type plan struct {
	name     string // the notebook's or section's name
	root     *folder
	folders  []*folder // every folder, parents before children
	pages    []*plannedPage
	byPageID map[string]int    // page GUID (from oneNoteClientUrl, lower case) -> index in pages
	bySecID  map[string]string // section GUID -> the section folder's index.md
	problems []Problem         // sections whose pages could not be listed
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func newFolder(p *plan, parent *folder, title string) *folder {
	f := &folder{title: title}
	f.names.Unique("index.md")
	f.names.Unique("assets")
	if parent != nil {
		name := parent.names.Unique(notemd.FileName(title))
		f.path = join(parent.path, name)
		parent.entries = append(parent.entries, entry{name: name, title: title, folder: true, page: -1})
	} else {
		f.names.Unique(reportName)
	}
	p.folders = append(p.folders, f)
	return f
}

const reportName = "export-report.md"

// sectionAt is a section and the folder its pages go in.
type sectionAt struct {
	s onenote.Section
	f *folder
}

// makePlan lists the scope's sections and their pages and names every file. A section whose
// pages cannot be listed is named in the report; the rest is exported.
func makePlan(ctx context.Context, src Source, scope Scope, concurrency int, progress func(listed int)) (*plan, error) {
	p := &plan{byPageID: map[string]int{}, bySecID: map[string]string{}}
	var secs []sectionAt
	switch scope.Kind {
	case "notebook":
		nb, err := src.Notebook(ctx, scope.ID)
		if err != nil {
			return nil, err
		}
		p.name = nb.Name
		p.root = newFolder(p, nil, nb.Name)
		var walk func(parent *folder, ss []onenote.Section, gs []onenote.SectionGroup)
		walk = func(parent *folder, ss []onenote.Section, gs []onenote.SectionGroup) {
			// OneNote shows a folder's sections first, then its section groups.
			for _, s := range ss {
				secs = append(secs, sectionAt{s, newFolder(p, parent, s.Name)})
			}
			for _, g := range gs {
				walk(newFolder(p, parent, g.Name), g.Sections, g.SectionGroups)
			}
		}
		walk(p.root, nb.Sections, nb.SectionGroups)
	case "section":
		s, err := src.Section(ctx, scope.ID)
		if err != nil {
			return nil, err
		}
		p.name = s.Name
		p.root = newFolder(p, nil, s.Name)
		secs = append(secs, sectionAt{s, p.root})
	default:
		return nil, fmt.Errorf("export: unknown scope %q", scope.Kind)
	}

	// List every section's pages, several sections at once (the pacer keeps to the budget).
	lists := make([][]onenote.Page, len(secs))
	errs := make([]error, len(secs))
	sem := make(chan struct{}, max(concurrency, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	listed := 0
	for i, s := range secs {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			lists[i], errs[i] = src.SectionPages(ctx, s.s.ID)
			mu.Lock()
			listed += len(lists[i])
			n := listed
			mu.Unlock()
			progress(n)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, s := range secs {
		if errs[i] != nil {
			pr := problemOf(errs[i])
			pr.Section, pr.Page, pr.Reason = s.s.Name, "(every page of the section)", "its pages could not be listed: "+pr.Reason
			p.problems = append(p.problems, pr)
			continue
		}
		p.addPages(s.s, s.f, lists[i])
	}
	return p, nil
}

// addPages names a section's pages. A page of level n > 0 goes into the folder of the nearest
// page before it of level n-1 (a page whose parent is missing moves up a level).
func (p *plan) addPages(s onenote.Section, f *folder, pages []onenote.Page) {
	var parents []*plannedPage // parents[n] is the last page of level n
	for _, pg := range pages {
		level := min(max(pg.Level, 0), len(parents))
		dir := f
		if level > 0 {
			parent := parents[level-1]
			if parent.sub == nil {
				parent.sub = newFolder(p, parent.dir, strings.TrimSuffix(parent.file, ".md"))
				parent.sub.title = parent.meta.Title
			}
			dir = parent.sub
		}
		title := pg.Title
		if strings.TrimSpace(title) == "" {
			title = "Untitled"
		}
		pp := &plannedPage{meta: pg, section: s.Name, dir: dir, file: dir.names.Unique(notemd.FileName(title) + ".md")}
		idx := len(p.pages)
		p.pages = append(p.pages, pp)
		dir.entries = append(dir.entries, entry{name: pp.file, title: title, page: idx})
		if g := guid(pg.ClientURL, pageIDRe); g != "" {
			p.byPageID[g] = idx
		}
		if g := guid(pg.ClientURL, sectionIDRe); g != "" {
			if _, ok := p.bySecID[g]; !ok {
				p.bySecID[g] = join(f.path, "index.md")
			}
		}
		parents = append(parents[:level], pp)
	}
}

// OneNote's links to its own pages: onenote:https://...#Title&section-id={GUID}&page-id={GUID}&end
var (
	// In OneNote the ids in braces are GUIDs; the emulator puts Graph ids there. Either is only
	// looked up, never used in a path.
	pageIDRe    = regexp.MustCompile(`(?i)page-id=(?:\{|%7B)([^{}%&#\s]{1,200})(?:\}|%7D)`)
	sectionIDRe = regexp.MustCompile(`(?i)section-id=(?:\{|%7B)([^{}%&#\s]{1,200})(?:\}|%7D)`)
	hrefRe      = regexp.MustCompile(`(?i)(\bhref\s*=\s*)("[^"]*"|'[^']*')`)
)

func guid(s string, re *regexp.Regexp) string {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// rewriteLinks replaces, in a page's output HTML, every link to a page (or section) of this
// export with a relative link to its file in the zip. Links elsewhere are left as they are.
//
// notemd keeps only absolute web links, so the HTML gets a placeholder in the reserved .invalid
// domain, and fixLinks puts the relative link in its place in the Markdown.
func (p *plan) rewriteLinks(content []byte, from *folder) ([]byte, []string) {
	if !hrefRe.Match(content) {
		return content, nil
	}
	var rel []string
	out := hrefRe.ReplaceAllFunc(content, func(m []byte) []byte {
		sub := hrefRe.FindSubmatch(m)
		raw := htmlUnescape(string(sub[2][1 : len(sub[2])-1]))
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(raw)), "onenote:") {
			return m
		}
		target := ""
		if i, ok := p.byPageID[guid(raw, pageIDRe)]; ok {
			target = p.pages[i].path()
		} else if t, ok := p.bySecID[guid(raw, sectionIDRe)]; ok && guid(raw, pageIDRe) == "" {
			target = t
		}
		if target == "" {
			return m
		}
		rel = append(rel, relURL(from.path, target))
		return append(append([]byte{}, sub[1]...), `"`+placeholder(len(rel)-1)+`"`...)
	})
	return out, rel
}

func placeholder(n int) string { return linkPlaceholder + strconv.Itoa(n) + "/" }

const linkPlaceholder = "https://graphauth-export.invalid/link/"

// fixLinks puts the relative links in place of rewriteLinks' placeholders.
func fixLinks(md string, rel []string) string {
	for i := len(rel) - 1; i >= 0; i-- { // from the last, so "link/1/" is never part of "link/11/"
		md = strings.ReplaceAll(md, "("+placeholder(i)+")", "("+rel[i]+")")
		md = strings.ReplaceAll(md, "(<"+placeholder(i)+">)", "("+rel[i]+")")
	}
	return md
}

// relURL is the relative URL from a file in dir to target (both slash paths in the zip), each
// segment escaped.
func relURL(dir, target string) string {
	var from []string
	if dir != "" {
		from = strings.Split(dir, "/")
	}
	to := strings.Split(target, "/")
	i := 0
	for i < len(from) && i < len(to)-1 && from[i] == to[i] {
		i++
	}
	var parts []string
	for range from[i:] {
		parts = append(parts, "..")
	}
	for _, s := range to[i:] {
		parts = append(parts, url.PathEscape(s))
	}
	return path.Join(parts...)
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&quot;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}
