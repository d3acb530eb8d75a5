package notemd

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// rewriteSeparately is rewriteForMarkdown with every pass in a walk of its own, as it was
// written first: the reference for the walks it now shares.
func rewriteSeparately(p *page, link func(Resource) string) {
	body := p.body
	for n := range elements(body) {
		if n.Parent == nil || n.Namespace != "" {
			continue
		}
		switch n.DataAtom {
		case atom.Img:
			mdImage(n, link)
		case atom.Object:
			mdAttachment(n, link)
		case atom.Iframe:
			replace(n, videoLink(n))
		}
	}
	normalize(body)
	stripMarkers(body)
	mdLinks(elements(body))
	addTitle(p)
	flattenTablesSnapshot(slices.Collect(elements(body)))
	taskLists(elements(body))
	for n := range elements(body) {
		mergeList(n)
	}
	for n := range elements(body) {
		tagLabelMD(n)
	}
	for n := range elements(body) {
		mdCodeElement(n, styleOf(n))
	}
	for n := range elements(body) {
		mdFormattingElement(n, styleOf(n))
	}
	for n := range elements(body) {
		blockImage(n)
	}
}

// flattenTablesSnapshot is flattenTables over a snapshot of the body's elements, empty tables
// dropped as the loop meets them: the reference for flattenTables' single walk. It makes
// table cells fit GFM, where a cell is one line: nested tables become
// lines of "a | b", lists become "• item" lines, headings bold lines, rules disappear.
// Innermost first, so an inner table or list is already lines when its container is seen.
//
// all is the body's elements. It returns those with a data-tag attribute, in document order
// outside table cells (which is where taskLists looks): flattening moves elements only inside
// cells.
func flattenTablesSnapshot(all []*html.Node) (tagged []*html.Node) {
	cells := false   // only what is inside a cell is flattened
	kinds := all[:0] // the elements of a kind flattened in a cell, kept in all as the loop passes them
	for _, n := range all {
		if flattened(n) {
			kinds = append(kinds, n)
		}
		if n.DataAtom == atom.Table && blankText(n) &&
			!hasDescendant(n, tagImage) && !hasDescendant(n, tagFile) {
			replace(n, nil) // an empty table would be an empty header row
		}
		cells = cells || n.Data == "td" || n.Data == "th" // as inside() tests them
		if hasAttr(n, "data-tag") {
			tagged = append(tagged, n)
		}
	}
	if !cells {
		return tagged
	}
	for i := len(kinds) - 1; i >= 0; i-- {
		n := kinds[i]
		if n.Parent == nil || n.Namespace != "" || !inside(n, "td", "th") {
			continue
		}
		switch {
		case n.DataAtom == atom.Table:
			flattenTable(n)
		case n.DataAtom == atom.Ul || n.DataAtom == atom.Ol:
			flattenList(n)
		case isHeading(n):
			n.Data, n.DataAtom = "p", atom.P
			wrapChildren(n, element("strong"))
		case n.DataAtom == atom.Hr:
			replace(n, nil)
		case n.DataAtom == atom.Blockquote, n.DataAtom == atom.Pre:
			unwrap(n)
		}
	}
	return tagged
}

// checkSharedWalks compares rewriteForMarkdown with rewriteSeparately on one page: the same
// tree, and link asked the same things in the same order.
func checkSharedWalks(t *testing.T, name string, src []byte) {
	t.Helper()
	for mode := range 3 {
		checkSharedWalksLink(t, name, src, mode)
	}
}

// checkSharedWalksLink is checkSharedWalks with link giving a file for every resource (mode
// 0), for none (1: images become their alt text) or for some (2).
func checkSharedWalksLink(t *testing.T, name string, src []byte, mode int) {
	t.Helper()
	run := func(rewrite func(*page, func(Resource) string)) (string, []Resource) {
		p, err := parsePage(src)
		if err != nil {
			return "error: " + err.Error(), nil
		}
		var asked []Resource
		rewrite(p, func(r Resource) string {
			asked = append(asked, r)
			if mode == 1 || mode == 2 && len(asked)%3 == 2 {
				return ""
			}
			return "assets/" + r.ID
		})
		var b bytes.Buffer
		if err := html.Render(&b, pageDoc(p)); err != nil {
			return "error: " + err.Error(), asked
		}
		return b.String(), asked
	}
	got, gotAsked := run(rewriteForMarkdown)
	want, wantAsked := run(rewriteSeparately)
	if got != want {
		t.Errorf("%s (link mode %d): shared walks give\n%s\nseparate passes give\n%s", name, mode, got, want)
	}
	if !slices.Equal(gotAsked, wantAsked) {
		t.Errorf("%s (link mode %d): link asked %v, separate passes asked %v", name, mode, gotAsked, wantAsked)
	}
}

