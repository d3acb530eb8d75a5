// Package auth is the OAuth 2.0 authorization-code flow on top of MSAL Go: the parts MSAL does
// (building the authorize URL, redeeming the code, caching and refreshing tokens) and the parts
// it leaves to the app (PKCE, state, nonce, ID token checks, one token cache per session).
package auth

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Settings is what the flow needs from the app's configuration.
type Settings struct {
	Authority             string
	ClientID              string
	ClientSecret          string
	ClientCertificateFile string // preferred over ClientSecret when set
	RedirectURI           string
	Scopes                []string
	InstanceDiscovery     bool
	AllowedTenants        []string
	// PoolSize bounds how many MSAL clients exist, i.e. how many token calls run at once.
	PoolSize int
	// Timeout bounds every call to the identity platform (MSAL adds 30 s only when none is set).
	Timeout time.Duration
}

// Client runs the flow for every user of the app.
//
// Why a pool: an MSAL confidential client holds ONE in-memory token store, which its cache
// accessor swaps on every call. Sharing one client between concurrent requests of different users
// mixes their caches; one client per request refetches the OpenID metadata every time. So the
// app keeps a few clients and lends each to one request at a time: each client fetches the
// metadata once and keeps it, and calls for different users never overlap on one client.
//
// Each client also keeps the last session cache it parsed while that session's bytes do not
// change, and the pool lends a session the client that holds its bytes (see clientPool and
// sessionCache): a cached token call then costs no parse at all.
type Client struct {
	s        Settings
	cred     confidential.Credential
	http     *http.Client
	pool     *clientPool
	metadata *metadataCache
	parses   atomic.Int64 // session caches parsed into a client (tests, benchmarks)
}

// New builds the flow client. It makes no network call.
func New(s Settings, httpClient *http.Client) (*Client, error) {
	cred, err := credential(s)
	if err != nil {
		return nil, err
	}
	if s.PoolSize <= 0 {
		s.PoolSize = 8
	}
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	c := &Client{
		s:        s,
		cred:     cred,
		http:     httpClient,
		metadata: newMetadataCache(httpClient, s.Authority, s.Timeout),
	}
	c.pool = newClientPool(s.PoolSize, keptPerSlot*s.PoolSize, func() *sessionCache {
		return &sessionCache{parses: &c.parses}
	})
	// Build one client now so a bad authority is reported at start-up, not on first sign-in.
	first := &pooled{cache: c.pool.newCache()}
	if first.cl, err = c.newMSAL(first.cache); err != nil {
		return nil, err
	}
	c.pool.all, c.pool.idle = 1, []*pooled{first}
	return c, nil
}

func credential(s Settings) (confidential.Credential, error) {
	if s.ClientCertificateFile != "" {
		pem, err := os.ReadFile(s.ClientCertificateFile)
		if err != nil {
			return confidential.Credential{}, fmt.Errorf("client certificate: %w", err)
		}
		certs, key, err := confidential.CertFromPEM(pem, "")
		if err != nil {
			return confidential.Credential{}, fmt.Errorf("client certificate %s: %w", s.ClientCertificateFile, err)
		}
		cred, err := confidential.NewCredFromCert(certs, key)
		if err != nil {
			return confidential.Credential{}, fmt.Errorf("client certificate %s: %w", s.ClientCertificateFile, err)
		}
		return cred, nil
	}
	cred, err := confidential.NewCredFromSecret(s.ClientSecret)
	if err != nil {
		return confidential.Credential{}, fmt.Errorf("client secret: %w", err)
	}
	return cred, nil
}

func (c *Client) newMSAL(hook *sessionCache) (*confidential.Client, error) {
	cl, err := confidential.New(c.s.Authority, c.s.ClientID, c.cred,
		confidential.WithCache(hook),
		confidential.WithHTTPClient(c.http),
		confidential.WithInstanceDiscovery(c.s.InstanceDiscovery),
	)
	if err != nil {
		return nil, fmt.Errorf("msal client for %s: %w", c.s.Authority, err)
	}
	return &cl, nil
}

// with lends a pooled MSAL client to fn, exclusively, with tc (may be nil) as the session's
// cache its hooks load and save.
func (c *Client) with(ctx context.Context, tc *TokenCache, fn func(context.Context, *confidential.Client) error) error {
	var want []byte // the cache bytes this call loads, to find the client that holds them
	if tc != nil {
		want = tc.bytes()
	}
	p, err := c.pool.get(ctx, want)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.Timeout)
	defer cancel()
	ok := false
	defer func() {
		if !ok {
			// An error, a panic or a cancelled call: MSAL may have changed the store without
			// an Export. Whatever the client holds is unknown now.
			p.cache.forget()
		}
		c.pool.put(p)
	}()
	if p.cl == nil {
		if p.cl, err = c.newMSAL(p.cache); err != nil {
			return err
		}
	}
	err = fn(withCache(ctx, tc), p.cl)
	ok = err == nil && ctx.Err() == nil
	return err
}

// Settings returns the flow's settings (read-only use).
func (c *Client) Settings() Settings { return c.s }

// LogoutURL is where sign-out sends the browser: the authority's end-session endpoint, with the
// app's own page as the registered post_logout_redirect_uri.
func (c *Client) LogoutURL(postLogoutRedirectURI string) string {
	return strings.TrimRight(c.s.Authority, "/") + "/oauth2/v2.0/logout?post_logout_redirect_uri=" +
		queryEscape(postLogoutRedirectURI)
}
