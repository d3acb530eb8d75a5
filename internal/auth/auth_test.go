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

// The hook parses whatever its store does not hold exactly: an empty session never keeps the
// previous session's tokens in MSAL's memory, and only byte-identical bytes skip the parse.
func TestSessionCacheParsesWhatItDoesNotHold(t *testing.T) {
	sc := &sessionCache{}
	u, other := &recordingUnmarshaler{}, &recordingUnmarshaler{}
	replace := func(target *recordingUnmarshaler, tc *TokenCache) {
		t.Helper()
		ctx := context.Background()
		if tc != nil {
			ctx = withCache(ctx, tc)
		}
		if err := sc.Replace(ctx, target, ReplaceHintsZero()); err != nil {
			t.Fatal(err)
		}
	}
	a, b := `{"AccessToken":{"a-1":{"secret":"x"}}}`, `{"AccessToken":{"b-1":{"secret":"y"}}}`
	legacy := `{"AccessToken":{"A-1":{"secret":"x"}}}` // a v1.0 key: MSAL rewrites it on read
	replace(u, nil)                                    // no session cache: "{}"
	replace(u, &TokenCache{})                          // "{}" again: held
	replace(u, &TokenCache{Data: []byte(a)})           // parse
	replace(u, &TokenCache{Data: []byte(a)})           // held
	replace(other, &TokenCache{Data: []byte(a)})       // another store: parse
	replace(u, &TokenCache{Data: []byte(b)})           // parse
	replace(u, &TokenCache{Data: []byte(`garbage`)})   // parse fails: "{}"
	replace(u, &TokenCache{Data: []byte(`garbage`)})   // nothing known: again
	replace(u, &TokenCache{Data: []byte(b)})           // parse
	if err := sc.Export(context.Background(), fixedMarshaler(b), ExportHintsZero()); err != nil {
		t.Fatal(err)
	}
	replace(u, &TokenCache{Data: []byte(b)}) // after an Export: parse
	replace(u, &TokenCache{Data: []byte(legacy)})
	replace(u, &TokenCache{Data: []byte(legacy)}) // never remembered
	want := []string{"{}", a, b, "garbage", "{}", "garbage", "{}", b, b, legacy, legacy}
	if strings.Join(u.got, "|") != strings.Join(want, "|") {
		t.Errorf("Unmarshal calls = %q, want %q", u.got, want)
	}
	if len(other.got) != 1 {
		t.Errorf("Unmarshal calls into the other store: %q, want one", other.got)
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

// A lending whose call fails, panics or outlives its context leaves the client holding
// nothing known: the next call parses its cache, whatever the client held before.
func TestWithForgetsAfterAFailedCall(t *testing.T) {
	c, err := New(Settings{Authority: "https://127.0.0.1:1/tenant", ClientID: "client-1", ClientSecret: "s",
		PoolSize: 1}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	c.pool.keep = 1 // one client, one store
	hook := c.pool.idle[0].cache
	tc := &TokenCache{Data: []byte(`{"AccessToken":{"a-1":{"secret":"x"}}}`)}
	u := &recordingUnmarshaler{}
	load := func(ctx context.Context, _ *confidential.Client) error {
		return hook.Replace(ctx, u, ReplaceHintsZero())
	}
	failing := errors.New("the token endpoint said no")
	cases := []struct {
		name string
		fn   func(context.Context, *confidential.Client) error
		ctx  func() context.Context
	}{
		{"error", func(ctx context.Context, cl *confidential.Client) error { _ = load(ctx, cl); return failing }, context.Background},
		{"panic", func(ctx context.Context, cl *confidential.Client) error { _ = load(ctx, cl); panic("boom") }, context.Background},
		{"cancelled", func(ctx context.Context, cl *confidential.Client) error {
			err := load(ctx, cl)
			<-ctx.Done()
			return err
		}, func() context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.with(context.Background(), tc, load); err != nil {
				t.Fatal(err)
			}
			before := len(u.got)
			if err := c.with(context.Background(), tc, load); err != nil || len(u.got) != before {
				t.Fatalf("an unchanged cache was parsed again (err %v)", err)
			}
			func() {
				defer func() { _ = recover() }()
				_ = c.with(tt.ctx(), tc, tt.fn)
			}()
			before = len(u.got)
			if err := c.with(context.Background(), tc, load); err != nil {
				t.Fatal(err)
			}
			if len(u.got) != before+1 {
				t.Errorf("after a call that ended in %s, the next call parsed %d times, want once", tt.name, len(u.got)-before)
			}
		})
	}
}
