package web

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// The value a fixed header shares between responses is never changed by what one response does
// with its headers afterwards.
func TestFixedHeadersStayFixed(t *testing.T) {
	f := newFixedHeader("cache-control", "no-store")
	if f.name != "Cache-Control" {
		t.Fatalf("name %q, want the canonical Cache-Control", f.name)
	}
	h := http.Header{}
	f.set(h)
	h.Add("Cache-Control", "private")
	if !slices.Equal(f.value, []string{"no-store"}) {
		t.Fatalf("the shared value is now %q", f.value)
	}
	if got := h.Values("Cache-Control"); !slices.Equal(got, []string{"no-store", "private"}) {
		t.Errorf("after set and Add: %q", got)
	}
}

// A request body is cut off at 64 KB for any handler that reads one; a request without a body
// (most of them) is left alone.
func TestRequestBodyLimit(t *testing.T) {
	a := &App{security: securityHeaderSet("default-src 'self'", false)}
	var readErr error
	var read int
	h := a.securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		read, readErr = len(b), err
	}))
	for _, c := range []struct {
		name    string
		body    io.Reader
		wantErr bool
	}{
		{"no body", nil, false},
		{"64 KB", strings.NewReader(strings.Repeat("a", 64<<10)), false},
		{"64 KB and one byte", strings.NewReader(strings.Repeat("a", 64<<10+1)), true},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/logout", c.body))
		var tooLarge *http.MaxBytesError
		if errors.As(readErr, &tooLarge) != c.wantErr || (!c.wantErr && readErr != nil) {
			t.Errorf("%s: read %d bytes, %v", c.name, read, readErr)
		}
	}
}

// A reused page writer starts clean: no header, status or body of the page before.
func TestBufferedWriterReusedClean(t *testing.T) {
	var prev *bufferedWriter
	for i := 0; i < 1000; i++ {
		b := newBufferedWriter()
		if b == prev {
			if len(b.header) != 0 || b.status != 0 || b.body.Len() != 0 {
				t.Fatalf("a reused writer holds header %v, status %d, %d bytes", b.header, b.status, b.body.Len())
			}
			return
		}
		b.Header().Set("Set-Cookie", "someone's")
		b.WriteHeader(http.StatusFound)
		_, _ = b.Write([]byte("someone's page"))
		b.release()
		prev = b
	}
	t.Skip("the pool never handed a writer back (it may drop any; the race detector makes it drop some)")
}
