package emulator_test

// Round trips with the real MSAL Go confidential client, as the app uses it.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/graphauth/graphauth/internal/emulator"
)

// memCache is the simplest ExportReplace: one serialized cache in memory. Replace always
// calls Unmarshal, as MSAL requires.
type memCache struct {
	mu   sync.Mutex
	data []byte
}

func (c *memCache) Replace(_ context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.data) == 0 {
		return u.Unmarshal([]byte("{}"))
	}
	return u.Unmarshal(c.data)
}

func (c *memCache) Export(_ context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := m.Marshal()
	c.data = b
	return err
}

func startEmulator(t *testing.T, mutate func(*emulator.Config)) (*emulator.Server, *http.Client) {
	t.Helper()
	cfg := emulator.DefaultConfig()
	cfg.StateDir = t.TempDir()
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(srv.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return srv, &http.Client{
		Transport:     tr,
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func newMSAL(t *testing.T, srv *emulator.Server, hc *http.Client, cred confidential.Credential, clientID string) confidential.Client {
	t.Helper()
	c, err := confidential.New(srv.Authority(), clientID, cred,
		confidential.WithInstanceDiscovery(false),
		confidential.WithHTTPClient(hc),
		confidential.WithCache(&memCache{}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pkcePair() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

var requestRE = regexp.MustCompile(`name="request" id="request" value="([^"]+)"`)

// follow drives the authorize step like a browser: the sign-in page (button user-N), then
// consent (button accept) when shown. It returns the query the app's callback receives.
func follow(t *testing.T, hc *http.Client, authURL string, userButton int) url.Values {
	t.Helper()
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	for resp.StatusCode == http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(body)
		m := requestRE.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no form in page:\n%s", page)
		}
		form := url.Values{"request": {m[1]}}
		action := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(page)[1]
		if strings.Contains(page, `id="accept"`) {
			form.Set("action", "accept") // the "accept" button
		} else {
			// The value of the button with id user-N.
			re := regexp.MustCompile(`name="user" value="([^"]+)" id="user-` + string(rune('0'+userButton)) + `"`)
			form.Set("user", re.FindStringSubmatch(page)[1])
		}
		base, _ := url.Parse(authURL)
		target, _ := base.Parse(action)
		if resp, err = hc.PostForm(target.String(), form); err != nil {
			t.Fatal(err)
		}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize ended with %d:\n%s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

func idTokenClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMSALRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name        string
		autoApprove bool
	}{{"auto-approve", true}, {"pages", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msalRoundTrip(t, tc.autoApprove)
		})
	}
}

func msalRoundTrip(t *testing.T, autoApprove bool) {
	srv, hc := startEmulator(t, nil)
	const user = "priya.natarajan@graphauth.example"
	if autoApprove {
		srv.SetAutoApprove(emulator.DemoClientID, user)
	}
	// An access token must live more than 300 s for MSAL to cache it, and MSAL treats it as
	// expired 300 s early: 302 s gives a cached token that goes stale two seconds later.
	srv.SetLifetimes(302*time.Second, time.Hour)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cred, err := confidential.NewCredFromSecret(emulator.DemoClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	app := newMSAL(t, srv, hc, cred, emulator.DemoClientID)
	scopes := []string{"User.Read"}

	authURL, err := app.AuthCodeURL(ctx, emulator.DemoClientID, emulator.DemoRedirectURI, scopes)
	if err != nil {
		t.Fatal(err)
	}
	verifier, challenge := pkcePair()
	u, _ := url.Parse(authURL)
	q := u.Query()
	q.Set("state", "st-1")
	q.Set("nonce", "nonce-1")
	q.Set("code_challenge", challenge)
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()

	back := follow(t, hc, u.String(), 2) // user-2 is Priya
	if back.Get("state") != "st-1" || back.Get("code") == "" {
		t.Fatalf("callback query = %v", back)
	}

	res, err := app.AcquireTokenByAuthCode(ctx, back.Get("code"), emulator.DemoRedirectURI, scopes, confidential.WithChallenge(verifier))
	if err != nil {
		t.Fatalf("AcquireTokenByAuthCode: %v", err)
	}
	wantHome := "00000000-0000-4000-8000-00000000a002." + emulator.DefaultTenant
	if res.Account.HomeAccountID != wantHome || res.Account.PreferredUsername != user {
		t.Errorf("account = %+v", res.Account)
	}
	if res.IDToken.Name != "Priya Natarajan" || res.IDToken.Oid != "00000000-0000-4000-8000-00000000a002" {
		t.Errorf("ID token = %+v", res.IDToken)
	}
	if got := idTokenClaims(t, res.IDToken.RawToken)["nonce"]; got != "nonce-1" {
		t.Errorf("nonce = %v", got)
	}

	// Graph /me with MSAL's access token.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.GraphMeURL(), nil)
	req.Header.Set("Authorization", "Bearer "+res.AccessToken)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"displayName":"Priya Natarajan"`) {
		t.Errorf("/me: %d %s", resp.StatusCode, body)
	}

	// Silent: from the cache, no token call.
	acct, err := app.Account(ctx, res.Account.HomeAccountID)
	if err != nil {
		t.Fatal(err)
	}
	before := srv.Counters()
	silent, err := app.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct))
	if err != nil {
		t.Fatalf("silent (cached): %v", err)
	}
	if silent.AccessToken != res.AccessToken || srv.Counters()["token"] != before["token"] {
		t.Errorf("silent call was not served from the cache (token calls %d -> %d)", before["token"], srv.Counters()["token"])
	}

	// Once the cached token is within MSAL's 5-minute margin, silent redeems the refresh token.
	srv.SetLifetimes(60*time.Second, 0) // too short to cache: every silent call refreshes
	time.Sleep(2100 * time.Millisecond)
	for i := 1; i <= 2; i++ {
		silent, err = app.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct))
		if err != nil {
			t.Fatalf("silent refresh %d: %v", i, err)
		}
		if got := srv.Counters()["token:refresh_token"]; got != i {
			t.Errorf("token:refresh_token = %d, want %d", got, i)
		}
	}
	if silent.AccessToken == res.AccessToken {
		t.Error("refresh returned the old access token")
	}

	// After revocation the refresh fails with Entra's error, reachable through CallErr.
	srv.RevokeRefreshTokens(user)
	_, err = app.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct))
	var callErr msalerrors.CallErr
	if !errors.As(err, &callErr) {
		t.Fatalf("silent after revoke: err = %v, want a CallErr", err)
	}
	body, _ = io.ReadAll(callErr.Resp.Body)
	var entra struct {
		Error      string `json:"error"`
		ErrorCodes []int  `json:"error_codes"`
	}
	if err := json.Unmarshal(body, &entra); err != nil || entra.Error != "invalid_grant" || len(entra.ErrorCodes) != 1 || entra.ErrorCodes[0] != 50173 {
		t.Errorf("revoked refresh: %s", body)
	}
}

// TestMSALDeclinedOfflineAccess documents a real MSAL Go trap the emulator reproduces: passing
// offline_access yourself makes MSAL report it as declined, since Entra never returns it.
func TestMSALDeclinedOfflineAccess(t *testing.T) {
	srv, hc := startEmulator(t, func(c *emulator.Config) { c.Apps[0].AutoApproveUser = "alex.rivera@graphauth.example" })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cred, _ := confidential.NewCredFromSecret(emulator.DemoClientSecret)
	app := newMSAL(t, srv, hc, cred, emulator.DemoClientID)
	scopes := []string{"User.Read", "offline_access"}
	authURL, err := app.AuthCodeURL(ctx, emulator.DemoClientID, emulator.DemoRedirectURI, scopes)
	if err != nil {
		t.Fatal(err)
	}
	back := follow(t, hc, authURL, 1)
	_, err = app.AcquireTokenByAuthCode(ctx, back.Get("code"), emulator.DemoRedirectURI, scopes)
	if err == nil || !strings.Contains(err.Error(), "declined scopes") {
		t.Errorf("err = %v, want MSAL's declined scopes error", err)
	}
}

func TestMSALCertificateCredential(t *testing.T) {
	const clientID = "00000000-0000-4000-8000-00000000ce47"
	certPEM, keyPEM := rsaCert(t)
	otherCertPEM, otherKeyPEM := rsaCert(t)
	srv, hc := startEmulator(t, func(c *emulator.Config) {
		c.Apps = append(c.Apps, emulator.App{ClientID: clientID, CertificatePEM: certPEM, RedirectURIs: []string{emulator.DemoRedirectURI}})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	certs, key, err := confidential.CertFromPEM(append(append([]byte{}, certPEM...), keyPEM...), "")
	if err != nil {
		t.Fatal(err)
	}
	cred, err := confidential.NewCredFromCert(certs, key)
	if err != nil {
		t.Fatal(err)
	}
	app := newMSAL(t, srv, hc, cred, clientID)
	res, err := app.AcquireTokenByCredential(ctx, []string{"https://graph.microsoft.com/.default"})
	if err != nil {
		t.Fatalf("client credentials with a certificate: %v", err)
	}
	if res.AccessToken == "" {
		t.Error("no access token")
	}

	// Auth code with the certificate credential.
	srv.SetAutoApprove(clientID, "alex.rivera@graphauth.example")
	verifier, challenge := pkcePair()
	authURL, _ := app.AuthCodeURL(ctx, clientID, emulator.DemoRedirectURI, []string{"User.Read"})
	authURL += "&code_challenge=" + challenge + "&code_challenge_method=S256"
	back := follow(t, hc, authURL, 1)
	if _, err := app.AcquireTokenByAuthCode(ctx, back.Get("code"), emulator.DemoRedirectURI, []string{"User.Read"}, confidential.WithChallenge(verifier)); err != nil {
		t.Errorf("auth code with a certificate: %v", err)
	}

	// A certificate the app registration does not know.
	certs, key, err = confidential.CertFromPEM(append(append([]byte{}, otherCertPEM...), otherKeyPEM...), "")
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := confidential.NewCredFromCert(certs, key)
	app2 := newMSAL(t, srv, hc, wrong, clientID)
	_, err = app2.AcquireTokenByCredential(ctx, []string{"https://graph.microsoft.com/.default"})
	var callErr msalerrors.CallErr
	if !errors.As(err, &callErr) || callErr.Resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong certificate: %v", err)
	}
	body, _ := io.ReadAll(callErr.Resp.Body)
	if !strings.Contains(string(body), `"error_codes":[700027]`) {
		t.Errorf("wrong certificate: %s", body)
	}
}

// rsaCert returns a self-signed certificate and its PKCS#8 key, both PEM.
func rsaCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "graphauth msal test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})
}
