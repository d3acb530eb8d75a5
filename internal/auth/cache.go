package auth

import (
	"context"
	"fmt"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// TokenCache is one session's serialized MSAL token cache (the tutorial's
// session["token_cache"]). The web layer loads it from the session before a token call and saves
// it back when Changed is set.
type TokenCache struct {
	Data    []byte
	Changed bool

	// loadedInto is the MSAL store that holds Data right now, so a second call within the same
	// lending of a pooled client (Account, then AcquireTokenSilent) does not parse the cache
	// again. Client.with clears it every time it lends a client: a store another request used
	// since then never counts as loaded.
	loadedInto cache.Unmarshaler
}

type cacheKey struct{}

func withCache(ctx context.Context, tc *TokenCache) context.Context {
	return context.WithValue(ctx, cacheKey{}, tc)
}

// sessionCache connects MSAL's cache hooks to the TokenCache carried in the call's context, so
// each call sees exactly its own session's tokens. The hints' partition keys are ignored: they
// are not consistent across MSAL calls.
type sessionCache struct{}

func (sessionCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	tc, _ := ctx.Value(cacheKey{}).(*TokenCache)
	if tc != nil && tc.loadedInto != nil && tc.loadedInto == u {
		return nil // this lending already loaded exactly this session's cache into u
	}
	data := []byte("{}")
	if tc != nil && len(tc.Data) > 0 {
		data = tc.Data
	}
	// Otherwise always unmarshal, even an empty cache: MSAL keeps the previous call's tokens in
	// memory otherwise, and the next Export would write them into this session (a cross-user leak).
	if err := u.Unmarshal(data); err != nil {
		// A damaged cache is not fatal: start empty, the user signs in again.
		if err2 := u.Unmarshal([]byte("{}")); err2 != nil {
			return fmt.Errorf("token cache: reset: %w", err2)
		}
	}
	if tc != nil {
		tc.loadedInto = u
	}
	return nil
}

func (sessionCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
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
