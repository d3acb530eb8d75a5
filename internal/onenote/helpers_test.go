package onenote

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// standIn is a Graph stand-in on 127.0.0.1 (TLS) that records each request URI.
type standIn struct {
	*httptest.Server
	mu   sync.Mutex
	uris []string
}

func newStandIn(t *testing.T, h http.HandlerFunc) *standIn {
	t.Helper()
	s := &standIn{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.uris = append(s.uris, r.URL.RequestURI())
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *standIn) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.uris...)
}

// client builds a Client against the stand-in with a sped-up budget unless o says otherwise.
func (s *standIn) client(o Options) *Client {
	o.HTTP = s.Client()
	o.BaseURL = s.URL + "/v1.0"
	if o.RequestsPerMinute == 0 {
		o.RequestsPerMinute = 12000
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	return New(o)
}

// user is a User with the token "tok".
func (s *standIn) user(o Options) *User {
	return s.client(o).For("tid.oid", staticToken("tok"))
}

func staticToken(tok string) TokenSource {
	return func(context.Context) (string, error) { return tok, nil }
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// graphErr answers like Graph: request-id header and {"error":{...}} body.
func graphErr(w http.ResponseWriter, status int, code, msg, requestID string) {
	w.Header().Set("Content-Type", "application/json")
	if requestID != "" {
		w.Header().Set("request-id", requestID)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{"request-id": "inner-" + requestID, "date": "2025-01-01T00:00:00"},
	}})
}

// serveList answers one $top/$skip page of items, refusing a $top Graph would refuse.
func serveList(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	q := r.URL.Query()
	top, err1 := strconv.Atoi(q.Get("$top"))
	skip, err2 := strconv.Atoi(q.Get("$skip"))
	if err1 != nil || err2 != nil || top < 1 || top > 100 || skip < 0 {
		graphErr(w, http.StatusBadRequest, "20129", "bad $top or $skip", "")
		return
	}
	page := []map[string]any{}
	if skip < len(items) {
		page = items[skip:min(skip+top, len(items))]
	}
	writeJSON(w, map[string]any{"value": page})
}

func pageJSON(id string) map[string]any {
	return map[string]any{"id": id, "title": "t " + id, "level": 0, "order": 0,
		"parentSection": map[string]any{"id": "1-s!1", "displayName": "Sec"}}
}

// fakeClock is a clock whose Sleep moves time on at once.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// maxGauge tracks the most requests in flight at once.
type maxGauge struct{ cur, max atomic.Int64 }

func (g *maxGauge) enter() {
	n := g.cur.Add(1)
	for {
		m := g.max.Load()
		if n <= m || g.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (g *maxGauge) leave() { g.cur.Add(-1) }