// TestSharedWalks: the passes that share a walk leave the tree as their separate passes did,
// on every page the tests know and on cases made for the orders that matter.
func TestSharedWalks(t *testing.T) {
	const res = `https://graph.microsoft.com/v1.0/me/onenote/resources/`
	pages := map[string][]byte{
		"math alt":    []byte(`<math><mi>x<img alt="pic" src="` + res + `0-m/$value"></mi><annotation-xml encoding="text/html"><img alt="a" src="` + res + `0-n/$value"></annotation-xml></math>`),
		"math in obj": []byte(`<object data="` + res + `0-o/$value" data-attachment="a.pdf"><math><mi><img alt="q" src="` + res + `0-p/$value"></mi></math></object>`),
		"form":        []byte(`<form><img alt="f" src="` + res + `0-f/$value"><math><mi>y</mi></math></form><img src="` + res + `0-g/$value">`),
		"lists":       []byte(`<div data-tag="important"><ul><li>a</li></ul><ul><li>b</li></ul></div><p data-tag="to-do">t</p><ul><li data-tag="to-do">u</li></ul>`),
		"code":        []byte(`<div style="font-weight:bold"><p style="font-family:Consolas">x</p><p></p><p style="font-family:Consolas">y</p><span style="font-family:Consolas;text-decoration:line-through">z</span></div>`),
		"links":       []byte(`<title>T</title><iframe data-original-src="https://v.example/x"></iframe><form><iframe data-original-src="https://v.example/f"></iframe><a href="https://f.example/">f</a></form><a href="javascript:x"><a href="https://e.example/"></a></a><math><mi><iframe data-original-src="https://v.example/m"></iframe><a href="mailto:a@b">m</a></mi></math><table><tr><td><a href="https://t.example/"></a></td></tr></table><h1><a href="https://t.example/"></a></h1>`),
		"tags":        []byte(`<table><tr><td><h2 data-tag="to-do">h</h2><p data-tag="to-do">c</p></td></tr></table><table><tr><td> </td></tr><caption><p data-tag="to-do"> </p></caption></table><h1><p data-tag="to-do">x</p><p data-tag="to-do:completed">y</p></h1><p data-tag="to-do">z</p>`),
		"markers":     []byte("<p>a\ab\uF002c &#7;d&#xF002;e<img alt=\"x\a&#7;\" src=\"https://graph.microsoft.com/v1.0/me/onenote/resources/0-a/$value\"></p><math><mi>\a x</mi></math>"),
		"markers2":    []byte("<p>&#x7;&#61442;&#0007<a href=\"mailto:&#xf002;@x\"></a></p>"),
		"images":      []byte(`<div style="font-style:italic"><img src="` + res + `0-i/$value"></div><div><notemd-image dest="x" style="font-weight:bold">k</notemd-image></div>`),
	}
	maps.Copy(pages, knownPages(t))
	pages["bench"] = benchPage(20 << 10)
	for name, src := range pages {
		checkSharedWalks(t, name, src)
	}
}

// FuzzSharedWalks: the same, on any page.
func FuzzSharedWalks(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte(`<math><mi>x<img alt="pic" src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-m/$value"></mi></math>`))
	f.Add([]byte(`<div style="font-weight:bold"><p style="font-family:Consolas">x</p><p></p><p style="font-family:Consolas">y</p><span style="font-family:Consolas;text-decoration:line-through">z</span></div>`))
	f.Add([]byte(`<div data-tag="important"><ul><li>a</li></ul><ul><li>b</li></ul></div><p data-tag="to-do">t</p><ul><li data-tag="to-do">u</li></ul>`))
	f.Fuzz(func(t *testing.T, page []byte) {
		checkSharedWalks(t, "fuzz", page)
	})
}
