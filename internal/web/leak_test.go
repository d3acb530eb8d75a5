package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// quiesce drops every idle connection the test can reach (the browsers', and the app's own
// outbound ones, which all go through the proxy), waits until the number of goroutines stops
// changing, and returns it: the baseline a fault must come back to.
func quiesce(p *tcpProxy, clients ...*http.Client) int {
	last, same := -1, 0
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		closeIdle(p, clients...)
		n := runtime.NumGoroutine()
		if n == last {
			same++
			if same >= 8 {
				return n
			}
		} else {
			last, same = n, 0
		}
		time.Sleep(25 * time.Millisecond)
	}
	return last
}

// closeIdle closes the browsers' idle connections and every connection through the proxy:
// the app's idle connections to the identity provider and Graph end with them.
func closeIdle(p *tcpProxy, clients ...*http.Client) {
	p.dropConns()
	for _, c := range clients {
		c.CloseIdleConnections()
	}
}

// expectGoroutinesBack fails the test unless the number of goroutines comes back to at most
// baseline within a bounded time. A request that timed out or failed may leave a connection
// closing for a moment; a leaked goroutine never ends, and the failure shows its stack.
func expectGoroutinesBack(t *testing.T, baseline int, p *tcpProxy, clients ...*http.Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		closeIdle(p, clients...)
		n := runtime.NumGoroutine()
		if n <= baseline {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Errorf("goroutines: %d after the fault, %d before: left behind:\n%s", n, baseline, b.String())
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// tcpProxy stands between the app and the identity provider so a test can make the provider
// unreachable: cut closes the listener (new connections are refused) and every open
// connection; restore listens again on the same port. TLS passes through untouched.
type tcpProxy struct {
	t      *testing.T
	addr   string
	mu     sync.Mutex
	target string
	ln     net.Listener
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newTCPProxy(t *testing.T) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(func() {
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) setTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			target := p.target
			p.mu.Unlock()
			up, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			if !p.track(c, up) {
				continue
			}
			p.wg.Go(func() { pipe(c, up); p.untrack(c, up) })
			p.wg.Go(func() { pipe(up, c) })
		}
	})
}

func (p *tcpProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil { // cut meanwhile
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *tcpProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// dropConns closes every connection through the proxy (an idle connection's owner just
// dials again).
func (p *tcpProxy) dropConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// cut makes the identity provider unreachable: connections are refused and open ones reset.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// restore makes it reachable again, on the same address.
func (p *tcpProxy) restore() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port was just released; it is free again at once on Linux
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}
