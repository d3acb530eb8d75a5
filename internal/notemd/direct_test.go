package notemd

import (
	"bytes"
	"fmt"
	"html"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	xhtml "golang.org/x/net/html"
)

// markdownDirectOnly is Markdown without the fallback: ok is false when the direct renderer
// declines the page.
func markdownDirectOnly(page []byte, link func(Resource) string) (md string, ok bool, err error) {
	p, err := parsePage(page)
	if err != nil {
		return "", false, err
	}
	rewriteForMarkdown(p, link)
	out, ok := renderDirect(pageDoc(p))
	if !ok {
		return "", false, nil
	}
	return tidy(out), true, nil
}

// checkDirect converts page both ways (each with its own assetLink, as the names it hands
// out depend on the order of the calls) and fails when the direct renderer succeeds with a
// different result from the library's. It reports whether the direct renderer succeeded.
func checkDirect(t testing.TB, name string, page []byte) bool {
	t.Helper()
	want, werr := markdownViaLibrary(page, assetLink())
	got, ok, gerr := markdownDirectOnly(page, assetLink())
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%s: library error %v, direct error %v", name, werr, gerr)
	}
	if ok && got != want {
		t.Errorf("%s: the direct renderer differs from html-to-markdown\n--- page ---\n%.3000s\n--- direct ---\n%.3000s\n--- library ---\n%.3000s",
			name, page, got, want)
	}
	// And Markdown, fallback included, is the library's result whatever the path.
	if md, err := Markdown(page, assetLink()); err == nil && md != want {
		t.Errorf("%s: Markdown differs from html-to-markdown", name)
	}
	return ok
}

// perfPage is cmd/perf's pageHTML (signin.go), the page the end-to-end measurements use.
func perfPage(title string, size int) []byte {
	var b strings.Builder
	b.WriteString(`<html lang="en-US"><head><title>` + html.EscapeString(title) + `</title>` +
		`<meta http-equiv="Content-type" content="text/html; charset=utf-8" />` +
		`<meta name="created" content="2026-01-05T09:00:00.0000000" /></head>` +
		`<body data-absolute-enabled="true" style="font-family:Calibri;font-size:11pt">` +
		`<div id="div:{1}" data-id="_default" style="position:absolute;left:48px;top:115px;width:624px">`)
	for i := 0; b.Len() < size-200; i++ {
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, `<h2 style="font-size:14pt;color:#2e75b5;margin-top:0pt;margin-bottom:0pt">Section %d</h2>`, i/6+1)
		case 1, 4:
			fmt.Fprintf(&b, `<p style="margin-top:0pt;margin-bottom:0pt">Paragraph %d with <span style="font-weight:bold">bold</span>, `+
				`<span style="font-style:italic">italic</span> and a <a href="https://example.com/item/%d">link to item %d</a>; `+
				`the rest is ordinary text &amp; entities &lt;like these&gt; that a meeting note would have.</p>`, i, i, i)
		case 2:
			b.WriteString(`<ul>`)
			for j := 0; j < 4; j++ {
				fmt.Fprintf(&b, `<li data-tag="to-do%s">Action %d.%d for the team</li>`, map[bool]string{true: ":completed", false: ""}[j%2 == 0], i, j)
			}
			b.WriteString(`</ul>`)
		case 3:
			b.WriteString(`<table style="border:1px solid;border-collapse:collapse"><tr><td style="border:1px solid">Owner</td><td style="border:1px solid">Due</td><td style="border:1px solid">State</td></tr>`)
			for j := 0; j < 3; j++ {
				fmt.Fprintf(&b, `<tr><td style="border:1px solid">Person %d</td><td style="border:1px solid">2026-02-%02d</td><td style="border:1px solid">open</td></tr>`, j, j+1)
			}
			b.WriteString(`</table>`)
		case 5:
			fmt.Fprintf(&b, `<p style="margin-top:0pt;margin-bottom:0pt"><span style="font-family:Consolas">code_%d()</span> returned <span style="color:red">%d</span> errors.</p>`, i, i%7)
		}
	}
	b.WriteString(`</div></body></html>`)
	return []byte(b.String())
}

