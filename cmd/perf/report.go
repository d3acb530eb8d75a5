package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	o                          options
	started, finished          time.Time
	commit                     string
	main                       []*pair
	notes                      []*noteRun
	appRSS, appHWM             int64
	baseRSS, baseHWM           int64
	appRSSNotes, appHWMNotes   int64
	baseRSSNotes, baseHWMNotes int64
	appStarts, baseStarts      []time.Duration
	loadMin, loadMax           float64
	loads                      []float64
}

func rpsOf(s []sample) []float64 {
	var xs []float64
	for _, x := range s {
		xs = append(xs, x.RPS)
	}
	return xs
}

func pick(s []sample, f func(sample) time.Duration) []time.Duration {
	var xs []time.Duration
	for _, x := range s {
		xs = append(xs, f(x))
	}
	return xs
}

func p50(s sample) time.Duration    { return s.P50 }
func p99(s sample) time.Duration    { return s.P99 }
func cpu(s sample) time.Duration    { return s.CPUPerReq }
func emuCPU(s sample) time.Duration { return s.EmuCPUPerReq }
func mib(b int64) string            { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func medSpreadF(xs []float64) string {
	lo, hi := spread(xs)
	return fmt.Sprintf("%s (%s - %s)", num(median(xs)), num(lo), num(hi))
}
func medSpreadR(xs []float64) string {
	lo, hi := spread(xs)
	return fmt.Sprintf("**%.2f** (%.2f - %.2f)", median(xs), lo, hi)
}
func medSpreadD(xs []time.Duration) string {
	lo, hi := spread(xs)
	return fmt.Sprintf("%s (%s - %s)", dur(median(xs)), dur(lo), dur(hi))
}

// num writes a rate with thousands separators.
func num(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// dur writes a latency or CPU time in µs below 1 ms, else in ms.
func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func (r *report) markdown() string {
	var b strings.Builder
	o := r.o
	fmt.Fprintf(&b, "## make perf: %s\n\n", r.started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Commit %s; %d CPUs (app, baseline, emulator and wrk share them); load average (1 min) %.2f - %.2f during the runs, median %.2f; %s.\n\n",
		r.commit, runtime.NumCPU(), r.loadMin, r.loadMax, median(r.loads), r.finished.Sub(r.started).Round(time.Second))
	if len(o.appEnv) > 0 {
		fmt.Fprintf(&b, "The app ran with %s added to its environment (-app-env).\n\n", strings.Join(o.appEnv, " "))
	}
	fmt.Fprintf(&b, "wrk, keep-alive, c=%d, %d threads, requests spread round-robin over %d signed-in sessions (as many users; the app runs one identity call at a time per session); "+
		"%d rounds of %v, app and baseline alternating which goes first. "+
		"Medians, with the spread (min - max) over the rounds; the ratio is app ÷ baseline within each round. "+
		"CPU per request is the server process's utime+stime over the run (/proc/<pid>/stat) ÷ requests.\n\n",
		o.conns, o.threads, max(1, o.users), o.rounds, o.duration)

	b.WriteString("| scenario | app req/s | baseline req/s | ratio | target | app p50 / p99 | baseline p50 / p99 | app CPU/req | baseline CPU/req | emulator CPU/req (app's run / baseline's) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range r.main {
		var ratios []float64
		for i := range min(len(p.app), len(p.base)) {
			ratios = append(ratios, p.app[i].RPS/p.base[i].RPS)
		}
		ok := median(ratios) >= 0.6
		fmt.Fprintf(&b, "| %s | %s | %s | %s | ≥ 0.6: %s | %s / %s | %s / %s | %s | %s | %s / %s |\n", p.name,
			medSpreadF(rpsOf(p.app)), medSpreadF(rpsOf(p.base)), medSpreadR(ratios), verdict(ok),
			dur(median(pick(p.app, p50))), dur(median(pick(p.app, p99))),
			dur(median(pick(p.base, p50))), dur(median(pick(p.base, p99))),
			dur(median(pick(p.app, cpu))), dur(median(pick(p.base, cpu))),
			dur(median(pick(p.app, emuCPU))), dur(median(pick(p.base, emuCPU))))
	}
	if len(r.appStarts) > 0 {
		fmt.Fprintf(&b, "| start-up, exec to first `/healthz` answer (%d starts each, file store) | %s | %s | | ≤ 30 ms: %s | | | | | |\n",
			len(r.appStarts), medSpreadD(r.appStarts), medSpreadD(r.baseStarts), verdict(median(r.appStarts) <= 30*time.Millisecond))
	}
	fmt.Fprintf(&b, "| RSS after the `GET /` and `/msal-demo` load (VmRSS; VmHWM peak) | %s; peak %s | %s; peak %s | | ≤ 48 MiB: %s | | | | | |\n",
		mib(r.appRSS), mib(r.appHWM), mib(r.baseRSS), mib(r.baseHWM), verdict(r.appRSS <= 48<<20))
	if len(r.notes) > 0 {
		fmt.Fprintf(&b, "| RSS after the OneNote load too (up to 1 MB pages, c=%d) | %s; peak %s | %s; peak %s | | ≤ 48 MiB: %s | | | | | |\n",
			o.conns, mib(r.appRSSNotes), mib(r.appHWMNotes), mib(r.baseRSSNotes), mib(r.baseHWMNotes), verdict(r.appRSSNotes <= 48<<20))
	}
	b.WriteString("\nStart-up and req/s columns hold medians (min - max). Graph and the identity platform are the project's emulator " +
		"over TLS on loopback; the app and the baseline both call it with a keep-alive client.\n")

	if len(r.notes) > 0 {
		fmt.Fprintf(&b, "\n### OneNote pages by page size\n\n"+
			"%d rounds of %v at c=%d (req/s, p50/p99, CPU/req) and at c=1 (p50: what one user waits). "+
			"Pacing off for the run: the app with ONENOTE_REQUESTS_PER_MINUTE=1000000 and ONENOTE_CONCURRENCY=1000, "+
			"the emulator with -onenote-rpm -1 -onenote-concurrency -1 (Graph's real budget, 120 requests a minute per user, "+
			"would otherwise be what is measured). Each page view makes two Graph calls (the page with its section, then its content). "+
			"\"c=1 p50 over bare\" takes away the bare server's c=1 p50 for the same page (the two Graph calls and the transfer): "+
			"the app's own time.\n\n", o.notesRounds, o.notesDuration, o.conns)
		fmt.Fprintf(&b, "| page HTML | route | req/s (c=%[1]d) | p50 / p99 (c=%[1]d) | CPU/req | emulator CPU/req | c=1 p50 | c=1 p50 over bare |\n", o.conns)
		b.WriteString("|---|---|---|---|---|---|---|---|\n")
		bare := map[string]time.Duration{}
		for _, n := range r.notes {
			if n.base {
				bare[n.size] = median(pick(n.one, p50))
			}
		}
		for _, n := range r.notes {
			over := ""
			if !n.base {
				over = dur(median(pick(n.one, p50)) - bare[n.size])
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s / %s | %s | %s | %s | %s |\n", n.size, n.route, medSpreadF(rpsOf(n.load)),
				dur(median(pick(n.load, p50))), dur(median(pick(n.load, p99))), dur(median(pick(n.load, cpu))),
				dur(median(pick(n.load, emuCPU))), dur(median(pick(n.one, p50))), over)
		}
		b.WriteString("\nHow the cost grows (app CPU per request; ×10 per step is linear in page size):\n\n")
		b.WriteString("| route | 10 KB | 100 KB | 1 MB | 100 KB ÷ 10 KB | 1 MB ÷ 100 KB |\n|---|---|---|---|---|---|\n")
		byRoute := map[string][]time.Duration{}
		var routes []string
		for _, n := range r.notes {
			if _, ok := byRoute[n.route]; !ok {
				routes = append(routes, n.route)
			}
			byRoute[n.route] = append(byRoute[n.route], median(pick(n.load, cpu)))
		}
		for _, rt := range routes {
			c := byRoute[rt]
			if len(c) != 3 || c[0] == 0 || c[1] == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %.1f | %.1f |\n", rt, dur(c[0]), dur(c[1]), dur(c[2]),
				float64(c[1])/float64(c[0]), float64(c[2])/float64(c[1]))
		}
		for _, n := range r.notes {
			if n.size == "1 MB" && strings.Contains(n.path, "/markdown") {
				conv := median(pick(n.one, p50)) - bare[n.size]
				fmt.Fprintf(&b, "\n1 MB of page HTML converted to Markdown: %s at c=1 over the bare fetch (%s in all), %s of app CPU per request at c=%d; target < 50 ms: %s.\n",
					dur(conv), dur(median(pick(n.one, p50))), dur(median(pick(n.load, cpu))), o.conns, verdict(conv < 50*time.Millisecond))
			}
		}
	}
	fmt.Fprintf(&b, "\nRerun: `make perf` (flags through PERF_FLAGS, e.g. `make perf PERF_FLAGS='-rounds 9 -profile'`); one line per wrk run in %s.\n", o.raw)
	return b.String()
}
