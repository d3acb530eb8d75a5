package web_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/stacktest"
)

// notesStack is the real app and emulator with Graph's OneNote throttle sped up 50 times on both
// sides (6,000 requests a minute instead of 120), so retries and backoff take milliseconds.
func notesStack(t *testing.T, o stacktest.Options) *stacktest.Stack {
	t.Helper()
	if o.Env == nil {
		o.Env = map[string]string{}
	}
	o.Env["ONENOTE_REQUESTS_PER_MINUTE"] = "6000"
	inner := o.EmuConfig
	o.EmuConfig = func(c *emulator.Config) {
		c.OneNote.ClockSpeed = 50
		if inner != nil {
			inner(c)
		}
	}
	return stacktest.Start(t, o)
}

var allowNotesHref = regexp.MustCompile(`id="allow-notes" href="([^"]+)"`)

// consentURL opens the incremental consent page and returns its button's authorize URL.
func consentURL(t *testing.T, h *stacktest.Stack, c *http.Client, next string) string {
	t.Helper()
	p := h.Get(c, "/notes/consent?next="+url.QueryEscape(next))
	m := allowNotesHref.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("consent page %d without an allow button:\n%s", p.Status, p.Body)
	}
	return html.UnescapeString(m[1])
}

// signInWithNotes signs in and consents to Notes.Read, as a user's first visit to /notes does.
func signInWithNotes(t *testing.T, h *stacktest.Stack) *http.Client {
	t.Helper()
	c := h.Browser()
	h.SignIn(c)
	p := h.Get(c, "/notes")
	if p.URL.Path != "/notes/consent" {
		t.Fatalf("first /notes ended at %s, want the consent page", p.URL)
	}
	p = h.Get(c, consentURL(t, h, c, "/notes"))
	if p.Status != http.StatusOK || p.URL.Path != "/notes" {
		t.Fatalf("after consent: %s %d\n%s", p.URL, p.Status, p.Body)
	}
	return c
}

func TestNotesIncrementalConsent(t *testing.T) {
	h := notesStack(t, stacktest.Options{})
	c := h.Browser()

	// Sign-in asks for SCOPE only, as an OpenID Connect request.
	signIn, _ := url.Parse(h.AuthorizeURL(c))
	scope := strings.Fields(signIn.Query().Get("scope"))
	for _, want := range []string{"User.ReadBasic.All", "openid", "profile", "offline_access"} {
		if !contains(scope, want) {
			t.Errorf("sign-in scope %q lacks %s", scope, want)
		}
	}
	if contains(scope, "Notes.Read") {
		t.Errorf("sign-in already asks for Notes.Read: %q", scope)
	}
	h.SignIn(c)

	// The first visit to a notes page sends the user to consent, keeping the page asked for.
	nf := stacktest.NoFollow(c)
	resp, err := nf.Get(h.Base + "/notes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/notes/consent?next=") {
		t.Fatalf("first /notes: %d Location %q, want a redirect to /notes/consent", resp.StatusCode, loc)
	}
	auth, _ := url.Parse(consentURL(t, h, c, "/notes"))
	q := auth.Query()
	scope = strings.Fields(q.Get("scope"))
	for _, want := range []string{"Notes.Read", "openid", "profile", "offline_access"} {
		if !contains(scope, want) {
			t.Errorf("consent scope %q lacks %s", scope, want)
		}
	}
	if contains(scope, "User.ReadBasic.All") {
		t.Errorf("incremental consent asks for the sign-in's scope again: %q", scope)
	}
	if q.Get("login_hint") == "" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" {
		t.Errorf("incremental authorize lacks login_hint, PKCE, state or nonce: %s", auth)
	}
	p := h.Get(c, auth.String())
	if p.URL.Path != "/notes" || p.Status != http.StatusOK {
		t.Fatalf("after consent ended at %s (%d):\n%s", p.URL, p.Status, p.Body)
	}
	stacktest.MustContain(t, p, `class="section-link"`, `id="notebooks"`)

	// Consent is remembered: the next visit goes straight in, and the rest of the app still works.
	if p := h.Get(c, "/notes"); p.URL.Path != "/notes" || p.Status != http.StatusOK {
		t.Fatalf("second /notes ended at %s (%d)", p.URL, p.Status)
	}
	if p := h.Get(c, "/msal-demo"); p.Status != http.StatusOK {
		t.Fatalf("/msal-demo after consent: %d\n%s", p.Status, p.Body)
	}
	// /flow shows the second authorization as its own steps.
	p = h.Get(c, "/flow")
	stacktest.MustContain(t, p, `id="flow-consent"`, "incremental consent", `id="consent-authorize-params"`, "Notes.Read", `id="consent-token-exchange"`)
}

