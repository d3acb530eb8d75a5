package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Flow is one sign-in in progress, kept server-side in the session between the redirect to the
// authorize endpoint (step 2) and the callback (step 4). None of it goes to the browser except
// State, Nonce and the PKCE challenge derived from Verifier.
type Flow struct {
	State       string // CSRF protection for the callback (RFC 9700 §4.2.4)
	Nonce       string // binds the ID token to this sign-in (OIDC §15.5.2)
	Verifier    string // PKCE code_verifier; only its S256 hash leaves the server
	RedirectURI string
	Started     time.Time

	// Scopes are what this authorization asks for; nil means the sign-in's SCOPE. A later,
	// incremental authorization (e.g. Notes.Read on the first visit to /notes) names its own.
	Scopes []string `json:",omitempty"`
	// LoginHint pre-selects the signed-in account on an incremental authorization.
	LoginHint string `json:",omitempty"`
	// ReturnTo is the same-origin path to land on afterwards ("" = the home page). It is kept
	// here, server-side, so nobody can change it between the two legs of the flow.
	ReturnTo string `json:",omitempty"`
}

// scopes is what the flow asks for: its own Scopes, or the sign-in's.
func (f Flow) scopes(signIn []string) []string {
	if f.Scopes != nil {
		return f.Scopes
	}
	return signIn
}

// Incremental reports whether this authorization asks for more than the sign-in's scopes.
func (f Flow) Incremental() bool { return f.Scopes != nil }

// oidcScopes make the authorize request an OpenID Connect request. MSAL Go adds them to the
// token request but not to AuthCodeURL; without openid the identity platform need not return
// the nonce in the ID token, and without offline_access no refresh token is promised.
var oidcScopes = []string{"openid", "profile", "offline_access"}

// FlowLifetime bounds how long a started sign-in may take before its callback is refused.
const FlowLifetime = 10 * time.Minute

// Sentinel errors for the callback's expected failures.
var (
	ErrStateMissing  = errors.New("the sign-in response has no state parameter")
	ErrStateMismatch = errors.New("the sign-in response's state does not match a sign-in started in this browser session")
	ErrFlowExpired   = errors.New("the sign-in took too long and has expired")
	ErrNonceMismatch = errors.New("the ID token's nonce does not match the one this sign-in sent")
	ErrIDToken       = errors.New("the ID token failed validation")
)

// NewFlow draws fresh random state, nonce and PKCE verifier (256 bits each).
func NewFlow(redirectURI string, now time.Time) Flow {
	return Flow{
		State:       randomString(32),
		Nonce:       randomString(32),
		Verifier:    randomString(32), // 43 base64url characters, within RFC 7636's 43..128
		RedirectURI: redirectURI,
		Started:     now,
	}
}

// Challenge is the PKCE S256 code_challenge for the flow's verifier.
func (f Flow) Challenge() string {
	sum := sha256.Sum256([]byte(f.Verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthCodeURL asks MSAL for the authorize URL and appends what MSAL Go cannot set itself:
// state, nonce and the PKCE challenge.
func (c *Client) AuthCodeURL(ctx context.Context, f Flow) (string, error) {
	var raw string
	scopes := f.scopes(c.s.Scopes)
	err := c.with(ctx, nil, func(ctx context.Context, cl *confidential.Client) error {
		var opts []confidential.AuthCodeURLOption
		if f.LoginHint != "" {
			opts = append(opts, confidential.WithLoginHint(f.LoginHint))
		}
		var err error
		raw, err = cl.AuthCodeURL(ctx, c.s.ClientID, f.RedirectURI, scopes, opts...)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("build authorize URL: %w", classify(err))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("build authorize URL: %w", err)
	}
	q := u.Query()
	q.Set("scope", strings.Join(withOIDC(scopes), " "))
	q.Set("state", f.State)
	q.Set("nonce", f.Nonce)
	q.Set("code_challenge", f.Challenge())
	q.Set("code_challenge_method", "S256")
	q.Set("response_mode", "query") // the callback is a top-level GET, so a SameSite=Lax cookie comes with it
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// MatchFlow finds the pending flow whose state equals got, comparing in constant time. An empty
// state never matches. Flows older than FlowLifetime are refused with ErrFlowExpired.
func MatchFlow(pending []Flow, got string, now time.Time) (Flow, error) {
	if got == "" {
		return Flow{}, ErrStateMissing
	}
	for _, f := range pending {
		if f.State != "" && subtle.ConstantTimeCompare([]byte(f.State), []byte(got)) == 1 {
			if now.Sub(f.Started) > FlowLifetime {
				return Flow{}, ErrFlowExpired
			}
			return f, nil
		}
	}
	return Flow{}, ErrStateMismatch
}

// SignIn is what a successful code redemption yields for the session.
type SignIn struct {
	HomeAccountID string         // MSAL's account key (uid.utid) for later silent calls
	Identity      Identity       // who signed in
	Claims        map[string]any // every ID token claim, for display
	ExpiresOn     time.Time      // the access token's expiry
}

// Redeem exchanges the authorization code for tokens (step 5), sending the PKCE verifier, and
// validates the ID token against the flow's nonce. On success tc holds the session's new cache.
func (c *Client) Redeem(ctx context.Context, code string, f Flow, tc *TokenCache) (SignIn, error) {
	var res confidential.AuthResult
	err := c.with(ctx, tc, func(ctx context.Context, cl *confidential.Client) error {
		var err error
		// MSAL's option is named "challenge" but takes the verifier.
		res, err = cl.AcquireTokenByAuthCode(ctx, code, f.RedirectURI, f.scopes(c.s.Scopes), confidential.WithChallenge(f.Verifier))
		return err
	})
	if err != nil {
		return SignIn{}, fmt.Errorf("redeem authorization code: %w", classify(err))
	}
	id, claims, err := c.VerifyIDToken(ctx, res.IDToken.RawToken, f.Nonce, time.Now())
	if err != nil {
		return SignIn{}, err
	}
	return SignIn{HomeAccountID: res.Account.HomeAccountID, Identity: id, Claims: claims, ExpiresOn: res.ExpiresOn}, nil
}

// withOIDC is scopes followed by the OpenID Connect scopes it lacks.
func withOIDC(scopes []string) []string {
	out := append([]string(nil), scopes...)
	for _, s := range oidcScopes {
		if !slices.ContainsFunc(out, func(have string) bool { return strings.EqualFold(have, s) }) {
			out = append(out, s)
		}
	}
	return out
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // cannot happen on supported platforms (Go 1.24+)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func queryEscape(s string) string { return url.QueryEscape(s) }
