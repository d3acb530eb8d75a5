// Command perf is `make perf`: the real binaries measured as a user's traffic meets them, in one
// run. It starts the emulator (Graph, the token endpoint and metadata, over TLS on loopback),
// graphauth (file session store, a SESSION_KEY made for the run) and cmd/perfbaseline (the bare
// baseline), signs a user in through the app's real sign-in once, then drives both servers with
// wrk (keep-alive, 16 connections, 2 threads) in short rounds that alternate which goes first,
// so the shared machine's noise hits both. It reports medians and spread (min-max) of req/s and
// of the app/baseline ratio, p50/p99, CPU per request from /proc/<pid>/stat, RSS after the load,
// start-up time, and the OneNote pages at 10 KB, 100 KB and 1 MB of page HTML. The table goes to
// stdout and to -out (test-output/perf.md), one line per wrk run to -raw.
//
// Every server it starts listens on 127.0.0.1 and is stopped on exit, failure or Ctrl-C.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/graphauth/graphauth/internal/pagegen"
)

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	bin, out, raw, wrk      string
	rounds, notesRounds     int
	duration, notesDuration time.Duration
	notesDurationLarge      time.Duration
	conns, threads, starts  int
	users                   int
	notes, profile, keep    bool
	hold                    bool
	appEnv                  stringList
	profileDuration         time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin", "`dir`ectory with graphauth, emulator and perfbaseline (make perf builds them)")
	flag.StringVar(&o.out, "out", "test-output/perf.md", "Markdown report `file`")
	flag.StringVar(&o.raw, "raw", "test-output/perf-raw.tsv", "one line per wrk run `file`")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk `binary`")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds for GET / and /msal-demo (app and baseline alternate inside each)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of one wrk run for GET / and /msal-demo")
	flag.IntVar(&o.notesRounds, "notes-rounds", 3, "rounds for the OneNote pages")
	flag.DurationVar(&o.notesDuration, "notes-duration", 3*time.Second, "length of one wrk run for the OneNote pages")
	flag.DurationVar(&o.notesDurationLarge, "notes-duration-large", 10*time.Second, "length of one wrk run for the 1 MB page (its requests take seconds under load)")
	flag.IntVar(&o.conns, "c", 16, "wrk connections")
	flag.IntVar(&o.threads, "t", 2, "wrk threads")
	flag.IntVar(&o.users, "users", 32, "signed-in sessions the load spreads over, round-robin (the app runs one identity call at a time per session, so one session would measure that queue)")
	flag.IntVar(&o.starts, "starts", 10, "start-ups timed for each server")
	flag.BoolVar(&o.notes, "notes", true, "measure the OneNote pages")
	flag.BoolVar(&o.profile, "profile", false, "after the measured rounds, take CPU profiles of the app under load (PPROF_ADDR) into test-output/perf-cpu-*.pprof")
	flag.DurationVar(&o.profileDuration, "profile-duration", 10*time.Second, "length of each CPU profile")
	flag.BoolVar(&o.hold, "hold", false, "set up (emulator, app, baseline, signed-in cookie), print how to reach them, and wait for Ctrl-C: for profiling by hand")
	flag.Var(&o.appEnv, "app-env", "extra `KEY=VALUE` for the app's environment (repeatable), e.g. GOGC=400 to try a setting")
	flag.BoolVar(&o.keep, "keep", false, "keep the run's temporary directory (logs, state)")
	flag.Parse()

	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "perf: interrupted; stopping the servers")
		cancel()
		<-sigs
		stopAll()
		os.Exit(130)
	}()
	err := run(ctx, o)
	stopAll()
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(1)
	}
}

// target is one server under test.
type target struct {
	name string // "app" or "baseline"
	url  string
	p    *proc
}

// sample is one wrk run with the CPU the server (and the emulator) used during it.
type sample struct {
	wrkResult
	CPUPerReq, EmuCPUPerReq time.Duration
	Load                    float64
}

type env struct {
	o                options
	tmp              string
	emu              *proc
	emuURL, caFile   string
	app, base        *target
	cookies          []string // every signed-in session's Cookie header; single requests use the first
	raw              io.Writer
	appEnv, appArgs  []string
	baseArgs         []string
	appBin, baseBin  string
	loadMin, loadMax float64
	loads            []float64
}

