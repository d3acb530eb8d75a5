package notemd

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	xhtml "golang.org/x/net/html"

	"github.com/graphauth/graphauth/internal/pagegen"
)

// markdownDirectOnly is Markdown without the fallback: ok is false when the direct renderer
// declines the page.
func markdownDirectOnly(page []byte, link func(Resource) string) (md string, ok bool, err error) {
	p, err := parsePage(page)
	if err != nil {
		return "", false, err
	}
	rewriteForMarkdown(p, link)
	md, ok = renderDirect(pageDoc(p), len(page))
	if !ok {
		return "", false, nil
	}
	return md, true, nil
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

// perfPage is the page make perf measures the OneNote routes with.
func perfPage(title string, size int) []byte { return []byte(pagegen.Page(title, size)) }

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

// trimConsecutiveNewlinesReference is trimConsecutiveNewlinesTo as first written, a byte at a
// time into a new slice.
func trimConsecutiveNewlinesReference(input []byte) []byte {
	var result []byte
	newlines, spaces := 0, 0
	for _, c := range input {
		switch c {
		case '\n':
			newlines++
			if newlines <= 2 {
				result = appendSpaces(result, spaces)
				result = append(result, '\n')
			}
			spaces = 0
		case ' ':
			spaces++
		default:
			newlines = 0
			result = appendSpaces(result, spaces)
			result = append(result, c)
			spaces = 0
		}
	}
	return appendSpaces(result, spaces)
}

// TestTrimConsecutiveNewlines: the run-at-a-time version gives the byte-at-a-time one's
// result, into a new slice and in place.
func TestTrimConsecutiveNewlines(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{" ", " ", "\n", "\n", "a", "bc", "\t", "\a", "é"}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(30) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		in := []byte(b.String())
		want := trimConsecutiveNewlinesReference(in)
		if got := trimConsecutiveNewlinesTo(nil, in); !bytes.Equal(got, want) {
			t.Fatalf("trimConsecutiveNewlinesTo(%q) = %q, want %q", in, got, want)
		}
		if got := trimConsecutiveNewlinesTo(in[:0], in); !bytes.Equal(got, want) {
			t.Fatalf("trimConsecutiveNewlinesTo(%q) in place = %q, want %q", b.String(), got, want)
		}
	}
}
