package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/graphauth/graphauth/internal/stacktest"
)

const (
	// stepTimeout bounds every step (a click, the pages it leads to, the checks), so a hang
	// fails the step instead of stalling `make test`.
	stepTimeout = 10 * time.Second
	// browserTimeout bounds the browser's whole life: when it ends, Chromium is stopped.
	browserTimeout = 120 * time.Second
)

// browserNames are the executables tried, in order, on $PATH.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome"}

// findBrowser returns the path of a Chromium-based browser. Without one the test skips, or fails
// under CI=true, where a missing browser must not turn the end-to-end test into a silent pass.
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("no browser found on $PATH (tried %s): install Chromium, e.g. `apt-get install chromium`, to run the end-to-end browser test",
		strings.Join(browserNames, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startBrowser starts headless Chromium with a fresh profile and returns its root context;
// tabs come from newTab. The browser trusts the emulator's TLS certificate by its public key
// only (--ignore-certificate-errors-spki-list), so every other certificate is still checked.
func startBrowser(t *testing.T, execPath, emulatorSPKI string) context.Context {
	t.Helper()
	profile := t.TempDir() // made before the browser's cleanup, so removed after Chromium exits
	// Chromium's own temporary files (singleton socket, shared memory). Not t.TempDir: a long
	// test name would push the singleton socket's path past the 108 bytes a Unix socket allows.
	scratch, err := os.MkdirTemp("", "chr")
	if err != nil {
		t.Fatal(err)
	}
	output := &stacktest.SyncBuffer{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // root in containers and CI
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true), // /dev/shm is tiny in containers
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true), // cleaner screenshots
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1280, 900),
		// Chromium needs --user-data-dir for this flag to take effect.
		chromedp.Flag("ignore-certificate-errors-spki-list", emulatorSPKI),
		chromedp.CombinedOutput(output),
		// Without this Chromium leaves org.chromium.Chromium.* folders in /tmp after every run.
		chromedp.Env("TMPDIR=" + scratch),
	}
	deadline, cancelDeadline := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(deadline, opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for Chromium to exit
		cancelDeadline()
		_ = os.RemoveAll(scratch)
		if t.Failed() {
			t.Logf("chromium output:\n%s", output.String())
		}
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, under browserTimeout
		t.Fatalf("start %s: %v\n%s", execPath, err, output.String())
	}
	return ctx
}

// tab is one browser tab in its own browser context (its own cookies), with what it has seen.
type tab struct {
	t       *testing.T
	ctx     context.Context
	appBase string // pages under it are the app's and get the app's checks
	shots   *screenshots

	mu       sync.Mutex
	problems []string // console errors, exceptions, CSP violations not yet reported
	requests []string // every URL the tab requested, until takeRequests

	// documents are the request IDs of page loads (touched only by watch, on one goroutine).
	documents map[network.RequestID]bool
}

// newTab opens a tab in a fresh browser context, so each journey starts with no cookies.
func newTab(t *testing.T, browser context.Context, appBase string, shots *screenshots) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &tab{t: t, ctx: ctx, appBase: appBase, shots: shots, documents: map[network.RequestID]bool{}}
	if err := chromedp.Listen(ctx, b.watch); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return b
}

// watch runs on chromedp's event loop: it must only record.
func (b *tab) watch(ev any) {
	var p string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		p = "uncaught exception: " + exceptionText(ev.ExceptionDetails)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			p = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
		}
	case *network.EventRequestWillBeSent:
		if ev.Type == network.ResourceTypeDocument {
			b.documents[ev.RequestID] = true
		}
		b.mu.Lock()
		b.requests = append(b.requests, ev.Request.URL)
		b.mu.Unlock()
	case *page.EventJavascriptDialogOpening:
		p = "a page opened a JavaScript dialog: " + ev.Message
	case *log.EventEntryAdded:
		e := ev.Entry
		csp := strings.Contains(e.Text, "Content Security Policy") || strings.Contains(e.Text, "Content-Security-Policy")
		switch {
		case csp:
			// A CSP violation ("Refused to load ... because it violates the following Content
			// Security Policy directive") is a problem at any level.
		case e.Level != log.EntryLevelError:
			return
		case e.Source == log.EntrySourceNetwork && b.documents[e.NetworkRequestID]:
			// "Failed to load resource: 400" for the page itself: the error page's status is by
			// design, and each step checks what its page says.
			return
		}
		p = fmt.Sprintf("browser log (%s %s): %s %s", e.Source, e.Level, e.Text, e.URL)
	}
	if p != "" {
		b.mu.Lock()
		b.problems = append(b.problems, p)
		b.mu.Unlock()
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return ""
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d)", s, d.URL, d.LineNumber+1)
}

