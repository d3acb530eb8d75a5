package onenote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"1-abc0123456789!12-def!1097", true},
		{"0-5f2b7c1e9a8d4e3f!1-0a1b2c3d4e5f6789", true},
		{"1-ABCdef_09.x!-", true},
		{strings.Repeat("a", 512), true},
		{"a.b", true},
		{"...", true}, // harmless: not a path segment Go or Graph treat specially
		{"", false},
		{".", false},
		{"..", false},
		{"../x", false},
		{"a/b", false},
		{`a\b`, false},
		{"a?b", false},
		{"a#b", false},
		{"a%2fb", false},
		{"a b", false},
		{" a", false},
		{"a\tb", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"é", false},
		{"1-abc!ünï", false},
		{"a;b", false},
		{"a&b", false},
		{"a=b", false},
		{"a+b", false},
		{"{abc}", false},
		{strings.Repeat("a", 513), false},
	}
	for _, tt := range tests {
		if got := ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestInvalidIDMakesNoRequest(t *testing.T) {
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, map[string]any{"value": []any{}}) })
	var tokenCalls atomic.Int32
	u := s.client(Options{}).For("k", func(context.Context) (string, error) { tokenCalls.Add(1); return "tok", nil })
	ctx := context.Background()
	calls := map[string]func(id string) error{
		"Notebook":     func(id string) error { _, err := u.Notebook(ctx, id); return err },
		"Section":      func(id string) error { _, err := u.Section(ctx, id); return err },
		"SectionPages": func(id string) error { _, err := u.SectionPages(ctx, id); return err },
		"Page":         func(id string) error { _, err := u.Page(ctx, id); return err },
		"PageContent":  func(id string) error { _, err := u.PageContent(ctx, id); return err },
		"Resource":     func(id string) error { _, err := u.Resource(ctx, id); return err },
	}
	for name, call := range calls {
		for _, id := range []string{"../x", "a/b", "a?b", "", "..", "a%2fb"} {
			if err := call(id); !errors.Is(err, ErrInvalidID) {
				t.Errorf("%s(%q) = %v, want ErrInvalidID", name, id, err)
			}
		}
	}
	if got := s.requests(); len(got) != 0 {
		t.Errorf("requests = %q, want none", got)
	}
	if got := tokenCalls.Load(); got != 0 {
		t.Errorf("token source called %d times, want 0", got)
	}
}

// treeStandIn serves a user's three lists in an order unlike the wanted one.
func treeStandIn(t *testing.T) *standIn {
	t.Helper()
	nbB := map[string]any{"id": "1-nb!b", "displayName": "beta"}
	nbA := map[string]any{"id": "1-nb!a", "displayName": "Alpha"}
	grp := func(id, name string) map[string]any { return map[string]any{"id": id, "displayName": name} }
	notebooks := []map[string]any{
		{"id": "1-nb!b", "displayName": "beta", "lastModifiedDateTime": "2025-03-04T05:06:07.123Z",
			"links": map[string]any{"oneNoteWebUrl": map[string]any{"href": "https://web/b"}}},
		{"id": "1-nb!a", "displayName": "Alpha", "lastModifiedDateTime": nil},
	}
	groups := []map[string]any{
		{"id": "g3", "displayName": "Q1", "parentNotebook": nbB, "parentSectionGroup": grp("g2", "2024")},
		{"id": "g2", "displayName": "2024", "parentNotebook": nbB, "parentSectionGroup": grp("g1", "Projects")},
		{"id": "g1", "displayName": "Projects", "parentNotebook": nbB, "parentSectionGroup": nil},
		{"id": "g4", "displayName": "archive", "parentNotebook": nbB, "parentSectionGroup": nil},
		{"id": "g5", "displayName": "Bulk", "parentNotebook": nbA, "parentSectionGroup": nil},
	}
	sec := func(id, name string, nb map[string]any, g any) map[string]any {
		return map[string]any{"id": id, "displayName": name, "parentNotebook": nb, "parentSectionGroup": g,
			"lastModifiedDateTime": "2025-01-02T03:04:05Z", "links": map[string]any{"oneNoteWebUrl": map[string]any{"href": "https://web/" + id}}}
	}
	sections := []map[string]any{
		sec("s1", "zeta", nbB, nil),
		sec("s3", "b", nbB, grp("g3", "Q1")),
		sec("s5", "notes", nbB, grp("g1", "Projects")),
		sec("s4", "A", nbB, grp("g3", "Q1")),
		sec("s2", "Apple", nbB, nil),
		sec("s6", "lost", nbA, grp("ghost", "Gone")), // parent group not listed: top level
	}
	for i := 104; i >= 0; i-- { // more than one page of sections
		sections = append(sections, sec(fmt.Sprintf("b%03d", i), fmt.Sprintf("S%03d", i), nbA, grp("g5", "Bulk")))
	}
	return newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			graphErr(w, http.StatusUnauthorized, "40001", "no token", "")
			return
		}
		switch r.URL.Path {
		case "/v1.0/me/onenote/notebooks":
			serveList(w, r, notebooks)
		case "/v1.0/me/onenote/sectionGroups":
			serveList(w, r, groups)
		case "/v1.0/me/onenote/sections":
			serveList(w, r, sections)
		default:
			http.NotFound(w, r)
		}
	})
}

