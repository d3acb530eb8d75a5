package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/graphauth/graphauth/internal/emulator"
)

// Tests of the pool's reuse of parsed session caches (pool.go, cache.go), with real MSAL
// clients against the emulator over HTTPS and real caches from real sign-ins.

// accessTokenIn is the one access token in a serialized MSAL cache.
func accessTokenIn(tb testing.TB, data []byte) string {
	tb.Helper()
	var cache struct {
		AccessToken map[string]struct {
			Secret string `json:"secret"`
		}
	}
	if err := json.Unmarshal(data, &cache); err != nil {
		tb.Fatal(err)
	}
	if len(cache.AccessToken) != 1 {
		tb.Fatalf("the cache holds %d access tokens, want 1", len(cache.AccessToken))
	}
	for _, at := range cache.AccessToken {
		return at.Secret
	}
	return ""
}

// mustToken asks c for s's token from a fresh copy of its cache and checks that it is the
// access token in s's own cache, served from it.
func mustToken(tb testing.TB, c *Client, s testSession) {
	tb.Helper()
	tc := &TokenCache{Data: append([]byte(nil), s.data...)}
	tok, err := c.Token(context.Background(), s.home, tc)
	if err != nil {
		tb.Fatal(err)
	}
	if tok.AccessToken != accessTokenIn(tb, s.data) {
		tb.Fatalf("Token for %s returned an access token that is not in its session's cache", s.home)
	}
	if tc.Changed {
		tb.Fatalf("a cached token call changed the session's cache")
	}
}

// Two users' sessions take turns on one pooled client (keep 1: one in-memory store) and on one
// slot with more clients kept: each always gets its own token, and a refresh of one never
// exports the other's tokens into its cache.
func TestSessionsAlternatingNeverSeeEachOther(t *testing.T) {
	env := newEmulatorEnv(t)
	for _, keep := range []int{1, 4} {
		t.Run(fmt.Sprintf("keep=%d", keep), func(t *testing.T) {
			c := env.client(t, 1)
			c.pool.keep = keep
			users := emulator.DemoUsers()
			var a, b testSession
			a.home, a.data = env.signIn(t, c, users[0].ID)
			b.home, b.data = env.signIn(t, c, users[1].ID)
			for range 4 {
				mustToken(t, c, a)
				mustToken(t, c, b)
			}
			mustToken(t, c, a) // A's cache loaded last, then B's refresh writes B's cache
			tc := &TokenCache{Data: append([]byte(nil), b.data...)}
			if _, err := c.Refresh(context.Background(), b.home, tc); err != nil {
				t.Fatal(err)
			}
			for _, s := range cacheSecrets(t, a.data) {
				if strings.Contains(string(tc.Data), s) {
					t.Fatal("B's refreshed cache holds one of A's tokens")
				}
			}
			b.data = tc.Data
			mustToken(t, c, b)
			mustToken(t, c, a)
		})
	}
}

// A session whose cache changed elsewhere (another instance refreshed it: other bytes, a new
// access token) is parsed again, not answered from what the client held.
func TestChangedCacheIsParsedAgain(t *testing.T) {
	env := newEmulatorEnv(t)
	c, elsewhere := env.client(t, 1), env.client(t, 1)
	var a testSession
	a.home, a.data = env.signIn(t, c, emulator.DemoUsers()[0].ID)
	mustToken(t, c, a)
	mustToken(t, c, a)
	tc := &TokenCache{Data: append([]byte(nil), a.data...)}
	if _, err := elsewhere.Refresh(context.Background(), a.home, tc); err != nil {
		t.Fatal(err)
	}
	if accessTokenIn(t, tc.Data) == accessTokenIn(t, a.data) {
		t.Fatal("the refresh elsewhere did not change the access token")
	}
	a.data = tc.Data
	if got := parsesDuring(c, func() { mustToken(t, c, a) }); got != 1 {
		t.Errorf("the changed cache was parsed %d times, want 1", got)
	}
}

