// Command exportbench measures a whole-notebook export (make bench-export): a notebook of 3
// section groups, 20 sections, 1,000 pages and 500 images on the emulator, exported by the real
// app, with Graph's OneNote throttle (120 requests a minute, 5 at once) sped up -speed times on
// both sides: the emulator's throttle window, and the clock of the app's OneNote pacer.
//
// The app runs as a child process (this binary with -serve), started afresh for each run, so
// its peak resident memory (VmHWM) is the export's alone, not the emulator's or this driver's.
// Runs alternate between a clean Graph and one injecting random 429s and 503s.
package main

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/graphauth/graphauth/internal/config"
	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/onenote"
	"github.com/graphauth/graphauth/internal/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "exportbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exportbench", flag.ContinueOnError)
	serve := fs.Bool("serve", false, "run the app (the child process); configured from the environment")
	speed := fs.Float64("speed", 100, "how many times faster than real time the throttle runs")
	runs := fs.Int("runs", 3, "runs of each scenario (interleaved)")
	p429 := fs.Float64("p429", 0.05, "share of requests the emulator answers 429 in the fault scenario")
	p503 := fs.Float64("p503", 0.01, "share of requests the emulator answers 503 in the fault scenario")
	concurrency := fs.Int("concurrency", 5, "ONENOTE_CONCURRENCY for the app (Graph allows 5)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *serve {
		return serveApp(ctx, getenv, *speed)
	}
	return bench(ctx, stdout, *speed, *runs, *p429, *p503, *concurrency)
}

// serveApp is the child: the real app (web.Build, as cmd/graphauth), its OneNote pacer on a
// clock running speed times faster than real time.
func serveApp(ctx context.Context, getenv func(string) string, speed float64) error {
	cfg, err := config.Parse(getenv)
	if err != nil {
		return err
	}
	log := web.NewLogger(cfg, os.Stderr)
	app, closeApp, err := web.Build(ctx, cfg, log, fastClock(speed))
	if err != nil {
		return err
	}
	defer closeApp()
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return err
	}
	return web.Serve(ctx, ln, app.Handler(), log, "", "")
}

