package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
)

// emulatorEnv is the real emulator over HTTPS and an HTTP client that trusts it.
type emulatorEnv struct {
	emu *emulator.Server
	hc  *http.Client
}

func newEmulatorEnv(tb testing.TB) *emulatorEnv {
	tb.Helper()
	emu, err := emulator.New(emulator.DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = emu.Close() })
	pem, err := os.ReadFile(emu.CAFile())
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	tb.Cleanup(hc.CloseIdleConnections)
	return &emulatorEnv{emu: emu, hc: hc}
}

// client is a real auth.Client (real MSAL clients) for the emulator's demo app.
func (env *emulatorEnv) client(tb testing.TB, poolSize int) *Client {
	tb.Helper()
	c, err := New(Settings{Authority: env.emu.Authority(), ClientID: emulator.DemoClientID,
		ClientSecret: emulator.DemoClientSecret, RedirectURI: emulator.DemoRedirectURI,
		Scopes: []string{"User.ReadBasic.All"}, PoolSize: poolSize, Timeout: 5 * time.Second}, env.hc)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// signIn runs the whole auth-code flow for user (ID or UPN) through c, as the browser and the
// callback would, and returns the session's account and its serialized MSAL cache.
func (env *emulatorEnv) signIn(tb testing.TB, c *Client, user string) (string, []byte) {
	tb.Helper()
	env.emu.SetAutoApprove(emulator.DemoClientID, user)
	ctx := context.Background()
	flow := NewFlow(emulator.DemoRedirectURI, time.Now())
	authURL, err := c.AuthCodeURL(ctx, flow)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := env.hc.Get(authURL)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		tb.Fatalf("authorize did not send a code back: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	tc := &TokenCache{}
	si, err := c.Redeem(ctx, loc.Query().Get("code"), flow, tc)
	if err != nil {
		tb.Fatal(err)
	}
	return si.HomeAccountID, tc.Data
}

// testSession is one signed-in session: its account and its cache as the web layer keeps it.
type testSession struct {
	home string
	data []byte
}

// signInMany adds n users to the emulator and signs each in once.
func (env *emulatorEnv) signInMany(tb testing.TB, c *Client, n int) []testSession {
	tb.Helper()
	out := make([]testSession, n)
	for i := range out {
		u := emulator.User{
			ID:                fmt.Sprintf("00000000-0000-4000-8000-%012x", 0xb000+i),
			UserPrincipalName: fmt.Sprintf("user%d@graphauth.example", i),
			DisplayName:       fmt.Sprintf("User %d", i),
			BusinessPhones:    []string{},
		}
		env.emu.SetUser(u)
		out[i].home, out[i].data = env.signIn(tb, c, u.ID)
	}
	return out
}
