package notemd

import (
	"errors"
	"strings"
	"testing"
)

func md(t *testing.T, body string) string {
	t.Helper()
	out, err := Markdown(onenotePage(body), assetLink())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMarkdownRules(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string // substrings that must appear
		not        []string // substrings that must not
	}{
		{"javascript link", `<p><a href="javascript:alert(1)">a</a> <a href="JaVaScRiPt:x">b</a> <a href="jav&#x61;script:x">c</a> <a href="data:text/html,x">d</a> <a href="onenote:https://x">e</a></p>`,
			[]string{"a b c d e"}, []string{"javascript", "JaVaScRiPt", "data:", "onenote:", "]("}},
		{"kept links", `<p><a href="https://example.com/a b">web</a> <a href="mailto:x@example.com">mail</a></p>`,
			[]string{"[web](https://example.com/a%20b)", "[mail](mailto:x@example.com)"}, nil},
		{"self-closing object", `<object data="https://graph.microsoft.com/v1.0/me/onenote/resources/0-p/$value" data-attachment="a b (1).pdf" type="application/pdf" /><p>after</p>`,
			[]string{"[📎 a b (1).pdf](assets/a%20b%20%281%29.pdf)\n\nafter"}, nil},
		{"marker characters", "<p>bell\a and \uF002 marker</p>", []string{"bell and marker"}, []string{"\a", "\uF002"}},
		{"alt escaped", `<table><tr><td>h</td></tr><tr><td><img src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-i/$value" alt="a]|(b" data-src-type="image/png"/></td></tr></table>`,
			[]string{`![a\]\|(b](assets/a%5D-%28b.png)`}, nil},
		{"markdown-looking text", `<p># h</p><p>- l</p><p>1. n</p><p>*e*</p><p>` + "`c`" + `</p><table><tr><td>a|b</td></tr></table>`,
			[]string{`\# h`, `\- l`, `1\. n`, `\*e*`, "\\`c\\`", `a\|b`}, nil},
		{"empty alt image kept", `<img src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-i/$value" data-src-type="image/jpeg" />`,
			[]string{"![](assets/image.jpg)"}, nil},
		{"invalid id dropped", `<img src="https://graph.microsoft.com/v1.0/me/onenote/resources/a%2F..%2Fb/$value" alt="alt" />`,
			[]string{"alt"}, []string{"![", "graph.microsoft.com"}},
		{"external image linked", `<img src="https://cdn.example.org/x.png" alt="x" />`, []string{"![x](https://cdn.example.org/x.png)"}, nil},
		{"data image dropped", `<img src="data:image/png;base64,AAAA" alt="d" />`, []string{"d"}, []string{"data:"}},
		{"tight nested to-dos", `<ul><li><span data-tag="to-do">a</span><ul><li><span data-tag="to-do:completed">b</span><ul><li><span data-tag="to-do">c</span></li></ul></li></ul></li><li>d</li></ul>`,
			[]string{"- [ ] a\n  - [x] b\n    - [ ] c\n- d"}, []string{"\n\n  -"}},
		{"to-do paragraphs", `<p data-tag="to-do">a</p><p data-tag="to-do:completed">b</p><ul><li>c</li></ul>`,
			[]string{"- [ ] a\n- [x] b\n- c"}, nil},
		{"tags", `<p data-tag="important">i</p><p data-tag="question">q</p><p data-tag="critical">c</p><p data-tag="project-a, client-request:completed">p</p><p data-tag="made-up">u</p>`,
			[]string{"⭐ i", "❓ q", "❗ c", "- [x] 📁 💼 Project A, Client request: p", "🏷️ made up: u"}, nil},
		{"code", `<p style="font-family:Consolas">a</p><p style="font-family:Consolas">&nbsp;&nbsp;b</p><p>x <span style="font-family:Consolas;font-size:10pt">y</span></p>`,
			[]string{"```\na\n  b\n```", "x `y`"}, nil},
		{"code across blank paragraphs", `<p style="font-family:Consolas">a</p><p>&nbsp;</p><p><br /></p><p style="font-family:Consolas">b</p><p>&nbsp;</p><p style="font-family:Consolas">c</p><p>&nbsp;</p><p>&nbsp;</p><p>after</p>`,
			[]string{"```\na\n\n\nb\n\nc\n```", "after"}, []string{"c\n\n\n```"}},
		{"styles", `<p><span style="font-weight:bold">b</span> <span style="font-style:italic">i</span> <span style="text-decoration:line-through">s</span> <span style="font-weight:700;text-decoration:underline line-through">bs</span></p>`,
			[]string{"**b** *i* ~~s~~ **~~bs~~**"}, nil},
		{"table header and multi-line", `<table><tr><td>A</td><td>B</td></tr><tr><td><p>1</p><p>2</p></td><td>x</td></tr></table>`,
			[]string{"| A | B |\n|---|---|\n| 1<br />2 | x |"}, nil},
		{"two images in a cell", `<table><tr><td>h</td></tr><tr><td><img src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-a/$value" alt="a" data-src-type="image/png"/><img src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-b/$value" alt="a" data-src-type="image/png"/></td></tr></table>`,
			[]string{"| ![a](assets/a.png) ![a](assets/a%20%282%29.png) |"}, []string{`\!`, `\[`}},
		{"math", `<p><math><msqrt><mi>x</mi></msqrt><mo>+</mo><msub><mi>a</mi><mn>1</mn></msub></math></p>`, []string{`√(x)+a\_1`}, nil},
		{"hard break", `<p>a<br />b</p>`, []string{"a\\\nb"}, []string{"  \n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := md(t, tc.body)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %q in\n%s", w, got)
				}
			}
			checkMarkdownShape(t, got)
		})
	}
}

