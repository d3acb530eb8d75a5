package notemd

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// policy is the one bluemonday policy, built once (a Policy is safe for concurrent use once
// built). bluemonday is the safety boundary: whatever the rewriting before it lets through,
// only what is allowed here reaches the browser.
var policy = sync.OnceValue(func() *bluemonday.Policy {
	// UGCPolicy: no script, style, iframe, object, form or on* attributes; URLs must parse and
	// be relative or http, https or mailto.
	p := bluemonday.UGCPolicy()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true) // also adds rel="noopener"

	// OneNote's note tags, and the labels Sanitize adds for them.
	p.AllowAttrs("data-tag").Matching(regexp.MustCompile(`^[a-z0-9:, -]{1,200}$`)).
		OnElements("p", "span", "li", "img", "h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^notemd-[a-z]+( notemd-[a-z]+)*$`)).OnElements("span")
	// Attachments: a download link named after the file.
	p.AllowAttrs("download").Matching(regexp.MustCompile(`^[^<>:"/\\|?*\x00-\x1f]{1,200}$`)).OnElements("a")

	// Text styling only. Each property keeps bluemonday's own value check (colours, lengths,
	// font names), which rejects url(), expression() and anything else with a function.
	// Layout (position, float, margins, width, z-index, display) is left out on purpose:
	// without it a page cannot lay an overlay over the app.
	p.AllowStyles("font-weight", "font-style", "text-decoration", "color", "background-color",
		"font-size", "font-family", "text-align", "vertical-align").Globally()
	p.AllowStyles("border", "border-collapse").OnElements("table", "td", "th")
	return p
})

// sanitizeBody rewrites images, attachments, videos and note tags for display, then lets
// bluemonday filter the result.
func sanitizeBody(body *html.Node, url func(Resource) string) []byte {
	for n := range elements(body) {
		if n.Parent == nil || n.Namespace != "" {
			continue
		}
		switch n.DataAtom {
		case atom.Img:
			sanitizeImage(n, url)
		case atom.Object:
			r := attachmentRef(n)
			var a *html.Node
			if href := resolve(r, url); href != "" {
				a = element("a", "href", href, "download", FileName(r.res.Name))
				a.AppendChild(text("📎 " + r.res.Name))
			}
			replace(n, a)
		case atom.Iframe:
			replace(n, videoLink(n))
		}
	}
	normalize(body)
	for n := range elements(body) {
		dropUnkept(n)
		if v := attr(n, "data-tag"); v != "" {
			if ts, ok := parseTagsTitles(v); ok {
				label := tagLabel(ts)
				if n.DataAtom == atom.Img {
					n.Parent.InsertBefore(label, n)
				} else {
					n.InsertBefore(label, n.FirstChild)
				}
			}
		}
	}
	var buf bytes.Buffer
	for c := body.FirstChild; c != nil; c = c.NextSibling {
		_ = html.Render(&buf, c) // writes to a bytes.Buffer cannot fail
	}
	return bytes.TrimSpace(policy().SanitizeBytes(buf.Bytes()))
}

// dropUnkept removes the attributes bluemonday would drop anyway and that cost it the most
// on a OneNote page: OneNote's data-id (and any data-* but data-tag: the policy does not allow
// data attributes) and styles with nothing the policy keeps (see mayKeepStyle).
func dropUnkept(n *html.Node) {
	n.Attr = slices.DeleteFunc(n.Attr, func(a html.Attribute) bool {
		if a.Namespace != "" {
			return false
		}
		if a.Key == "style" {
			return !mayKeepStyle(a.Val)
		}
		return strings.HasPrefix(a.Key, "data-") && a.Key != "data-tag"
	})
}

// keptStyles are the properties the policy allows (on some element), or a part of each that a
// declaration bluemonday keeps must contain.
var keptStyles = []string{"font-", "text-", "color", "vertical-align", "border"}

// mayKeepStyle reports whether bluemonday could keep anything of a style attribute. Most of
// OneNote's styles are layout (position, top, left, width, margin), which the policy drops;
// bluemonday finds that out by running a CSS tokenizer over each one, which is most of its
// time on a OneNote page. A declaration it keeps has a property that, lower-cased and less
// any vendor prefix, is allowed; its name is made of the attribute's characters unless CSS
// escapes or comments are involved, so without a backslash or "/*" in the attribute and
// without any allowed name in it, nothing can be kept.
func mayKeepStyle(style string) bool {
	if strings.Contains(style, `\`) || strings.Contains(style, "/*") {
		return true
	}
	style = strings.ToLower(style)
	for _, k := range keptStyles {
		if strings.Contains(style, k) {
			return true
		}
	}
	return false
}

// sanitizeImage keeps a Graph image as <img src=url(r)>, and only its alt text otherwise:
// an image from another origin would make the viewer's browser call that origin.
func sanitizeImage(n *html.Node, url func(Resource) string) {
	r := imageRef(n)
	src := resolve(r, url)
	if src == "" {
		var alt *html.Node
		if r.res.Name != "" {
			alt = text("🖼 " + r.res.Name)
		}
		if v := attr(n, "data-tag"); v != "" && alt != nil {
			// keep the tag: it is shown before the alt text
			span := element("span", "data-tag", v)
			span.AppendChild(alt)
			alt = span
		}
		replace(n, alt)
		return
	}
	img := element("img", "src", src, "alt", r.res.Name)
	for _, k := range []string{"width", "height", "data-tag"} {
		if v := attr(n, k); v != "" {
			setAttr(img, k, v) // bluemonday checks the values
		}
	}
	replace(n, img)
}

// resolve returns fn(resource) for a valid Graph resource, "" otherwise.
func resolve(r ref, fn func(Resource) string) string {
	if !r.ok || fn == nil {
		return ""
	}
	return strings.TrimSpace(fn(r.res))
}

// videoLink turns an embedded video (<iframe data-original-src="https://youtube...">) into a
// plain link to it; nil when it has no http(s) address.
func videoLink(n *html.Node) *html.Node {
	orig := strings.TrimSpace(attr(n, "data-original-src"))
	if !isWebURL(orig) {
		return nil
	}
	a := element("a", "href", orig)
	a.AppendChild(text("▶ " + orig))
	return a
}

// tagLabel is the visible form of a note tag in HTML: a check box and/or the tag's emoji and
// label, with OneNote's names as a tooltip.
func tagLabel(ts tagSet) *html.Node {
	class := "notemd-tag"
	switch {
	case ts.check && ts.done:
		class += " notemd-done"
	case ts.check:
		class += " notemd-todo"
	}
	span := element("span", "class", class, "title", strings.Join(ts.titles, ", "))
	span.AppendChild(text(ts.box() + ts.prefix))
	return span
}
