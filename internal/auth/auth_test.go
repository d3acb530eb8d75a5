package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

func TestChallengeIsRFC7636S256(t *testing.T) {
	// RFC 7636 Appendix B.
	f := Flow{Verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}
	if got, want := f.Challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; got != want {
		t.Errorf("Challenge() = %q, want %q", got, want)
	}
}

func TestNewFlowIsRandomAndLongEnough(t *testing.T) {
	a, b := NewFlow("http://localhost/getAToken", time.Now()), NewFlow("http://localhost/getAToken", time.Now())
	for _, pair := range [][2]string{{a.State, b.State}, {a.Nonce, b.Nonce}, {a.Verifier, b.Verifier}} {
		if pair[0] == pair[1] {
			t.Errorf("two flows share a value %q", pair[0])
		}
		if raw, err := base64.RawURLEncoding.DecodeString(pair[0]); err != nil || len(raw)*8 < 128 {
			t.Errorf("value %q has fewer than 128 random bits", pair[0])
		}
	}
	if n := len(a.Verifier); n < 43 || n > 128 {
		t.Errorf("verifier length %d outside RFC 7636's 43..128", n)
	}
}

func TestMatchFlow(t *testing.T) {
	now := time.Now()
	fresh := Flow{State: "state-fresh", Started: now.Add(-time.Minute)}
	old := Flow{State: "state-old", Started: now.Add(-FlowLifetime - time.Second)}
	blank := Flow{State: "", Started: now}
	pending := []Flow{blank, fresh, old}
	cases := []struct {
		name  string
		state string
		want  error
	}{
		{"match", "state-fresh", nil},
		{"missing", "", ErrStateMissing},
		{"wrong", "state-other", ErrStateMismatch},
		{"prefix", "state-fres", ErrStateMismatch},
		{"expired", "state-old", ErrFlowExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MatchFlow(pending, tc.state, now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && got.State != tc.state {
				t.Errorf("matched %q, want %q", got.State, tc.state)
			}
		})
	}
	if _, err := MatchFlow(nil, "x", now); !errors.Is(err, ErrStateMismatch) {
		t.Errorf("no pending flow: err = %v", err)
	}
}

type recordingUnmarshaler struct{ got []string }

func (r *recordingUnmarshaler) Unmarshal(b []byte) error {
	r.got = append(r.got, string(b))
	if !json.Valid(b) {
		return errors.New("bad json")
	}
	return nil
}

type fixedMarshaler string

func (f fixedMarshaler) Marshal() ([]byte, error) { return []byte(f), nil }

func TestSessionCacheAlwaysUnmarshals(t *testing.T) {
	// Returning early for an empty session would leave the previous user's tokens in MSAL's memory.
	var sc sessionCache
	u := &recordingUnmarshaler{}
	if err := sc.Replace(context.Background(), u, ReplaceHintsZero()); err != nil {
		t.Fatal(err)
	}
	if err := sc.Replace(withCache(context.Background(), &TokenCache{}), u, ReplaceHintsZero()); err != nil {
		t.Fatal(err)
	}
	if err := sc.Replace(withCache(context.Background(), &TokenCache{Data: []byte(`{"a":1}`)}), u, ReplaceHintsZero()); err != nil {
		t.Fatal(err)
	}
	if err := sc.Replace(withCache(context.Background(), &TokenCache{Data: []byte(`garbage`)}), u, ReplaceHintsZero()); err != nil {
		t.Fatal(err)
	}
	want := []string{"{}", "{}", `{"a":1}`, "garbage", "{}"}
	if strings.Join(u.got, "|") != strings.Join(want, "|") {
		t.Errorf("Unmarshal calls = %q, want %q", u.got, want)
	}
}

func TestSessionCacheExport(t *testing.T) {
	var sc sessionCache
	tc := &TokenCache{}
	if err := sc.Export(withCache(context.Background(), tc), fixedMarshaler(`{"x":1}`), ExportHintsZero()); err != nil {
		t.Fatal(err)
	}
	if !tc.Changed || string(tc.Data) != `{"x":1}` {
		t.Errorf("after Export: %+v", tc)
	}
	// No cache in the context: nothing to write to, and no error.
	if err := sc.Export(context.Background(), fixedMarshaler(`{}`), ExportHintsZero()); err != nil {
		t.Fatal(err)
	}
}

func TestParseEntraError(t *testing.T) {
	body := `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Trace ID: t1","error_codes":[7000215],"trace_id":"t1","correlation_id":"c1","timestamp":"2026-01-01 00:00:00Z"}`
	e := ParseEntraError(401, []byte(body))
	if e.AADSTS != 7000215 || e.Code != "invalid_client" || e.TraceID != "t1" || e.CorrelationID != "c1" || e.Status != 401 {
		t.Errorf("parsed %+v", e)
	}
	if errors.Is(e, ErrInteractionRequired) {
		t.Error("invalid_client must not count as interaction required")
	}
	// The code only in the description.
	e = ParseEntraError(400, []byte(`{"error":"invalid_grant","error_description":"AADSTS70008: expired"}`))
	if e.AADSTS != 70008 || !errors.Is(e, ErrInteractionRequired) {
		t.Errorf("parsed %+v", e)
	}
	// Not JSON at all.
	e = ParseEntraError(502, []byte("<html>bad gateway</html>"))
	if e.Status != 502 || e.AADSTS != 0 {
		t.Errorf("parsed %+v", e)
	}
}

// idTokenFixture serves metadata and builds ID tokens for VerifyIDToken.
func idTokenFixture(t *testing.T, issuer string) *Client {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "authorization_endpoint": "x", "token_endpoint": "y"})
	}))
	t.Cleanup(srv.Close)
	return &Client{s: Settings{ClientID: "client-1"}, metadata: newMetadataCache(srv.Client(), srv.URL+"/tenant-1", 5*time.Second)}
}

