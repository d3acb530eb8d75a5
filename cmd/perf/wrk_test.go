package main

import (
	"testing"
	"time"
)

const sampleWrk = `Running 5s test @ http://127.0.0.1:5001/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.90ms    2.71ms  48.02ms   89.93%
    Req/Sec     5.41k   719.33     6.84k    70.00%
  Latency Distribution
     50%  842.00us
     75%    1.96ms
     90%    4.70ms
     99%   13.21ms
  53846 requests in 5.00s, 173.13MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  10762.65
Transfer/sec:     34.60MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(sampleWrk)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{Requests: 53846, RPS: 10762.65, P50: 842 * time.Microsecond, P99: 13210 * time.Microsecond,
		Non2xx3xx: 7, SocketErrors: 3, Elapsed: 5 * time.Second, TransferBytes: 34.60 * (1 << 20)}
	if r != want {
		t.Errorf("parseWrk:\n got %+v\nwant %+v", r, want)
	}
}

func TestParseWrkIncomplete(t *testing.T) {
	if _, err := parseWrk("Running 5s test @ http://x/\nRequests/sec: 10\n"); err == nil {
		t.Error("a report without latencies parsed without error")
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"512.00us": 512 * time.Microsecond, "1.50ms": 1500 * time.Microsecond,
		"2.00s": 2 * time.Second, "1.00m": time.Minute} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseDuration("fast"); err == nil {
		t.Error(`parseDuration("fast") did not fail`)
	}
}

func TestProcStatTicks(t *testing.T) {
	// comm may hold spaces and parentheses; utime and stime are fields 14 and 15.
	line := "1234 (gra ph) (x) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 8 0 100 0 0"
	if got, err := parseStatTicks(line); err != nil || got != 325 {
		t.Errorf("parseStatTicks = %d, %v; want 325", got, err)
	}
}
