package onenote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

var sentinels = []error{ErrInvalidID, ErrNotFound, ErrThrottled, ErrTooManySections, ErrScope, ErrNoOneNote, ErrUnavailable, ErrUnauthenticated, ErrTooLarge}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		status       int
		code         string
		want         error // nil: no sentinel
		wantAttempts int   // MaxRetries is 2; a 401 is tried again once with a new token
	}{
		{404, "", ErrNotFound, 1},
		{404, "20102", ErrNotFound, 1},
		{400, "20112", ErrNotFound, 1},
		{429, "", ErrThrottled, 3},
		{429, "20166", ErrThrottled, 3},
		{400, "20166", ErrThrottled, 3},
		{503, "20166", ErrThrottled, 3},
		{400, "20266", ErrTooManySections, 1},
		{403, "", ErrScope, 1},
		{403, "40004", ErrScope, 1},
		{401, "40004", ErrScope, 2},
		{401, "", ErrUnauthenticated, 2},
		{401, "40001", ErrUnauthenticated, 2},
		{403, "30108", ErrNoOneNote, 1},
		{404, "30105", ErrNoOneNote, 1},
		{503, "30106", ErrNoOneNote, 1},
		{403, "30104", ErrNoOneNote, 1},
		{500, "", ErrUnavailable, 3},
		{502, "", ErrUnavailable, 3},
		{503, "10002", ErrUnavailable, 3},
		{504, "", ErrUnavailable, 3},
		{501, "", ErrUnavailable, 1},
		{400, "20129", nil, 1},
		{400, "", nil, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_%s", tt.status, tt.code), func(t *testing.T) {
			var n atomic.Int32
			s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				graphErr(w, tt.status, tt.code, fmt.Sprintf("about %q", tt.code), "req-1")
			})
			_, err := s.user(Options{MaxRetries: 2}).Page(context.Background(), "1-p!1")
			for _, sen := range sentinels {
				if got, want := errors.Is(err, sen), sen == tt.want; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v (err: %v)", sen, got, want, err)
				}
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v is not an *Error", err)
			}
			if e.Status != tt.status || e.Code != tt.code || e.Message != fmt.Sprintf("about %q", tt.code) || e.RequestID != "req-1" || e.Attempts != tt.wantAttempts {
				t.Errorf("Error = %+v, want status %d code %q attempts %d", e, tt.status, tt.code, tt.wantAttempts)
			}
			if got := int(n.Load()); got != tt.wantAttempts {
				t.Errorf("stand-in saw %d requests, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func TestErrorMessageShortened(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) { graphErr(w, 400, "20100", long, "") })
	_, err := s.user(Options{}).Page(context.Background(), "1-p!1")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	if len(e.Message) > 300 || !utf8.ValidString(e.Message) || !strings.HasPrefix(e.Message, "éé") {
		t.Errorf("Message has %d bytes (valid UTF-8: %v)", len(e.Message), utf8.ValidString(e.Message))
	}
	if e.RequestID != "inner-" { // no header: taken from innerError
		t.Errorf("RequestID = %q", e.RequestID)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	tests := []struct {
		name  string
		first func(w http.ResponseWriter, r *http.Request)
	}{
		{"429", func(w http.ResponseWriter, r *http.Request) { graphErr(w, 429, "20166", "slow down", "") }},
		{"20166 without 429", func(w http.ResponseWriter, r *http.Request) { graphErr(w, 400, "20166", "slow down", "") }},
		{"20166 with 503", func(w http.ResponseWriter, r *http.Request) { graphErr(w, 503, "20166", "slow down", "") }},
		{"503", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }},
		{"time-out", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}},
		{"connection reset", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					tt.first(w, r)
					return
				}
				writeJSON(w, pageJSON("1-p!1"))
			})
			p, err := s.user(Options{MaxRetries: 3, Timeout: 200 * time.Millisecond}).Page(context.Background(), "1-p!1")
			if err != nil || p.ID != "1-p!1" {
				t.Fatalf("Page = %+v, %v", p, err)
			}
			if got := n.Load(); got != 2 {
				t.Errorf("requests = %d, want 2", got)
			}
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	for _, tt := range []struct {
		status int
		want   error
	}{{429, ErrThrottled}, {503, ErrUnavailable}} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			var n atomic.Int32
			s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) { n.Add(1); w.WriteHeader(tt.status) })
			_, err := s.user(Options{MaxRetries: 3}).Page(context.Background(), "1-p!1")
			var e *Error
			if !errors.Is(err, tt.want) || !errors.As(err, &e) || e.Attempts != 4 || n.Load() != 4 {
				t.Errorf("err = %v, requests %d; want %v after 4 attempts", err, n.Load(), tt.want)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {})
		s.Close()
		_, err := s.user(Options{MaxRetries: 2}).Page(context.Background(), "1-p!1")
		var e *Error
		if !errors.Is(err, ErrUnavailable) || !errors.As(err, &e) || e.Status != 0 || e.Err == nil || e.Attempts != 3 {
			t.Errorf("err = %v, want ErrUnavailable with status 0, a cause and 3 attempts", err)
		}
		var ne net.Error
		if !errors.As(err, &ne) {
			t.Errorf("the network error is not kept: %v", err)
		}
	})
}

