package deploy_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
)

var (
	allowNotesRe = regexp.MustCompile(`id="allow-notes" href="([^"]+)"`)
	exportPathRe = regexp.MustCompile(`^/notes/exports/([0-9a-f]{32})$`)
)

// Two instances behind a load balancer share Redis: an export started on A shows its progress,
// is cancelled, and downloads on B, because its record and its zip live in the shared store.
func TestExportAcrossInstances(t *testing.T) {
	t.Parallel()
	s := redisStore(t)
	env := map[string]string{"TRUSTED_PROXIES": "127.0.0.1", "ONENOTE_REQUESTS_PER_MINUTE": "6000", "EXPORT_DIR": t.TempDir()}
	for k, v := range s.env {
		env[k] = v
	}
	d := deploy(t, deployOpts{instances: 2, balancer: "http", env: env,
		emuConfig: func(c *emulator.Config) { c.OneNote.ClockSpeed = 50 }})
	a, b, public := d.insts[0], d.insts[1], d.lb.url
	user := emulator.DefaultConfig().Users[0]
	sec, err := d.emu.AddOneNoteSection(user.ID, "Shared", "Across", 20, 1)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := d.emu.AddOneNoteSection(user.ID, "Shared", "Slow", 30, 0)
	if err != nil {
		t.Fatal(err)
	}

	br := d.browser()
	d.lb.use(0)
	br.signIn(public)
	p := br.get(public + "/notes")
	m := allowNotesRe.FindStringSubmatch(p.body)
	if p.url.Path != "/notes/consent" || m == nil {
		t.Fatalf("/notes ended at %s without a consent button", p.url)
	}
	if p := br.get(html.UnescapeString(m[1])); p.url.Path != "/notes" || p.status != http.StatusOK {
		t.Fatalf("after consent: %s %d", p.url, p.status)
	}

	start := func(section string) string {
		t.Helper()
		markA := a.served.mark()
		p := br.post(br.Client, public+"/notes/sections/"+section+"/export", nil)
		m := exportPathRe.FindStringSubmatch(p.url.Path)
		if m == nil || !served(a, markA, "POST /notes/sections/"+section+"/export") {
			t.Fatalf("export start: %d at %s (A served %v)", p.status, p.url, a.served.since(markA))
		}
		return m[1]
	}
	status := func(job string) (st struct {
		Status           string
		Pages, PagesDone int
		Download         string
	}) {
		t.Helper()
		p := br.get(public + "/notes/exports/" + job + "/status")
		if p.status != http.StatusOK || json.Unmarshal([]byte(p.body), &st) != nil {
			t.Fatalf("status on B: %d %s", p.status, p.body)
		}
		return st
	}

	// Started on A; progress, download on B.
	job := start(sec)
	d.lb.use(1)
	markB := b.served.mark()
	deadline := time.Now().Add(60 * time.Second)
	for status(job).Status == "running" {
		if time.Now().After(deadline) {
			t.Fatal("export still running after 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := status(job); st.Status != "done" || st.PagesDone != 20 {
		t.Fatalf("on B: %+v", st)
	}
	p = br.get(public + "/notes/exports/" + job)
	mustContain(t, p, `id="export-download"`)
	resp, err := br.Get(public + "/notes/exports/" + job + "/download")
	if err != nil {
		t.Fatal(err)
	}
	zp := readPage(t, resp)
	if zp.status != http.StatusOK || zp.header.Get("Content-Type") != "application/zip" {
		t.Fatalf("download on B: %d %s", zp.status, zp.header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(bytes.NewReader([]byte(zp.body)), int64(len(zp.body)))
	if err != nil {
		t.Fatalf("the zip from B: %v", err)
	}
	pages := 0
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".md") && !strings.HasSuffix(f.Name, "index.md") && f.Name != "export-report.md" {
			pages++
		}
	}
	if pages != 20 {
		t.Errorf("the zip from B has %d pages, want 20", pages)
	}
	for _, req := range []string{"GET /notes/exports/" + job + "/status", "GET /notes/exports/" + job, "GET /notes/exports/" + job + "/download"} {
		if !served(b, markB, req) {
			t.Errorf("B did not serve %s", req)
		}
	}

	// Started on A, cancelled on B: A stops within a heartbeat, and B shows it.
	d.emu.FailNext(emulator.Fault{Endpoint: "onenote:content", Count: 30, Delay: 200 * time.Millisecond})
	d.lb.use(0)
	job = start(slow)
	d.lb.use(1)
	// One export per person across instances: B refuses a second one while A runs this one.
	if p := br.post(br.Client, public+"/notes/sections/"+sec+"/export", nil); p.status != http.StatusConflict {
		t.Fatalf("a second export on B while A runs one: %d at %s, want 409", p.status, p.url)
	}
	if p := br.post(br.Client, public+"/notes/exports/"+job+"/cancel", nil); p.status != http.StatusOK {
		t.Fatalf("cancel on B: %d", p.status)
	}
	deadline = time.Now().Add(20 * time.Second)
	for status(job).Status == "running" {
		if time.Now().After(deadline) {
			t.Fatal("export still running 20 s after the cancel")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := status(job); st.Status != "cancelled" || st.PagesDone >= 30 {
		t.Errorf("after the cancel on B: %+v", st)
	}
}