func run(ctx context.Context, o options) error {
	if _, err := exec.LookPath(o.wrk); err != nil {
		return fmt.Errorf("wrk not found (make perf installs the Debian package): %w", err)
	}
	tmp, err := os.MkdirTemp("", "graphauth-perf-")
	if err != nil {
		return err
	}
	keep := o.keep
	defer func() {
		if keep {
			fmt.Fprintln(os.Stderr, "perf: logs and state kept in", tmp)
		} else {
			os.RemoveAll(tmp)
		}
	}()
	e := &env{o: o, tmp: tmp, loadMin: 1e9}
	if err := e.setUp(ctx); err != nil {
		keep = true
		return err
	}
	if o.hold {
		fmt.Printf("app:      %s (pid %d)\nbaseline: %s (pid %d)\nemulator: %s (pid %d)\nCookie: %s\npages:",
			e.app.url, e.app.p.pid(), e.base.url, e.base.p.pid(), e.emuURL, e.emu.pid(), e.cookies[0])
		for _, p := range pages {
			fmt.Printf(" %s=/notes/pages/%s", strings.ReplaceAll(p.label, " ", ""), p.id)
		}
		fmt.Println("\nCtrl-C stops them.")
		<-ctx.Done()
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	rawf, err := os.Create(o.raw)
	if err != nil {
		return err
	}
	defer rawf.Close()
	e.raw = rawf
	fmt.Fprintln(rawf, "round\tscenario\ttarget\tconns\treq/s\trequests\tp50_us\tp99_us\tcpu_us/req\temulator_cpu_us/req\terrors\tload1")

	rep := &report{o: o, started: time.Now(), commit: gitState()}
	if err := e.measureMain(ctx, rep); err != nil {
		keep = true
		return err
	}
	if o.notes {
		if err := e.measureNotes(ctx, rep); err != nil {
			keep = true
			return err
		}
		rep.appRSSNotes, rep.appHWMNotes, _ = memory(e.app.p.pid())
		rep.baseRSSNotes, rep.baseHWMNotes, _ = memory(e.base.p.pid())
	}
	// Still signed in, still 200 (wrk does not count redirects as errors).
	if err := e.preflight(ctx, rep); err != nil {
		keep = true
		return fmt.Errorf("after the load: %w", err)
	}
	if err := e.measureStarts(ctx, rep); err != nil {
		keep = true
		return err
	}
	rep.loadMin, rep.loadMax, rep.loads = e.loadMin, e.loadMax, e.loads
	rep.finished = time.Now()
	text := rep.markdown()
	fmt.Print(text)
	if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "perf: wrote %s and %s\n", o.out, o.raw)
	if o.profile {
		if err := e.profile(ctx, rep); err != nil {
			keep = true
			return err
		}
	}
	return nil
}