// checkMarkdownShape: no trailing white space, one final newline.
func checkMarkdownShape(t testing.TB, got string) {
	t.Helper()
	if !strings.HasSuffix(got, "\n") || strings.HasSuffix(got, "\n\n") {
		t.Errorf("does not end with exactly one newline: %q", got)
	}
	for i, line := range strings.Split(got, "\n") {
		if strings.TrimRight(line, " \t") != line {
			t.Errorf("line %d has trailing white space: %q", i+1, line)
		}
	}
}

func TestMarkdownTitle(t *testing.T) {
	got := md(t, `<h1>T</h1><p>x</p>`)
	if got != "# T\n\nx\n" {
		t.Errorf("title repeated or lost: %q", got)
	}
	got = md(t, `<h2>Other</h2>`)
	if got != "# T\n\n## Other\n" {
		t.Errorf("got %q", got)
	}
	out, err := Markdown([]byte(`<html><body><p># x</p></body></html>`), assetLink())
	if err != nil || out != "\\# x\n" {
		t.Errorf("no title: got %q, %v", out, err)
	}
}

func TestCharset(t *testing.T) {
	latin := []byte(`<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" /></head><body>x</body></html>`)
	if _, err := Markdown(latin, assetLink()); !errors.Is(err, ErrCharset) {
		t.Errorf("Markdown: err = %v, want ErrCharset", err)
	}
	if _, err := Sanitize(latin, resourceURL); !errors.Is(err, ErrCharset) {
		t.Errorf("Sanitize: err = %v, want ErrCharset", err)
	}
	// Invalid bytes in a UTF-8 page are replaced, not fatal.
	got, err := Markdown([]byte("<html><body><p>a\xffb</p></body></html>"), assetLink())
	if err != nil || got != "a\uFFFDb\n" {
		t.Errorf("got %q, %v", got, err)
	}
}

func TestResources(t *testing.T) {
	src := []byte(`<html><head><title>R</title></head><body>
<div style="position:absolute;left:0px;top:500px"><img src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-low!1-x/$value" data-src-type="image/png" data-fullres-src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-full!1-x/$value" data-fullres-src-type="image/jpeg" alt="late" /></div>
<div style="position:absolute;left:0px;top:10px">
<object data="https://graph.microsoft.com/v1.0/users('a@b.c')/onenote/resources/0-pdf!1-x/content" data-attachment="r.pdf" type="application/pdf" />
<img src="https://graph.microsoft.com/v1.0/siteCollections/s/sites/t/onenote/resources/0-site_1.x/$value" />
<img src="https://graph.microsoft.com/v1.0/siteCollections/s/sites/t/onenote/resources/0-site_1.x/$value" alt="again" />
<img src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-a%3Fb/$value" />
<img src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-a/$value/../../x" />
<img src="https://example.com/resources/0-notgraph/$value" />
<object data="https://graph.microsoft.com/v1.0/me/onenote/resources/0-obj/$value" type="application/pdf" />
</div></body></html>`)
	got, err := Resources(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []Resource{
		{ID: "0-pdf!1-x", Kind: "attachment", Type: "application/pdf", Name: "r.pdf"},
		{ID: "0-site_1.x", Kind: "image"},
		{ID: "0-full!1-x", Kind: "image", Type: "image/jpeg", Name: "late", FullRes: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestResourceID(t *testing.T) {
	for _, tc := range []struct {
		url       string
		id        string
		isRes, ok bool
	}{
		{"https://graph.microsoft.com/v1.0/me/onenote/resources/0-abc!1-def/$value", "0-abc!1-def", true, true},
		{"https://graph.microsoft.com/v1.0/users('a@b.c')/onenote/resources/0-abc/content", "0-abc", true, true},
		{"https://graph.microsoft.com/v1.0/groups/g/onenote/resources/0-abc", "0-abc", true, true},
		{"https://graph.microsoft.com/v1.0/me/onenote/resources/0-a%2F..%2Fb/$value", "0-a/../b", true, false},
		{"https://graph.microsoft.com/v1.0/me/onenote/resources/../$value", "..", true, false},
		{"https://graph.microsoft.com/v1.0/me/onenote/resources/0-a/$value/x", "", true, false},
		{"https://graph.microsoft.com/v1.0/me/onenote/resources/0-a?x=1", "0-a", true, true},
		{"https://cdn.example.org/resources/x/$value", "", false, false},
		{"javascript:/onenote/resources/x/$value", "", false, false},
		{"ftp://graph.microsoft.com/v1.0/me/onenote/resources/0-a/$value", "", false, false},
	} {
		id, isRes, ok := resourceID(tc.url)
		if (isRes != tc.isRes || ok != tc.ok) || (ok && id != tc.id) {
			t.Errorf("resourceID(%q) = %q, %v, %v; want %q, %v, %v", tc.url, id, isRes, ok, tc.id, tc.isRes, tc.ok)
		}
	}
}