// takeProblems returns and forgets what the watcher recorded.
// takeRequests returns the URLs the tab requested since the last call.
func (b *tab) takeRequests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.requests
	b.requests = nil
	return r
}

func (b *tab) takeProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// step is one thing the user does, with what they must see afterwards. Journeys are lists of
// steps, so a new page is one more entry.
type step struct {
	name string // what the user does, for failure messages
	shot string // screenshot name (test-output/screenshots/NN-shot.png); "" for none
	do   func(ctx context.Context, b *tab) error
}

// run runs the steps in order, each under stepTimeout, and stops at the first failure. After
// each step it checks the page (stylesheet loaded, no console error or CSP violation) and saves
// its screenshot; a failed step's screenshot is saved too, named ...-FAILED.png.
func (b *tab) run(steps []step) {
	b.t.Helper()
	for _, s := range steps {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		err := s.do(ctx, b)
		if err == nil {
			err = b.checkPage(ctx)
		}
		if err == nil {
			// Late console entries (a stylesheet or script that failed after load) count
			// against the page that caused them.
			err = b.settle(ctx)
		}
		cancel()
		for _, p := range b.takeProblems() {
			b.t.Errorf("step %q: %s", s.name, p)
		}
		// A fresh deadline: the step's may be what ran out.
		ctx, cancel = context.WithTimeout(b.ctx, stepTimeout)
		if s.shot != "" || err != nil {
			name := s.shot
			if name == "" {
				name = strings.ReplaceAll(s.name, " ", "-")
			}
			if err != nil {
				name += "-FAILED"
			}
			b.screenshot(ctx, name)
		}
		if err != nil {
			where, shows := b.location(ctx), b.pageText(ctx)
			cancel()
			b.t.Fatalf("step %q failed at %s: %v\npage shows: %s", s.name, where, err, shows)
		}
		cancel()
	}
}

// settle waits until the page is loaded and the browser has reported what it found, by
// sending one more round trip after the load event.
func (b *tab) settle(ctx context.Context) error {
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => requestAnimationFrame(() => setTimeout(() => r(true), 0)))`, chromedp.EvalAwaitPromise))
	return err
}

// checkPage checks what every page must have: it finished loading and its stylesheets loaded
// (a blocked or missing one leaves its <link> with no sheet); on the app's pages, the app's own
// styles applied and the buttons of a row stand equally tall.
func (b *tab) checkPage(ctx context.Context) error {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](pageLoadedJS, chromedp.EvalAwaitPromise)); err != nil {
		return fmt.Errorf("waiting for the page to load: %w", err)
	}
	problem, err := chromedp.Run(ctx, chromedp.Evaluate[string](stylesheetsJS))
	if err != nil {
		return fmt.Errorf("reading stylesheets: %w", err)
	}
	if problem != "" {
		return errors.New(problem)
	}
	if !strings.HasPrefix(b.location(ctx), b.appBase+"/") {
		return nil
	}
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".jumbotron")).backgroundColor`))
	if err != nil {
		return fmt.Errorf("reading the .jumbotron style: %w", err)
	}
	if bg == "" || bg == "transparent" || bg == "rgba(0, 0, 0, 0)" {
		return fmt.Errorf("the app's stylesheet did not apply: .jumbotron background is %q", bg)
	}
	problem, err = chromedp.Run(ctx, chromedp.Evaluate[string](buttonRowsJS))
	if err != nil {
		return fmt.Errorf("measuring buttons: %w", err)
	}
	if problem != "" {
		return errors.New(problem)
	}
	return nil
}

