package web

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter records each Write it gets.
type countingWriter struct {
	mu     sync.Mutex
	writes []string
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

func (c *countingWriter) text() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.writes, ""), len(c.writes)
}

// Log lines are batched, never lost and never reordered: INFO lines wait for the interval, a
// WARN or ERROR line goes out at once with what came before it, Close writes the rest, and a
// line after Close is written at once.
func TestLogWriterBatchesWithoutLosing(t *testing.T) {
	out := &countingWriter{}
	lw := NewLogWriter(out, time.Hour) // the interval never fires in this test
	log := slog.New(slog.NewTextHandler(lw, nil))
	log.Info("request", "n", 1)
	log.Info("request", "n", 2)
	if got, n := out.text(); n != 0 {
		t.Fatalf("INFO lines written at once (%d writes): %q", n, got)
	}
	log.Error("request failed", "n", 3)
	got, n := out.text()
	if n != 1 || strings.Count(got, "\n") != 3 || !(strings.Index(got, "n=1") < strings.Index(got, "n=2") && strings.Index(got, "n=2") < strings.Index(got, "n=3")) {
		t.Fatalf("after an ERROR line: %d writes %q, want one write of the three lines in order", n, got)
	}
	log.Warn("slow store", "n", 4)
	if got, _ := out.text(); !strings.Contains(got, "n=4") {
		t.Errorf("a WARN line waited: %q", got)
	}
	log.Info("request", "n", 5)
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := out.text(); !strings.Contains(got, "n=5") {
		t.Errorf("Close lost a line: %q", got)
	}
	log.Info("after close", "n", 6)
	if got, _ := out.text(); !strings.Contains(got, "n=6") {
		t.Errorf("a line after Close waited: %q", got)
	}
}

// INFO lines reach the output within the interval, and JSON lines are read as well as text.
func TestLogWriterFlushesOnInterval(t *testing.T) {
	out := &countingWriter{}
	lw := NewLogWriter(out, 20*time.Millisecond)
	defer lw.Close()
	slog.New(slog.NewJSONHandler(lw, nil)).Info("request", "n", 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := out.text(); strings.Contains(got, `"n":1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an INFO line was not written within 5 s with a 20 ms interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Error("x")
	if !urgent(b.Bytes()) {
		t.Errorf("a JSON ERROR line is not urgent: %s", b.Bytes())
	}
}