func TestNotesConsentReturnsToThePageAskedFor(t *testing.T) {
	h := notesStack(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	sec := firstSectionID(t, h)
	p := h.Get(c, "/notes/sections/"+sec)
	if p.URL.Path != "/notes/consent" {
		t.Fatalf("ended at %s, want consent", p.URL)
	}
	next := p.URL.Query().Get("next")
	p = h.Get(c, consentURL(t, h, c, next))
	if p.URL.Path != "/notes/sections/"+sec || p.Status != http.StatusOK {
		t.Fatalf("after consent ended at %s (%d), want the section", p.URL, p.Status)
	}
	// A "next" off this app is never followed.
	for _, evil := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
		au, _ := url.Parse(consentURL(t, h, c, evil))
		cb := h.CallbackURL(c, au.String())
		resp, err := stacktest.NoFollow(c).Get(cb)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/notes" {
			t.Errorf("next=%q: callback sent the browser to %q, want /notes", evil, loc)
		}
		// The same through the sign-in page's own ?next=.
		lp := h.Get(c, "/login?next="+url.QueryEscape(evil))
		m := regexp.MustCompile(`id="sign-in" href="([^"]+)"`).FindStringSubmatch(lp.Body)
		if m == nil {
			t.Fatalf("no sign-in link:\n%s", lp.Body)
		}
		cb = h.CallbackURL(c, html.UnescapeString(m[1]))
		resp, err = stacktest.NoFollow(c).Get(cb)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("login next=%q: callback sent the browser to %q, want /", evil, loc)
		}
	}
	// A path on this app is kept.
	lp := h.Get(c, "/login?next="+url.QueryEscape("/flow?x=1"))
	m := regexp.MustCompile(`id="sign-in" href="([^"]+)"`).FindStringSubmatch(lp.Body)
	resp, err := stacktest.NoFollow(c).Get(h.CallbackURL(c, html.UnescapeString(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/flow?x=1" {
		t.Errorf("login next=/flow?x=1: callback sent the browser to %q", loc)
	}
}

func TestNotesConsentDeclinedKeepsTheSignIn(t *testing.T) {
	h := notesStack(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	au, _ := url.Parse(consentURL(t, h, c, "/notes"))
	state := au.Query().Get("state")
	p := h.Get(c, "/getAToken?error=access_denied&error_description="+url.QueryEscape("AADSTS65004: User declined to consent to access the app.")+"&state="+url.QueryEscape(state))
	if p.Status != http.StatusForbidden {
		t.Fatalf("declined consent: %d, want 403\n%s", p.Status, p.Body)
	}
	stacktest.MustContain(t, p, "OneNote access not granted", "You are still signed in", "AADSTS65004")
	if p := h.Get(c, "/"); !strings.Contains(p.Body, `id="welcome"`) {
		t.Fatalf("after declining, / no longer welcomes the user:\n%s", p.Body)
	}
	if p := h.Get(c, "/msal-demo"); p.Status != http.StatusOK {
		t.Fatalf("after declining, /msal-demo: %d", p.Status)
	}
}

func TestNotesSectionListsAThousandPages(t *testing.T) {
	h := notesStack(t, stacktest.Options{})
	sec, err := h.Emu.AddOneNoteSection(h.Users[0].ID, "Big notebook", "Thousand", 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := signInWithNotes(t, h)
	p := h.Get(c, "/notes/sections/"+sec)
	if p.Status != http.StatusOK {
		t.Fatalf("section: %d\n%s", p.Status, p.Body[:min(len(p.Body), 2000)])
	}
	if got := strings.Count(p.Body, `class="page lvl-`); got != 1000 {
		t.Errorf("listed %d pages, want 1000", got)
	}
	stacktest.MustContain(t, p, "1000 pages")
}

// A page written by someone hostile: nothing in it runs, and nothing leaves for another origin.
const hostilePage = `<html><head><title>Hostile</title><base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example/"></head>
<body><div style="position:absolute;left:0;top:0"><p>Visible text</p>
<script>alert(1)</script><img src="x" onerror="alert(2)"><a href="javascript:alert(3)">click</a>
<a href="JaVaScRiPt:alert(4)">click2</a><iframe src="https://evil.example/frame"></iframe>
<form action="https://evil.example/steal"><input name="p"></form><svg onload="alert(5)"></svg>
<p style="position:fixed;top:0;left:0;width:100%;height:100%;background:url(https://evil.example/bg.png)">overlay</p>
<img src="https://evil.example/track.png" alt="tracker"><style>body{background:url(https://evil.example/css)}</style>
<object data="https://evil.example/x.swf"></object></div></body></html>`

func TestNotesHostilePageIsInert(t *testing.T) {
	h := notesStack(t, stacktest.Options{})
	sec := firstSectionID(t, h)
	pageID, err := h.Emu.AddOneNotePage(h.Users[0].ID, sec, "Hostile", hostilePage, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := signInWithNotes(t, h)
	p := h.Get(c, "/notes/pages/"+pageID+"/body")
	if p.Status != http.StatusOK {
		t.Fatalf("body: %d\n%s", p.Status, p.Body)
	}
	csp := p.Header.Get("Content-Security-Policy")
	if !strings.HasPrefix(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "allow-scripts") ||
		strings.Contains(csp, "allow-forms") || strings.Contains(csp, "allow-top-navigation") || strings.Contains(csp, "script-src") {
		t.Errorf("body CSP = %q, want a sandbox without scripts, forms or top navigation, and default-src 'none'", csp)
	}
	if !strings.Contains(p.Body, "Visible text") {
		t.Errorf("the page's text is gone:\n%s", p.Body)
	}
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		t.Fatal(err)
	}
	var body *html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "body" {
			body = n
		}
	}
	for n := range body.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "script", "iframe", "form", "input", "object", "embed", "base", "meta", "svg":
			t.Errorf("sanitized page keeps <%s>", n.Data)
		}
		for _, at := range n.Attr {
			v := strings.ToLower(at.Val)
			if strings.HasPrefix(at.Key, "on") || strings.Contains(v, "javascript:") || strings.Contains(v, "evil.example") ||
				strings.Contains(v, "position:fixed") || strings.Contains(v, "url(") {
				t.Errorf("sanitized page keeps <%s %s=%q>", n.Data, at.Key, at.Val)
			}
		}
	}
	// The page view shows Graph's HTML as escaped text: the script is visible, never live.
	p = h.Get(c, "/notes/pages/"+pageID)
	stacktest.MustContain(t, p, `id="page-frame"`, `src="/notes/pages/`+pageID+`/body"`, "&lt;script&gt;alert(1)&lt;/script&gt;")
	if strings.Contains(p.Body, "<script>alert(1)") {
		t.Error("the page view contains the page's script unescaped")
	}
}

