package onenote

import (
	"context"
	"sync"
	"time"
)

// pacer keeps one user's requests inside Graph's OneNote throttle, which counts per user and
// app: at most Concurrency requests in flight, and at most RequestsPerMinute request starts in
// any sliding window. The window is a log of start times rather than a token bucket, so a page
// view may burst up to the whole budget yet no minute ever holds more than Graph allows.
type pacer struct {
	slots chan struct{} // one token per request in flight

	mu     sync.Mutex
	starts []time.Time // start times inside the window, oldest first

	// Guarded by Client.mu.
	refs     int       // attempts holding or waiting for this pacer
	lastUsed time.Time // when the last one let go
}

// pacerFor returns the user's pacer, creating it, and counts the caller as using it. Idle
// pacers of other users are dropped on the way, so memory follows active users only.
func (c *Client) pacerFor(key string) *pacer {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	idle := max(c.idleAfter, c.window) // a dropped pacer must have no start left in its window
	if now.Sub(c.swept) > idle/2 {
		for k, p := range c.pacers {
			if p.refs == 0 && now.Sub(p.lastUsed) > idle {
				delete(c.pacers, k)
			}
		}
		c.swept = now
	}
	p := c.pacers[key]
	if p == nil {
		p = &pacer{slots: make(chan struct{}, c.concurrency)}
		c.pacers[key] = p
	}
	p.refs++
	return p
}

func (c *Client) unref(p *pacer) {
	c.mu.Lock()
	p.refs--
	p.lastUsed = c.now()
	c.mu.Unlock()
}

// acquire waits until the user may start a request: first a slot, then room in the window
// (in that order, so the logged start is the real start). It returns the function that frees
// the slot; every attempt, retries included, goes through here.
func (c *Client) acquire(ctx context.Context, key string) (release func(), err error) {
	p := c.pacerFor(key)
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		c.unref(p)
		return nil, ctx.Err()
	}
	for {
		wait := p.reserve(c.now(), c.window, c.rpm)
		if wait <= 0 {
			break
		}
		if err := c.sleep(ctx, wait); err != nil {
			<-p.slots
			c.unref(p)
			return nil, err
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-p.slots
			c.unref(p)
		})
	}, nil
}

// reserve logs a start at now and returns 0 when the window has room, or else how long until
// the oldest start leaves it.
func (p *pacer) reserve(now time.Time, window time.Duration, limit int) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	cut := now.Add(-window)
	i := 0
	for i < len(p.starts) && !p.starts[i].After(cut) {
		i++
	}
	if i > 0 {
		p.starts = append(p.starts[:0], p.starts[i:]...)
	}
	if len(p.starts) < limit {
		p.starts = append(p.starts, now)
		return 0
	}
	return max(p.starts[0].Sub(cut), time.Millisecond)
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