// A token call that fails (here the refresh for a scope with no cached token) leaves the
// client holding nothing known: the next call parses, even with the same bytes.
func TestFailedTokenCallForgetsTheCache(t *testing.T) {
	env := newEmulatorEnv(t)
	c := env.client(t, 1)
	c.pool.keep = 1
	var a testSession
	a.home, a.data = env.signIn(t, c, emulator.DemoUsers()[0].ID)
	mustToken(t, c, a)
	if got := parsesDuring(c, func() { mustToken(t, c, a) }); got != 0 {
		t.Fatalf("an unchanged cache was parsed %d times", got)
	}
	env.emu.FailNext(emulator.Fault{Endpoint: "token", Status: 500})
	tc := &TokenCache{Data: append([]byte(nil), a.data...)}
	if _, err := c.TokenFor(context.Background(), a.home, tc, []string{"Mail.Read"}); err == nil {
		t.Fatal("the token call succeeded despite the token endpoint's 500")
	}
	if got := parsesDuring(c, func() { mustToken(t, c, a) }); got != 1 {
		t.Errorf("after a failed call the cache was parsed %d times, want 1", got)
	}
}

// MSAL rewrites a v1.0 cache key (upper-case letters) to its v1.1 form in memory when a read
// finds it, without an Export, even on a call answered from the cache. Such a cache is parsed
// on every call, never taken as held.
func TestLegacyKeysAreNeverHeld(t *testing.T) {
	env := newEmulatorEnv(t)
	c := env.client(t, 1)
	c.pool.keep = 1
	var a testSession
	a.home, a.data = env.signIn(t, c, emulator.DemoUsers()[0].ID)
	var sections map[string]map[string]json.RawMessage
	if err := json.Unmarshal(a.data, &sections); err != nil {
		t.Fatal(err)
	}
	renamed := map[string]json.RawMessage{}
	for k, v := range sections["AccessToken"] {
		renamed[strings.Replace(k, "-accesstoken-", "-AccessToken-", 1)] = v
	}
	sections["AccessToken"] = renamed
	legacy := a
	var err error
	if legacy.data, err = json.Marshal(sections); err != nil {
		t.Fatal(err)
	}
	if !mayUpgrade(legacy.data) || mayUpgrade(a.data) {
		t.Fatal("mayUpgrade does not tell the v1.0 key from the v1.1 ones")
	}
	for i := range 3 {
		if parsesDuring(c, func() { mustToken(t, c, legacy) }) == 0 {
			t.Fatalf("call %d: the v1.0 cache was taken as held", i+1)
		}
	}
}

// With a pool of N and M > N sessions, sequential and concurrent, a session whose cache did
// not change is answered by the client that holds it, without a parse; at most N calls ever
// run at once.
func TestAffinityKeepsSessionsParsed(t *testing.T) {
	const n, m = 2, 6
	env := newEmulatorEnv(t)
	c := env.client(t, n) // keeps 4n = 8 clients
	sessions := env.signInMany(t, c, m)
	round := func() {
		for _, s := range sessions {
			mustToken(t, c, s)
		}
	}
	if got := parsesDuring(c, round); got != m {
		t.Errorf("first round: %d parses, want %d", got, m)
	}
	if got := parsesDuring(c, func() { round(); round(); round() }); got != 0 {
		t.Errorf("rounds with unchanged caches: %d parses, want 0", got)
	}
	concurrent := func() {
		var wg sync.WaitGroup
		for _, s := range sessions {
			wg.Go(func() {
				for range 20 {
					mustToken(t, c, s)
				}
			})
		}
		wg.Wait()
	}
	if got := parsesDuring(c, concurrent); got != 0 {
		t.Errorf("concurrent rounds with unchanged caches: %d parses, want 0", got)
	}
}

