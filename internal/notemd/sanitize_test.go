package notemd

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// page wraps body content the way Graph does.
func onenotePage(body string) []byte {
	return []byte(`<html lang="en-US"><head><title>T</title><meta http-equiv="Content-Type" content="text/html; charset=utf-8" /></head>` +
		`<body data-absolute-enabled="true" style="font-family:Calibri;font-size:11pt">` +
		`<div data-id="_default" style="position:absolute;left:48px;top:120px;width:624px">` + body + `</div></body></html>`)
}

// checkSafe parses Sanitize's output as a browser would and fails on anything active.
func checkSafe(t testing.TB, out []byte) {
	t.Helper()
	nodes, err := html.ParseFragment(bytes.NewReader(out), element("div"))
	if err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	forbidden := map[string]bool{"script": true, "style": true, "iframe": true, "object": true, "embed": true,
		"form": true, "input": true, "button": true, "base": true, "meta": true, "link": true, "svg": true,
		"math": true, "frame": true, "template": true, "textarea": true, "select": true}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if forbidden[n.Data] || n.Namespace != "" {
				t.Errorf("element <%s> survived in %s", n.Data, out)
			}
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				v := strings.ToLower(a.Val)
				switch {
				case strings.HasPrefix(k, "on"):
					t.Errorf("event handler %s=%q survived", a.Key, a.Val)
				case k == "srcset" || k == "formaction" || k == "action" || k == "xlink:href":
					t.Errorf("attribute %s survived", a.Key)
				case k == "href" || k == "src":
					u, err := url.Parse(strings.TrimSpace(a.Val))
					if err != nil {
						t.Errorf("%s=%q does not parse", k, a.Val)
						break
					}
					switch u.Scheme {
					case "", "http", "https", "mailto":
					default:
						t.Errorf("%s with scheme %q survived: %q", k, u.Scheme, a.Val)
					}
					if k == "src" && (n.Data != "img" || !strings.HasPrefix(a.Val, "/resources/")) {
						t.Errorf("<%s src=%q> would load from elsewhere than the app", n.Data, a.Val)
					}
				case k == "style":
					for _, bad := range []string{"url(", "expression", "position", "behavior", "@import", "javascript", "z-index", "display"} {
						if strings.Contains(v, bad) {
							t.Errorf("style %q survived", a.Val)
						}
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
}

func TestSanitizeRemovesActiveContent(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		keep       string // text that must still be there ("" for none)
	}{
		{"script", `<p>a</p><script>alert(1)</script><p>b</p>`, "b"},
		{"script in body attr", `<p onclick="alert(1)">x</p>`, "x"},
		{"onerror", `<img src="x" onerror="alert(1)">`, ""},
		{"onload", `<body onload="alert(1)"><p>hi</p></body>`, "hi"},
		{"javascript href", `<a href="javascript:alert(1)">click</a>`, "click"},
		{"mixed case", `<a href="JaVaScRiPt:alert(1)">click</a>`, "click"},
		{"entity encoded", `<a href="jav&#x61;script&colon;alert(1)">click</a>`, "click"},
		{"tab in scheme", "<a href=\"java\tscript:alert(1)\">click</a>", "click"},
		{"data href", `<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>`, "click"},
		{"iframe", `<iframe src="https://evil.example/"></iframe><p>after</p>`, "after"},
		{"self-closing iframe", `<iframe src="https://evil.example/" /><p>after</p>`, "after"},
		{"form", `<form action="https://evil.example/"><input name="pw"><button formaction="https://evil.example/">go</button></form>`, ""},
		{"object not an attachment", `<object data="https://evil.example/x.swf" type="application/x-shockwave-flash"></object><p>after</p>`, "after"},
		{"embed", `<embed src="https://evil.example/x.swf">`, ""},
		{"base", `<base href="https://evil.example/"><a href="/x">rel</a>`, "rel"},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=https://evil.example/">`, ""},
		{"style element", `<style>body{background:url(https://evil.example/)}</style><p>s</p>`, "s"},
		{"style url", `<p style="background-image:url(https://evil.example/x)">u</p>`, "u"},
		{"style expression", `<p style="width:expression(alert(1));color:red">e</p>`, "e"},
		{"style position fixed", `<div style="position:fixed;top:0;left:0;width:100%;height:100%;z-index:9999">overlay</div>`, "overlay"},
		{"style color url", `<span style="color:url(https://evil.example/)">c</span>`, "c"},
		{"style behavior", `<span style="behavior:url(x.htc);-moz-binding:url(x)">b</span>`, "b"},
		{"svg onload", `<svg onload="alert(1)"><text>svg text</text></svg><p>p</p>`, "p"},
		{"svg script", `<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">x</a></svg>`, ""},
		{"math", `<math><mi>x</mi><maction actiontype="statusline" xlink:href="javascript:alert(1)">y</maction></math>`, "x"},
		{"external img", `<img src="https://evil.example/track.png" alt="tracker">`, "tracker"},
		{"external img srcset", `<img src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-a/$value" srcset="https://evil.example/x 2x" alt="a">`, ""},
		{"data img", `<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+" alt="d">`, "d"},
		{"protocol relative img", `<img src="//evil.example/x.png" alt="pr">`, "pr"},
		{"invalid resource id", `<img src="https://graph.microsoft.com/v1.0/me/onenote/resources/a%3Fb/$value" alt="q">`, "q"},
		{"link rel", `<link rel="stylesheet" href="https://evil.example/x.css">`, ""},
		{"noscript", `<noscript><img src="https://evil.example/x"></noscript>`, ""},
		{"template", `<template><script>alert(1)</script></template>`, ""},
		{"nested tricks", `<scr<script>ipt>alert(1)</script>`, ""},
		{"textarea breakout", `<textarea></textarea><script>alert(1)</script>`, ""},
		{"comment", `<!--<script>alert(1)</script>--><p>c</p>`, "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Sanitize(onenotePage(tc.body), resourceURL)
			if err != nil {
				t.Fatal(err)
			}
			checkSafe(t, out)
			if tc.keep != "" && !strings.Contains(string(out), tc.keep) {
				t.Errorf("text %q lost: %s", tc.keep, out)
			}
			if strings.Contains(strings.ToLower(string(out)), "evil.example") {
				t.Errorf("a reference to evil.example survived: %s", out)
			}
		})
	}
}