// fuzzSeedPages are the inputs of testdata/fuzz (the "go test fuzz v1" files).
func fuzzSeedPages(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/fuzz/*/*")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, lit, ok := strings.Cut(string(src), "\n[]byte(")
		if !ok || !strings.HasSuffix(strings.TrimSpace(lit), ")") {
			t.Fatalf("%s: not a []byte fuzz input", f)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimSpace(lit), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = []byte(s)
	}
	return out
}

// TestDirectMatchesLibrary: wherever the direct renderer takes a page, it writes exactly what
// html-to-markdown writes; and it does take the pages OneNote typically gives.
func TestDirectMatchesLibrary(t *testing.T) {
	mustTake := map[string][]byte{}
	for _, size := range []int{300, 5000, 10 << 10, 100 << 10} {
		mustTake[fmt.Sprintf("benchPage(%d)", size)] = benchPage(size)
		mustTake[fmt.Sprintf("perfPage(%d)", size)] = perfPage("Perf page <"+strconv.Itoa(size)+"> & co", size)
	}
	golden, err := os.ReadFile("testdata/trip-plan.html")
	if err != nil {
		t.Fatal(err)
	}
	mustTake["trip-plan"] = golden
	for name, page := range mustTake {
		if !checkDirect(t, name, page) {
			t.Errorf("%s: the direct renderer declined it", name)
		}
	}
	for name, page := range fuzzSeedPages(t) {
		checkDirect(t, name, page)
	}
	taken, total := 0, 0
	for i := range 400 {
		page := onenoteLikePage(rand.New(rand.NewPCG(uint64(i), 7)), 1<<10+i*40)
		total++
		if checkDirect(t, fmt.Sprintf("generated page %d", i), page) {
			taken++
		}
	}
	t.Logf("direct path taken for %d of %d generated pages", taken, total)
	// The generator is harsher than OneNote (it nests styled runs and puts them side by
	// side, which the library's passes rewrite and the direct renderer leaves to them), and
	// one such run sends its whole page to the library.
	if taken*10 < total*35/10 {
		t.Errorf("direct path taken for only %d of %d generated pages", taken, total)
	}
}

// TestDirectCorpus runs the comparison over a directory of pages (NOTEMD_CORPUS=dir), and
// reports how often the direct path is taken.
func TestDirectCorpus(t *testing.T) {
	dir := os.Getenv("NOTEMD_CORPUS")
	if dir == "" {
		t.Skip("NOTEMD_CORPUS not set")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.html"))
	if err != nil {
		t.Fatal(err)
	}
	taken := 0
	for _, f := range files {
		page, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if checkDirect(t, f, page) {
			taken++
		} else {
			t.Logf("declined: %s", filepath.Base(f))
		}
	}
	t.Logf("direct path taken for %d of %d pages", taken, len(files))
}

// TestDirectFallback: a page the direct renderer declines (here bold inside bold, which the
// library unwraps) is still converted, by the library.
func TestDirectFallback(t *testing.T) {
	page := onenotePage(`<p><b>a <b>b</b></b> <span style="font-weight:bold"><a href="https://example.com/">l</a></span></p>`)
	if _, ok, _ := markdownDirectOnly(page, assetLink()); ok {
		t.Fatal("the direct renderer took the page; pick one it declines")
	}
	want := "# T\n\n**a b** [**l**](https://example.com/)\n"
	got, err := Markdown(page, assetLink())
	if err != nil || got != want {
		t.Errorf("Markdown = %q, %v; want %q", got, err, want)
	}
	checkDirect(t, "fallback", page)
}

// TestDirectPorts compares the escaping the direct renderer ports from html-to-markdown with
// the library's own (reached through a renderer registered on a converter of our plugins).
func TestDirectPorts(t *testing.T) {
	var ctx converter.Context
	conv := converter.NewConverter()
	conv.Register.Renderer(func(c converter.Context, w converter.Writer, n *xhtml.Node) converter.RenderStatus {
		ctx = c
		return converter.RenderSuccess
	}, converter.PriorityEarly)
	for _, p := range mdConverterPlugins() {
		conv.Register.Plugin(p)
	}
	if _, err := conv.ConvertString("<p>x</p>"); err != nil || ctx == nil {
		t.Fatal("no converter context", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"\a", "\a", "\a", " ", " ", "\n", "\t", "a", "1", "9", "#", "*", "_", "-", "+", ".", ")", "(", ">", "<", "|",
		"!", "[", "]", "`", "~", "=", "\\", "\"", "'", "$", "é", "\u00a0", "\u0085", "\x00", "\u2003"}
	for i := range 20000 {
		var b strings.Builder
		for range r.IntN(24) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		s := b.String()
		want := ctx.UnEscapeContent([]byte(s))
		if got := unEscape([]byte(s)); !bytes.Equal(got, want) {
			t.Fatalf("unEscape(%q) = %q, library %q", s, got, want)
		}
		wantText := strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
		wantText = string(ctx.EscapeContent([]byte(wantText)))
		if got := string(appendText(nil, s, false)); got != wantText {
			t.Fatalf("appendText(%q) = %q, library %q", s, got, wantText)
		}
		wantLink := strings.ReplaceAll(wantText, "\a]", `\]`)
		if got := string(appendText(nil, s, true)); got != wantLink {
			t.Fatalf("appendText(%q, in link) = %q, library %q", s, got, wantLink)
		}
		_ = i
	}
}

// FuzzMarkdownDirect: when the direct renderer takes a page, its Markdown is the library's.
func FuzzMarkdownDirect(f *testing.F) {
	fuzzSeeds(f)
	for _, page := range fuzzSeedPages(f) {
		f.Add(page)
	}
	f.Add(benchPage(3000))
	f.Add(perfPage("P", 3000))
	for i := range 20 {
		f.Add(onenoteLikePage(rand.New(rand.NewPCG(uint64(i), 9)), 1500))
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		want, werr := markdownViaLibrary(page, assetLink())
		got, ok, gerr := markdownDirectOnly(page, assetLink())
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("library error %v, direct error %v", werr, gerr)
		}
		if ok && got != want {
			t.Errorf("direct %q\nlibrary %q", got, want)
		}
	})
}
