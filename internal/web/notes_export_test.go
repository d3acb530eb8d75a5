package web_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/stacktest"
)

// exportStack is notesStack with its own EXPORT_DIR.
func exportStack(t *testing.T, env map[string]string) *stacktest.Stack {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if env["EXPORT_DIR"] == "" {
		env["EXPORT_DIR"] = t.TempDir()
	}
	return notesStack(t, stacktest.Options{Env: env})
}

// exportStatus is /notes/exports/{id}/status.
type exportStatus struct {
	Status, Phase, Current, Download, Error string
	Pages, PagesDone, PagesFailed           int
	Images, Attachments, AssetsLost         int
}

var exportIDRe = regexp.MustCompile(`^/notes/exports/([0-9a-f]{32})$`)

// startExport posts the export button's form and returns the job id from the redirect.
func startExport(t *testing.T, h *stacktest.Stack, c *http.Client, kind, id string) string {
	t.Helper()
	p := h.Post(c, "/notes/"+kind+"s/"+url.PathEscape(id)+"/export", map[string]string{"Sec-Fetch-Site": "same-origin"})
	m := exportIDRe.FindStringSubmatch(p.URL.Path)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("start export: %d at %s\n%s", p.Status, p.URL, p.Body)
	}
	stacktest.MustContain(t, p, `id="export-status"`)
	return m[1]
}

func statusOf(t *testing.T, h *stacktest.Stack, c *http.Client, job string) exportStatus {
	t.Helper()
	p := h.Get(c, "/notes/exports/"+job+"/status")
	var s exportStatus
	if p.Status != http.StatusOK || json.Unmarshal([]byte(p.Body), &s) != nil {
		t.Fatalf("status: %d %s", p.Status, p.Body)
	}
	return s
}

// waitExport polls the status until the job is no longer running.
func waitExport(t *testing.T, h *stacktest.Stack, c *http.Client, job string) exportStatus {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if s := statusOf(t, h, c, job); s.Status != "running" {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("export %s still running after 60 s", job)
	return exportStatus{}
}

// downloadZip fetches the zip and returns its files.
func downloadZip(t *testing.T, h *stacktest.Stack, c *http.Client, job string) map[string][]byte {
	t.Helper()
	resp, err := c.Get(h.Base + "/notes/exports/" + job + "/download")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("download: %d %s\n%.500s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return unzip(t, body)
}

func unzip(t *testing.T, body []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if _, dup := files[f.Name]; dup {
			t.Errorf("%s is in the zip twice", f.Name)
		}
		files[f.Name] = b
	}
	return files
}

// storeHas reports whether the file session store holds key (it names files SHA-256(key)).
func storeHas(h *stacktest.Stack, key string) bool {
	sum := sha256.Sum256([]byte(key))
	_, err := os.Stat(filepath.Join(h.Cfg.SessionDir, hex.EncodeToString(sum[:])))
	return err == nil
}

// filesUnder lists the regular files under dir (the working directories themselves may stay).
// lockKey is the store key of the person's one-export-at-a-time lock (export/job.go's userKey).
func lockKey(owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return "export:user:" + hex.EncodeToString(sum[:16])
}

func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

var notebookButtonRe = regexp.MustCompile(`id="export-notebook-([^"]+)"`)

// notebookID is the first notebook's id, from its export button on /notes.
func notebookID(t *testing.T, h *stacktest.Stack, c *http.Client) string {
	t.Helper()
	m := notebookButtonRe.FindStringSubmatch(h.Get(c, "/notes").Body)
	if m == nil {
		t.Fatal("/notes has no notebook export button")
	}
	return m[1]
}

var mdLinkRe = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// checkLinks fails for a relative link in a .md file that names no file of the zip.
func checkLinks(t *testing.T, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if !strings.HasSuffix(name, ".md") {
			continue
		}
		for _, m := range mdLinkRe.FindAllStringSubmatch(string(b), -1) {
			if strings.Contains(m[1], ":") || strings.HasPrefix(m[1], "#") {
				continue // http(s), onenote:, mailto: — not a file of the export
			}
			target, err := url.PathUnescape(m[1])
			if err != nil {
				t.Errorf("%s: link %q is not a valid path", name, m[1])
				continue
			}
			if _, ok := files[path.Join(path.Dir(name), target)]; !ok {
				t.Errorf("%s: link %q resolves to nothing in the zip", name, m[1])
			}
		}
	}
}

