package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Metadata is the part of the authority's OpenID configuration the app uses itself (MSAL keeps
// its own copy but does not expose it).
type Metadata struct {
	Issuer             string `json:"issuer"`
	AuthorizeEndpoint  string `json:"authorization_endpoint"`
	TokenEndpoint      string `json:"token_endpoint"`
	EndSessionEndpoint string `json:"end_session_endpoint"`
}

// metadataCache fetches the metadata once and keeps it; a failed fetch is retried next time.
type metadataCache struct {
	http      *http.Client
	authority string
	timeout   time.Duration
	mu        sync.Mutex
	md        *Metadata
}

func newMetadataCache(h *http.Client, authority string, timeout time.Duration) *metadataCache {
	return &metadataCache{http: h, authority: strings.TrimRight(authority, "/"), timeout: timeout}
}

// MetadataURL is the OpenID configuration document of an authority.
func MetadataURL(authority string) string {
	return strings.TrimRight(authority, "/") + "/v2.0/.well-known/openid-configuration"
}

func (m *metadataCache) get(ctx context.Context) (Metadata, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.md != nil {
		return *m.md, nil
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	md, err := FetchMetadata(ctx, m.http, m.authority)
	if err != nil {
		return Metadata{}, err
	}
	m.md = &md
	return md, nil
}

// FetchMetadata downloads and checks an authority's OpenID configuration.
func FetchMetadata(ctx context.Context, h *http.Client, authority string) (Metadata, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, MetadataURL(authority), nil)
	if err != nil {
		return Metadata{}, fmt.Errorf("openid metadata: %w", err)
	}
	resp, err := h.Do(req)
	if err != nil {
		return Metadata{}, fmt.Errorf("openid metadata: %w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Metadata{}, fmt.Errorf("openid metadata: %w: %v", ErrUnreachable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Metadata{}, fmt.Errorf("openid metadata: %w", ParseEntraError(resp.StatusCode, body))
	}
	var md Metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return Metadata{}, fmt.Errorf("openid metadata: not JSON: %w", err)
	}
	if md.Issuer == "" || md.TokenEndpoint == "" || md.AuthorizeEndpoint == "" {
		return Metadata{}, fmt.Errorf("openid metadata: issuer, authorization_endpoint or token_endpoint missing")
	}
	return md, nil
}

// Metadata returns the authority's OpenID configuration, fetched once.
func (c *Client) Metadata(ctx context.Context) (Metadata, error) { return c.metadata.get(ctx) }
