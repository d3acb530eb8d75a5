package web_test

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/stacktest"
)

// secretsOf lists every secret a page about this session must never show: the client secret,
// and each token and refresh token in the session's MSAL cache.
func secretsOf(t *testing.T, h *stacktest.Stack, c *http.Client) []string {
	t.Helper()
	cache, _ := h.SessionValues(c)["token_cache"].([]byte)
	var parsed map[string]map[string]struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(cache, &parsed); err != nil {
		t.Fatalf("token cache: %v", err)
	}
	out := []string{h.Cfg.ClientSecret}
	for _, section := range parsed {
		for _, item := range section {
			if len(item.Secret) > 16 {
				out = append(out, item.Secret)
			}
		}
	}
	if len(out) < 3 { // the secret, a refresh token, an ID token (and an access token unless too short-lived to cache)
		t.Fatalf("only %d secrets found in the session", len(out))
	}
	return out
}

// mustNotLeak fails when a page shows a secret, a token, or anything that hashes to the PKCE
// challenge (the verifier).
func mustNotLeak(t *testing.T, p stacktest.Page, secrets []string, challenge string) {
	t.Helper()
	body := html.UnescapeString(p.Body)
	for _, s := range secrets {
		if strings.Contains(body, s) || strings.Contains(body, s[:24]) {
			t.Errorf("%s shows a secret or token (%d characters, starting %.6s…)", p.URL.Path, len(s), s)
		}
	}
	if strings.Contains(body, "eyJ") {
		t.Errorf("%s contains a JWT", p.URL.Path)
	}
	for _, w := range base64URLWord.FindAllString(body, -1) {
		sum := sha256.Sum256([]byte(w))
		if base64.RawURLEncoding.EncodeToString(sum[:]) == challenge {
			t.Errorf("%s shows the PKCE verifier", p.URL.Path)
		}
	}
}

var base64URLWord = regexp.MustCompile(`[A-Za-z0-9_-]{43,128}`)

// signInStepwise signs in and returns the authorize URL's query and the authorization code.
func signInStepwise(t *testing.T, h *stacktest.Stack, c *http.Client) (url.Values, string) {
	t.Helper()
	authz, err := url.Parse(h.AuthorizeURL(c))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := url.Parse(h.CallbackURL(c, authz.String()))
	if err != nil {
		t.Fatal(err)
	}
	if p := h.Get(c, cb.String()); p.URL.Path != "/" || p.Status != http.StatusOK {
		t.Fatalf("sign-in ended at %s (%d)", p.URL, p.Status)
	}
	return authz.Query(), cb.Query().Get("code")
}