// A small notebook, exported and checked file by file: folders as OneNote nests them,
// sub-pages in their parent's folder, Markdown, every asset byte-identical and never written
// over, links between pages made relative, index.md everywhere, the report; and afterwards no
// file left in EXPORT_DIR and no lock in the store.
func TestExportNotebookFileByFile(t *testing.T) {
	h := exportStack(t, nil)
	u := h.Users[0]
	if err := h.Emu.ClearOneNote(u.ID); err != nil {
		t.Fatal(err)
	}
	plans, err := h.Emu.AddOneNoteSection(u.ID, "Travel", "Plans", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Emu.AddOneNoteSection(u.ID, "Travel", "Archive/2023/Old trips", 2, 1); err != nil {
		t.Fatal(err)
	}
	res := func(id string) string { return h.Emu.OneNoteResourceURL(u.UserPrincipalName, id) }
	img := func(id, alt string) string {
		return `<img src="` + res(id) + `" data-src-type="image/png" alt="` + alt + `" width="10" height="10" />`
	}
	page := func(title, body string) string {
		return `<html><head><title>` + title + `</title></head><body><div style="position:absolute;left:48px;top:120px">` + body + `</div></body></html>`
	}
	add := func(title, html string, r map[string][]byte, level int) string {
		t.Helper()
		id, err := h.Emu.AddOneNotePage(u.ID, plans, title, html, r, emulator.OneNotePageOptions{Level: level})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	bytesOf := map[string][]byte{
		"0-ex01!1-img": pngBytes(11), "0-ex02!1-img": pngBytes(12), "0-ex03!1-img": pngBytes(13),
		"0-ex04!1-img": pngBytes(14), "0-ex05!1-pdf": []byte("%PDF-1.4\n% plan\n"),
	}
	pick := func(ids ...string) map[string][]byte {
		m := map[string][]byte{}
		for _, id := range ids {
			m[id] = bytesOf[id]
		}
		return m
	}
	link := func(pageID, text string) string {
		return `<a href="onenote:https://contoso-my.sharepoint.com/Notebooks/Travel/Plans.one#` + url.PathEscape(text) +
			`&amp;section-id={` + plans + `}&amp;page-id={` + pageID + `}&amp;end">` + text + `</a>`
	}
	packing := add("Packing list", page("Packing list", `<p>Socks</p>`+img("0-ex01!1-img", "photo")), pick("0-ex01!1-img"), 0)
	itinerary := add("Itinerary", page("Itinerary", `<p>See the `+link(packing, "Packing list")+`.</p>`+
		img("0-ex02!1-img", "photo")+img("0-ex03!1-img", "photo")+
		`<object data="`+res("0-ex05!1-pdf")+`" data-attachment="plan.pdf" type="application/pdf" />`+
		`<p><a href="https://example.com/">a web link</a></p>`), pick("0-ex02!1-img", "0-ex03!1-img", "0-ex05!1-pdf"), 0)
	add("Day 1", page("Day 1", `<p>Back to `+link(itinerary, "Itinerary")+`.</p>`+img("0-ex04!1-img", "photo")), pick("0-ex04!1-img"), 1)
	add("Itinerary", page("Itinerary", `<p>A second page with the same title.</p>`), nil, 0)

	c := signInWithNotes(t, h)
	// The /notes page offers the button for the notebook and each section.
	nb := notebookID(t, h, c)
	p := h.Get(c, "/notes")
	stacktest.MustContain(t, p, `id="export-section-`+plans+`"`, `action="/notes/notebooks/`+nb+`/export"`)

	job := startExport(t, h, c, "notebook", nb)
	s := waitExport(t, h, c, job)
	if s.Status != "done" || s.Pages != 6 || s.PagesDone != 6 || s.PagesFailed != 0 || s.Images != 6 || s.Attachments != 1 || s.AssetsLost != 0 {
		t.Fatalf("finished with %+v, want done with 6 pages, 6 images, 1 attachment", s)
	}
	p = h.Get(c, "/notes/exports/"+job)
	stacktest.MustContain(t, p, `id="export-download"`, `href="/notes/exports/`+job+`/download"`)
	files := downloadZip(t, h, c, job)

	for _, want := range []string{
		"export-report.md", "index.md",
		"Plans/index.md", "Plans/Packing list.md", "Plans/Itinerary.md", "Plans/Itinerary (2).md",
		"Plans/Itinerary/index.md", "Plans/Itinerary/Day 1.md", "Plans/Itinerary/assets/photo.png",
		"Plans/assets/photo.png", "Plans/assets/photo (2).png", "Plans/assets/photo (3).png", "Plans/assets/plan.pdf",
		"Archive/index.md", "Archive/2023/index.md", "Archive/2023/Old trips/index.md",
	} {
		if _, ok := files[want]; !ok {
			t.Errorf("zip lacks %s; it has %v", want, keys(files))
		}
	}
	// Every asset byte for byte as Graph served it, in reading order, none written over.
	for name, id := range map[string]string{
		"Plans/assets/photo.png": "0-ex01!1-img", "Plans/assets/photo (2).png": "0-ex02!1-img",
		"Plans/assets/photo (3).png": "0-ex03!1-img", "Plans/assets/plan.pdf": "0-ex05!1-pdf",
		"Plans/Itinerary/assets/photo.png": "0-ex04!1-img",
	} {
		if !bytes.Equal(files[name], bytesOf[id]) {
			t.Errorf("%s is not byte-identical to resource %s", name, id)
		}
	}
	itin := string(files["Plans/Itinerary.md"])
	for _, want := range []string{"# Itinerary", "](Packing%20list.md)", "](assets/photo%20%282%29.png)", "](assets/plan.pdf)", "](https://example.com/)"} {
		if !strings.Contains(itin, want) && !strings.Contains(itin, strings.ReplaceAll(want, "%28", "(")) {
			t.Errorf("Itinerary.md lacks %q:\n%s", want, itin)
		}
	}
	if day := string(files["Plans/Itinerary/Day 1.md"]); !strings.Contains(day, "](../Itinerary.md)") {
		t.Errorf("Day 1.md does not link its parent relatively:\n%s", day)
	}
	checkLinks(t, files)
	idx := string(files["Plans/index.md"])
	for _, want := range []string{"# Plans", "[Packing list](Packing%20list.md)", "[Itinerary](Itinerary.md)", "[Itinerary/](Itinerary/index.md)", "[Itinerary](Itinerary%20%282%29.md)"} {
		if !strings.Contains(idx, want) {
			t.Errorf("Plans/index.md lacks %q:\n%s", want, idx)
		}
	}
	if top := string(files["index.md"]); !strings.Contains(top, "[Plans/](Plans/index.md)") || !strings.Contains(top, "[Archive/](Archive/index.md)") {
		t.Errorf("index.md lacks its folders:\n%s", top)
	}
	report := string(files["export-report.md"])
	for _, want := range []string{"Pages exported: 6 of 6", "Images: 6", "Attachments: 1", "Everything was exported."} {
		if !strings.Contains(report, want) {
			t.Errorf("export-report.md lacks %q:\n%s", want, report)
		}
	}

	// Nothing left behind: no file in EXPORT_DIR, no lock or cancel flag in the store; the zip
	// itself is in the store until it expires.
	if left := filesUnder(t, h.Cfg.ExportDir); len(left) != 0 {
		t.Errorf("EXPORT_DIR still holds %v", left)
	}
	if !storeHas(h, "export:job:"+job) || !storeHas(h, "export:zip:"+job+":0") {
		t.Error("the job or its zip is not in the store")
	}
	if storeHas(h, "export:cancel:"+job) {
		t.Error("a cancel flag is left in the store")
	}
	// The lock is released: a second export starts at once.
	job2 := startExport(t, h, c, "section", plans)
	if s := waitExport(t, h, c, job2); s.Status != "done" || s.Pages != 4 {
		t.Errorf("section export: %+v", s)
	}
	if files := downloadZip(t, h, c, job2); files["Itinerary/Day 1.md"] == nil || files["export-report.md"] == nil {
		t.Errorf("section export has %v", keys(files))
	}
}

// slowSection adds a section of n generated pages (one image each) and makes every page's
// content answer after delay, so an export of it runs long enough to be watched and cancelled.
func slowSection(t *testing.T, h *stacktest.Stack, name string, n int, delay time.Duration) string {
	t.Helper()
	sec, err := h.Emu.AddOneNoteSection(h.Users[0].ID, "Slow", name, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.Emu.FailNext(emulator.Fault{Endpoint: "onenote:content", Count: n, Delay: delay})
	return sec
}

// waitProgress polls until the job has written at least one page.
func waitProgress(t *testing.T, h *stacktest.Stack, c *http.Client, job string) exportStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s := statusOf(t, h, c, job)
		if s.Status != "running" || s.PagesDone > 0 {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no progress in 30 s")
	return exportStatus{}
}

// While an export runs: a second one is refused with a page naming it; another user cannot see,
// cancel or download it (404, as a missing job); ids that are not job ids are 404s; a
// cross-origin POST starts nothing. Then the owner cancels it, and nothing is left: no file in
// EXPORT_DIR, no zip chunk, lock or cancel flag in the store.
func TestExportOneAtATimeOwnerAndCancel(t *testing.T) {
	h := exportStack(t, nil)
	sec := slowSection(t, h, "Long", 40, 150*time.Millisecond)
	other := firstSectionID(t, h)
	c := signInWithNotes(t, h)

	// A cross-site POST is refused before anything starts.
	p := h.Post(c, "/notes/sections/"+url.PathEscape(sec)+"/export", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	if p.Status != http.StatusForbidden || strings.HasPrefix(p.URL.Path, "/notes/exports/") {
		t.Fatalf("cross-site export POST: %d at %s", p.Status, p.URL)
	}
	// Ids that could change the Graph path are refused before Graph is asked.
	if p := h.Post(c, "/notes/sections/a%2F..%2Fb/export", nil); p.Status != http.StatusBadRequest {
		t.Errorf("bad section id: %d, want 400", p.Status)
	}

	job := startExport(t, h, c, "section", sec)
	s := waitProgress(t, h, c, job)
	if s.Status != "running" || s.Pages != 40 {
		t.Fatalf("after the first page: %+v", s)
	}
	p = h.Get(c, "/notes/exports/"+job)
	stacktest.MustContain(t, p, `id="export-progress"`, `id="export-pages-done"`, `id="export-pages-total">40<`, `id="export-cancel"`, `id="export-time-left"`, `/static/export.js`)

	// The one-export-per-person lock is in the store while the job runs.
	lock := lockKey(emulator.DefaultTenant + "/" + h.Users[0].ID)
	if !storeHas(h, lock) {
		t.Errorf("the store does not hold %s while the export runs", lock)
	}
	// A second export, of anything, is refused while this one runs.
	p = h.Post(c, "/notes/sections/"+url.PathEscape(other)+"/export", nil)
	if p.Status != http.StatusConflict {
		t.Fatalf("second export: %d, want 409\n%s", p.Status, p.Body)
	}
	stacktest.MustContain(t, p, `id="export-busy"`, `id="export-running-link" href="/notes/exports/`+job+`"`, "Long")

	// Not-a-job ids and someone else's job: 404, and the job runs on.
	for _, bad := range []string{"nothex", strings.Repeat("0", 32), strings.ToUpper(job), job + "0"} {
		if p := h.Get(c, "/notes/exports/"+bad); p.Status != http.StatusNotFound {
			t.Errorf("/notes/exports/%s: %d, want 404", bad, p.Status)
		}
	}
	h.Emu.SetAutoApprove(h.Cfg.ClientID, h.Users[1].ID)
	other2 := signInWithNotes(t, h)
	for _, path := range []string{"/notes/exports/" + job, "/notes/exports/" + job + "/status", "/notes/exports/" + job + "/download"} {
		if p := h.Get(other2, path); p.Status != http.StatusNotFound || strings.Contains(p.Body, "Long") {
			t.Errorf("another user's GET %s: %d, want 404", path, p.Status)
		}
	}
	if p := h.Post(other2, "/notes/exports/"+job+"/cancel", nil); p.Status != http.StatusNotFound {
		t.Errorf("another user's cancel: %d, want 404", p.Status)
	}
	if s := statusOf(t, h, c, job); s.Status != "running" {
		t.Fatalf("after another user's cancel: %+v", s)
	}

	// The owner cancels: nothing of the export is left anywhere.
	p = h.Post(c, "/notes/exports/"+job+"/cancel", nil)
	if p.Status != http.StatusOK || p.URL.Path != "/notes/exports/"+job {
		t.Fatalf("cancel: %d at %s", p.Status, p.URL)
	}
	if s := waitExport(t, h, c, job); s.Status != "cancelled" || s.PagesDone >= 40 {
		t.Fatalf("after cancel: %+v", s)
	}
	stacktest.MustContain(t, h.Get(c, "/notes/exports/"+job), "Cancelled")
	if left := filesUnder(t, h.Cfg.ExportDir); len(left) != 0 {
		t.Errorf("EXPORT_DIR still holds %v after cancel", left)
	}
	for _, key := range []string{"export:zip:" + job + ":0", "export:cancel:" + job, lock} {
		if storeHas(h, key) {
			t.Errorf("the store still holds %s after cancel", key)
		}
	}
	if p := h.Get(c, "/notes/exports/"+job+"/download"); p.Status != http.StatusOK || p.URL.Path != "/notes/exports/"+job {
		t.Errorf("download of a cancelled export: %d at %s, want the progress page", p.Status, p.URL)
	}
	// The lock went with it: the next export starts.
	if err := h.Emu.ClearOneNote(h.Users[0].ID); err != nil {
		t.Fatal(err)
	}
	small, err := h.Emu.AddOneNoteSection(h.Users[0].ID, "Small", "One", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s := waitExport(t, h, c, startExport(t, h, c, "section", small)); s.Status != "done" {
		t.Errorf("export after cancel: %+v", s)
	}
}

// Graph answering 429 and 503 at random loses nothing (the onenote client retries); an access
// token that expires during the export is refreshed from the job's own copy of the token cache;
// a page whose content always fails is named, with Graph's code and the attempts, in the report.
func TestExportFaultsExpiryAndAFailingPage(t *testing.T) {
	h := exportStack(t, nil)
	u := h.Users[0]
	sec, err := h.Emu.AddOneNoteSection(u.ID, "Faults", "Busy", 30, 1)
	if err != nil {
		t.Fatal(err)
	}
	// MSAL treats a token as expired 5 minutes early: with 2-minute access tokens every token
	// call of the job refreshes, as it would an hour into a long export.
	h.Emu.SetLifetimes(2*time.Minute, time.Hour)
	c := signInWithNotes(t, h)
	refreshes := h.Counter("token:refresh_token")
	h.Emu.ResetOneNoteStats()
	h.Emu.SetOneNoteFaultRates(0.15, 0.05)
	job := startExport(t, h, c, "section", sec)
	s := waitExport(t, h, c, job)
	h.Emu.SetOneNoteFaultRates(0, 0)
	st := h.Emu.OneNoteStats()
	if s.Status != "done" || s.PagesDone != 30 || s.PagesFailed != 0 || s.Images != 30 || s.AssetsLost != 0 {
		t.Fatalf("with injected faults: %+v (emulator: %d 429s, %d 503s injected)", s, st.Injected429, st.Injected503)
	}
	if st.Injected429 == 0 || st.Injected503 == 0 {
		t.Errorf("no fault was injected (%+v): the test proves nothing", st)
	}
	if got := h.Counter("token:refresh_token") - refreshes; got < 2 {
		t.Errorf("%d token refreshes during the export, want the job to refresh its tokens", got)
	}
	files := downloadZip(t, h, c, job)
	if !strings.Contains(string(files["export-report.md"]), "Pages exported: 30 of 30") {
		t.Errorf("report:\n%s", files["export-report.md"])
	}

	// One page whose content Graph always fails.
	bad, err := h.Emu.AddOneNoteSection(u.ID, "Faults", "Broken", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Emu.AddOneNotePage(u.ID, bad, "Cursed page", `<html><head><title>Cursed page</title></head><body><p>x</p></body></html>`, nil); err != nil {
		t.Fatal(err)
	}
	h.Emu.FailNext(emulator.Fault{Endpoint: "onenote:content", Count: 100, Status: 500, Error: "10001"})
	job = startExport(t, h, c, "section", bad)
	s = waitExport(t, h, c, job)
	if s.Status != "done" || s.Pages != 1 || s.PagesFailed != 1 {
		t.Fatalf("failing page: %+v", s)
	}
	p := h.Get(c, "/notes/exports/"+job)
	stacktest.MustContain(t, p, `id="export-incomplete"`, `id="export-problems"`, "Cursed page", "10001")
	files = downloadZip(t, h, c, job)
	report := string(files["export-report.md"])
	for _, want := range []string{"Pages exported: 0 of 1", "Pages not exported: 1", "| Cursed page | Broken |", "| 10001 | 500 | 6 |"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if idx := string(files["index.md"]); !strings.Contains(idx, "Cursed page (not exported") {
		t.Errorf("index.md does not mark the page:\n%s", idx)
	}
}

// An export that would grow past EXPORT_MAX_BYTES fails with a message that says so, and leaves
// no file behind.
func TestExportSizeBound(t *testing.T) {
	h := exportStack(t, map[string]string{"EXPORT_MAX_BYTES": "1MiB"})
	u := h.Users[0]
	sec, err := h.Emu.AddOneNoteSection(u.ID, "Big", "Files", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 96<<10) // 1.5 MiB
	html := `<html><head><title>Big</title></head><body><object data="` + h.Emu.OneNoteResourceURL(u.UserPrincipalName, "0-big!1-file") +
		`" data-attachment="big.bin" type="application/octet-stream" /></body></html>`
	if _, err := h.Emu.AddOneNotePage(u.ID, sec, "Big", html, map[string][]byte{"0-big!1-file": big}); err != nil {
		t.Fatal(err)
	}
	c := signInWithNotes(t, h)
	job := startExport(t, h, c, "section", sec)
	s := waitExport(t, h, c, job)
	if s.Status != "failed" {
		t.Fatalf("over the size bound: %+v", s)
	}
	stacktest.MustContain(t, h.Get(c, "/notes/exports/"+job), `id="export-error"`, "EXPORT_MAX_BYTES")
	if left := filesUnder(t, h.Cfg.ExportDir); len(left) != 0 {
		t.Errorf("EXPORT_DIR still holds %v", left)
	}
	if storeHas(h, "export:zip:"+job+":0") {
		t.Error("a zip chunk is in the store")
	}
}

// Signing out cancels the running export: it runs on the user's tokens.
func TestExportCancelledAtSignOut(t *testing.T) {
	h := exportStack(t, nil)
	sec := slowSection(t, h, "Long", 30, 150*time.Millisecond)
	c := signInWithNotes(t, h)
	job := startExport(t, h, c, "section", sec)
	waitProgress(t, h, c, job)
	if p := h.Post(c, "/logout", nil); p.Status >= 400 {
		t.Fatalf("logout: %d", p.Status)
	}
	h.SignIn(c) // consent is remembered: /notes opens at once
	if s := waitExport(t, h, c, job); s.Status != "cancelled" || s.PagesDone >= 30 {
		t.Fatalf("after sign-out: %+v, want cancelled", s)
	}
}