func TestNotesRefusesIDsThatCouldChangeTheGraphPath(t *testing.T) {
	h := notesStack(t, stacktest.Options{})
	c := signInWithNotes(t, h)
	before := h.Emu.OneNoteStats().Requests
	for _, raw := range []string{
		"/notes/pages/..%2F..%2Fme", "/notes/pages/a%2Fb", "/notes/pages/a%3Fb", "/notes/pages/a%23b",
		"/notes/pages/a%25b", "/notes/pages/..", "/notes/sections/..%2Fpages", "/notes/resources/x%2F..%2F..%2Fme",
		"/notes/pages/a%20b/markdown", "/notes/pages/a%5Cb/body",
	} {
		req, _ := http.NewRequest(http.MethodGet, h.Base+raw, nil)
		req.URL.RawPath = "" // send the path exactly as written
		req.URL.Opaque = "//" + req.URL.Host + raw
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 400", raw, resp.StatusCode)
		}
	}
	if got := h.Emu.OneNoteStats().Requests; got != before {
		t.Errorf("bad ids made %d OneNote calls, want none", got-before)
	}
}

func TestNotesMarkdownDownloads(t *testing.T) {
	h := notesStack(t, stacktest.Options{})
	sec := firstSectionID(t, h)
	plain, err := h.Emu.AddOneNotePage(h.Users[0].ID, sec, `a/b:c?..`, `<html><head><title>a/b:c?..</title></head><body><div style="position:absolute;left:0;top:0"><p data-tag="to-do">Buy milk</p></div></body></html>`, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := signInWithNotes(t, h)
	p := h.Get(c, "/notes/pages/"+plain+"/markdown")
	if p.Status != http.StatusOK || p.Header.Get("Content-Type") != "text/markdown; charset=utf-8" {
		t.Fatalf("plain page: %d %s\n%s", p.Status, p.Header.Get("Content-Type"), p.Body)
	}
	cd := p.Header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, "attachment") || strings.ContainsAny(strings.TrimPrefix(cd, "attachment; filename="), `/\:?`) || !strings.Contains(cd, ".md") {
		t.Errorf("Content-Disposition = %q, want a safe .md file name", cd)
	}
	stacktest.MustContain(t, p, "- [ ] Buy milk")

	// A page with images and attachments: a zip, each asset byte-identical, links resolving.
	withAssets, served := pageWithResources(t, h, sec)
	resp, err := c.Get(h.Base + "/notes/pages/" + withAssets + "/markdown")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("zip download: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var mdName string
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = b
		if strings.HasSuffix(f.Name, ".md") {
			mdName = f.Name
		}
	}
	if mdName == "" || strings.Contains(mdName, "/") {
		t.Fatalf("zip has no top-level .md: %v", keys(files))
	}
	links := regexp.MustCompile(`\]\((assets/[^)]+)\)`).FindAllStringSubmatch(string(files[mdName]), -1)
	if len(links) == 0 {
		t.Fatalf("markdown links no asset:\n%s", files[mdName])
	}
	for _, l := range links {
		target, _ := url.PathUnescape(l[1])
		if _, ok := files[path.Clean(target)]; !ok {
			t.Errorf("link %s resolves to nothing in the zip (%v)", l[1], keys(files))
		}
	}
	assets := 0
	for name, b := range files {
		if !strings.HasPrefix(name, "assets/") {
			continue
		}
		assets++
		if !matchesOne(b, served) {
			t.Errorf("%s is not byte-identical to any resource Graph served", name)
		}
	}
	if assets == 0 {
		t.Error("zip has no assets")
	}
}