func TestFlowShowsThisSignInStepByStep(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	sent, code := signInStepwise(t, h, c)
	if len(code) < 20 {
		t.Fatalf("short code %q", code)
	}
	if p := h.Get(c, "/msal-demo"); p.Status != http.StatusOK {
		t.Fatalf("/msal-demo: %d", p.Status)
	}
	p := h.Get(c, "/flow")
	if p.Status != http.StatusOK {
		t.Fatalf("/flow: %d\n%s", p.Status, p.Body)
	}
	user := emulator.DefaultConfig().Users[0]
	stacktest.MustContain(t, p,
		// the six steps, with a note each
		`id="step-1"`, `id="step-2"`, `id="step-3"`, `id="step-4"`, `id="step-5"`, `id="step-6"`,
		"login CSRF", "steals the code", "Referrer-Policy: no-referrer", "session ID",
		// step 2: the authorize URL and its parameters, as sent
		`id="authorize-url"`, `id="authorize-params"`, h.Emu.Authority()+"/oauth2/v2.0/authorize?",
		sent.Get("client_id"), sent.Get("redirect_uri"), sent.Get("scope"), sent.Get("state"), sent.Get("nonce"),
		sent.Get("code_challenge"), "S256",
		// step 4: the callback's query, the code truncated, the state compared
		`id="callback-params"`, code[:6]+"… ("+strconv.Itoa(len(code))+" characters, truncated)", "session_state",
		`id="state-check"`, "equals the one sent in step 2",
		// step 5: the token request, redacted, and the response as claims
		`id="token-request"`, "POST "+h.Emu.Authority()+"/oauth2/v2.0/token", "200 OK", "authorization_code",
		"(the client secret: redacted)", "(the PKCE verifier: redacted)", "MSAL.Go",
		`id="token-response"`, `id="claims-id_token"`, `id="claims-access_token"`, "https://graph.microsoft.com",
		user.ID, "(the refresh token: redacted)", `"uid":"`+user.ID,
		`id="id-token-checks"`, "nonce</code> equals the one sent in step 2",
		// step 6: the Graph call
		`id="graph-request"`, "GET "+h.Emu.GraphMeURL(), "Bearer (the access token: redacted)", `id="graph-token-source"`, "token cache")
	if strings.Contains(p.Body, code) {
		t.Error("/flow shows the whole authorization code")
	}
	mustNotLeak(t, p, secretsOf(t, h, c), sent.Get("code_challenge"))
	if v := signInCookie(h, c); v != "" {
		t.Error("the sign-in cookie is left after the only sign-in finished")
	}
	// Step 6 is the first Graph call: later ones (from the cache) leave the record alone, so
	// /msal-demo does not rewrite the session on every visit.
	before, _ := h.SessionValues(c)["flow_log"].([]byte)
	h.Get(c, "/msal-demo")
	if after, _ := h.SessionValues(c)["flow_log"].([]byte); string(after) != string(before) {
		t.Error("a second Graph call from the cache rewrote the record")
	}
}

func TestFlowBeforeAnyGraphCall(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	home := h.SignIn(c)
	stacktest.MustContain(t, home, `id="flow-link" href="/flow"`, `id="token-link" href="/token"`)
	p := h.Get(c, "/flow")
	stacktest.MustContain(t, p, `id="step-5"`, `id="graph-not-yet"`, `href="/msal-demo"`)
}

// A Graph call that needed a refresh says so on /flow and on /token.
func TestFlowAndTokenShowARefresh(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	h.Emu.SetLifetimes(2*time.Minute, time.Hour) // MSAL refreshes a token this short at every use
	c := h.Browser()
	sent, _ := signInStepwise(t, h, c)
	if p := h.Get(c, "/msal-demo"); p.Status != http.StatusOK {
		t.Fatalf("/msal-demo: %d", p.Status)
	}
	flow := h.Get(c, "/flow")
	stacktest.MustContain(t, flow, `id="graph-token-source"`, "<strong>refresh</strong> just before this call")
	tok := h.Get(c, "/token")
	stacktest.MustContain(t, tok, `id="token-source"`, "A <strong>refresh</strong>, just now")
	mustNotLeak(t, flow, secretsOf(t, h, c), sent.Get("code_challenge"))
	mustNotLeak(t, tok, secretsOf(t, h, c), sent.Get("code_challenge"))
}

func TestTeachingPagesNeedSignIn(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	for _, path := range []string{"/flow", "/token"} {
		if p := h.Get(c, path); p.URL.Path != "/login" {
			t.Errorf("signed-out %s ended at %s", path, p.URL)
		}
	}
	p := h.Post(stacktest.NoFollow(c), "/token", map[string]string{"Sec-Fetch-Site": "same-origin"})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login?next=%2Ftoken" { // back to /token after sign-in
		t.Errorf("signed-out POST /token: %d to %q", p.Status, p.Header.Get("Location"))
	}
	if n := h.Counter("token"); n != 0 {
		t.Errorf("%d token calls for a signed-out visitor", n)
	}
}

