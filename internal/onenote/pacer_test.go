package onenote

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestConcurrencyLimit(t *testing.T) {
	var g maxGauge
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
		g.enter()
		defer g.leave()
		time.Sleep(20 * time.Millisecond)
		writeJSON(w, pageJSON("1-p!1"))
	})
	c := s.client(Options{Concurrency: 3})
	// Two User values for the same key (a page view and an export) share one budget.
	users := []*User{c.For("same", staticToken("tok")), c.For("same", staticToken("tok"))}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			if _, err := users[i%2].Page(context.Background(), "1-p!1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := g.max.Load(); got > 3 || got < 2 {
		t.Errorf("at most %d requests in flight, want 3 (2 at least)", got)
	}
}

// windowViolation returns the first i where limit+1 starts fall within less than window.
func windowViolation(starts []time.Time, limit int, window time.Duration) int {
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	for i := 0; i+limit < len(starts); i++ {
		if starts[i+limit].Sub(starts[i]) < window {
			return i
		}
	}
	return -1
}

func TestRequestsPerMinuteFakeClock(t *testing.T) {
	clock := newFakeClock()
	var mu sync.Mutex
	var starts []time.Time
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		starts = append(starts, clock.Now())
		mu.Unlock()
		writeJSON(w, pageJSON("1-p!1"))
	})
	u := s.user(Options{RequestsPerMinute: 5, Now: clock.Now, Sleep: clock.Sleep})
	begin := clock.Now()
	for range 12 {
		if _, err := u.Page(context.Background(), "1-p!1"); err != nil {
			t.Fatal(err)
		}
	}
	if i := windowViolation(starts, 5, time.Minute); i >= 0 {
		t.Errorf("more than 5 starts in a minute from %v: %v", starts[i].Sub(begin), starts)
	}
	// A burst of 5 at once, then 5 a window later, then 2: exactly two windows of waiting (a
	// window is a minute and the pacer's one-second cushion).
	if got, want := clock.Now().Sub(begin), 2*(time.Minute+time.Second); got != want {
		t.Errorf("waited %v, want %v", got, want)
	}
}

func TestRequestsPerWindowRealTime(t *testing.T) {
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, pageJSON("1-p!1")) })
	const window, limit = 300 * time.Millisecond, 4
	c := s.client(Options{RequestsPerMinute: limit, Concurrency: 5})
	c.window = window
	// Starts are taken where the request leaves the client: arrivals at the stand-in would
	// differ by each new connection's TLS handshake.
	var mu sync.Mutex
	var starts []time.Time
	inner := c.hc.Transport
	c.hc = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		return inner.RoundTrip(r)
	})}
	var wg sync.WaitGroup
	for range 3 * limit {
		wg.Go(func() {
			if _, err := c.For("k", staticToken("tok")).Page(context.Background(), "1-p!1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if i := windowViolation(starts, limit, window*9/10); i >= 0 {
		t.Errorf("more than %d starts within %v at %d: %v", limit, window*9/10, i, starts)
	}
}

func TestCancelStopsWaiting(t *testing.T) {
	quick := func(t *testing.T, f func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		begin := time.Now()
		err := f(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(begin); d > 2*time.Second {
			t.Errorf("returned after %v", d)
		}
	}
	ok := func(w http.ResponseWriter, r *http.Request) { writeJSON(w, pageJSON("1-p!1")) }

	t.Run("window", func(t *testing.T) {
		s := newStandIn(t, ok)
		u := s.user(Options{RequestsPerMinute: 1})
		if _, err := u.Page(context.Background(), "1-p!1"); err != nil {
			t.Fatal(err)
		}
		quick(t, func(ctx context.Context) error { _, err := u.Page(ctx, "1-p!1"); return err })
		if n := len(s.requests()); n != 1 {
			t.Errorf("requests = %d, want 1", n)
		}
	})
	t.Run("slot held by an open resource", func(t *testing.T) {
		s := newStandIn(t, ok)
		u := s.user(Options{Concurrency: 1})
		res, err := u.Resource(context.Background(), "1-r!1")
		if err != nil {
			t.Fatal(err)
		}
		quick(t, func(ctx context.Context) error { _, err := u.Page(ctx, "1-p!1"); return err })
		res.Body.Close() // frees the slot
		if _, err := u.Page(context.Background(), "1-p!1"); err != nil {
			t.Errorf("after Close: %v", err)
		}
	})
	t.Run("backoff honours Retry-After", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			time.AfterFunc(50*time.Millisecond, cancel) // the client is in its backoff by then
		})
		begin := time.Now()
		_, err := s.user(Options{}).Page(ctx, "1-p!1")
		if !errors.Is(err, context.Canceled) || time.Since(begin) > 2*time.Second {
			t.Errorf("err = %v after %v, want context.Canceled at once", err, time.Since(begin))
		}
		if n := len(s.requests()); n != 1 {
			t.Errorf("requests = %d, want 1 (Retry-After: 5)", n)
		}
	})
}

func TestIdlePacersDropped(t *testing.T) {
	clock := newFakeClock()
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, pageJSON("1-p!1")) })
	c := s.client(Options{Now: clock.Now, Sleep: clock.Sleep})
	page := func(key string) {
		t.Helper()
		if _, err := c.For(key, staticToken("tok")).Page(context.Background(), "1-p!1"); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.pacers)
	}
	for _, k := range []string{"a", "b", "c"} {
		page(k)
	}
	if got := count(); got != 3 {
		t.Fatalf("pacers = %d, want 3", got)
	}
	res, err := c.For("a", staticToken("tok")).Resource(context.Background(), "1-r!1")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Minute)
	page("d") // b and c are idle; a is in use
	if got := count(); got != 2 {
		t.Errorf("pacers after idling = %d, want 2 (a in use, d)", got)
	}
	res.Body.Close()
	clock.Advance(3 * time.Minute)
	page("e")
	if got := count(); got != 1 {
		t.Errorf("pacers = %d, want 1", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
