package emulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
)

func TestMetadata(t *testing.T) {
	e := newTestEnv(t, nil)
	port := e.srv.URL()[strings.LastIndex(e.srv.URL(), ":")+1:]
	tests := []struct {
		name, host, tenant, wantIssuer string
	}{
		{"tenant id", "127.0.0.1", DefaultTenant, "https://127.0.0.1:" + port + "/" + DefaultTenant + "/v2.0"},
		{"localhost host is echoed", "localhost", DefaultTenant, "https://localhost:" + port + "/" + DefaultTenant + "/v2.0"},
		{"common", "127.0.0.1", "common", "https://127.0.0.1:" + port + "/{tenantid}/v2.0"},
		{"organizations", "127.0.0.1", "organizations", "https://127.0.0.1:" + port + "/{tenantid}/v2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := "https://" + tt.host + ":" + port
			status, _, body := e.get(base + "/" + tt.tenant + "/v2.0/.well-known/openid-configuration")
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			var md map[string]any
			if err := json.Unmarshal([]byte(body), &md); err != nil {
				t.Fatal(err)
			}
			if got := md["issuer"]; got != tt.wantIssuer {
				t.Errorf("issuer = %v, want %s", got, tt.wantIssuer)
			}
			for key, suffix := range map[string]string{
				"authorization_endpoint": "/oauth2/v2.0/authorize",
				"token_endpoint":         "/oauth2/v2.0/token",
				"end_session_endpoint":   "/oauth2/v2.0/logout",
				"jwks_uri":               "/discovery/v2.0/keys",
			} {
				if want := base + "/" + tt.tenant + suffix; md[key] != want {
					t.Errorf("%s = %v, want %s", key, md[key], want)
				}
			}
		})
	}

	t.Run("unknown tenant", func(t *testing.T) {
		status, _, body := e.get(e.url("/11111111-2222-4333-8444-555555555555/v2.0/.well-known/openid-configuration"))
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		wantEntraError(t, status, m, http.StatusBadRequest, "invalid_tenant", 90002)
	})
	if got := e.srv.Counters()["metadata"]; got != 5 {
		t.Errorf("metadata counter = %d, want 5", got)
	}
}

// TestKeysVerifyIDToken checks an ID token's signature with the published JWKS, using only
// the standard library here.
func TestKeysVerifyIDToken(t *testing.T) {
	e := newTestEnv(t, nil)
	status, _, body := e.get(e.tenantPath("/discovery/v2.0/keys"))
	if status != http.StatusOK {
		t.Fatalf("keys: %d %s", status, body)
	}
	var jwks struct {
		Keys []struct{ Kty, Use, Kid, Alg, N, E string }
	}
	if err := json.Unmarshal([]byte(body), &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("jwks: %v %s", err, body)
	}
	k := jwks.Keys[0]
	if k.Kty != "RSA" || k.Use != "sig" || k.Alg != "RS256" || k.Kid == "" {
		t.Fatalf("key = %+v", k)
	}
	n, _ := base64.RawURLEncoding.DecodeString(k.N)
	eb, _ := base64.RawURLEncoding.DecodeString(k.E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(eb).Int64())}

	m := e.tokens(alex.ID)
	for _, name := range []string{"id_token", "access_token"} {
		tok := m[name].(string)
		parts := strings.Split(tok, ".")
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var header map[string]string
		if err := json.Unmarshal(hb, &header); err != nil {
			t.Fatal(err)
		}
		if header["kid"] != k.Kid || header["alg"] != "RS256" {
			t.Errorf("%s header = %v", name, header)
		}
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
			t.Errorf("%s signature: %v", name, err)
		}
	}
}
