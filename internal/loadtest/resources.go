package loadtest

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// Resources is a process's goroutines, open file descriptors and memory at one moment.
// FDs is -1 where /proc is not available; Goroutines is -1 for another process.
type Resources struct {
	Goroutines int
	FDs        int
	RSS        int64 // resident set size now, bytes (0: unknown)
	PeakRSS    int64 // the process's peak resident set size so far, bytes (0: unknown)
}

// SelfResources measures this process.
func SelfResources() Resources {
	r := ProcessResources(os.Getpid())
	r.Goroutines = runtime.NumGoroutine()
	return r
}

// ProcessResources measures another process by its ID (Linux /proc).
func ProcessResources(pid int) Resources {
	r := Resources{Goroutines: -1, FDs: -1}
	if entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		r.FDs = len(entries)
	}
	r.RSS, r.PeakRSS = procMemory(pid)
	return r
}

// procMemory reads VmRSS and VmHWM from /proc/PID/status.
func procMemory(pid int) (rss, peak int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	return rss, peak
}

// SettleTo polls this process until its goroutines and file descriptors are back to at most
// the baseline's, for at most wait. It returns the last measurement and whether it settled.
// Goroutines of closed connections and finished requests take a moment to return, hence the
// polling; a leak never does.
//
// Up to allowSweepers goroutines of scs's in-memory store sweeper are not counted: scs.New
// starts one for the default store of every session manager, which the app replaces, and it
// cannot be stopped without a data race (memstore sets its stop channel inside the goroutine).
// One per app built is that known, bounded cost; more would be a leak.
func SettleTo(baseline Resources, wait time.Duration, allowSweepers int) (Resources, bool) {
	deadline := time.Now().Add(wait)
	for {
		now := SelfResources()
		now.Goroutines -= min(memstoreSweepers(), allowSweepers)
		if now.Goroutines <= baseline.Goroutines && (baseline.FDs < 0 || now.FDs <= baseline.FDs) {
			return now, true
		}
		if time.Now().After(deadline) {
			return now, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// memstoreSweepers counts the goroutines running scs's memstore cleanup loop.
func memstoreSweepers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "memstore.(*MemStore).startCleanup(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// GoroutineDump is every goroutine's stack, grouped, for a leak report.
func GoroutineDump() string {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	return b.String()
}

// MiB formats a byte count.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
