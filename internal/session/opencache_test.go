package session

import (
	"fmt"
	"testing"
)

// The cache holds at most its limit in bytes, however many sessions pass through it, and never
// one session's plaintext for another record.
func TestOpenCacheBounded(t *testing.T) {
	c := newOpenCache(64 << 10)
	rec := make([]byte, 2<<10)
	for i := range 1000 {
		c.put(fmt.Sprint(i), rec, rec)
		if c.size > c.limit {
			t.Fatalf("after %d puts the cache holds %d bytes, over its %d", i+1, c.size, c.limit)
		}
	}
	if len(c.m) == 0 || len(c.m) > 16 {
		t.Errorf("%d entries of 4 KB in 64 KB", len(c.m))
	}
	c.put("huge", make([]byte, 8<<10), nil) // over limit/16: not kept
	if _, ok := c.get("huge", make([]byte, 8<<10), false); ok {
		t.Error("a record over a sixteenth of the limit was kept")
	}
	c.put("k", []byte("sealed-1"), []byte("plain-1"))
	if _, ok := c.get("k", []byte("sealed-2"), false); ok {
		t.Error("another record under the same key got the cached plaintext")
	}
	if p, ok := c.get("k", []byte("sealed-1"), false); !ok || string(p) != "plain-1" {
		t.Errorf("get = %q, %v", p, ok)
	}
	c.drop("k")
	if _, ok := c.get("k", []byte("sealed-1"), false); ok {
		t.Error("a dropped key still answers")
	}
}
