package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Token is an access token for Graph, with where it came from.
type Token struct {
	AccessToken string // never logged or rendered
	ExpiresOn   time.Time
	Scopes      []string
	Source      string // "cache" or "refresh"
}

// Token gets an access token for the session's account from its token cache (step 6's first
// half). MSAL returns a cached token while it is valid and otherwise redeems the refresh token;
// when neither works the user must sign in again (ErrInteractionRequired).
func (c *Client) Token(ctx context.Context, homeAccountID string, tc *TokenCache) (Token, error) {
	return c.TokenFor(ctx, homeAccountID, tc, c.s.Scopes)
}

// TokenFor is Token for other scopes than the sign-in's, e.g. Notes.Read for OneNote. With no
// cached access token for them MSAL redeems the refresh token; when the user has not consented
// to them yet the identity platform refuses (ErrConsentRequired) and the app asks for consent
// with a new authorization (incremental consent).
func (c *Client) TokenFor(ctx context.Context, homeAccountID string, tc *TokenCache, scopes []string) (Token, error) {
	if homeAccountID == "" {
		return Token{}, ErrInteractionRequired
	}
	var res confidential.AuthResult
	err := c.with(ctx, tc, func(ctx context.Context, cl *confidential.Client) error {
		acct, err := cl.Account(ctx, homeAccountID)
		if err != nil {
			return err
		}
		if acct.IsZero() {
			return ErrInteractionRequired
		}
		res, err = cl.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct))
		return err
	})
	if err != nil {
		return Token{}, fmt.Errorf("get token silently: %w", classify(err))
	}
	src := "cache"
	if tc != nil && tc.Changed {
		src = "refresh" // MSAL exports the cache only when it redeemed a refresh token
	}
	return Token{AccessToken: res.AccessToken, ExpiresOn: res.ExpiresOn, Scopes: res.GrantedScopes, Source: src}, nil
}