// The record belongs to the session: logout deletes it, the next sign-in has its own.
func TestFlowRecordGoneAtLogout(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	first, _ := signInStepwise(t, h, c)
	stacktest.MustContain(t, h.Get(c, "/flow"), first.Get("state"))
	old := h.SessionCookie(c)
	if p := h.Post(stacktest.NoFollow(c), "/logout", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	// The old session ID no longer shows anything.
	c2 := h.Browser()
	u, _ := url.Parse(h.Base)
	c2.Jar.SetCookies(u, []*http.Cookie{{Name: h.CookieName, Value: old}})
	if p := h.Get(c2, "/flow"); p.URL.Path != "/login" || strings.Contains(p.Body, first.Get("state")) {
		t.Errorf("the old session still shows its record: %s", p.URL)
	}
	second, _ := signInStepwise(t, h, c)
	p := h.Get(c, "/flow")
	stacktest.MustContain(t, p, second.Get("state"))
	if strings.Contains(p.Body, first.Get("state")) || strings.Contains(p.Body, first.Get("nonce")) {
		t.Error("the second sign-in's record shows the first sign-in")
	}
}

// The record stays small whatever the identity platform sends, and tabs that never finish
// signing in do not pile up.
func TestFlowRecordIsBounded(t *testing.T) {
	huge := strings.Repeat("Ā", 3000) // multi-byte characters, cut safely
	h := stacktest.Start(t, stacktest.Options{EmuConfig: func(c *emulator.Config) {
		c.Users[0].DisplayName = huge
		c.Users[0].JobTitle = huge
		c.Users[0].OfficeLocation = huge
	}})
	c := h.Browser()
	var tabs []string
	for range 6 { // six tabs start signing in; then a seventh signs in
		tabs = append(tabs, h.AuthorizeURL(c))
	}
	if v := signInCookie(h, c); v == "" || len(v) > 4000 {
		t.Errorf("the sign-in cookie is %d bytes, want 1..4000", len(v))
	}
	h.SignIn(c)
	h.Get(c, "/msal-demo")
	h.Post(stacktest.NoFollow(c), "/token", map[string]string{"Sec-Fetch-Site": "same-origin"})
	values := h.SessionValues(c)
	packed, _ := values["flow_log"].([]byte)
	rec := inflated(t, packed)
	if len(packed) >= len(rec) {
		t.Errorf("the record is kept as %d bytes for %d of JSON: not deflated", len(packed), len(rec))
	}
	if len(rec) == 0 || len(rec) > 8<<10 {
		t.Errorf("the record is %d bytes, want 1..8192", len(rec))
	}
	if !json.Valid(rec) {
		t.Error("the record is not valid JSON (a multi-byte character cut in half?)")
	}
	if p := h.Get(c, "/flow"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="step-6"`) {
		t.Errorf("/flow: %d", p.Status)
	}
	// The cookie keeps the newest three flows: the sixth tab can still finish, the first cannot.
	if p := h.Get(c, h.CallbackURL(c, tabs[5])); p.Status != http.StatusOK || p.URL.Path != "/" {
		t.Errorf("a recent tab's sign-in ended at %s (%d)", p.URL, p.Status)
	}
	if p := h.Get(c, h.CallbackURL(c, tabs[0])); p.Status != http.StatusBadRequest {
		t.Errorf("the oldest tab's callback: %d, want 400", p.Status)
	}
}

// signInCookie is the value of c's sign-in-in-progress cookie ("" when there is none).
func signInCookie(h *stacktest.Stack, c *http.Client) string {
	u, _ := url.Parse(h.Base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "graphauth_signin" {
			return ck.Value
		}
	}
	return ""
}

// inflated is a /flow record as the session keeps it (a mark byte, then deflated JSON), opened.
func inflated(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) == 0 || b[0] != 0x01 {
		return b
	}
	out, err := io.ReadAll(flate.NewReader(bytes.NewReader(b[1:])))
	if err != nil {
		t.Fatalf("inflate the record: %v", err)
	}
	return out
}
