package notemd

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// TestExpandSelfClosing: non-void elements written XML-style are closed, everything else is
// left byte for byte, and the copy-on-first-rewrite path gives what writing every token gives.
func TestExpandSelfClosing(t *testing.T) {
	cases := map[string]string{
		`<p>a</p>`:                          `<p>a</p>`,
		`<IMG SRC="x" /><Br/>`:              `<IMG SRC="x" /><Br/>`,
		`<p>x</p><OBJECT data="d" />tail`:   `<p>x</p><object data="d"></object>tail`,
		`<div/><iframe src="v"/><div/>`:     `<div></div><iframe src="v"></iframe><div/>`, // the tokenizer reads what follows <iframe> as its text
		`<!-- <a/> --><p title="x/>">q</p>`: `<!-- <a/> --><p title="x/>">q</p>`,
		`<script>var a = "<b/>"</script>`:   `<script>var a = "<b/>"</script>`,
		`<p>a < b /> c</p><span/>`:          `<p>a < b /> c</p><span></span>`,
		`<p>unterminated <a href="x/>`:      `<p>unterminated `, // an unfinished tag at the end is no token
	}
	for in, want := range cases {
		if got := string(expandSelfClosing([]byte(in))); got != want {
			t.Errorf("expandSelfClosing(%q) = %q, want %q", in, got, want)
		}
		if got, all := string(expandSelfClosing([]byte(in))), string(expandAll([]byte(in))); got != all {
			t.Errorf("expandSelfClosing(%q) = %q, expandAll gives %q", in, got, all)
		}
	}
	files, _ := filepath.Glob("testdata/*.html")
	seeds, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, f := range append(files, seeds...) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, all := expandSelfClosing(src), expandAll(src); string(got) != string(all) {
			t.Errorf("%s: expandSelfClosing and expandAll differ", f)
		}
	}
}

// TestParsesAsIs: the scan says "nothing to repair" only when the repair indeed changes
// nothing.
func TestParsesAsIs(t *testing.T) {
	cases := map[string]bool{
		`<p>a</p>`:                                  true,
		`<p><img src="x" /></p><meta a="b"/>`:       true,
		`<IMG SRC="x" /><Br/>`:                      true,
		`<p>don't<br/></p>`:                         true,
		`<object data="d" />`:                       false,
		`<object data=x<img/>`:                      false,
		`<object title="a>b"<img/>`:                 false,
		`<object title="a><img/>" data=x/>`:         false,
		`<object title=">" <br/>`:                   false,
		`<!-- <a/> --><p title="x/>">q</p>`:         false,
		`<p>a < b /> c</p>`:                         true,
		`<br/ /><hr/>`:                              true,
		`<p>unterminated <a href="x/>`:              false,
		`<p>unterminated <img href="x/>`:            false,
		`<p>tail <img href=x/><p title="a`:          false,
		`<script>var a = "<b/>"</script><img/>`:     false,
		`<title>a <b/></title><img/>`:               true,
		`<TITLE>a </titlex><b/></TITLE><img/>`:      true,
		`<p>x</p><textarea><object/></textarea>`:    true,
		`<img src=a/><img src='b'/><input value=/>`: true,
		`<p a=/>`:              false,
		`</p/><? x/> ?></ x/>`: true,
	}
	for in, want := range cases {
		got := parsesAsIs([]byte(in))
		if got != want {
			t.Errorf("parsesAsIs(%q) = %v, want %v", in, got, want)
		}
		if exp := expandSelfClosing([]byte(in)); got && string(exp) != in {
			t.Errorf("parsesAsIs(%q) but the repair gives %q", in, exp)
		}
	}
}

// FuzzParsesAsIs: whenever the scan skips the repair, the repair would have changed nothing.
func FuzzParsesAsIs(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte(`<object data=x<img/>`))
	f.Add([]byte(`<title>a <b/></title><img src='b'/><p x=y>`))
	f.Fuzz(func(t *testing.T, src []byte) {
		if parsesAsIs(src) {
			if exp := expandSelfClosing(src); !bytes.Equal(exp, src) {
				t.Fatalf("parsesAsIs(%q) but the repair gives %q", src, exp)
			}
		}
	})
}

// TestCharsetAnywhere: a <meta> declaring another character set fails the page wherever it
// is (the head, the body, deep in an outline, inside SVG or MathML).
func TestCharsetAnywhere(t *testing.T) {
	const latin = `<meta charset="iso-8859-1">`
	cases := map[string]bool{ // page -> ErrCharset
		`<head>` + latin + `</head><body>x</body>`:                                 true,
		`<body><div style="position:absolute;top:5px"><p>x` + latin + `</p></div>`: true,
		`<body><div style="position:absolute;top:5px"></div><div><ul><li>` + latin: true,
		`<body><svg><meta charset="iso-8859-1"></meta></svg>x</body>`:              true, // <meta> leaves the svg
		`<body><math><mi><meta charset="iso-8859-1"></mi></math></body>`:           true,
		`<body><svg><desc><meta charset="iso-8859-1"></desc></svg></body>`:         true,
		`<head><meta charset="utf-8"></head><body><meta charset="UTF-8">x</body>`:  false,
		`<frameset><frame></frameset>` + latin:                                     false, // not in the tree
	}
	for page, want := range cases {
		_, err := parsePage([]byte(page))
		if got := errors.Is(err, ErrCharset); got != want {
			t.Errorf("parsePage(%q): err = %v, want ErrCharset %v", page, err, want)
		}
	}
}

