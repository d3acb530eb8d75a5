package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// PPROF_ADDR (off by default) serves Go's profiler on a loopback address of its own, never on
// the app's port: for `make perf PERF_FLAGS=-profile` and for profiling by hand. Any other address is
// refused and the app does not start, so it cannot be exposed by mistake.
func init() {
	addr := os.Getenv("PPROF_ADDR")
	if addr == "" {
		return
	}
	if _, err := startPprof(addr); err != nil {
		fmt.Fprintln(os.Stderr, "graphauth: PPROF_ADDR:", err)
		os.Exit(2)
	}
}

// startPprof serves the profiler on addr, a loopback IP and port, until the process ends.
func startPprof(addr string) (*http.Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%q: must be a loopback IP address and port, e.g. 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}