func TestNotesResourceProxy(t *testing.T) {
	h := notesStack(t, stacktest.Options{})
	sec := firstSectionID(t, h)
	pageID, _ := pageWithResources(t, h, sec)
	c := signInWithNotes(t, h)
	p := h.Get(c, "/notes/pages/"+pageID+"/body")
	srcs := regexp.MustCompile(`src="(/notes/resources/[^"]+)"`).FindAllStringSubmatch(p.Body, -1)
	hrefs := regexp.MustCompile(`href="(/notes/resources/[^"]+)"`).FindAllStringSubmatch(p.Body, -1)
	if len(srcs) == 0 || len(hrefs) == 0 {
		t.Fatalf("body has no proxied image or attachment:\n%s", p.Body)
	}
	img := h.Get(c, html.UnescapeString(srcs[0][1]))
	if img.Status != http.StatusOK || !strings.HasPrefix(img.Header.Get("Content-Type"), "image/") || img.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("image: %d %q nosniff=%q", img.Status, img.Header.Get("Content-Type"), img.Header.Get("X-Content-Type-Options"))
	}
	att := h.Get(c, html.UnescapeString(hrefs[0][1]))
	if att.Status != http.StatusOK || !strings.HasPrefix(att.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("attachment: %d disposition %q", att.Status, att.Header.Get("Content-Disposition"))
	}
	// A type that a browser would run is never served as such.
	evil := h.Get(c, strings.SplitN(html.UnescapeString(hrefs[0][1]), "?", 2)[0]+"?type=text/html")
	if ct := evil.Header.Get("Content-Type"); strings.Contains(ct, "html") {
		t.Errorf("resource served as %q", ct)
	}
	// Signed out, the proxy serves nothing.
	if p := h.Get(h.Browser(), html.UnescapeString(srcs[0][1])); p.URL.Path != "/login" {
		t.Errorf("signed-out resource ended at %s (%d)", p.URL, p.Status)
	}
}

