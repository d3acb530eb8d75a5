package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// tlsClient trusts the emulator's CA. jar may be nil; follow=false returns redirects as they are.
func tlsClient(caFile string, jar http.CookieJar, follow bool) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, errors.New("no certificate in " + caFile)
	}
	c := &http.Client{Timeout: 30 * time.Second, Jar: jar,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c, nil
}

// control POSTs JSON to the emulator's control API and decodes the answer into out (if not nil).
func control(ctx context.Context, c *http.Client, emuURL, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, emuURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("emulator %s: %s: %s", path, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// get fetches u and returns the final status, URL and body.
func get(ctx context.Context, c *http.Client, u, cookie string) (int, *url.URL, string, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, "", nil, err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL, string(b), resp.Header, err
}

var (
	signInHrefRE  = regexp.MustCompile(`id="sign-in" href="([^"]+)"`)
	authorizeHref = regexp.MustCompile(`href="(https://[^"]+/oauth2/v2\.0/authorize\?[^"]+)"`)
)

// signIn walks the app's real sign-in with a browser-like client (the emulator auto-approves
// the user), then the incremental consent for OneNote by opening notePath, and returns the
// session cookie as a Cookie header.
func signIn(ctx context.Context, caFile, appURL, notePath string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c, err := tlsClient(caFile, jar, true)
	if err != nil {
		return "", err
	}
	status, _, body, _, err := get(ctx, c, appURL+"/login", "")
	if err != nil {
		return "", fmt.Errorf("GET /login: %w", err)
	}
	m := signInHrefRE.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		return "", fmt.Errorf("GET /login: %d without a sign-in link", status)
	}
	status, final, body, _, err := get(ctx, c, html.UnescapeString(m[1]), "")
	if err != nil {
		return "", fmt.Errorf("sign-in: %w", err)
	}
	if status != http.StatusOK || final.Path != "/" || !strings.Contains(body, `id="welcome"`) {
		return "", fmt.Errorf("sign-in ended at %s with %d, not the signed-in home page", final, status)
	}
	if notePath != "" {
		status, final, body, _, err = get(ctx, c, appURL+notePath, "")
		if err != nil {
			return "", fmt.Errorf("GET %s: %w", notePath, err)
		}
		if final.Path == "/notes/consent" {
			m := authorizeHref.FindStringSubmatch(body)
			if m == nil {
				return "", fmt.Errorf("the OneNote consent page (%d) has no authorize link", status)
			}
			status, final, _, _, err = get(ctx, c, html.UnescapeString(m[1]), "")
			if err != nil {
				return "", fmt.Errorf("OneNote consent: %w", err)
			}
		}
		if status != http.StatusOK || final.Path != notePath {
			return "", fmt.Errorf("OneNote consent ended at %s with %d, not %s", final, status, notePath)
		}
	}
	u, _ := url.Parse(appURL)
	var parts []string
	for _, ck := range jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	if len(parts) == 0 {
		return "", errors.New("signed in, but the app set no cookie")
	}
	return strings.Join(parts, "; "), nil
}

// userToken gets the baseline an access token for user the plain way: the authorization code
// flow with PKCE against the emulator (auto-approved), then the token endpoint.
func userToken(ctx context.Context, caFile, authority, clientID, secret, redirectURI, scope string) (string, error) {
	c, err := tlsClient(caFile, nil, false)
	if err != nil {
		return "", err
	}
	vb := make([]byte, 32)
	_, _ = rand.Read(vb)
	verifier := base64.RawURLEncoding.EncodeToString(vb)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirectURI},
		"scope": {scope}, "state": {"perf"}, "nonce": {"perf"}, "response_mode": {"query"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, authority+"/oauth2/v2.0/authorize?"+q.Encode(), nil)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	code := ""
	if err == nil {
		code = loc.Query().Get("code")
	}
	if code == "" {
		return "", fmt.Errorf("authorize answered %s without a code (Location %q)", resp.Status, resp.Header.Get("Location"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"client_id": {clientID}, "client_secret": {secret}, "code_verifier": {verifier}, "scope": {scope}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, authority+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %s: %.300s", resp.Status, b)
	}
	return tok.AccessToken, nil
}
