package main

import "testing"

// TestPprofLoopbackOnly: PPROF_ADDR takes a loopback IP and port, nothing else.
func TestPprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "localhost:6060", "192.0.2.1:6060", "[::]:6060", "127.0.0.1"} {
		if srv, err := startPprof(addr); err == nil {
			srv.Close()
			t.Errorf("startPprof(%q) accepted a non-loopback or malformed address", addr)
		}
	}
	srv, err := startPprof("127.0.0.1:0")
	if err != nil {
		t.Fatalf("startPprof(127.0.0.1:0): %v", err)
	}
	srv.Close()
}
