package auth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Identity is who signed in. Users are keyed by tenant + object ID, never by e-mail or UPN.
type Identity struct {
	Name     string
	Username string // preferred_username: for display only
	OID      string
	TID      string
}

// Key identifies the user across sign-ins.
func (i Identity) Key() string { return i.TID + "/" + i.OID }

// ClockSkew is the tolerance for exp, nbf and iat.
const ClockSkew = 5 * time.Minute

// DecodeJWTPayload returns the claims of a JWT without checking its signature. The ID token comes
// straight from the token endpoint over TLS, which OIDC Core §3.1.3.7 accepts in place of a
// signature check; its claims are still checked below.
func DecodeJWTPayload(raw string) (map[string]any, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: not a JWT", ErrIDToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64url", ErrIDToken)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, fmt.Errorf("%w: payload is not a JSON object", ErrIDToken)
	}
	return claims, nil
}

// VerifyIDToken checks the ID token's nonce, issuer, audience and times (MSAL checks none of
// them) and returns who signed in with all the claims.
func (c *Client) VerifyIDToken(ctx context.Context, raw, wantNonce string, now time.Time) (Identity, map[string]any, error) {
	claims, err := DecodeJWTPayload(raw)
	if err != nil {
		return Identity{}, nil, err
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }

	nonce := str("nonce")
	if wantNonce == "" || nonce == "" || subtle.ConstantTimeCompare([]byte(nonce), []byte(wantNonce)) != 1 {
		return Identity{}, nil, ErrNonceMismatch
	}
	if !audienceHas(claims["aud"], c.s.ClientID) {
		return Identity{}, nil, fmt.Errorf("%w: audience is not this app's client ID", ErrIDToken)
	}
	id := Identity{Name: str("name"), Username: str("preferred_username"), OID: str("oid"), TID: str("tid")}
	if id.OID == "" || id.TID == "" {
		return Identity{}, nil, fmt.Errorf("%w: oid or tid claim missing", ErrIDToken)
	}
	md, err := c.Metadata(ctx)
	if err != nil {
		return Identity{}, nil, fmt.Errorf("check ID token issuer: %w", err)
	}
	// Multi-tenant authorities (common, organizations) publish "{tenantid}" in the issuer.
	wantIss := strings.ReplaceAll(md.Issuer, "{tenantid}", id.TID)
	if str("iss") != wantIss {
		return Identity{}, nil, fmt.Errorf("%w: issuer %q is not the authority's %q", ErrIDToken, str("iss"), wantIss)
	}
	if len(c.s.AllowedTenants) > 0 && !slices.ContainsFunc(c.s.AllowedTenants, func(t string) bool { return strings.EqualFold(t, id.TID) }) {
		return Identity{}, nil, fmt.Errorf("%w: tenant %s is not in ALLOWED_TENANTS", ErrIDToken, id.TID)
	}
	exp, ok := numClaim(claims["exp"])
	if !ok || now.After(time.Unix(exp, 0).Add(ClockSkew)) {
		return Identity{}, nil, fmt.Errorf("%w: expired or no exp", ErrIDToken)
	}
	if iat, ok := numClaim(claims["iat"]); ok && time.Unix(iat, 0).After(now.Add(ClockSkew)) {
		return Identity{}, nil, fmt.Errorf("%w: issued in the future", ErrIDToken)
	}
	if nbf, ok := numClaim(claims["nbf"]); ok && time.Unix(nbf, 0).After(now.Add(ClockSkew)) {
		return Identity{}, nil, fmt.Errorf("%w: not valid yet", ErrIDToken)
	}
	return id, claims, nil
}

func audienceHas(aud any, clientID string) bool {
	switch a := aud.(type) {
	case string:
		return a == clientID
	case []any:
		for _, x := range a {
			if s, _ := x.(string); s == clientID {
				return true
			}
		}
	}
	return false
}

func numClaim(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			f, err := n.Float64()
			return int64(f), err == nil
		}
		return i, true
	case float64:
		return int64(n), true
	}
	return 0, false
}