func jwtWith(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

func TestVerifyIDToken(t *testing.T) {
	now := time.Now()
	iss := "https://login.example/tenant-1/v2.0"
	c := idTokenFixture(t, iss)
	base := func() map[string]any {
		return map[string]any{"iss": iss, "aud": "client-1", "nonce": "n-1", "oid": "o-1", "tid": "tenant-1",
			"name": "Ada", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix()}
	}
	cases := []struct {
		name   string
		mutate func(map[string]any)
		nonce  string
		want   error
	}{
		{"valid", func(map[string]any) {}, "n-1", nil},
		{"aud array", func(m map[string]any) { m["aud"] = []string{"other", "client-1"} }, "n-1", nil},
		{"nonce mismatch", func(map[string]any) {}, "n-2", ErrNonceMismatch},
		{"nonce missing", func(m map[string]any) { delete(m, "nonce") }, "n-1", ErrNonceMismatch},
		{"no expected nonce", func(map[string]any) {}, "", ErrNonceMismatch},
		{"wrong audience", func(m map[string]any) { m["aud"] = "someone-else" }, "n-1", ErrIDToken},
		{"wrong issuer", func(m map[string]any) { m["iss"] = "https://evil.example/tenant-1/v2.0" }, "n-1", ErrIDToken},
		{"expired", func(m map[string]any) { m["exp"] = now.Add(-time.Hour).Unix() }, "n-1", ErrIDToken},
		{"no exp", func(m map[string]any) { delete(m, "exp") }, "n-1", ErrIDToken},
		{"issued in future", func(m map[string]any) { m["iat"] = now.Add(time.Hour).Unix() }, "n-1", ErrIDToken},
		{"not yet valid", func(m map[string]any) { m["nbf"] = now.Add(time.Hour).Unix() }, "n-1", ErrIDToken},
		{"no oid", func(m map[string]any) { delete(m, "oid") }, "n-1", ErrIDToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.mutate(m)
			id, _, err := c.VerifyIDToken(context.Background(), jwtWith(m), tc.nonce, now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && (id.OID != "o-1" || id.TID != "tenant-1" || id.Name != "Ada") {
				t.Errorf("identity = %+v", id)
			}
		})
	}
}

func TestVerifyIDTokenMultiTenantIssuer(t *testing.T) {
	now := time.Now()
	c := idTokenFixture(t, "https://login.example/{tenantid}/v2.0")
	claims := map[string]any{"iss": "https://login.example/tenant-9/v2.0", "aud": "client-1", "nonce": "n",
		"oid": "o", "tid": "tenant-9", "exp": now.Add(time.Hour).Unix()}
	if _, _, err := c.VerifyIDToken(context.Background(), jwtWith(claims), "n", now); err != nil {
		t.Fatalf("templated issuer: %v", err)
	}
	claims["tid"] = "tenant-8" // issuer names another tenant than tid
	if _, _, err := c.VerifyIDToken(context.Background(), jwtWith(claims), "n", now); !errors.Is(err, ErrIDToken) {
		t.Fatalf("issuer/tid mismatch accepted: %v", err)
	}
	c.s.AllowedTenants = []string{"tenant-1"}
	claims["tid"] = "tenant-9"
	if _, _, err := c.VerifyIDToken(context.Background(), jwtWith(claims), "n", now); !errors.Is(err, ErrIDToken) {
		t.Fatalf("tenant outside ALLOWED_TENANTS accepted: %v", err)
	}
}

func FuzzDecodeJWTPayload(f *testing.F) {
	f.Add(jwtWith(map[string]any{"nonce": "n", "exp": 1}))
	f.Add("a.b.c")
	f.Add("")
	f.Add("..")
	f.Add("eyJ.eyJhIjpbXX0.x")
	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := DecodeJWTPayload(raw)
		if err == nil && claims == nil {
			t.Fatal("nil claims without error")
		}
		if err != nil && !errors.Is(err, ErrIDToken) {
			t.Fatalf("error not wrapped as ErrIDToken: %v", err)
		}
	})
}

// Within one lending of a client, MSAL's second Replace (Account, then AcquireTokenSilent) does
// not parse the same cache again; any other store, or a new lending, parses it.
func TestSessionCacheParsedOncePerLending(t *testing.T) {
	var sc sessionCache
	tc := &TokenCache{Data: []byte(`{"a":1}`)}
	ctx := withCache(context.Background(), tc)
	u, other := &recordingUnmarshaler{}, &recordingUnmarshaler{}
	for _, target := range []*recordingUnmarshaler{u, u, other} {
		if err := sc.Replace(ctx, target, ReplaceHintsZero()); err != nil {
			t.Fatal(err)
		}
	}
	if len(u.got) != 1 || len(other.got) != 1 {
		t.Fatalf("Unmarshal calls: same store %d, other store %d; want 1 and 1", len(u.got), len(other.got))
	}
	// A new lending must load the cache again: the store may hold another session by then.
	c, err := New(Settings{Authority: "https://127.0.0.1:1/tenant", ClientID: "client-1", ClientSecret: "s",
		PoolSize: 1}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	tc.loadedInto = u
	err = c.with(context.Background(), tc, func(ctx context.Context, _ *confidential.Client) error {
		if tc.loadedInto != nil {
			t.Error("a new lending kept the previous lending's loaded mark")
		}
		return sc.Replace(ctx, u, ReplaceHintsZero())
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.got) != 2 {
		t.Errorf("Unmarshal calls after a new lending: %d, want 2", len(u.got))
	}
}
