package auth

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/graphauth/graphauth/internal/emulator"
)

// cacheFixture is a real MSAL client (one in the pool, so every call reuses the same in-memory
// token store) against the emulator, with two users signed in for real.
type cacheFixture struct {
	c       *Client
	emu     *emulator.Server
	homeA   string
	homeB   string
	cacheA  []byte
	cacheB  []byte
	secrets []string // every token in the two real caches
}

func newCacheFixture(tb testing.TB) *cacheFixture {
	tb.Helper()
	env := newEmulatorEnv(tb)
	c := env.client(tb, 1)
	c.pool.keep = 1 // one MSAL client: every call reuses the same in-memory store
	fx := &cacheFixture{c: c, emu: env.emu}
	users := emulator.DemoUsers()
	fx.homeA, fx.cacheA = env.signIn(tb, c, users[0].ID)
	fx.homeB, fx.cacheB = env.signIn(tb, c, users[1].ID)
	fx.secrets = append(cacheSecrets(tb, fx.cacheA), cacheSecrets(tb, fx.cacheB)...)
	if len(fx.secrets) < 4 {
		tb.Fatalf("the real caches hold %d tokens, want access and refresh tokens for both users", len(fx.secrets))
	}
	return fx
}

// cacheSecrets returns every "secret" (access, refresh and ID token) in an MSAL cache.
func cacheSecrets(tb testing.TB, data []byte) []string {
	tb.Helper()
	var cache map[string]map[string]map[string]any
	if err := json.Unmarshal(data, &cache); err != nil {
		tb.Fatalf("MSAL cache is not the expected JSON: %v", err)
	}
	var out []string
	for _, kind := range cache {
		for _, entry := range kind {
			if s, ok := entry["secret"].(string); ok && len(s) > 8 {
				out = append(out, s)
			}
		}
	}
	return out
}

// check calls Token for account with data as the session's cache, right after a call that
// loaded user A's real tokens into the same pooled MSAL client. Whatever data holds, the
// answer must not be a token that is not in data: not A's from the client's memory, not B's.
func (fx *cacheFixture) check(t *testing.T, account string, data []byte) {
	ctx := context.Background()
	if _, err := fx.c.Token(ctx, fx.homeA, &TokenCache{Data: fx.cacheA}); err != nil {
		t.Fatalf("token for A from A's real cache: %v", err)
	}
	tc := &TokenCache{Data: append([]byte(nil), data...)}
	tok, err := fx.c.Token(ctx, account, tc)
	for _, s := range fx.secrets {
		if strings.Contains(string(data), s) {
			continue // the input itself carries it
		}
		if err == nil && tok.AccessToken == s {
			t.Fatalf("Token returned a real token that is not in the session's cache (another account's, or left in the client's memory)")
		}
		if tc.Changed && strings.Contains(string(tc.Data), s) {
			t.Fatalf("the session's cache came back holding a real token it did not hold before")
		}
	}
}

// FuzzSessionCacheReplace feeds arbitrary bytes to the token cache that MSAL's Replace hook
// loads, through the real pooled client and the real emulator: nothing panics, and no call
// ever yields a token the bytes did not contain.
func FuzzSessionCacheReplace(f *testing.F) {
	fx := newCacheFixture(f)
	// Seeds besides testdata/fuzz/FuzzSessionCacheReplace: the real caches with their tokens
	// swapped for fakes, so the fuzzer starts from the real shape.
	for _, real := range [][]byte{fx.cacheA, fx.cacheB} {
		fake := string(real)
		for i, s := range fx.secrets {
			fake = strings.ReplaceAll(fake, s, "fake-token-"+string(rune('a'+i)))
		}
		f.Add([]byte(fake), false)
		f.Add([]byte(fake), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, asB bool) {
		account := fx.homeA
		if asB {
			account = fx.homeB
		}
		fx.check(t, account, data)
	})
}

// The leak FuzzSessionCacheReplace guards against, shown once with fixed inputs: an empty,
// damaged or foreign cache never hands out the tokens of the previous call.
func TestSessionCacheNeverLeaksPreviousTokens(t *testing.T) {
	fx := newCacheFixture(t)
	for name, data := range map[string][]byte{
		"empty": nil, "braces": []byte("{}"), "damaged": []byte(`{"AccessToken": {`), "null": []byte("null"),
		"B's cache": fx.cacheB,
	} {
		t.Run(name, func(t *testing.T) {
			fx.check(t, fx.homeA, data)
		})
	}
}
