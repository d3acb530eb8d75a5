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
type Client struct {
	s        Settings
	cred     confidential.Credential
	http     *http.Client
	pool     chan *confidential.Client // nil entries are clients not built yet
	metadata *metadataCache
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
		pool:     make(chan *confidential.Client, s.PoolSize),
		metadata: newMetadataCache(httpClient, s.Authority, s.Timeout),
	}
	for range s.PoolSize {
		c.pool <- nil
	}
	// Build one client now so a bad authority is reported at start-up, not on first sign-in.
	first, err := c.newMSAL()
	if err != nil {
		return nil, err
	}
	<-c.pool
	c.pool <- first
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

func (c *Client) newMSAL() (*confidential.Client, error) {
	cl, err := confidential.New(c.s.Authority, c.s.ClientID, c.cred,
		confidential.WithCache(sessionCache{}),
		confidential.WithHTTPClient(c.http),
		confidential.WithInstanceDiscovery(c.s.InstanceDiscovery),
	)
	if err != nil {
		return nil, fmt.Errorf("msal client for %s: %w", c.s.Authority, err)
	}
	return &cl, nil
}

// with lends a pooled MSAL client to fn, exclusively, loading cache (may be nil) into it.
func (c *Client) with(ctx context.Context, cache *TokenCache, fn func(context.Context, *confidential.Client) error) error {
	var cl *confidential.Client
	select {
	case cl = <-c.pool:
	case <-ctx.Done():
		return fmt.Errorf("waiting for a token client: %w", ctx.Err())
	}
	defer func() { c.pool <- cl }()
	ctx, cancel := context.WithTimeout(ctx, c.s.Timeout)
	defer cancel()
	if cl == nil {
		var err error
		if cl, err = c.newMSAL(); err != nil {
			return err
		}
	}
	if cache != nil {
		cache.loadedInto = nil // whatever this cache was loaded into before may hold another session now
	}
	return fn(withCache(ctx, cache), cl)
}

// Settings returns the flow's settings (read-only use).
func (c *Client) Settings() Settings { return c.s }

// LogoutURL is where sign-out sends the browser: the authority's end-session endpoint, with the
// app's own page as the registered post_logout_redirect_uri.
func (c *Client) LogoutURL(postLogoutRedirectURI string) string {
	return strings.TrimRight(c.s.Authority, "/") + "/oauth2/v2.0/logout?post_logout_redirect_uri=" +
		queryEscape(postLogoutRedirectURI)
}