func TestNotebooksTree(t *testing.T) {
	s := treeStandIn(t)
	nbs, err := s.user(Options{}).Notebooks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	names := func(n int, name func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = name(i)
		}
		return out
	}
	if got, want := names(len(nbs), func(i int) string { return nbs[i].Name }), []string{"Alpha", "beta"}; !slices.Equal(got, want) {
		t.Fatalf("notebooks = %q, want %q", got, want)
	}
	a, b := nbs[0], nbs[1]
	if b.WebURL != "https://web/b" || b.LastModified != time.Date(2025, 3, 4, 5, 6, 7, 123e6, time.UTC) || !a.LastModified.IsZero() {
		t.Errorf("notebook fields: %+v / %+v", b, a)
	}
	if got := names(len(b.Sections), func(i int) string { return b.Sections[i].Name }); !slices.Equal(got, []string{"Apple", "zeta"}) {
		t.Errorf("beta sections = %q", got)
	}
	if got := names(len(b.SectionGroups), func(i int) string { return b.SectionGroups[i].Name }); !slices.Equal(got, []string{"archive", "Projects"}) {
		t.Fatalf("beta groups = %q", got)
	}
	proj := b.SectionGroups[1]
	if len(proj.Sections) != 1 || proj.Sections[0].Name != "notes" || len(proj.SectionGroups) != 1 || proj.SectionGroups[0].Name != "2024" {
		t.Fatalf("Projects = %+v", proj)
	}
	y := proj.SectionGroups[0]
	if len(y.SectionGroups) != 1 || y.SectionGroups[0].ID != "g3" {
		t.Fatalf("2024 = %+v", y)
	}
	q1 := y.SectionGroups[0]
	if got := names(len(q1.Sections), func(i int) string { return q1.Sections[i].Name }); !slices.Equal(got, []string{"A", "b"}) {
		t.Errorf("Q1 sections = %q", got)
	}
	wantA := Section{ID: "s4", Name: "A", LastModified: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), WebURL: "https://web/s4",
		NotebookID: "1-nb!b", NotebookName: "beta", GroupID: "g3", GroupName: "Q1"}
	if q1.Sections[0] != wantA {
		t.Errorf("section A = %+v, want %+v", q1.Sections[0], wantA)
	}
	// Alpha: the section whose group is missing sits at the top; Bulk holds 105 sections in order.
	if len(a.Sections) != 1 || a.Sections[0].ID != "s6" || a.Sections[0].GroupID != "" {
		t.Errorf("Alpha sections = %+v", a.Sections)
	}
	if len(a.SectionGroups) != 1 || len(a.SectionGroups[0].Sections) != 105 {
		t.Fatalf("Alpha has %d groups, want 1 with 105 sections", len(a.SectionGroups))
	}
	for i, sec := range a.SectionGroups[0].Sections {
		if want := fmt.Sprintf("S%03d", i); sec.Name != want {
			t.Fatalf("Bulk[%d] = %q, want %q", i, sec.Name, want)
		}
	}
	got := s.requests()
	slices.Sort(got)
	want := []string{
		"/v1.0/me/onenote/notebooks?$top=100&$skip=0",
		"/v1.0/me/onenote/sectionGroups?$expand=parentNotebook,parentSectionGroup&$top=100&$skip=0",
		"/v1.0/me/onenote/sections?$expand=parentNotebook,parentSectionGroup&$top=100&$skip=0",
		"/v1.0/me/onenote/sections?$expand=parentNotebook,parentSectionGroup&$top=100&$skip=100",
	}
	if !slices.Equal(got, want) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNotebook(t *testing.T) {
	s := treeStandIn(t)
	u := s.user(Options{})
	nb, err := u.Notebook(context.Background(), "1-nb!b")
	if err != nil || nb.Name != "beta" || len(nb.SectionGroups) != 2 {
		t.Fatalf("Notebook = %+v, %v", nb, err)
	}
	if _, err := u.Notebook(context.Background(), "1-nb!zz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent notebook: %v, want ErrNotFound", err)
	}
}