// setUp copies the binaries, starts the emulator, the app and the baseline, adds the OneNote
// pages and signs the user in.
func (e *env) setUp(ctx context.Context) error {
	bins := map[string]string{}
	for _, name := range []string{"graphauth", "emulator", "perfbaseline"} {
		// A copy, so a `make build` elsewhere during the run cannot swap the binary under us.
		src := filepath.Join(e.o.bin, name)
		b, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("%s: %w (make perf builds it)", src, err)
		}
		if err := os.MkdirAll(filepath.Join(e.tmp, "bin"), 0o755); err != nil {
			return err
		}
		dst := filepath.Join(e.tmp, "bin", name)
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			return err
		}
		bins[name] = dst
	}
	e.appBin, e.baseBin = bins["graphauth"], bins["perfbaseline"]
	emuPort, err1 := freePort()
	appPort, err2 := freePort()
	basePort, err3 := freePort()
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	appURL := fmt.Sprintf("http://127.0.0.1:%d", appPort)
	redirect := appURL + "/getAToken"
	emuArgs := []string{"-addr", fmt.Sprintf("127.0.0.1:%d", emuPort), "-state-dir", filepath.Join(e.tmp, "emulator"),
		"-redirect-uri", redirect}
	out, err := exec.CommandContext(ctx, bins["emulator"], append(emuArgs, "-print-env")...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return fmt.Errorf("emulator -print-env: %w", err)
	}
	var appEnv []string
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[k] = v
			appEnv = append(appEnv, line)
		}
	}
	e.caFile = vars["EXTRA_CA_FILE"]
	e.emuURL = strings.TrimSuffix(vars["GRAPH_ENDPOINT"], "/v1.0/me")
	// OneNote unthrottled on both sides: Graph's 120 requests a minute per user would otherwise
	// make the pages measure the pacer.
	e.emu, err = start("emulator", bins["emulator"], append(emuArgs, "-auto-approve", testUser,
		"-onenote-rpm", "-1", "-onenote-concurrency", "-1"), nil, filepath.Join(e.tmp, "emulator.log"))
	if err != nil {
		return err
	}
	ctl, err := tlsClient(e.caFile, nil, false)
	if err != nil {
		return err
	}
	if _, err := waitReady(ctx, e.emu, ctl, vars["AUTHORITY"]+"/v2.0/.well-known/openid-configuration", time.Now(), 30*time.Second); err != nil {
		return err
	}

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	e.appEnv = append(appEnv, "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", appPort), "REDIRECT_URI="+redirect,
		"SESSION_TYPE=filesystem", "SESSION_DIR="+filepath.Join(e.tmp, "sessions"), "SESSION_KEY="+hex.EncodeToString(key),
		"EXPORT_DIR="+filepath.Join(e.tmp, "exports"),
		"ONENOTE_REQUESTS_PER_MINUTE=1000000", "ONENOTE_CONCURRENCY=1000")
	e.appEnv = append(e.appEnv, e.o.appEnv...)
	e.appArgs = []string{"-env-file", ""}
	e.app = &target{name: "app", url: appURL}
	if e.app.p, err = e.startApp(ctx, nil); err != nil {
		return err
	}

	if e.o.notes {
		if err := e.addPages(ctx, ctl); err != nil {
			return err
		}
	}
	notePath := ""
	if pages[0].id != "" {
		notePath = "/notes/pages/" + pages[0].id
	}
	for i := range max(1, e.o.users) {
		c, err := signIn(ctx, e.caFile, appURL, notePath)
		if err != nil {
			return fmt.Errorf("signing in through the app (session %d): %w", i+1, err)
		}
		e.cookies = append(e.cookies, c)
	}

	// The baseline's bytes: what the app answers the signed-in user.
	plain := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status, _, index, hdr, err := get(ctx, plain, appURL+"/", e.cookies[0])
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("GET / signed in: %d %v", status, err)
	}
	status, _, demo, _, err := get(ctx, plain, appURL+"/msal-demo", e.cookies[0])
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("GET /msal-demo signed in: %d %v", status, err)
	}
	var hb strings.Builder
	for k, vs := range hdr {
		switch k {
		case "Date", "Content-Length", "Set-Cookie":
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(&hb, "%s: %s\n", k, v)
		}
	}
	// As many tokens as the app has sessions: the app's Graph calls carry one per user, and a
	// single token would let the baseline's calls share what one token allows (HTTP/2 header
	// compression indexes it once; the emulator checks it once).
	var tokens []string
	for range len(e.cookies) {
		t, err := userToken(ctx, e.caFile, vars["AUTHORITY"], vars["CLIENT_ID"], vars["CLIENT_SECRET"], redirect,
			"openid profile offline_access User.ReadBasic.All Notes.Read")
		if err != nil {
			return fmt.Errorf("a token for the baseline: %w", err)
		}
		tokens = append(tokens, t)
	}
	token := strings.Join(tokens, "\n")
	files := map[string]string{"index.html": index, "demo.html": demo, "headers.txt": hb.String(), "token": token}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(e.tmp, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	e.baseArgs = []string{"-addr", fmt.Sprintf("127.0.0.1:%d", basePort), "-index", filepath.Join(e.tmp, "index.html"),
		"-headers", filepath.Join(e.tmp, "headers.txt"), "-demo", filepath.Join(e.tmp, "demo.html"),
		"-graph", vars["GRAPH_ENDPOINT"], "-ca", e.caFile, "-token-file", filepath.Join(e.tmp, "token")}
	e.base = &target{name: "baseline", url: fmt.Sprintf("http://127.0.0.1:%d", basePort)}
	if e.base.p, err = e.startBase(ctx); err != nil {
		return err
	}
	return nil
}

const testUser = "alex.rivera@graphauth.example"

func (e *env) startApp(ctx context.Context, extra []string) (*proc, error) {
	p, err := start("graphauth", e.appBin, e.appArgs, append(append([]string(nil), e.appEnv...), extra...), filepath.Join(e.tmp, "app.log"))
	if err != nil {
		return nil, err
	}
	_, err = waitReady(ctx, p, http.DefaultClient, e.app.url+"/healthz", time.Now(), 30*time.Second)
	return p, err
}

