package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestTables(t *testing.T) {
	in := `goos: linux
BenchmarkIndex/clients=1-2   	 300	 1000 ns/op	 10 app_req/s	 0.5 throughput_ratio
BenchmarkIndex/clients=1-2   	 300	 3000 ns/op	 30 app_req/s	 0.7 throughput_ratio
BenchmarkIndex/clients=1-2   	 300	 2000 ns/op	 20 app_req/s	 0.6 throughput_ratio
BenchmarkIndex/clients=16-2  	 300	 5000 ns/op	 50 app_req/s	 0.25 throughput_ratio
BenchmarkAllocs/app/-2       	 300	 900 ns/op	 117369 B/op	 437 allocs/op
PASS
`
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		"BenchmarkIndex (medians)",
		"case runs ns/op app_req/s throughput_ratio",
		"clients=1 3 2000 20 0.60",
		"clients=16 1 5000 50 0.25",
		"BenchmarkAllocs (medians)",
		"app/ 1 900 117369 437",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
