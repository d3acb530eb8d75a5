package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run printed.
type wrkResult struct {
	Requests      int64
	RPS           float64
	P50, P99      time.Duration
	Non2xx3xx     int64 // wrk counts status >= 400 here
	SocketErrors  int64 // connect, read, write and timeout errors together
	Elapsed       time.Duration
	TransferBytes float64 // Transfer/sec, in bytes
}

// parseWrk reads wrk's --latency report.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRPS, haveReq, have50, have99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "Requests/sec:" && len(f) >= 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk: Requests/sec %q: %w", f[1], err)
			}
			r.RPS, haveRPS = v, true
		case f[0] == "Transfer/sec:" && len(f) >= 2:
			r.TransferBytes, _ = parseSize(f[1])
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: request count %q: %w", f[0], err)
			}
			r.Requests, haveReq = n, true
			r.Elapsed, _ = parseDuration(strings.TrimSuffix(f[3], ","))
		case f[0] == "50%" && len(f) >= 2:
			d, err := parseDuration(f[1])
			if err != nil {
				return r, err
			}
			r.P50, have50 = d, true
		case f[0] == "99%" && len(f) >= 2:
			d, err := parseDuration(f[1])
			if err != nil {
				return r, err
			}
			r.P99, have99 = d, true
		case f[0] == "Non-2xx" && len(f) >= 5:
			r.Non2xx3xx, _ = strconv.ParseInt(f[4], 10, 64)
		case f[0] == "Socket" && len(f) >= 2 && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 2; i+1 < len(f); i += 2 {
				n, _ := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				r.SocketErrors += n
			}
		}
	}
	if !haveRPS || !haveReq || !have50 || !have99 {
		return r, fmt.Errorf("wrk: report incomplete (need Requests/sec, the request count and the 50%% and 99%% latencies; run with --latency):\n%s", out)
	}
	return r, nil
}

// parseDuration reads wrk's latencies: 512.00us, 1.23ms, 2.00s, 1.50m.
func parseDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				break
			}
			return time.Duration(v * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("wrk: latency %q not understood", s)
}

// parseSize reads wrk's byte counts: 12.34MB, 900.00KB, 512.00B.
func parseSize(s string) (float64, error) {
	mult := map[string]float64{"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
	for _, suf := range []string{"KB", "MB", "GB", "B"} {
		if num, ok := strings.CutSuffix(s, suf); ok {
			v, err := strconv.ParseFloat(num, 64)
			return v * mult[suf], err
		}
	}
	return 0, fmt.Errorf("size %q not understood", s)
}

// runWrk runs wrk against url, keep-alive (wrk's default), and parses it. One cookie goes on
// every request; several are spread over the requests round-robin by a Lua script (each wrk
// thread starting at a different one), as many users' traffic would be.
func runWrk(ctx context.Context, wrk string, threads, conns int, d time.Duration, url string, cookies []string) (wrkResult, string, error) {
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second)), "--latency", "--timeout", "10s"}
	switch len(cookies) {
	case 0:
	case 1:
		args = append(args, "-H", "Cookie: "+cookies[0])
	default:
		script, err := os.CreateTemp("", "perf-wrk-*.lua")
		if err != nil {
			return wrkResult{}, "", err
		}
		defer os.Remove(script.Name())
		_, err = script.WriteString(roundRobinScript(cookies))
		if cerr := script.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return wrkResult{}, "", err
		}
		args = append(args, "-s", script.Name())
	}
	args = append(args, url)
	cmd := exec.CommandContext(ctx, wrk, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, string(out), fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	r, err := parseWrk(string(out))
	return r, string(out), err
}

// roundRobinScript is a wrk script that builds one request per cookie up front (so the load
// generator does no more work per request than with -H) and sends them in turn.
func roundRobinScript(cookies []string) string {
	var b strings.Builder
	b.WriteString("local cookies = {\n")
	for _, c := range cookies {
		fmt.Fprintf(&b, "  %q,\n", c)
	}
	b.WriteString(`}
local reqs, i, n = {}, 0, 0
function setup(thread)
  thread:set("first", n)
  n = n + 1
end
function init(args)
  for k, c in ipairs(cookies) do
    reqs[k] = wrk.format(nil, nil, {["Cookie"] = c})
  end
  i = (first * 7) % #reqs
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
`)
	return b.String()
}
