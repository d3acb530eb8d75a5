package notemd

import (
	"fmt"
	"strings"
	"testing"
)

// benchPage generates a OneNote page of about size bytes: outlines of paragraphs with styled
// spans, to-dos, nested lists, a table with images and some Consolas code.
func benchPage(size int) []byte {
	var b strings.Builder
	b.WriteString(`<html lang="en-US"><head><title>Bench</title><meta http-equiv="Content-Type" content="text/html; charset=utf-8" /></head><body data-absolute-enabled="true" style="font-family:Calibri;font-size:11pt">`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `<div data-id="o%d" style="position:absolute;left:48px;top:%dpx;width:624px">`, i, 10000-i*10)
		fmt.Fprintf(&b, `<h2>Section %d</h2><p style="margin-top:0pt">Some <span style="font-weight:bold">bold</span> and <span style="font-style:italic">italic</span> text, a <a href="https://example.com/%d">link</a> and *stars*.</p>`, i, i)
		b.WriteString(`<p data-tag="to-do">Task</p><p data-tag="to-do:completed">Done</p><p data-tag="important">Star</p>`)
		b.WriteString(`<ul><li><span data-tag="to-do">a</span><ul><li>b</li><li>c<ul><li>d</li></ul></li></ul></li><li>e</li></ul>`)
		fmt.Fprintf(&b, `<table style="border:1px solid"><tr><td>k</td><td>v</td></tr><tr><td><p>one</p><p>two</p></td><td><img src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-i%d!1-x/$value" data-src-type="image/png" alt="pic" width="10" height="10" /></td></tr></table>`, i)
		b.WriteString(`<p style="font-family:Consolas">if x {</p><p style="font-family:Consolas">&nbsp;&nbsp;y()</p><p style="font-family:Consolas">}</p></div>`)
	}
	b.WriteString(`</body></html>`)
	return []byte(b.String())
}

// reportCPU adds the CPU time per operation (cpu-ns/op) and per KB of page (cpu-ns/KB): on a
// shared machine the wall time mostly measures the neighbours, the CPU time much less so. It
// counts every thread of the process, the garbage collector's included.
func reportCPU(b *testing.B, start int64, size int) {
	if start == 0 || b.N == 0 {
		return
	}
	ns := float64(cpuNanos()-start) / float64(b.N)
	b.ReportMetric(ns, "cpu-ns/op")
	b.ReportMetric(ns*1024/float64(size), "cpu-ns/KB")
}

var benchSizes = []struct {
	name string
	size int
}{{"10KB", 10 << 10}, {"100KB", 100 << 10}, {"1MB", 1 << 20}}

