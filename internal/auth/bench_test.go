package auth

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkTokenCached is GET /msal-demo's token call with a cached access token: M signed-in
// sessions (real caches from the emulator) take turns, round-robin, on a pool of 8 clients.
func BenchmarkTokenCached(b *testing.B) {
	env := newEmulatorEnv(b)
	for _, m := range []int{1, 32, 100} {
		b.Run(fmt.Sprintf("sessions=%d", m), func(b *testing.B) {
			c := env.client(b, 8)
			sessions := env.signInMany(b, c, m)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := sessions[i%len(sessions)]
				i++
				tc := &TokenCache{Data: s.data}
				tok, err := c.Token(ctx, s.home, tc)
				if err != nil {
					b.Fatal(err)
				}
				if tok.Source != "cache" || tc.Changed {
					b.Fatalf("token from %s, want cache", tok.Source)
				}
			}
		})
	}
}
