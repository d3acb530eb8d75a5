// Package notemd turns a OneNote page's output HTML (untrusted: anyone who shares a notebook
// writes it) into HTML that is safe to show and into Markdown. Pure functions: no I/O, no Graph.
//
// Both outputs start from the same repaired parse (parse.go): XML-style <object/> and
// <iframe/> closed, OneNote's absolutely positioned outline divs put in reading order, and
// every image or attachment resolved to a Graph resource id (resources.go). Sanitize
// (sanitize.go) then lets bluemonday decide what is safe; Markdown (markdown.go) rewrites
// OneNote's habits (styled spans, data-tag check boxes, Consolas code, tables) into plain
// elements and lets html-to-markdown render them, with a few rules of its own.
package notemd

// Resource is an image or attachment a page refers to by its Graph resource URL.
type Resource struct {
	ID   string // the path segment after "resources" in the URL, e.g. 0-abc!1-def
	Kind string // "image" or "attachment"
	Type string // content type from data-src-type (images) or type (attachments); "" when absent
	Name string // an attachment's data-attachment file name; an image's alt text (may be "")
	// FullRes is true when the URL came from data-fullres-src (the full-resolution image).
	FullRes bool
}

// Resources lists every image and attachment of the page, in reading order, each ID once.
// For an image with data-fullres-src, the full-resolution resource is the one listed.
// URLs whose id is not a plain OneNote id (letters, digits, - ! _ .) are left out.
func Resources(page []byte) ([]Resource, error) {
	p, err := parsePage(page)
	if err != nil {
		return nil, err
	}
	return collectResources(p.body), nil
}

// Sanitize returns the page body as HTML that is safe to render (bluemonday, no script, no
// event handlers, no javascript: URLs, no iframe/object/form/style elements, only harmless
// inline styles), with OneNote's absolutely positioned divs in reading order (top to bottom,
// then left to right) and every image/attachment URL replaced by url(resource) (images as
// <img>, attachments as a download link with the file name).
//
// The result is a fragment (the body's content, no <html> or <body>). Images that are not
// Graph resources are dropped (their alt text kept), so showing the page makes no request to
// another origin; when url returns "" for a resource, that image or attachment is dropped too.
func Sanitize(page []byte, url func(Resource) string) ([]byte, error) {
	p, err := parsePage(page)
	if err != nil {
		return nil, err
	}
	return sanitizeBody(p.body, url), nil
}

// Markdown converts the page to GitHub-flavoured Markdown with OneNote's rules; link(resource)
// gives the relative path each image or attachment is written under (e.g. "assets/photo.png").
// The page's title becomes the first "# " heading.
//
// When link returns "" for a resource, the image is replaced by its alt text and the
// attachment is left out.
func Markdown(page []byte, link func(Resource) string) (string, error) {
	p, err := parsePage(page)
	if err != nil {
		return "", err
	}
	link = memoLink(link, p.resourceCount())
	rewriteForMarkdown(p, link)
	if md, ok := renderDirect(pageDoc(p), len(page)); ok {
		return md, nil
	}
	return markdownViaLibrary(page, link)
}

// Title returns the page's <title> text ("" if none).
func Title(page []byte) string {
	p, err := parsePage(page)
	if err != nil {
		return ""
	}
	return p.title
}