func TestNotesErrorPagesKeepTheSession(t *testing.T) {
	h := notesStack(t, stacktest.Options{Env: map[string]string{"OUTBOUND_TIMEOUT": "1s"}})
	c := signInWithNotes(t, h)
	sec := firstSectionID(t, h)
	for _, tc := range []struct {
		name   string
		fault  emulator.Fault
		path   string
		status int
		says   string
	}{
		{"not found", emulator.Fault{}, "/notes/pages/1-00000000000000000000000000000000!1-deadbeef", http.StatusNotFound, "20102"},
		{"throttled", emulator.Fault{Endpoint: "onenote", Status: 429, Error: "20166", Count: 50}, "/notes", http.StatusTooManyRequests, "20166"},
		{"too many sections", emulator.Fault{Endpoint: "onenote", Status: 400, Error: "20266", Count: 1}, "/notes", http.StatusBadGateway, "20266"},
		{"scope", emulator.Fault{Endpoint: "onenote:content", Status: 403, Error: "40004", Count: 1}, "/notes/pages/" + firstPageID(t, h, c, sec) + "/body", http.StatusForbidden, "40004"},
		{"graph down", emulator.Fault{Endpoint: "onenote", Status: 503, Error: "serviceNotAvailable", Count: 50}, "/notes", http.StatusBadGateway, "Graph is not answering"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault.Endpoint != "" {
				h.Emu.FailNext(tc.fault)
			}
			p := h.Get(c, tc.path)
			if p.Status != tc.status {
				t.Fatalf("%s: %d, want %d\n%s", tc.path, p.Status, tc.status, p.Body)
			}
			stacktest.MustContain(t, p, tc.says)
			drainFaults(h)
			if p := h.Get(c, "/"); !strings.Contains(p.Body, `id="welcome"`) {
				t.Fatalf("after the error page the user is signed out:\n%s", p.Body)
			}
		})
	}
	t.Run("graph slow", func(t *testing.T) {
		// OUTBOUND_TIMEOUT is 1 s here: each attempt gives up after 1 s, the page after 3.
		h.Emu.FailNext(emulator.Fault{Endpoint: "onenote", Delay: 5 * time.Second, Count: 50})
		defer drainFaults(h)
		p := h.Get(c, "/notes")
		if p.Status != http.StatusGatewayTimeout && p.Status != http.StatusBadGateway {
			t.Fatalf("slow Graph: %d\n%s\n%s", p.Status, p.Body, h.Logs.String())
		}
	})
}

func TestNotesUserWithoutOneNote(t *testing.T) {
	users := emulator.DemoUsers()
	h := notesStack(t, stacktest.Options{EmuConfig: func(c *emulator.Config) { c.Apps[0].AutoApproveUser = users[len(users)-1].ID }})
	c := h.Browser()
	h.SignIn(c)
	p := h.Get(c, "/notes")
	p = h.Get(c, consentURL(t, h, c, "/notes"))
	if p.Status != http.StatusNotFound {
		t.Fatalf("user without OneNote: %d\n%s", p.Status, p.Body)
	}
	stacktest.MustContain(t, p, "You have no OneNote")
}

// firstSectionID is a section of the first demo user's default notebooks.
func firstSectionID(t *testing.T, h *stacktest.Stack) string {
	t.Helper()
	ids := h.Emu.OneNoteSectionIDs(h.Users[0].ID)
	if len(ids) == 0 {
		t.Fatal("the emulator's first user has no sections")
	}
	return ids[0]
}

// pageWithResources adds a page with two images and an attachment.
func pageWithResources(t *testing.T, h *stacktest.Stack, sec string) (string, map[string][]byte) {
	t.Helper()
	res := map[string][]byte{
		"0-aa11!1-img":  pngBytes(1),
		"0-aa12!1-img":  pngBytes(2),
		"0-bb11!1-file": []byte("%PDF-1.4\n% a tiny attachment\n"),
	}
	base := h.Emu.URL() + "/v1.0/me/onenote/resources/"
	page := `<html><head><title>With pictures</title></head><body><div style="position:absolute;left:0;top:0">` +
		`<p>Two pictures and a file.</p><img src="` + base + `0-aa11!1-img/$value" data-src-type="image/png" alt="first" width="10" height="10" />` +
		`<img src="` + base + `0-aa12!1-img/$value" data-src-type="image/png" alt="" />` +
		`<object data="` + base + `0-bb11!1-file/$value" data-attachment="report.pdf" type="application/pdf" /></div></body></html>`
	id, err := h.Emu.AddOneNotePage(h.Users[0].ID, sec, "With pictures", page, res)
	if err != nil {
		t.Fatal(err)
	}
	return id, res
}