func TestSanitizeLinks(t *testing.T) {
	out, err := Sanitize(onenotePage(`<a href="https://example.com/">ex</a>`), resourceURL)
	if err != nil {
		t.Fatal(err)
	}
	nodes, _ := html.ParseFragment(bytes.NewReader(out), element("div"))
	var a *html.Node
	for _, n := range nodes {
		for d := range n.Descendants() {
			if d.Type == html.ElementNode && d.Data == "a" {
				a = d
			}
		}
		if n.Type == html.ElementNode && n.Data == "a" {
			a = n
		}
	}
	if a == nil {
		t.Fatalf("link lost: %s", out)
	}
	rel := attr(a, "rel")
	for _, want := range []string{"noreferrer", "noopener"} {
		if !strings.Contains(rel, want) {
			t.Errorf("rel=%q lacks %s", rel, want)
		}
	}
	if got := attr(a, "target"); got != "_blank" {
		t.Errorf("target=%q, want _blank", got)
	}
}

func TestSanitizeResourcesAndTags(t *testing.T) {
	src := onenotePage(`<p data-tag="to-do:completed">done</p><p data-tag="important">star</p>` +
		`<img src="https://graph.microsoft.com/v1.0/me/onenote/resources/0-a!1-b/$value" width="320" height="200" alt="map" style="position:fixed" />` +
		`<object data="https://graph.microsoft.com/v1.0/me/onenote/resources/0-pdf/$value" data-attachment="report.pdf" type="application/pdf" /><p>after</p>`)
	out, err := Sanitize(src, resourceURL)
	if err != nil {
		t.Fatal(err)
	}
	checkSafe(t, out)
	for _, want := range []string{
		`☑ `, `⭐ `,
		`<img src="/resources/0-a!1-b" alt="map" width="320" height="200"/>`,
		`<a href="/resources/0-pdf" download="report.pdf"`, `📎 report.pdf</a>`,
		`<p>after</p>`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	// url returning "" drops the resource.
	out, _ = Sanitize(src, func(Resource) string { return "" })
	if strings.Contains(string(out), "<img") || strings.Contains(string(out), "download") {
		t.Errorf("resource kept without a URL: %s", out)
	}
}

func TestSanitizeReadingOrder(t *testing.T) {
	src := []byte(`<html><body>` +
		`<div style="position:absolute;left:300px;top:50px">third</div>` +
		`<p>static</p>` +
		`<div style="position:absolute;left:48px;top:50px">second</div>` +
		`<div style="position:absolute;left:48px;top:10pt">first</div>` +
		`</body></html>`)
	out, err := Sanitize(src, resourceURL)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	order := []string{"first", "static", "second", "third"}
	last := -1
	for _, w := range order {
		i := strings.Index(s, w)
		if i < last {
			t.Fatalf("want order %v, got %s", order, s)
		}
		last = i
	}
}
