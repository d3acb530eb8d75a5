package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// profile restarts the app with PPROF_ADDR (cmd/graphauth/pprof.go: loopback only, off unless
// set) and takes a CPU profile of it under each scenario's load, after the measured rounds so
// the profiler never slows a measured run. Profiles go next to -out as perf-cpu-<name>.pprof
// with a `go tool pprof -top` summary.
func (e *env) profile(ctx context.Context, _ *report) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	pprofAddr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := e.startApp(ctx, []string{"PPROF_ADDR=" + pprofAddr})
	if err != nil {
		return err
	}
	defer p.stop()
	e.app.p = p
	scenarios := []struct{ name, path string }{{"index", "/"}, {"msal-demo", "/msal-demo"}}
	for _, pg := range pages {
		if pg.id != "" && pg.label == "100 KB" {
			scenarios = append(scenarios, struct{ name, path string }{"notes-page-100k", "/notes/pages/" + pg.id},
				struct{ name, path string }{"notes-markdown-100k", "/notes/pages/" + pg.id + "/markdown"})
		}
	}
	dir := filepath.Dir(e.o.out)
	var summary strings.Builder
	for _, s := range scenarios {
		wrkDone := make(chan error, 1)
		go func() {
			_, _, err := runWrk(ctx, e.o.wrk, e.o.threads, e.o.conns, e.o.profileDuration+2*time.Second, e.app.url+s.path, e.cookies)
			wrkDone <- err
		}()
		time.Sleep(time.Second)
		secs := int(e.o.profileDuration / time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, secs), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			<-wrkDone
			return err
		}
		file := filepath.Join(dir, "perf-cpu-"+s.name+".pprof")
		f, err := os.Create(file)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			f.Close()
		}
		resp.Body.Close()
		if werr := <-wrkDone; err == nil {
			err = werr
		}
		if err != nil {
			return err
		}
		top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=35", file).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go tool pprof %s: %w\n%s", file, err, top)
		}
		fmt.Fprintf(&summary, "== %s (GET %s, c=%d, %v)\n%s\n", s.name, s.path, e.o.conns, e.o.profileDuration, top)
	}
	out := filepath.Join(dir, "perf-profile.txt")
	fmt.Fprintf(os.Stderr, "perf: CPU profiles in %s/perf-cpu-*.pprof, summary in %s\n", dir, out)
	return os.WriteFile(out, []byte(summary.String()), 0o644)
}