// The pool runs at most PoolSize calls at once, whatever it keeps, and a wait for a slot ends
// with the caller's context.
func TestPoolBoundsConcurrency(t *testing.T) {
	const n = 2
	env := newEmulatorEnv(t)
	c := env.client(t, n)
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			tc := &TokenCache{Data: fmt.Appendf(nil, `{"AccessToken":{"s-%d":{}}}`, i)}
			err := c.with(context.Background(), tc, func(ctx context.Context, _ *confidential.Client) error {
				now := running.Add(1)
				for {
					old := most.Load()
					if now <= old || most.CompareAndSwap(old, now) {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
				running.Add(-1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := most.Load(); got != n {
		t.Errorf("at most %d calls ran at once, want %d", got, n)
	}

	release := make(chan struct{})
	for range n {
		wg.Go(func() {
			_ = c.with(context.Background(), nil, func(context.Context, *confidential.Client) error { <-release; return nil })
		})
	}
	for len(c.pool.sem) < n {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := c.with(ctx, nil, func(context.Context, *confidential.Client) error { t.Error("ran beyond the pool's size"); return nil })
	if err == nil || ctx.Err() == nil {
		t.Errorf("waiting on a full pool: err %v before the context ended", err)
	}
	close(release)
	wg.Wait()
}

// A call that exports (a refresh) leaves the client holding nothing known: MSAL wrote the new
// tokens into the store after it loaded the session's bytes. If the session's new cache is
// not saved (the store failed, the user clicked twice), the next refresh from the same old
// bytes must find no access token in them and redeem again, not answer from memory.
func TestExportForgetsTheCache(t *testing.T) {
	env := newEmulatorEnv(t)
	c := env.client(t, 1)
	c.pool.keep = 1
	var a testSession
	a.home, a.data = env.signIn(t, c, emulator.DemoUsers()[0].ID)
	var seen []string
	for range 2 {
		tc := &TokenCache{Data: append([]byte(nil), a.data...)}
		tok, err := c.Refresh(context.Background(), a.home, tc)
		if err != nil {
			t.Fatalf("refresh %d from the same unsaved bytes: %v", len(seen)+1, err)
		}
		seen = append(seen, tok.AccessToken)
	}
	if seen[0] == seen[1] {
		t.Error("the second refresh returned the first one's token")
	}
}

// upgradableKey is mayUpgrade's reference, with encoding/json: does a valid JSON document
// hold an entry key (a key of an object value of the top-level object) with an upper-case
// ASCII letter? (Duplicate keys: encoding/json keeps the last, so only those are checked.)
func upgradableKey(data []byte) bool {
	var sections map[string]json.RawMessage
	if err := json.Unmarshal(data, &sections); err != nil {
		return true
	}
	for _, raw := range sections {
		var entries map[string]json.RawMessage
		if json.Unmarshal(raw, &entries) != nil {
			continue // not an object: no entry keys
		}
		for k := range entries {
			if strings.ContainsFunc(k, func(r rune) bool { return 'A' <= r && r <= 'Z' }) {
				return true
			}
		}
	}
	return false
}

// FuzzMayUpgrade: whenever MSAL could find a v1.0 key to upgrade in a valid cache, mayUpgrade
// says so (it may say so more often, never less).
func FuzzMayUpgrade(f *testing.F) {
	for _, s := range []string{`{}`, `{"AccessToken":{"a-1":{"secret":"X"}}}`, `{"AccessToken":{"A-1":{}}}`,
		`{"a":[{"B":1}],"c":{"d":{"E":1}}}`, `{"a":{"\u0042":1}}`, `{"a":"B","c":{"x":[1,"Y",{"Z":2}]}}`,
		`{"a":{"b":1,"C":2}}`, `[]`, `null`, `"x"`, `{"a":{"b":"\"B\""}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		if upgradableKey(data) && !mayUpgrade(data) {
			t.Errorf("mayUpgrade(%s) = false, but the document has an upper-case entry key", data)
		}
	})
}

func TestMayUpgrade(t *testing.T) {
	for data, want := range map[string]bool{
		`{}`: false, `{"AccessToken":{"a-1":{"secret":"XYZ","Key":"V"}}}`: false,
		`{"AccessToken":{"a-1":{}},"Account":{"b-C":{}}}`: true, `{"a":{"\u0062":1}}`: true,
		`{"a":["B"],"c":{"d":1}}`: false, `{"a":[{"B":1}]}`: false, `null`: true, `{"a":{"b":`: true,
	} {
		if got := mayUpgrade([]byte(data)); got != want {
			t.Errorf("mayUpgrade(%s) = %v, want %v", data, got, want)
		}
	}
}

// parsesDuring is how many session caches c parsed while fn ran.
func parsesDuring(c *Client, fn func()) int64 {
	before := c.parses.Load()
	fn()
	return c.parses.Load() - before
}