func matchesOne(b []byte, served map[string][]byte) bool {
	for _, s := range served {
		if bytes.Equal(b, s) {
			return true
		}
	}
	return false
}

func pngBytes(seed byte) []byte {
	return append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{seed}, 64)...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// drainFaults uses up what is left of the queued OneNote faults by failing them fast.
// Calls that a failed page left in flight may still arrive: let them, then reset.
func drainFaults(h *stacktest.Stack) {
	time.Sleep(200 * time.Millisecond)
	h.Emu.ResetFaults()
}

// firstPageID is the first page of a section, read from the app's section page.
func firstPageID(t *testing.T, h *stacktest.Stack, c *http.Client, sec string) string {
	t.Helper()
	m := regexp.MustCompile(`href="/notes/pages/([^"/]+)"`).FindStringSubmatch(h.Get(c, "/notes/sections/"+sec).Body)
	if m == nil {
		t.Fatal("the section lists no page")
	}
	return m[1]
}

// The notes pages take their turn with the session's other identity-platform calls (limit.go):
// while "Refresh now" holds the session's turn, a burst of image requests of the same session
// queues behind it, and what does not fit in the queue is refused rather than holding the
// pooled MSAL clients that every user shares.
func TestNotesTakeTheirTurnForIdentityCalls(t *testing.T) {
	h := notesStack(t, stacktest.Options{})
	sec := firstSectionID(t, h)
	pageID, _ := pageWithResources(t, h, sec)
	c := signInWithNotes(t, h)
	img := regexp.MustCompile(`src="(/notes/resources/[^"]+)"`).FindStringSubmatch(h.Get(c, "/notes/pages/"+pageID+"/body").Body)
	if img == nil {
		t.Fatal("no image on the page")
	}
	h.Emu.FailNext(emulator.Fault{Endpoint: "token", Delay: 2 * time.Second})
	refreshed := make(chan int, 1)
	go func() {
		resp, err := stacktest.NoFollow(c).Do(mustRequest(http.MethodPost, h.Base+"/token", map[string]string{"Sec-Fetch-Site": "same-origin"}))
		if err != nil {
			refreshed <- 0
			return
		}
		resp.Body.Close()
		refreshed <- resp.StatusCode
	}()
	time.Sleep(300 * time.Millisecond) // the refresh now holds the session's turn
	statuses := make(chan int, 24)
	var wg sync.WaitGroup
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(h.Base + html.UnescapeString(img[1]))
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	refused := 0
	for s := range statuses {
		if s == http.StatusTooManyRequests {
			refused++
		} else if s != http.StatusOK {
			t.Errorf("image request: %d", s)
		}
	}
	if refused == 0 {
		t.Error("24 image requests queued behind a running refresh were all let through, want the excess refused")
	}
	if got := <-refreshed; got >= 400 {
		t.Errorf("Refresh now: %d", got)
	}
}

func mustRequest(method, u string, hdr map[string]string) *http.Request {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		panic(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

// A revoked grant on a notes page signs the user out and says why, as /msal-demo does.
func TestNotesRevokedGrantSignsOut(t *testing.T) {
	h := notesStack(t, stacktest.Options{})
	h.Emu.SetLifetimes(2*time.Minute, time.Hour) // MSAL refreshes 5 minutes early: every call refreshes
	c := signInWithNotes(t, h)
	h.Emu.RevokeRefreshTokens("")
	p := h.Get(stacktest.NoFollow(c), "/notes")
	if p.Status != http.StatusFound || p.Header.Get("Location") != "/login?reason=expired" {
		t.Fatalf("/notes with a revoked grant: %d to %q", p.Status, p.Header.Get("Location"))
	}
	if p := h.Get(c, "/"); strings.Contains(p.Body, `id="welcome"`) {
		t.Error("the session with the revoked grant still signs in")
	}
}
