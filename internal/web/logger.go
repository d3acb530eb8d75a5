package web

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/graphauth/graphauth/internal/config"
)

// NewLogger is the app's logger: LOG_FORMAT (text or json) at LOG_LEVEL, written to w.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// LogWriter batches log lines: every request logs a line, and one write system call per line
// was a tenth of a signed-in page's cost under load. Lines are written, whole and in order, when
// 32 KB have gathered, at the latest every interval, and on Close; a line at WARN or above
// (an error page, a failed store) is written at once with whatever came before it. A crash that
// skips Close loses at most interval's worth of INFO lines.
type LogWriter struct {
	mu       sync.Mutex
	w        io.Writer
	buf      []byte
	err      error // the last write error, reported by Flush and Close
	closed   bool
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
}

const logBufferSize = 32 << 10

// NewLogWriter writes to w in batches, flushing at least every interval.
func NewLogWriter(w io.Writer, interval time.Duration) *LogWriter {
	l := &LogWriter{w: w, buf: make([]byte, 0, logBufferSize), stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(l.stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = l.Flush()
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

// Write takes one log line (slog writes each record with one Write).
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) >= logBufferSize || l.closed || urgent(p) {
		l.flushLocked()
	}
	return len(p), nil
}

// urgent reports a text or JSON line at WARN or ERROR (the level comes right after the time).
func urgent(p []byte) bool {
	head := p[:min(len(p), 96)]
	for _, m := range [...]string{" level=WARN ", " level=ERROR ", `"level":"WARN"`, `"level":"ERROR"`} {
		if bytes.Contains(head, []byte(m)) {
			return true
		}
	}
	return false
}

// Flush writes what has gathered.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	return l.err
}

func (l *LogWriter) flushLocked() {
	if len(l.buf) == 0 {
		return
	}
	if _, err := l.w.Write(l.buf); err != nil {
		l.err = err
	}
	l.buf = l.buf[:0]
}

// Close stops the timer and writes what is left. Lines written after Close are written at once.
func (l *LogWriter) Close() error {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.stopped
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.flushLocked()
	return l.err
}