// fastClock makes the pacer's minute last 1/speed of a minute, as the emulator's does.
func fastClock(speed float64) web.OneNoteOption {
	start := time.Now()
	return func(o *onenote.Options) {
		o.Now = func() time.Time { return start.Add(time.Duration(float64(time.Since(start)) * speed)) }
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(time.Duration(float64(d) / speed))
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

type result struct {
	scenario              string
	seconds               float64
	requests, served      int     // every OneNote request the emulator saw; those it answered 2xx
	rate                  float64 // of the budget
	throttled, inj429     int
	inj503                int
	pages, pagesInZip     int
	images, imagesInZip   int
	peakRSSKiB            int
	zipBytes              int64
	pagesFailed, assetsNo int
}

func bench(ctx context.Context, stdout io.Writer, speed float64, runs int, p429, p503 float64, concurrency int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	base := "http://127.0.0.1:" + strconv.Itoa(port)

	ecfg := emulator.DefaultConfig()
	ecfg.Apps[0].RedirectURIs = []string{base + "/getAToken"}
	ecfg.Apps[0].PostLogoutRedirectURIs = []string{base + "/"}
	ecfg.Apps[0].AutoApproveUser = ecfg.Users[0].ID
	ecfg.OneNote.ClockSpeed = speed
	ecfg.OneNote.SkipDemoData = true
	ecfg.Logger = slog.New(slog.DiscardHandler)
	emu, err := emulator.New(ecfg)
	if err != nil {
		return err
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer emu.Close()
	user := ecfg.Users[0]
	// 3 section groups of 5 sections and 5 sections at the top: 20 sections of 50 pages; every
	// other section has one image per page: 500 images.
	for i := range 20 {
		name := fmt.Sprintf("Section %02d", i+1)
		if i >= 5 {
			name = fmt.Sprintf("Group %d/%s", (i-5)/5+1, name)
		}
		if _, err := emu.AddOneNoteSection(user.ID, "Benchmark", name, 50, i%2); err != nil {
			return err
		}
	}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "exportbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env := os.Environ()
	for k, v := range emu.AppEnv() {
		env = append(env, k+"="+v)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	env = append(env, "HOST=127.0.0.1", "PORT="+strconv.Itoa(port), "SESSION_TYPE=memory",
		"SESSION_KEY="+hex.EncodeToString(key), "EXPORT_DIR="+filepath.Join(tmp, "exports"),
		"ONENOTE_REQUESTS_PER_MINUTE=120", "ONENOTE_CONCURRENCY="+strconv.Itoa(concurrency), "LOG_LEVEL=warn")

	ca, err := os.ReadFile(emu.CAFile())
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)

	budget := 120 * speed // requests a minute, at the sped-up clock
	fmt.Fprintf(stdout, "exportbench: 1,000 pages, 500 images, 20 sections in 3 groups; budget %.0f requests/min (120 x %.0f), 5 at once\n", budget, speed)
	var all []result
	for i := range runs {
		for _, sc := range []struct {
			name       string
			p429, p503 float64
		}{{"clean", 0, 0}, {fmt.Sprintf("%.0f%% 429s + %.0f%% 503s", p429*100, p503*100), p429, p503}} {
			r, err := once(ctx, self, env, base, roots, emu, tmp, speed, sc.p429, sc.p503)
			if err != nil {
				return fmt.Errorf("run %d (%s): %w", i+1, sc.name, err)
			}
			r.scenario = sc.name
			// The rate counts the requests Graph answered with data, over the whole export (listing
			// to the zip in the store): what the budget bought.
			r.rate = float64(r.served) / (r.seconds / 60) / budget
			fmt.Fprintf(stdout, "run %d %-18s %6.2f s %5d requests (%d served)  rate %.3f of budget  429s: %d throttle + %d injected, 503s injected %d  pages %d/%d (zip %d)  images %d (zip %d)  peak RSS %.1f MiB  zip %.1f MiB\n",
				i+1, sc.name, r.seconds, r.requests, r.served, r.rate, r.throttled, r.inj429, r.inj503, r.pages-r.pagesFailed, r.pages, r.pagesInZip,
				r.images, r.imagesInZip, float64(r.peakRSSKiB)/1024, float64(r.zipBytes)/(1<<20))
			all = append(all, r)
		}
	}
	table(stdout, all)
	return nil
}

// once starts a fresh app, signs in, exports the notebook, downloads and checks the zip.
func once(ctx context.Context, self string, env []string, base string, roots *x509.CertPool, emu *emulator.Server, tmp string, speed, p429, p503 float64) (result, error) {
	var r result
	cmd := exec.CommandContext(ctx, self, "-serve", "-speed", strconv.FormatFloat(speed, 'f', -1, 64))
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	if err := waitUp(ctx, c, base); err != nil {
		return r, err
	}
	nb, err := signIn(c, base)
	if err != nil {
		return r, err
	}

	emu.ResetOneNoteStats()
	emu.SetOneNoteFaultRates(p429, p503)
	defer emu.SetOneNoteFaultRates(0, 0)
	start := time.Now()
	resp, err := c.Post(base+"/notes/notebooks/"+nb+"/export", "application/x-www-form-urlencoded", nil)
	if err != nil {
		return r, err
	}
	resp.Body.Close()
	job, ok := strings.CutPrefix(resp.Request.URL.Path, "/notes/exports/")
	if !ok {
		return r, fmt.Errorf("export did not start: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	var st struct {
		Status, Error                          string
		Pages, PagesFailed, Images, AssetsLost int
	}
	for {
		resp, err := c.Get(base + "/notes/exports/" + job + "/status")
		if err != nil {
			return r, err
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			return r, err
		}
		if st.Status != "running" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.seconds = time.Since(start).Seconds()
	stats := emu.OneNoteStats()
	r.requests, r.served, r.throttled, r.inj429, r.inj503 = stats.Requests, stats.Served, stats.Throttled, stats.Injected429, stats.Injected503
	r.pages, r.pagesFailed, r.images, r.assetsNo = st.Pages, st.PagesFailed, st.Images, st.AssetsLost
	if st.Status != "done" {
		return r, fmt.Errorf("export %s: %s", st.Status, st.Error)
	}

	zipPath := filepath.Join(tmp, "export.zip")
	if err := download(c, base+"/notes/exports/"+job+"/download", zipPath); err != nil {
		return r, err
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return r, err
	}
	for _, f := range zr.File {
		switch {
		case strings.Contains(f.Name, "/assets/") && strings.HasSuffix(f.Name, ".png"):
			r.imagesInZip++
		case strings.HasSuffix(f.Name, ".md") && path(f.Name) != "index.md" && f.Name != "export-report.md":
			r.pagesInZip++
		}
	}
	zr.Close()
	if fi, err := os.Stat(zipPath); err == nil {
		r.zipBytes = fi.Size()
	}
	r.peakRSSKiB, err = peakRSS(cmd.Process.Pid)
	return r, err
}

func path(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

func waitUp(ctx context.Context, c *http.Client, base string) error {
	for range 200 {
		if resp, err := c.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("the app did not start")
}

var (
	signInRe   = regexp.MustCompile(`id="sign-in" href="([^"]+)"`)
	allowRe    = regexp.MustCompile(`id="allow-notes" href="([^"]+)"`)
	notebookRe = regexp.MustCompile(`id="export-notebook-([^"]+)"`)
)

// signIn signs the emulator's first user in, consents to Notes.Read and returns the notebook id.
func signIn(c *http.Client, base string) (string, error) {
	follow := func(u string, re *regexp.Regexp) (string, string, error) {
		resp, err := c.Get(u)
		if err != nil {
			return "", "", err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := re.FindStringSubmatch(string(b))
		if m == nil {
			return "", resp.Request.URL.Path, fmt.Errorf("%s (ended at %s, %d): no %s", u, resp.Request.URL, resp.StatusCode, re)
		}
		return html.UnescapeString(m[1]), resp.Request.URL.Path, nil
	}
	authorize, _, err := follow(base+"/login", signInRe)
	if err != nil {
		return "", err
	}
	resp, err := c.Get(authorize)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	// Consent is asked for once; the emulator remembers it for the next runs.
	if nb, _, err := follow(base+"/notes", notebookRe); err == nil {
		return nb, nil
	}
	consent, _, err := follow(base+"/notes", allowRe)
	if err != nil {
		return "", err
	}
	nb, _, err := follow(consent, notebookRe)
	return nb, err
}

func download(c *http.Client, u, file string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download: %d", resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// peakRSS is the process's VmHWM (Linux).
func peakRSS(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, errors.New("no VmHWM")
}

// table prints the medians and spreads (min-max) per scenario, as the README shows them.
func table(w io.Writer, all []result) {
	fmt.Fprintln(w, "\n| Scenario | Runs | Export time (s) | Requests served per minute, share of the budget | 429s received (throttle + injected) | 503s injected | Pages exported | Images exported | Peak RSS of the app (MiB) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	var order []string
	for _, r := range all {
		if !slices.Contains(order, r.scenario) {
			order = append(order, r.scenario)
		}
	}
	for _, sc := range order {
		var rs []result
		for _, r := range all {
			if r.scenario == sc {
				rs = append(rs, r)
			}
		}
		f := func(get func(result) float64, format string) string {
			vs := make([]float64, len(rs))
			for i, r := range rs {
				vs[i] = get(r)
			}
			slices.Sort(vs)
			med := vs[len(vs)/2]
			if len(vs)%2 == 0 {
				med = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
			}
			return fmt.Sprintf(format+" ("+format+"-"+format+")", med, vs[0], vs[len(vs)-1])
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", sc, len(rs),
			f(func(r result) float64 { return r.seconds }, "%.2f"),
			f(func(r result) float64 { return r.rate }, "%.3f"),
			f(func(r result) float64 { return float64(r.throttled + r.inj429) }, "%.0f"),
			f(func(r result) float64 { return float64(r.inj503) }, "%.0f"),
			f(func(r result) float64 { return float64(r.pagesInZip) }, "%.0f")+" of 1000",
			f(func(r result) float64 { return float64(r.imagesInZip) }, "%.0f")+" of 500",
			f(func(r result) float64 { return float64(r.peakRSSKiB) / 1024 }, "%.1f"))
	}
}