func (e *env) startBase(ctx context.Context) (*proc, error) {
	p, err := start("perfbaseline", e.baseBin, e.baseArgs, nil, filepath.Join(e.tmp, "baseline.log"))
	if err != nil {
		return nil, err
	}
	_, err = waitReady(ctx, p, http.DefaultClient, e.base.url+"/healthz", time.Now(), 30*time.Second)
	return p, err
}

// page is one OneNote page added for the run.
type page struct {
	label string // "10 KB"
	size  int
	id    string
}

var pages = []page{{"10 KB", 10 << 10, ""}, {"100 KB", 100 << 10, ""}, {"1 MB", 1 << 20, ""}}

func (e *env) addPages(ctx context.Context, ctl *http.Client) error {
	var sec struct{ ID string }
	if err := control(ctx, ctl, e.emuURL, "/_emulator/onenote/sections", map[string]any{
		"userID": testUser, "notebook": "Perf", "section": "Sizes", "pages": 0}, &sec); err != nil {
		return err
	}
	for i := range pages {
		var pg struct{ ID string }
		title := "Perf page " + pages[i].label
		if err := control(ctx, ctl, e.emuURL, "/_emulator/onenote/pages", map[string]any{
			"userID": testUser, "sectionID": sec.ID, "title": title, "html": pagegen.Page(title, pages[i].size)}, &pg); err != nil {
			return err
		}
		pages[i].id = pg.ID
	}
	return nil
}

// measure runs wrk once against t's path and reads the CPU t and the emulator used meanwhile.
func (e *env) measure(ctx context.Context, round int, scenario string, t *target, path string, conns, threads int, d time.Duration) (sample, error) {
	if t.p.exited() {
		return sample{}, fmt.Errorf("%s has exited (log: %s)", t.name, t.p.log.Name())
	}
	l := loadAvg()
	e.loads = append(e.loads, l)
	e.loadMin, e.loadMax = min(e.loadMin, l), max(e.loadMax, l)
	c0, err1 := cpuTicks(t.p.pid())
	e0, err2 := cpuTicks(e.emu.pid())
	res, out, err := runWrk(ctx, e.o.wrk, threads, conns, d, t.url+path, e.cookies)
	if err != nil {
		return sample{}, err
	}
	c1, err3 := cpuTicks(t.p.pid())
	e1, err4 := cpuTicks(e.emu.pid())
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return sample{}, err
	}
	if res.Requests == 0 {
		// Every request took longer than the run: say so in the table rather than fail.
		fmt.Fprintf(os.Stderr, "  round %d  %-34s %-8s c=%-2d no request completed in %v\n", round+1, scenario, t.name, conns, d)
		fmt.Fprintf(e.raw, "%d\t%s\t%s\t%d\t0\t0\t\t\t\t\t0\t%.2f\n", round, scenario, t.name, conns, l)
		return sample{Load: l}, nil
	}
	if res.Non2xx3xx > 0 || res.SocketErrors > 0 {
		return sample{}, fmt.Errorf("%s %s: %d error answers, %d socket errors:\n%s", t.name, path, res.Non2xx3xx, res.SocketErrors, out)
	}
	tick := time.Second / clockTicks
	s := sample{wrkResult: res, Load: l,
		CPUPerReq:    time.Duration(c1-c0) * tick / time.Duration(res.Requests),
		EmuCPUPerReq: time.Duration(e1-e0) * tick / time.Duration(res.Requests)}
	fmt.Fprintf(e.raw, "%d\t%s\t%s\t%d\t%.0f\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\n", round, scenario, t.name, conns, res.RPS, res.Requests,
		res.P50.Microseconds(), res.P99.Microseconds(), s.CPUPerReq.Microseconds(), s.EmuCPUPerReq.Microseconds(),
		res.Non2xx3xx+res.SocketErrors, l)
	fmt.Fprintf(os.Stderr, "  round %d  %-34s %-8s c=%-2d %8.0f req/s  p50 %-9v p99 %-9v cpu/req %v\n", round+1, scenario, t.name, conns,
		res.RPS, res.P50, res.P99, s.CPUPerReq)
	return s, nil
}

