// Package export writes OneNote pages as Markdown files and zips: one page with its images and
// attachments (the page download), and whole sections and notebooks. It fetches through the
// caller's functions and converts with notemd; it knows nothing of HTTP handlers or sessions.
package export

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/graphauth/graphauth/internal/notemd"
)

// OpenResource opens one image or attachment of a page by its resource id (the caller streams
// it from Graph). The caller of WritePage closes nothing: WritePage closes each body.
type OpenResource func(ctx context.Context, id string) (io.ReadCloser, error)

// PageFiles are the names a page is written under: the Markdown file and each resource's file,
// relative to the folder the Markdown file is in.
type PageFiles struct {
	Markdown string            // e.g. "Trip plan.md"
	Assets   map[string]string // resource id -> "assets/map.png"
	Order    []notemd.Resource // resources in reading order
}

// PlanPage names a page's files: its Markdown file from the title, each resource under assets/
// with a name unique in that folder (case-insensitively: two images called "image.png" never
// overwrite each other).
func PlanPage(title string, resources []notemd.Resource, assets *notemd.Names) PageFiles {
	pf := PageFiles{Markdown: notemd.FileName(title) + ".md", Assets: map[string]string{}, Order: resources}
	for _, r := range resources {
		pf.Assets[r.ID] = "assets/" + assets.Unique(notemd.AssetName(r))
	}
	return pf
}

// PageMarkdown converts a page with links to the planned asset files.
func PageMarkdown(content []byte, pf PageFiles) (string, error) {
	md, err := notemd.Markdown(content, func(r notemd.Resource) string { return pf.Assets[r.ID] })
	if err != nil {
		return "", fmt.Errorf("convert page to markdown: %w", err)
	}
	return md, nil
}

// WritePage writes one page as a zip to w: "<title>.md" and assets/ with every image and
// attachment, each byte for byte as Graph served it, linked relatively from the Markdown. It
// returns the planned files. Nothing is left half-written on error beyond what w holds.
func WritePage(ctx context.Context, w io.Writer, title string, content []byte, modified time.Time, open OpenResource) (PageFiles, error) {
	resources, err := notemd.Resources(content)
	if err != nil {
		return PageFiles{}, fmt.Errorf("find the page's resources: %w", err)
	}
	pf := PlanPage(title, resources, &notemd.Names{})
	md, err := PageMarkdown(content, pf)
	if err != nil {
		return PageFiles{}, err
	}
	zw := zip.NewWriter(w)
	if err := writeText(zw, pf.Markdown, modified, md); err != nil {
		return PageFiles{}, err
	}
	for _, r := range pf.Order {
		if err := copyResource(ctx, zw, pf.Assets[r.ID], modified, r.ID, open); err != nil {
			return PageFiles{}, err
		}
	}
	if err := zw.Close(); err != nil {
		return PageFiles{}, fmt.Errorf("finish zip: %w", err)
	}
	return pf, nil
}

// copyResource streams one resource into the zip under name.
func copyResource(ctx context.Context, zw *zip.Writer, name string, modified time.Time, id string, open OpenResource) error {
	body, err := open(ctx, id)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", path.Base(name), err)
	}
	defer body.Close()
	// Images and PDFs are compressed already: store them as they are.
	return writeFile(zw, name, modified, zip.Store, func(fw io.Writer) error {
		if _, err := io.Copy(fw, body); err != nil {
			return fmt.Errorf("copy %s: %w", path.Base(name), err)
		}
		return nil
	})
}

func writeFile(zw *zip.Writer, name string, modified time.Time, method uint16, write func(io.Writer) error) error {
	if modified.IsZero() {
		modified = time.Now()
	}
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: modified.UTC()})
	if err != nil {
		return fmt.Errorf("zip entry %s: %w", name, err)
	}
	return write(fw)
}

// writeText adds a text file (Markdown), deflated.
func writeText(zw *zip.Writer, name string, modified time.Time, text string) error {
	return writeFile(zw, name, modified, zip.Deflate, func(w io.Writer) error {
		_, err := io.WriteString(w, text)
		return err
	})
}