// parsePageReference is parsePage as first written: the repair always, and a walk of the
// whole document for <meta> before the reading order.
func parsePageReference(src []byte) (*page, error) {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(src) {
		src = bytes.ToValidUTF8(src, []byte("\uFFFD"))
	}
	doc, err := html.Parse(bytes.NewReader(expandSelfClosing(src)))
	if err != nil {
		return nil, err
	}
	p := &page{}
	var head *html.Node
	for n := range descendants(doc) {
		if n.Type != html.ElementNode || n.Namespace != "" {
			continue
		}
		switch n.DataAtom {
		case atom.Head:
			if head == nil {
				head = n
			}
		case atom.Body:
			if p.body == nil {
				p.body = n
			}
		case atom.Meta:
			if !utf8Charset(n) {
				return nil, ErrCharset
			}
		}
	}
	if head != nil {
		for n := range descendants(head) {
			if n.Type == html.ElementNode && n.DataAtom == atom.Title {
				p.title = collapseSpace(textOf(n))
				break
			}
		}
	}
	if p.body == nil {
		p.body = &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	}
	readingOrderReference(p.body)
	return p, nil
}

// readingOrderReference is readingOrder as first written (a stable sort, and placeholders
// marking the slots): it puts absolutely positioned children (OneNote's outline divs) in reading order,
// top to bottom then left to right. Other children keep their places: positioned children
// are only permuted among the slots they already occupy. It walks every element under n,
// and reports whether every <meta> among them declares UTF-8 (or nothing).
func readingOrderReference(n *html.Node) (utf8Meta bool) {
	utf8Meta = true
	type placed struct {
		n         *html.Node
		top, left float64
	}
	var pos []placed
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			if style := attr(c, "style"); style != "" && strings.EqualFold(styleValue(style, "position"), "absolute") {
				pos = append(pos, placed{c, length(styleValue(style, "top")), length(styleValue(style, "left"))})
			}
		}
	}
	if len(pos) > 1 {
		// The slots the positioned children occupy, in document order, before sorting.
		slots := make([]*html.Node, len(pos))
		for i, p := range pos {
			slots[i] = p.n
		}
		slices.SortStableFunc(pos, func(a, b placed) int {
			if a.top != b.top {
				if a.top < b.top {
					return -1
				}
				return 1
			}
			if a.left < b.left {
				return -1
			}
			if a.left > b.left {
				return 1
			}
			return 0
		})
		// Each slot is marked by a placeholder, then the placeholders are swapped for the
		// sorted children: the other children never move.
		marks := make([]html.Node, len(slots))
		for i, s := range slots {
			n.InsertBefore(&marks[i], s)
			n.RemoveChild(s)
		}
		for i := range marks {
			n.InsertBefore(pos[i].n, &marks[i])
			n.RemoveChild(&marks[i])
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			if c.DataAtom == atom.Meta && c.Namespace == "" && !utf8Charset(c) {
				utf8Meta = false
			}
			if !readingOrderReference(c) {
				utf8Meta = false
			}
		}
	}
	return utf8Meta
}

// FuzzParsePage: parsePage (the repair skipped when the scan allows, the <meta> check split
// between two walks) gives what parsePageReference gives.
func FuzzParsePage(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte(`<title>t</title><body><div style="position:absolute;top:9px"><meta charset="latin1"></div><object data=x/>`))
	f.Add([]byte(`<p>tail <img href=x/><p title="a`))
	// Reading order: ties kept in document order, other children left in their slots, the
	// property in any case (and with "ſ", which folds to "s"), lengths that do not parse.
	f.Add([]byte(`<body><p>0</p><div style="position:absolute;top:5px">a</div><p>1</p><div style="POSITION: Absolute;top:5pt;left:3px">b</div>` +
		`<div style="poſition:absolute;top:1px">c</div><div style="position:absolute;top:1e999px">d</div><div style="position:absolute;top:5px">e</div></body>`))
	f.Fuzz(func(t *testing.T, src []byte) {
		show := func(p *page, err error) string {
			if err != nil {
				return "error: " + err.Error()
			}
			var b bytes.Buffer
			_ = html.Render(&b, p.body)
			return p.title + "\n" + b.String()
		}
		got, want := show(parsePage(src)), show(parsePageReference(src))
		if got != want {
			t.Errorf("parsePage(%q) =\n%s\nthe reference gives\n%s", src, got, want)
		}
	})
}

// TestStyleValues: one pass over a style gives what styleValue gives for each property, and
// mayHavePosition never rules out a style that declares a position.
func TestStyleValues(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	parts := []string{"position", "POSITION", "poſition", "top", "Top", "left", "font-family", "Font-Weight",
		"font-ſtyle", "text-decoration", "text-decoration-line", "margin", ":", ":", ";", ";", " ", "\t",
		"absolute", "bold", "line-", "through", "12px", "Consolas"}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		style := b.String()
		for _, props := range [][]string{positionProps, inlineStyleProps} {
			got := make([]string, len(props))
			styleValues(style, props, got)
			for i, p := range props {
				if want := styleValue(style, p); got[i] != want {
					t.Fatalf("styleValues(%q)[%s] = %q, styleValue gives %q", style, p, got[i], want)
				}
			}
		}
		if styleValue(style, "position") != "" && !mayHavePosition(style) {
			t.Fatalf("mayHavePosition(%q) = false", style)
		}
	}
}