// Where the time goes at 1 MB (pprof, benchPage, Nov 2026): Markdown is about 20% parse
// (html.Parse and the self-closing repair), 17% our rewriting passes and 50% html-to-markdown
// itself (its pre-render passes over the whole tree, and a copy and sort of its handlers for
// every element); Sanitize is about 25% parse and 55% bluemonday, which tokenizes the
// rendered body again and parses every style it may keep. Getting either well under 50 ms
// means replacing those libraries' passes (a direct renderer, held byte-identical to the
// converter by a differential test), not tuning ours further.
//
// Markdown now renders directly (direct.go) for pages like these, html-to-markdown only for
// pages it declines: at 1 MB, median CPU 146 ms -> 79 ms (6 runs each, interleaved, ranges
// 138-147 and 77-82), 48 MB -> 22 MB and 871k -> 300k allocations.
//
// Then (6 runs each, interleaved, medians and ranges): the self-closing repair's tokenizer
// pass skipped when a byte scan shows it would change nothing (parsesAsIs), the rewriting's
// ten walks of the tree down to four (shared walks, lists handed over) in one reused snapshot
// buffer, fewer copies in the renderer's last steps: at 1 MB, CPU 76 ms (75-78) -> 63 ms
// (60-67), 22.1 -> 20.1 MB and 300k -> 267k allocations; 100 KB 5.6 -> 4.9 ms, 10 KB 0.53 ->
// 0.44 ms. What is left at 1 MB is about a quarter html.Parse (its tokenizer, and Token
// copying every attribute), a sixth the garbage collector (the parser's nodes are most of
// the garbage), a quarter the rewriting (its four snapshots, each a walk of a tree larger
// than the cache, are a third of that), a sixth the direct renderer and 7% the reading
// order's walk. Under 50 ms would take a parse that builds less, or the rewriting done in
// the parse's own walk, not more trimming of ours.
//
// Then, allocations first (the collector's work was a fifth of the CPU): the direct renderer
// keeps its buffers between conversions (a sync.Pool) and works in them (the Markdown buffer
// sized from the page, lists' and tables' parts on stacks, unescaping, tightening and tidying
// without copies); the reading-order walk counts the elements (the snapshot buffer is sized
// once) and notes the images, links and dropped elements, so the first rewriting walk needs
// no snapshot; flattenTables finds what it needs in one walk, and the last two walks share a
// snapshot; each style is parsed once; to-do paragraphs, styled spans and linked images are
// renamed in place instead of replaced; plain http(s) URLs are read without url.Parse. 10
// interleaved runs of each test binary, medians and ranges, Nov 2026 (load average 1.4 to 4.4
// from other work on the machine, which is why the old figures are above the ones before):
//
//	         wall ns/op                                cpu-ns/op                                 B/op              allocs/op
//	1 MB     56.3 (53.4-60.9) -> 41.3 (39.0-44.6) ms   69.6 (66.3-75.9) -> 49.6 (46.8-53.5) ms   20.1 -> 13.2 MB   267k -> 187k
//	100 KB   4.64 (4.49-4.81) -> 3.38 (3.28-3.59) ms   5.47 (5.33-5.67) -> 3.75 (3.62-4.02) ms   1.87 -> 1.21 MB   26.4k -> 18.6k
//
// (CPU 0.71 times the old, and 2.1 collections per 1 MB conversion instead of 2.5.) What is left
// at 1 MB is about 40% html.Parse (its tokenizer, Token's copies of every attribute and the
// nodes it makes: 9 of the 13 MB allocated), a sixth the rewriting, a sixth the direct
// renderer with its checks and the whitespace collapse, 6% the reading-order walk and an
// eighth the collector's background work. Walks spared since (the renderer's comment removal
// done in its checks, the last two rewriting walks over only the elements they act on) did
// not measure apart from the noise; keeping the two large buffers across collections (a
// channel instead of the pool) did, by about 1.4 ms, at the price of up to a few MB kept.
func BenchmarkMarkdown(b *testing.B) {
	for _, s := range benchSizes {
		page := benchPage(s.size)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			defer reportCPU(b, cpuNanos(), len(page))
			for b.Loop() {
				if _, err := Markdown(page, resourceURL); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSanitize(b *testing.B) {
	for _, s := range benchSizes {
		page := benchPage(s.size)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			defer reportCPU(b, cpuNanos(), len(page))
			for b.Loop() {
				if _, err := Sanitize(page, resourceURL); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBenchPage keeps the generated page honest: it converts, and every outline survives.
func TestBenchPage(t *testing.T) {
	page := benchPage(10 << 10)
	got, err := Markdown(page, resourceURL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "## Section 0") || !strings.Contains(got, "- [ ] a\n  - b") {
		t.Errorf("unexpected conversion:\n%s", got[:min(len(got), 600)])
	}
}

// BenchmarkPage is what serving one page costs end to end: the resource list, the sanitized
// HTML and the Markdown of the same page.
func BenchmarkPage(b *testing.B) {
	for _, s := range benchSizes {
		page := benchPage(s.size)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			defer reportCPU(b, cpuNanos(), len(page))
			for b.Loop() {
				if _, err := Resources(page); err != nil {
					b.Fatal(err)
				}
				if _, err := Sanitize(page, resourceURL); err != nil {
					b.Fatal(err)
				}
				if _, err := Markdown(page, resourceURL); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCountResources against BenchmarkResources: what the page view pays to label its
// download (.md or .zip) with a token scan, against a full parse. Reading only <img> and
// <object> attributes (not z.Token) and skipping the repair when parsesAsIs: at 1 MB
// 17.9 -> 9.4 ms, 4.2 -> 0.92 MB, 101k -> 35k allocations (6 interleaved runs, medians).
func BenchmarkCountResources(b *testing.B) {
	for _, s := range benchSizes {
		page := benchPage(s.size)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				CountResources(page)
			}
		})
	}
}

func BenchmarkResources(b *testing.B) {
	for _, s := range benchSizes {
		page := benchPage(s.size)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				if _, err := Resources(page); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
