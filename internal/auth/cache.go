package auth

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// TokenCache is one session's serialized MSAL token cache (the tutorial's
// session["token_cache"]). The web layer loads it from the session before a token call and saves
// it back when Changed is set.
type TokenCache struct {
	Data    []byte
	Changed bool
}

type cacheKey struct{}

func withCache(ctx context.Context, tc *TokenCache) context.Context {
	return context.WithValue(ctx, cacheKey{}, tc)
}

// emptyCache is what a session without a cache loads: MSAL's empty cache.
var emptyCache = []byte("{}")

// bytes is what Replace loads for tc: its Data, or the empty cache.
func (tc *TokenCache) bytes() []byte {
	if tc == nil || len(tc.Data) == 0 {
		return emptyCache
	}
	return tc.Data
}

// sessionCache connects one pooled MSAL client's cache hooks to the TokenCache carried in the
// call's context, so each call sees exactly its own session's tokens. The hints' partition keys
// are ignored: they are not consistent across MSAL calls.
//
// Parsing a session's cache is most of a cached token call's cost, so the hook remembers which
// bytes its client's in-memory store holds (held) and skips the parse when the session brings
// exactly those bytes again. Byte-identical caches hold identical tokens, so skipping cannot
// show one session another's tokens. held is a private copy (the web layer owns Data) and is only ever
// set right after a successful Unmarshal of those bytes into that store; whatever else may have
// changed the store forgets it (empty = not known, parse):
//   - Export: MSAL wrote tokens into the store (a refresh, a redemption, a client-credentials
//     token). The exported bytes are not remembered: a Marshal/Unmarshal round trip is not
//     exactly the in-memory store (times lose their sub-second part, for one), and a refresh
//     costs a network round trip anyway, beside which one more parse is noise.
//   - a call that fails, panics or outlives its context (Client.with): MSAL may have written
//     to the store and then failed before its Export (AuthResultFromToken writes, then can
//     fail on declined scopes).
//   - a read that rewrites keys: MSAL's storage.Manager upgrades a v1.0 cache entry (a key
//     with an upper-case letter) to its lower-case v1.1 key when a read finds it, in memory and
//     without an Export, even on a call that only returns a cached access token. So a cache
//     that has such a key is never remembered (see mayUpgrade).
//
// Nothing else in MSAL v1.10's silent path changes the store: expired tokens are skipped, not
// removed, and the instance-discovery aliases it caches live beside the store, are not
// serialized and are the same for every user.
//
// A sessionCache belongs to one pooled client and is used only by the request that borrowed
// that client, or by the pool while the client is idle (under the pool's lock).
type sessionCache struct {
	held   []byte            // the exact bytes heldIn holds; empty = not known (a cache is never empty)
	heldIn cache.Unmarshaler // the store they were unmarshalled into
	parses *atomic.Int64     // counts Unmarshal calls (for tests and benchmarks); may be nil
}

// holds reports whether the client's store holds exactly data.
func (sc *sessionCache) holds(data []byte) bool {
	return len(sc.held) > 0 && bytes.Equal(sc.held, data)
}

// forget marks the store's content as unknown: the next Replace parses.
func (sc *sessionCache) forget() { sc.held, sc.heldIn = sc.held[:0], nil } // keeps the buffer

func (sc *sessionCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	tc, _ := ctx.Value(cacheKey{}).(*TokenCache)
	data := tc.bytes()
	if sc.heldIn == u && sc.holds(data) {
		return nil // u holds exactly these bytes already
	}
	sc.forget()
	if sc.parses != nil {
		sc.parses.Add(1)
	}
	// Otherwise always unmarshal, even an empty cache: MSAL keeps the previous call's tokens in
	// memory otherwise, and the next Export would write them into this session (a cross-user leak).
	if err := u.Unmarshal(data); err != nil {
		// A damaged cache is not fatal: start empty, the user signs in again. (MSAL's Unmarshal
		// leaves the previous store in place when it fails, so this second one is not optional.)
		if err2 := u.Unmarshal(emptyCache); err2 != nil {
			return fmt.Errorf("token cache: reset: %w", err2)
		}
		return nil
	}
	if !mayUpgrade(data) {
		sc.held, sc.heldIn = append(sc.held[:0], data...), u // a copy: the web layer owns data
	}
	return nil
}

func (sc *sessionCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	sc.forget() // MSAL has written to the store, whether or not a session receives it
	tc, _ := ctx.Value(cacheKey{}).(*TokenCache)
	if tc == nil {
		return nil
	}
	b, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("token cache: export: %w", err)
	}
	tc.Data, tc.Changed = b, true
	return nil
}

// mayUpgrade reports whether MSAL may rewrite data's entries in memory when it reads them: an
// entry key (a key of an object that is a value of the top-level object) with an upper-case
// ASCII letter, MSAL's needsUpgrade for the v1.0 schema. It errs towards true: an escape in
// such a key, a top level that is not an object, or anything it cannot follow. It runs only
// when a cache has just been parsed, so it is a plain scan that allocates nothing
// (encoding/json here cost a fifth of a miss); FuzzMayUpgrade holds it to encoding/json.
func mayUpgrade(data []byte) bool {
	var objects uint64 // bit d: the container at depth d+1 is an object (deeper: give up)
	depth, key := 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case ' ', '\t', '\n', '\r':
		case '{', '[':
			if depth == 0 && c != '{' || depth >= 64 {
				return true
			}
			if c == '{' {
				objects |= 1 << depth
			} else {
				objects &^= 1 << depth
			}
			depth++
			key = c == '{'
		case '}', ']':
			if depth == 0 {
				return true
			}
			depth--
			key = false
		case ',':
			key = depth > 0 && objects&(1<<(depth-1)) != 0
		case ':':
			key = false
		case '"':
			if depth == 0 {
				return true
			}
			entryKey := key && depth == 2 // objects bit 0 is set: the top level is an object
			for i++; i < len(data) && data[i] != '"'; i++ {
				if entryKey && ('A' <= data[i] && data[i] <= 'Z' || data[i] == '\\') {
					return true
				}
				if data[i] == '\\' {
					i++
				}
			}
			if i >= len(data) {
				return true
			}
			key = false
		default:
			if depth == 0 {
				return true
			}
		}
	}
	return depth != 0
}