// sequential is one user: requests one after another on one keep-alive connection, for d and
// at least three requests; P50 and P99 are of those requests, CPU per request as for wrk.
func (e *env) sequential(ctx context.Context, round int, scenario string, t *target, path string, d time.Duration) (sample, error) {
	client := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	l := loadAvg()
	c0, err1 := cpuTicks(t.p.pid())
	e0, err2 := cpuTicks(e.emu.pid())
	var lat []time.Duration
	t0 := time.Now()
	for len(lat) < 3 || time.Since(t0) < d {
		s := time.Now()
		status, _, _, _, err := get(ctx, client, t.url+path, e.cookies[0])
		if err != nil {
			return sample{}, err
		}
		if status != http.StatusOK {
			return sample{}, fmt.Errorf("%s %s answered %d", t.name, path, status)
		}
		lat = append(lat, time.Since(s))
	}
	elapsed := time.Since(t0)
	c1, err3 := cpuTicks(t.p.pid())
	e1, err4 := cpuTicks(e.emu.pid())
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return sample{}, err
	}
	sorted := append([]time.Duration(nil), lat...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	n := int64(len(lat))
	tick := time.Second / clockTicks
	s := sample{Load: l, CPUPerReq: time.Duration(c1-c0) * tick / time.Duration(n), EmuCPUPerReq: time.Duration(e1-e0) * tick / time.Duration(n)}
	s.Requests, s.RPS, s.Elapsed = n, float64(n)/elapsed.Seconds(), elapsed
	s.P50, s.P99 = median(lat), sorted[min(len(sorted)-1, len(sorted)*99/100)]
	fmt.Fprintf(e.raw, "%d\t%s\t%s\t1\t%.0f\t%d\t%d\t%d\t%d\t%d\t0\t%.2f\n", round, scenario, t.name, s.RPS, n,
		s.P50.Microseconds(), s.P99.Microseconds(), s.CPUPerReq.Microseconds(), s.EmuCPUPerReq.Microseconds(), l)
	fmt.Fprintf(os.Stderr, "  round %d  %-34s %-8s c=1  %8.0f req/s  p50 %-9v p99 %-9v cpu/req %v\n", round+1, scenario, t.name,
		s.RPS, s.P50, s.P99, s.CPUPerReq)
	return s, nil
}

// preflight checks that every scenario answers 200 with what it should, before and after the
// load: wrk counts a redirect to the sign-in page as a success.
func (e *env) preflight(ctx context.Context, _ *report) error {
	plain := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	type check struct {
		t                  *target
		path, want, cookie string
	}
	checks := []check{{e.app, "/", `id="welcome"`, ""}, {e.base, "/", `id="welcome"`, ""}, {e.app, "/msal-demo", "displayName", ""}, {e.base, "/msal-demo", "displayName", ""}}
	for _, p := range pages {
		if p.id == "" {
			continue
		}
		checks = append(checks, check{e.app, "/notes/pages/" + p.id, "Perf page", ""}, check{e.app, "/notes/pages/" + p.id + "/body", "Section 1", ""},
			check{e.app, "/notes/pages/" + p.id + "/markdown", "Section 1", ""}, check{e.base, "/notes/pages/" + p.id, "Section 1", ""})
	}
	for _, cookie := range e.cookies[1:] { // every session the load used is still signed in
		checks = append(checks, check{e.app, "/", `id="welcome"`, cookie})
	}
	for _, c := range checks {
		if c.cookie == "" {
			c.cookie = e.cookies[0]
		}
		status, _, body, _, err := get(ctx, plain, c.t.url+c.path, c.cookie)
		if err != nil {
			return err
		}
		if status != http.StatusOK || !strings.Contains(body, c.want) {
			return fmt.Errorf("%s %s answered %d without %q: %.400s", c.t.name, c.path, status, c.want, body)
		}
	}
	return nil
}

// pair is one scenario's samples for both servers, round by round.
type pair struct {
	name, appPath, basePath string
	app, base               []sample
}

func (e *env) measureMain(ctx context.Context, rep *report) error {
	if err := e.preflight(ctx, rep); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "perf: %d rounds of %v, c=%d, %d threads, app and baseline alternating\n", e.o.rounds, e.o.duration, e.o.conns, e.o.threads)
	rep.main = []*pair{{name: "signed-in `GET /`", appPath: "/", basePath: "/"},
		{name: "`/msal-demo`, cached token", appPath: "/msal-demo", basePath: "/msal-demo"}}
	for r := 0; r < e.o.rounds; r++ {
		for i, p := range rep.main {
			order := []*target{e.app, e.base}
			if (r+i)%2 == 1 {
				order = []*target{e.base, e.app}
			}
			for _, t := range order {
				path := p.appPath
				if t == e.base {
					path = p.basePath
				}
				s, err := e.measure(ctx, r, p.name, t, path, e.o.conns, e.o.threads, e.o.duration)
				if err != nil {
					return err
				}
				if t == e.app {
					p.app = append(p.app, s)
				} else {
					p.base = append(p.base, s)
				}
			}
		}
	}
	rep.appRSS, rep.appHWM, _ = memory(e.app.p.pid())
	rep.baseRSS, rep.baseHWM, _ = memory(e.base.p.pid())
	return nil
}

