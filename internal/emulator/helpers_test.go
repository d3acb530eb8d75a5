package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sharedStateDir is reused by most tests, so the signing key and certificates are generated
// once (which is also how a developer's .emulator directory behaves).
var sharedStateDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "emulator-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedStateDir = dir
	if s, err := New(Config{StateDir: dir}); err != nil { // create the state once
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	} else {
		s.Close()
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testEnv is a started emulator and a client that trusts its CA and does not follow redirects.
type testEnv struct {
	t      *testing.T
	srv    *Server
	client *http.Client
}

func newTestEnv(t *testing.T, mutate func(*Config)) *testEnv {
	t.Helper()
	cfg := DefaultConfig()
	cfg.StateDir = sharedStateDir
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return &testEnv{t: t, srv: srv, client: trustingClient(t, srv.CAFile())}
}

func trustingClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file holds no certificate")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (e *testEnv) url(path string) string { return e.srv.URL() + path }

func (e *testEnv) tenantPath(p string) string { return e.url("/" + e.srv.Tenant() + p) }

// do sends a request and returns the status, headers and body.
func (e *testEnv) do(req *http.Request) (int, http.Header, string) {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func (e *testEnv) get(u string) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

func (e *testEnv) postForm(u string, form url.Values) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

// pkce returns a fresh verifier and its S256 challenge, computed here independently of the
// server's code.
func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authParams are the usual authorize parameters; override or delete ("" value) as needed.
func authParams(challenge string, overrides map[string]string) url.Values {
	q := url.Values{
		"client_id":             {DemoClientID},
		"response_type":         {"code"},
		"redirect_uri":          {DemoRedirectURI},
		"scope":                 {"User.Read"},
		"state":                 {"state-123"},
		"nonce":                 {"nonce-456"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	for k, v := range overrides {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return q
}

var requestField = regexp.MustCompile(`name="request" id="request" value="([^"]+)"`)

// hiddenRequest extracts the pending-request ID from a sign-in or consent page.
func hiddenRequest(t *testing.T, page string) string {
	t.Helper()
	m := requestField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no request field in page:\n%s", page)
	}
	return m[1]
}

// signIn drives the pages: authorize, pick user, accept consent if asked. It returns the
// redirect's query.
func (e *testEnv) signIn(q url.Values, user string) url.Values {
	e.t.Helper()
	status, h, body := e.get(e.tenantPath("/oauth2/v2.0/authorize?" + q.Encode()))
	if status == http.StatusFound {
		return e.redirectQuery(h)
	}
	if status != http.StatusOK {
		e.t.Fatalf("authorize: status %d\n%s", status, body)
	}
	req := hiddenRequest(e.t, body)
	status, h, body = e.postForm(e.tenantPath("/login"), url.Values{"request": {req}, "user": {user}})
	if status == http.StatusFound {
		return e.redirectQuery(h)
	}
	if status != http.StatusOK || !strings.Contains(body, `id="accept"`) {
		e.t.Fatalf("sign-in: status %d, want the consent page\n%s", status, body)
	}
	status, h, body = e.postForm(e.tenantPath("/consent"), url.Values{"request": {hiddenRequest(e.t, body)}, "action": {"accept"}})
	if status != http.StatusFound {
		e.t.Fatalf("consent: status %d\n%s", status, body)
	}
	return e.redirectQuery(h)
}

func (e *testEnv) redirectQuery(h http.Header) url.Values {
	e.t.Helper()
	u, err := url.Parse(h.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Query()
}

// code signs user in and returns an authorization code and the PKCE verifier.
func (e *testEnv) code(user string) (code, verifier string) {
	e.t.Helper()
	verifier, challenge := pkce()
	q := e.signIn(authParams(challenge, nil), user)
	if q.Get("code") == "" {
		e.t.Fatalf("no code in redirect: %v", q)
	}
	return q.Get("code"), verifier
}

// tokenForm is a token request for a code, as MSAL Go sends it.
func tokenForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {DemoRedirectURI},
		"client_id":     {DemoClientID},
		"client_secret": {DemoClientSecret},
		"client_info":   {"1"},
		"scope":         {"User.Read openid offline_access profile"},
		"code_verifier": {verifier},
	}
}

// token posts a token request and decodes the JSON answer.
func (e *testEnv) token(form url.Values) (int, map[string]any) {
	e.t.Helper()
	status, _, body := e.postForm(e.tenantPath("/oauth2/v2.0/token"), form)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		e.t.Fatalf("token response is not JSON (%d): %s", status, body)
	}
	return status, m
}

// tokens signs user in and redeems the code.
func (e *testEnv) tokens(user string) map[string]any {
	e.t.Helper()
	code, verifier := e.code(user)
	status, m := e.token(tokenForm(code, verifier))
	if status != http.StatusOK {
		e.t.Fatalf("token: %d %v", status, m)
	}
	return m
}

// jwtClaims decodes a JWT's payload without checking it.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
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

// wantEntraError checks an Entra JSON error: status, error, AADSTS code and the trailers.
func wantEntraError(t *testing.T, status int, m map[string]any, wantStatus int, wantErr string, wantCode int) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("status = %d, want %d (%v)", status, wantStatus, m["error_description"])
	}
	if got := m["error"]; got != wantErr {
		t.Errorf("error = %v, want %s (%v)", got, wantErr, m["error_description"])
	}
	desc, _ := m["error_description"].(string)
	if wantCode != 0 {
		prefix := fmt.Sprintf("AADSTS%d: ", wantCode)
		if !strings.HasPrefix(desc, prefix) {
			t.Errorf("error_description = %q, want prefix %q", desc, prefix)
		}
		codes, _ := m["error_codes"].([]any)
		if len(codes) != 1 || codes[0] != float64(wantCode) {
			t.Errorf("error_codes = %v, want [%d]", m["error_codes"], wantCode)
		}
	}
	for _, part := range []string{"\r\nTrace ID: ", "\r\nCorrelation ID: ", "\r\nTimestamp: "} {
		if !strings.Contains(desc, part) {
			t.Errorf("error_description lacks %q: %q", part, desc)
		}
	}
	for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
		if s, _ := m[k].(string); s == "" {
			t.Errorf("missing %s", k)
		}
	}
}

// alex, priya and zoe are DefaultConfig's users.
var (
	alex  = DemoUsers()[0]
	priya = DemoUsers()[1]
	zoe   = DemoUsers()[2]
)