func TestUnauthorizedGetsNewToken(t *testing.T) {
	newStand := func(t *testing.T, accept string) (*standIn, *atomic.Int32) {
		s := newStandIn(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+accept {
				graphErr(w, 401, "40001", "token expired", "r")
				return
			}
			writeJSON(w, pageJSON("1-p!1"))
		})
		return s, new(atomic.Int32)
	}
	tokens := func(n *atomic.Int32) TokenSource {
		return func(context.Context) (string, error) { return fmt.Sprintf("secret-tok-%d", n.Add(1)), nil }
	}

	t.Run("fresh token works", func(t *testing.T) {
		s, n := newStand(t, "secret-tok-2")
		_, err := s.client(Options{}).For("k", tokens(n)).Page(context.Background(), "1-p!1")
		if err != nil || n.Load() != 2 || len(s.requests()) != 2 {
			t.Errorf("err %v, token calls %d, requests %d; want success after 2", err, n.Load(), len(s.requests()))
		}
	})
	t.Run("refused twice", func(t *testing.T) {
		s, n := newStand(t, "never")
		_, err := s.client(Options{}).For("k", tokens(n)).Page(context.Background(), "1-p!1")
		if !errors.Is(err, ErrUnauthenticated) || len(s.requests()) != 2 {
			t.Errorf("err %v after %d requests, want ErrUnauthenticated after 2", err, len(s.requests()))
		}
		if strings.Contains(err.Error(), "secret-tok") {
			t.Errorf("error shows the token: %v", err)
		}
	})
	t.Run("token source fails", func(t *testing.T) {
		s, _ := newStand(t, "x")
		boom := errors.New("consent required")
		_, err := s.client(Options{}).For("k", func(context.Context) (string, error) { return "", boom }).Page(context.Background(), "1-p!1")
		if !errors.Is(err, boom) || len(s.requests()) != 0 {
			t.Errorf("err %v, requests %d", err, len(s.requests()))
		}
	})
}

// An answer that comes in after the attempt's time-out is not trusted, even a 200: net/http
// can hand over a response that raced with the cancellation.
func TestLateAnswerIsATimeout(t *testing.T) {
	var n atomic.Int32
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		body := `{"id":"1-p!1"}`
		if n.Add(1) == 1 {
			time.Sleep(80 * time.Millisecond) // past Timeout, ignoring the cancellation
			body = ""
		}
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})}
	u := New(Options{HTTP: hc, BaseURL: "https://graph.invalid/v1.0", RequestsPerMinute: 12000, Timeout: 30 * time.Millisecond}).For("k", staticToken("tok"))
	p, err := u.Page(context.Background(), "1-p!1")
	if err != nil || p.ID != "1-p!1" || n.Load() != 2 {
		t.Errorf("Page = %+v, %v after %d attempts; want the second answer", p, err, n.Load())
	}
}