// noteRun is one OneNote route at one page size.
type noteRun struct {
	size, route, path string
	base              bool
	load, one         []sample // c=16 and c=1
}

// label names the run in the progress lines: the route with the page id left out.
func (n *noteRun) label() string {
	if n.base {
		return "bare page"
	}
	i := strings.Index(n.path, "/pages/")
	j := strings.Index(n.path[i+len("/pages/"):], "/")
	if j < 0 {
		return "page"
	}
	return n.path[i+len("/pages/")+j+1:]
}

func (e *env) measureNotes(ctx context.Context, rep *report) error {
	fmt.Fprintf(os.Stderr, "perf: OneNote pages: %d rounds of %v at c=%d and at c=1\n", e.o.notesRounds, e.o.notesDuration, e.o.conns)
	for _, p := range pages {
		base := "/notes/pages/" + p.id
		rep.notes = append(rep.notes,
			&noteRun{size: p.label, route: "bare: the same two Graph calls, HTML passed through", path: base, base: true},
			&noteRun{size: p.label, route: "`/notes/pages/{id}` (details + HTML shown escaped)", path: base},
			&noteRun{size: p.label, route: "`/notes/pages/{id}/body` (sanitized)", path: base + "/body"},
			&noteRun{size: p.label, route: "`/notes/pages/{id}/markdown` (converted)", path: base + "/markdown"})
	}
	for r := 0; r < e.o.notesRounds; r++ {
		for i, n := range rep.notes {
			t := e.app
			if n.base {
				t = e.base
			}
			d := e.o.notesDuration
			if i >= len(rep.notes)-4 { // the 1 MB page: long enough for 16 slow requests to finish
				d = max(d, e.o.notesDurationLarge)
			}
			s, err := e.measure(ctx, r, n.size+" "+n.label(), t, n.path, e.o.conns, e.o.threads, d)
			if err != nil {
				return err
			}
			n.load = append(n.load, s)
			s1, err := e.sequential(ctx, r, n.size+" "+n.label(), t, n.path, e.o.notesDuration)
			if err != nil {
				return err
			}
			n.one = append(n.one, s1)
		}
	}
	return nil
}

// measureStarts times exec to the first answer of /healthz, app and baseline alternating, each
// a fresh process (the app with the file store holding the run's session).
func (e *env) measureStarts(ctx context.Context, rep *report) error {
	e.app.p.stop()
	e.base.p.stop()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	once := func(t *target) (time.Duration, error) {
		var p *proc
		var err error
		t0 := time.Now()
		if t == e.app {
			p, err = start("graphauth", e.appBin, e.appArgs, e.appEnv, filepath.Join(e.tmp, "app.log"))
		} else {
			p, err = start("perfbaseline", e.baseBin, e.baseArgs, nil, filepath.Join(e.tmp, "baseline.log"))
		}
		if err != nil {
			return 0, err
		}
		defer p.stop()
		return waitReady(ctx, p, client, t.url+"/healthz", t0, 30*time.Second)
	}
	for i := 0; i < e.o.starts; i++ {
		order := []*target{e.app, e.base}
		if i%2 == 1 {
			order = []*target{e.base, e.app}
		}
		for _, t := range order {
			d, err := once(t)
			if err != nil {
				return err
			}
			if t == e.app {
				rep.appStarts = append(rep.appStarts, d)
			} else {
				rep.baseStarts = append(rep.baseStarts, d)
			}
		}
	}
	return nil
}

// gitState names the commit measured, and says when the work tree had changes on top of it.
func gitState() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	s := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
		if n := len(strings.FieldsFunc(string(st), func(r rune) bool { return r == '\n' })); n > 0 {
			s += fmt.Sprintf(" with uncommitted changes in %d tracked files", n)
		}
	}
	return s
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := append([]T(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func spread[T int64 | float64 | time.Duration](xs []T) (lo, hi T) {
	if len(xs) == 0 {
		return 0, 0
	}
	lo, hi = xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}
