// Package notemd turns a OneNote page's output HTML (untrusted: anyone who shares a notebook
// writes it) into HTML that is safe to show and into Markdown. Pure functions: no I/O, no Graph.
package notemd

// Resource is an image or attachment a page refers to by its Graph resource URL.
type Resource struct {
	ID   string // the path segment after "resources" in the URL, e.g. 0-abc!1-def
	Kind string // "image" or "attachment"
	Type string // content type from data-src-type (images) or type (attachments); "" when absent
	Name string // an attachment's data-attachment file name; an image's alt text (may be "")
	// FullRes is true when the URL came from data-fullres-src (the full-resolution image).
}

// Resources lists every image and attachment of the page, in reading order, each ID once.
// For an image with data-fullres-src, the full-resolution resource is the one listed.
func Resources(page []byte) ([]Resource, error) { panic("todo") }

// Sanitize returns the page body as HTML that is safe to render (bluemonday, no script, no
// event handlers, no javascript: URLs, no iframe/object/form/style elements, only harmless
// inline styles), with OneNote's absolutely positioned divs in reading order (top to bottom,
// then left to right) and every image/attachment URL replaced by url(resource) (images as
// <img>, attachments as a download link with the file name).
func Sanitize(page []byte, url func(Resource) string) ([]byte, error) { panic("todo") }

// Markdown converts the page to GitHub-flavoured Markdown with OneNote's rules; link(resource)
// gives the relative path each image or attachment is written under (e.g. "assets/photo.png").
// The page's title becomes the first "# " heading.
func Markdown(page []byte, link func(Resource) string) (string, error) { panic("todo") }

// Title returns the page's <title> text ("" if none).
func Title(page []byte) string { panic("todo") }

// FileName makes a title into a file or folder name safe on Windows, macOS and Linux (no
// reserved characters or names, no trailing dot or space, at most 100 bytes of UTF-8, never
// empty: "Untitled"). It adds no extension.
func FileName(title string) string { panic("todo") }

// Names hands out unique names in one folder, compared as Windows and macOS do (case-folded,
// Unicode-normalised): a second "Notes.md" becomes "Notes (2).md". The zero value is ready.
type Names struct{ used map[string]bool }

// Unique returns name, or name with " (n)" before its extension, not handed out before.
func (n *Names) Unique(name string) string { panic("todo") }

// AssetName is the file name for a resource: the attachment's name, or the image's alt text,
// or "image", made safe with FileName, with an extension matching its content type.
func AssetName(r Resource) string { panic("todo") }