func TestSection(t *testing.T) {
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"id": "1-s!7", "displayName": "Work",
			"parentNotebook":     map[string]any{"id": "1-nb!1", "displayName": "NB"},
			"parentSectionGroup": map[string]any{"id": "1-g!1", "displayName": "G"}})
	})
	sec, err := s.user(Options{}).Section(context.Background(), "1-s!7")
	if err != nil {
		t.Fatal(err)
	}
	want := Section{ID: "1-s!7", Name: "Work", NotebookID: "1-nb!1", NotebookName: "NB", GroupID: "1-g!1", GroupName: "G"}
	if sec != want {
		t.Errorf("Section = %+v, want %+v", sec, want)
	}
	if got := s.requests(); !slices.Equal(got, []string{"/v1.0/me/onenote/sections/1-s%217?$expand=parentNotebook,parentSectionGroup"}) {
		t.Errorf("requests = %q", got)
	}
}

func TestSectionPagesPaging(t *testing.T) {
	const n = 1000
	pages := make([]map[string]any, n)
	for i := range pages {
		// Graph's order is not OneNote's: order is a permutation of 0..999.
		pages[i] = map[string]any{"id": fmt.Sprintf("1-p!%d", i), "title": fmt.Sprint(i), "level": i % 3, "order": i * 7 % n,
			"createdDateTime": "2024-05-06T07:08:09Z"}
	}
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/me/onenote/sections/1-sec!x/pages" || r.URL.Query().Get("pagelevel") != "true" {
			http.NotFound(w, r)
			return
		}
		serveList(w, r, pages)
	})
	got, err := s.user(Options{}).SectionPages(context.Background(), "1-sec!x")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("got %d pages, want %d", len(got), n)
	}
	for k, p := range got {
		i := k * 143 % n // 7*143 = 1001: the page whose order is k
		if p.Order != k || p.ID != fmt.Sprintf("1-p!%d", i) || p.Level != i%3 || p.SectionID != "1-sec!x" {
			t.Fatalf("page %d = %+v", k, p)
		}
	}
	// Ten full pages, then one empty page that tells the list ended.
	var want []string
	for skip := 0; skip <= n; skip += 100 {
		want = append(want, "/v1.0/me/onenote/sections/1-sec%21x/pages?pagelevel=true&$top=100&$skip="+strconv.Itoa(skip))
	}
	if reqs := s.requests(); !slices.Equal(reqs, want) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(reqs, "\n"), strings.Join(want, "\n"))
	}
}

func TestSectionPagesOrder(t *testing.T) {
	items := []map[string]any{
		{"id": "p-none1"},
		{"id": "p2", "order": 2, "level": 1},
		{"id": "p0", "order": 0},
		{"id": "p-none2"},
		{"id": "p1b", "order": 1},
		{"id": "p1a", "order": 1}, // equal orders keep Graph's order
		{"id": "p0", "order": 0},  // listed twice: kept once
	}
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) { serveList(w, r, items) })
	pages, err := s.user(Options{}).SectionPages(context.Background(), "1-s!1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pages {
		got = append(got, p.ID)
	}
	if want := []string{"p0", "p1b", "p1a", "p2", "p-none1", "p-none2"}; !slices.Equal(got, want) {
		t.Errorf("order = %q, want %q", got, want)
	}
	if pages[4].Order != -1 || pages[3].Level != 1 {
		t.Errorf("pages = %+v", pages)
	}
}