// buttonRowsJS: the buttons of one row (links and form buttons styled .btn) stand equally tall.
const buttonRowsJS = `(() => {
	for (const row of document.querySelectorAll(".actions")) {
		const btns = [...row.querySelectorAll(".btn")];
		const hs = btns.map(b => Math.round(b.getBoundingClientRect().height));
		if (new Set(hs).size > 1) return "buttons of one row differ in height: " + btns.map((b, i) => b.textContent.trim() + "=" + hs[i] + "px").join(", ");
	}
	return "";
})()`

const pageLoadedJS = `new Promise(r => document.readyState === "complete" ? r(true) : addEventListener("load", () => r(true)))`

const stylesheetsJS = `(() => {
	const links = document.querySelectorAll('link[rel="stylesheet"]');
	if (links.length === 0) return "the page links no stylesheet";
	for (const l of links) {
		if (!l.sheet) return "stylesheet " + l.href + " did not load";
		try { if (l.sheet.cssRules.length === 0) return "stylesheet " + l.href + " is empty"; }
		catch (e) { return "stylesheet " + l.href + " is unreadable: " + e; }
	}
	return "";
})()`

// location is the tab's current URL, or a note saying why it is unknown.
func (b *tab) location(ctx context.Context) string {
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(location unknown: " + err.Error() + ")"
	}
	return loc
}

// pageText is the start of the page's visible text, for failure messages.
func (b *tab) pageText(ctx context.Context) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ""`))
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return strings.Join(strings.Fields(s), " ")
}

// open loads a URL (absolute, or a path on the app).
func (b *tab) open(ctx context.Context, target string) error {
	if strings.HasPrefix(target, "/") {
		target = b.appBase + target
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(target)); err != nil {
		return fmt.Errorf("open %s: %w", target, err)
	}
	return nil
}

// click clicks the element matched by the CSS selector and waits for the element that proves
// the next page arrived (next, a CSS selector absent from the current page).
func (b *tab) click(ctx context.Context, sel, next string) error {
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		return fmt.Errorf("click %s: %w", sel, err)
	}
	return b.waitFor(ctx, next)
}

func (b *tab) waitFor(ctx context.Context, sel string) error {
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		return fmt.Errorf("waiting for %s: %w", sel, err)
	}
	return nil
}

// text is the visible text of the element matched by sel.
func (b *tab) text(ctx context.Context, sel string) (string, error) {
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		return "", fmt.Errorf("text of %s: %w", sel, err)
	}
	return s, nil
}

// expectText checks that the element's visible text holds every part.
func (b *tab) expectText(ctx context.Context, sel string, parts ...string) error {
	s, err := b.text(ctx, sel)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return fmt.Errorf("%s shows %q, want it to contain %q", sel, s, p)
		}
	}
	return nil
}

// expectAt checks that the tab is at the URL (prefix match on the whole URL, or the path on
// the app when want starts with "/", ignoring the query).
func (b *tab) expectAt(ctx context.Context, want string) error {
	loc := b.location(ctx)
	if strings.HasPrefix(want, "/") {
		u, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(loc, b.appBase+"/") || u.Path != want {
			return fmt.Errorf("at %s, want the app's %s", loc, want)
		}
		return nil
	}
	if !strings.HasPrefix(loc, want) {
		return fmt.Errorf("at %s, want %s...", loc, want)
	}
	return nil
}

// screenshots saves full-page PNGs, numbered in the order they are taken.
type screenshots struct {
	dir string
	n   int
}

// newScreenshots prepares test-output/screenshots at the repository root, removing the
// numbered screenshots of an earlier run so that none is mistaken for this run's.
func newScreenshots(t *testing.T) *screenshots {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "test-output", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot dir: %v", err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "[0-9][0-9]-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	return &screenshots{dir: dir}
}

// screenshot saves the current page as the next numbered PNG. A failure to take or write it is
// reported but does not stop the journey.
func (b *tab) screenshot(ctx context.Context, name string) {
	b.shots.n++
	file := filepath.Join(b.shots.dir, fmt.Sprintf("%02d-%s.png", b.shots.n, name))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}
