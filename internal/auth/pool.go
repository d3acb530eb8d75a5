package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// pooled is one MSAL confidential client with its own cache hook, which knows which session's
// cache bytes the client's in-memory store holds.
type pooled struct {
	cl    *confidential.Client // nil until first lent: built lazily
	cache *sessionCache
	used  uint64 // the pool's clock when it was last given back (least recently used first)
}

// clientPool lends MSAL clients, one request at a time each. Two bounds:
//   - sem: how many token calls run at once (Settings.PoolSize), waiting honours the context;
//   - keep: how many clients exist, lent or idle (4 x PoolSize). keep > PoolSize lets more
//     sessions stay parsed in an idle client. Each client costs, once, the OpenID metadata
//     fetch of its first network call (and instance discovery's, when enabled, on its first
//     read), and about 15 KB of heap while it holds a one-user cache of 5 KB (measured: 32
//     clients, 480 KB): MSAL's client, the parsed store and the copy of the bytes.
//
// A borrower asks for the client that holds its session's exact cache bytes; failing that, an
// idle client that holds nothing known, a new client while fewer than keep exist, or else the
// least recently used idle client. At most PoolSize clients are lent and keep >= PoolSize, so a
// borrower holding a sem slot always finds an idle client or room for a new one.
type clientPool struct {
	sem   chan struct{}
	mu    sync.Mutex
	idle  []*pooled
	all   int // clients built or promised: idle + lent
	keep  int
	clock uint64
	// newCache makes the hook for a new client (it counts parses into the Client's counter).
	newCache func() *sessionCache
}

// keptPerSlot is how many clients the pool keeps per concurrent call (keep = 4 x PoolSize).
const keptPerSlot = 4

func newClientPool(size, keep int, newCache func() *sessionCache) *clientPool {
	return &clientPool{sem: make(chan struct{}, size), keep: max(keep, size), newCache: newCache}
}

// get waits for a slot and picks a client for a call whose session cache is data (nil: a call
// that reads no session cache, such as AuthCodeURL).
func (p *clientPool) get(ctx context.Context, data []byte) (*pooled, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a token client: %w", ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pick := -1
	if data != nil {
		for i, c := range p.idle {
			if c.cache.holds(data) {
				pick = i
				break
			}
		}
	}
	if pick < 0 {
		for i, c := range p.idle {
			if len(c.cache.held) == 0 {
				pick = i // nothing known to lose
				break
			}
		}
	}
	if pick < 0 && p.all < p.keep {
		p.all++
		return &pooled{cache: p.newCache()}, nil
	}
	if pick < 0 {
		for i, c := range p.idle {
			if pick < 0 || c.used < p.idle[pick].used {
				pick = i
			}
		}
	}
	if pick < 0 {
		<-p.sem
		return nil, errors.New("token client pool: no idle client (cannot happen)")
	}
	c := p.idle[pick]
	last := len(p.idle) - 1
	p.idle[pick], p.idle[last] = p.idle[last], nil
	p.idle = p.idle[:last]
	return c, nil
}

// put gives a client back and frees its slot.
func (p *clientPool) put(c *pooled) {
	p.mu.Lock()
	p.clock++
	c.used = p.clock
	p.idle = append(p.idle, c)
	p.mu.Unlock()
	<-p.sem
}
