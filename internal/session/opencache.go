package session

import (
	"bytes"
	"sync"
)

// openCache remembers, per store key, the last sealed record this process opened (or sealed)
// and what it opened to, so that loading an unchanged session again skips AES-GCM: every
// signed-in request loads its session, and most change nothing.
//
// It never decides what is in the store: Find still reads the record from the store each time,
// and the cached plaintext is used only when the record read is byte-for-byte the record the
// plaintext came from (AES-GCM with the same key and additional data opens identical bytes to
// identical plaintext, and the additional data is the key the record is cached under). A session
// deleted, expired or rewritten elsewhere (another instance on the same directory, Redis or
// PostgreSQL) is therefore seen at once, exactly as without the cache.
//
// The plaintext it returns is shared by every load of that record: callers must not modify it
// (scs hands it to the session codec, which only reads it).
type openCache struct {
	mu    sync.Mutex
	m     map[string]openedRecord
	size  int // bytes held: sealed records and plaintexts
	limit int
}

type openedRecord struct{ sealed, plain []byte }

// openCacheLimit bounds the bytes the cache holds (about 200 signed-in sessions of 10 KB).
const openCacheLimit = 4 << 20

func newOpenCache(limit int) *openCache {
	return &openCache{m: map[string]openedRecord{}, limit: limit}
}

// get returns the plaintext of sealed when it is the record last opened under key. shared:
// sealed is never modified by anyone (the file store's inotify cache), so the cache keeps it in
// place of its equal copy, and the next comparison is of one array with itself, which
// bytes.Equal answers without reading it (10 KB of memory a request, under load).
func (c *openCache) get(key string, sealed []byte, shared bool) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[key]
	if !ok || !bytes.Equal(r.sealed, sealed) {
		return nil, false
	}
	if shared && len(sealed) > 0 && &r.sealed[0] != &sealed[0] {
		r.sealed = sealed
		c.m[key] = r
	}
	return r.plain, true
}

// put remembers that sealed opens to plain under key. Both must not be modified afterwards.
func (c *openCache) put(key string, sealed, plain []byte) {
	n := len(sealed) + len(plain)
	if n > c.limit/16 {
		return // one huge session must not push everyone else out
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(key)
	for c.size+n > c.limit && len(c.m) > 0 {
		for k := range c.m { // map order is random: random eviction, no bookkeeping per hit
			c.dropLocked(k)
			break
		}
	}
	c.m[key] = openedRecord{sealed: sealed, plain: plain}
	c.size += n
}

// drop forgets key (its session was deleted, or its record no longer opens).
func (c *openCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(key)
}

func (c *openCache) dropLocked(key string) {
	if r, ok := c.m[key]; ok {
		c.size -= len(r.sealed) + len(r.plain)
		delete(c.m, key)
	}
}
