package auth

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Refresh gets a new access token with the session's refresh token even though the cached one
// is still valid (the /token page's "Refresh now"). MSAL Go has no "force refresh" option, so
// the cached access tokens are dropped from a copy of the cache first: MSAL then finds none and
// redeems the refresh token, exactly as it does when the access token has expired.
func (c *Client) Refresh(ctx context.Context, homeAccountID string, tc *TokenCache) (Token, error) {
	data, err := withoutAccessTokens(tc.Data)
	if err != nil {
		return Token{}, fmt.Errorf("refresh: %w", err)
	}
	tc.Data, tc.Changed = data, false
	tok, err := c.Token(ctx, homeAccountID, tc)
	if err != nil {
		return Token{}, err
	}
	if !tc.Changed {
		// MSAL answered from its cache after all: nothing was refreshed.
		return Token{}, fmt.Errorf("refresh: MSAL did not redeem the refresh token")
	}
	tok.Source = "refresh"
	return tok, nil
}

// withoutAccessTokens removes the "AccessToken" section of a serialized MSAL cache (the unified
// cache schema), keeping accounts, ID tokens and refresh tokens as they are.
func withoutAccessTokens(data []byte) ([]byte, error) {
	if len(data) == 0 {
		return data, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("token cache is not JSON: %w", err)
	}
	delete(m, "AccessToken")
	return json.Marshal(m)
}

// AppToken asks for an app-only token with the client-credentials grant (no user involved), for
// `graphauth check`: if it succeeds, the client ID, tenant and credential are all right. scope
// is a resource's ".default" scope, such as https://graph.microsoft.com/.default.
func (c *Client) AppToken(ctx context.Context, scope string) (Token, error) {
	var res confidential.AuthResult
	err := c.with(ctx, nil, func(ctx context.Context, cl *confidential.Client) error {
		var err error
		res, err = cl.AcquireTokenByCredential(ctx, []string{scope})
		return err
	})
	if err != nil {
		return Token{}, fmt.Errorf("client credentials: %w", classify(err))
	}
	return Token{AccessToken: res.AccessToken, ExpiresOn: res.ExpiresOn, Scopes: res.GrantedScopes, Source: "client_credentials"}, nil
}
