package onenote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

const (
	defaultBaseURL = "https://graph.microsoft.com/v1.0"
	pageSize       = 100      // Graph's largest $top
	maxListCalls   = 1000     // 100,000 items: a guard against a list that never ends
	maxJSONBytes   = 16 << 20 // one list page or one object
	maxErrorBytes  = 64 << 10
	minBackoff     = 10 * time.Millisecond
	maxBackoff     = 30 * time.Second // also the cap on Retry-After
)

// getJSON GETs rawURL and decodes Graph's JSON answer into v.
func (u *User) getJSON(ctx context.Context, rawURL string, v any) error {
	_, body, err := u.fetch(ctx, rawURL, false, maxJSONBytes)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode Graph's answer: %w", err)
	}
	return nil
}

// list pages through a collection with $top/$skip. prefix is the URL up to and including
// the "?" or "&" before $top. Graph sends @odata.nextLink only without $top, so the end is
// the first page with fewer than $top items.
func list[T any](ctx context.Context, u *User, prefix string) ([]T, error) {
	var all []T
	for call := 0; ; call++ {
		if call == maxListCalls {
			return nil, fmt.Errorf("more than %d items: giving up", maxListCalls*pageSize)
		}
		var page struct {
			Value []T `json:"value"`
		}
		rawURL := prefix + "$top=" + strconv.Itoa(pageSize) + "&$skip=" + strconv.Itoa(call*pageSize)
		if err := u.getJSON(ctx, rawURL, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Value...)
		if len(page.Value) < pageSize {
			return all, nil
		}
	}
}

// fetch makes one GET with pacing, a fresh token per attempt, one token refresh after a 401,
// and retries with backoff for what Graph says is transient. Without stream it returns the
// body read whole (at most limit bytes). With stream it returns the response once its headers
// are in: nothing is retried after that, and the pacer slot stays taken until Body is closed
// or read to its end.
func (u *User) fetch(ctx context.Context, rawURL string, stream bool, limit int64) (*http.Response, []byte, error) {
	if u.tokens == nil {
		return nil, nil, errors.New("no token source")
	}
	attempts, retries := 0, 0
	refreshed := false
	for {
		token, err := u.tokens(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, fmt.Errorf("access token: %w", err)
		}
		release, err := u.c.acquire(ctx, u.key)
		if err != nil {
			return nil, nil, err
		}
		attempts++
		out, err := u.attempt(ctx, rawURL, token, stream, limit, release)
		if err != nil {
			return nil, nil, err
		}
		if out.err == nil {
			return out.resp, out.body, nil
		}
		e := out.err
		e.Attempts = attempts
		if e.Status == http.StatusUnauthorized && !refreshed {
			// The token may have expired in flight: ask for another one, once.
			refreshed = true
			continue
		}
		if !e.retryable() || retries >= u.c.maxRetries {
			return nil, nil, e
		}
		wait := out.retryAfter
		if wait <= 0 {
			wait = u.c.backoff(retries)
		}
		retries++
		if err := u.c.sleep(ctx, wait); err != nil {
			return nil, nil, err
		}
	}
}

// outcome is one attempt's result: a success (resp or body) or Graph's error.
type outcome struct {
	resp       *http.Response
	body       []byte
	err        *Error
	retryAfter time.Duration
}

// attempt makes one HTTP request and always calls release (at once, or for a stream when its
// body is done). The returned error is final (the caller's context ended, the answer is too
// large); Graph's errors come back in outcome.err.
func (u *User) attempt(ctx context.Context, rawURL, token string, stream bool, limit int64, release func()) (outcome, error) {
	// The per-attempt time-out is a timer rather than a deadline, so a stream can stop it
	// once the headers are in: a large attachment may take longer than Timeout to read.
	actx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(u.c.timeout, func() { cancel(errAttemptTimeout) })
	done := func() {
		timer.Stop()
		cancel(nil)
		release()
	}
	// failed is the outcome of an attempt that got no usable answer.
	failed := func(err error) (outcome, error) {
		if ctx.Err() != nil {
			return outcome{}, ctx.Err()
		}
		if errors.Is(context.Cause(actx), errAttemptTimeout) {
			err = fmt.Errorf("%w within %v", errAttemptTimeout, u.c.timeout)
		}
		return outcome{err: &Error{Err: err}}, nil
	}

	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		done()
		return outcome{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := u.c.hc.Do(req)
	if err != nil {
		out, ferr := failed(err)
		done()
		return out, ferr
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		resp.Body.Close()
		done()
		if ctx.Err() != nil {
			return outcome{}, ctx.Err()
		}
		return outcome{err: graphError(resp, body), retryAfter: retryAfter(resp.Header.Get("Retry-After"), u.c.now())}, nil
	}

	if stream {
		if !timer.Stop() { // the time-out fired as the headers came in
			resp.Body.Close()
			out, ferr := failed(errAttemptTimeout)
			done()
			return out, ferr
		}
		resp.Body = &streamBody{rc: resp.Body, done: done}
		return outcome{resp: resp}, nil
	}

	body, err := readLimited(resp, limit)
	resp.Body.Close()
	if errors.Is(err, errBodyTooLarge) {
		done()
		return outcome{}, fmt.Errorf("%w (over %d bytes)", ErrTooLarge, limit)
	}
	if err == nil && !timer.Stop() {
		// The time-out fired first: net/http may still hand over an answer that raced with
		// the cancellation, and it cannot be trusted to be whole.
		err = errAttemptTimeout
	}
	if err != nil {
		out, ferr := failed(fmt.Errorf("read the answer: %w", err))
		done()
		return out, ferr
	}
	done()
	return outcome{body: body}, nil
}

// readLimited reads the whole body, refusing one over limit bytes without reading it all.
func readLimited(resp *http.Response, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, errBodyTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, errBodyTooLarge
	}
	return body, nil
}

// backoff is the wait before retry n (0-based): exponential from the budget's spacing
// (window/RequestsPerMinute, at least 10ms), with full jitter, capped at 30s. A sped-up
// budget in tests thus retries in milliseconds; Graph's 120 a minute starts near half a second.
func (c *Client) backoff(n int) time.Duration {
	base := max(c.window/time.Duration(c.rpm), minBackoff)
	ceiling := maxBackoff
	if n < 20 && base<<(n+1) < maxBackoff {
		ceiling = base << (n + 1)
	}
	return rand.N(ceiling) + 1
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), capped at maxBackoff;
// 0 when absent or unreadable. Graph's OneNote 429s usually carry none.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.Atoi(h); err == nil {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxBackoff)
}

// streamBody is a resource's body; it frees the pacer slot and the attempt's context once
// read to its end, failed or closed.
type streamBody struct {
	rc   io.ReadCloser
	done func()
	once sync.Once
}

func (s *streamBody) Read(p []byte) (int, error) {
	n, err := s.rc.Read(p)
	if err != nil {
		s.once.Do(s.done)
	}
	return n, err
}

func (s *streamBody) Close() error {
	err := s.rc.Close()
	s.once.Do(s.done)
	return err
}