func TestPage(t *testing.T) {
	for _, key := range []string{"name", "displayName"} {
		t.Run(key, func(t *testing.T) {
			s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, map[string]any{"id": "1-p!9", "title": "Plan", "level": 2, "order": 5,
					"createdDateTime": "2024-01-01T00:00:00Z", "lastModifiedDateTime": "2024-02-01T00:00:00.5Z",
					"links": map[string]any{
						"oneNoteWebUrl":    map[string]any{"href": "https://web/p"},
						"oneNoteClientUrl": map[string]any{"href": "onenote:https://client/p"}},
					"parentSection": map[string]any{"id": "1-s!1", key: "Work"}})
			})
			p, err := s.user(Options{}).Page(context.Background(), "1-p!9")
			if err != nil {
				t.Fatal(err)
			}
			want := Page{ID: "1-p!9", Title: "Plan", Level: 2, Order: 5,
				Created: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), LastModified: time.Date(2024, 2, 1, 0, 0, 0, 5e8, time.UTC),
				WebURL: "https://web/p", ClientURL: "onenote:https://client/p", SectionID: "1-s!1", SectionName: "Work"}
			if p != want {
				t.Errorf("Page = %+v\nwant   %+v", p, want)
			}
			if got := s.requests(); !slices.Equal(got, []string{"/v1.0/me/onenote/pages/1-p%219?pagelevel=true&$expand=parentSection"}) {
				t.Errorf("requests = %q", got)
			}
		})
	}
}

func TestPageContent(t *testing.T) {
	html := []byte(`<html><head><title>x</title></head><body data-absolute-enabled="true"><p>hi</p></body></html>`)
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/v1.0/me/onenote/pages/1-big/content" {
			// Chunked, so the bound must hold without a Content-Length.
			for range 10 {
				_, _ = w.Write(bytes.Repeat([]byte("x"), 100))
				w.(http.Flusher).Flush()
			}
			return
		}
		_, _ = w.Write(html)
	})
	c := s.client(Options{})
	c.maxPage = 500
	u := c.For("k", staticToken("tok"))
	got, err := u.PageContent(context.Background(), "1-p!1")
	if err != nil || !bytes.Equal(got, html) {
		t.Fatalf("PageContent = %q, %v", got, err)
	}
	if _, err := u.PageContent(context.Background(), "1-big"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the bound: %v, want ErrTooLarge", err)
	}
	if got := s.requests(); !slices.Equal(got, []string{"/v1.0/me/onenote/pages/1-p%211/content", "/v1.0/me/onenote/pages/1-big/content"}) {
		t.Errorf("requests = %q (too large must not be retried)", got)
	}
}

func TestResourceStreams(t *testing.T) {
	big := make([]byte, 5<<20)
	_, _ = rand.NewChaCha8([32]byte{7}).Read(big)
	const head = 1 << 20
	more := make(chan struct{})
	defer close(more)
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RequestURI() != "/v1.0/me/onenote/resources/1-r%21x/$value" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		_, _ = w.Write(big[:head])
		w.(http.Flusher).Flush()
		select { // the rest only once the client has the first part in hand
		case <-more:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write(big[head:])
	})
	u := s.user(Options{Timeout: 100 * time.Millisecond})
	type result struct {
		res *Resource
		err error
	}
	ch := make(chan result, 1)
	go func() {
		res, err := u.Resource(context.Background(), "1-r!x")
		ch <- result{res, err}
	}()
	var res *Resource
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		res = r.res
	case <-time.After(3 * time.Second):
		t.Fatal("Resource did not return before the whole body was sent: it buffers")
	}
	defer res.Body.Close()
	if res.ContentType != "application/octet-stream" || res.ContentLength != int64(len(big)) {
		t.Errorf("ContentType %q, ContentLength %d", res.ContentType, res.ContentLength)
	}
	first := make([]byte, head)
	if _, err := io.ReadFull(res.Body, first); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // longer than Timeout: a stream outlives the per-attempt time-out
	more <- struct{}{}
	rest, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading the rest: %v", err)
	}
	if got := append(first, rest...); !bytes.Equal(got, big) {
		t.Errorf("body differs: %d bytes, want %d", len(got), len(big))
	}
}
