package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// testCert makes a self-signed RSA certificate, as an app would upload to its registration.
func testCert(t *testing.T, notAfter time.Time) (*rsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "graphauth test app"},
		NotBefore:    time.Now().Add(-48 * time.Hour),
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// assertion builds a client assertion the way MSAL Go does (PS256, x5t#S256 in padded
// standard base64), with this test's own code.
func assertion(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, alg string, claims map[string]any) string {
	t.Helper()
	header := map[string]any{"alg": alg, "typ": "JWT"}
	if alg == "PS256" {
		sum := sha256.Sum256(cert.Raw)
		header["x5t#S256"] = base64.StdEncoding.EncodeToString(sum[:])
	} else {
		sum := sha1.Sum(cert.Raw)
		header["x5t"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	if alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestClientAssertion(t *testing.T) {
	const certApp = "00000000-0000-4000-8000-00000000ce47"
	key, cert, certPEM := testCert(t, time.Now().Add(24*time.Hour))
	otherKey, otherCert, _ := testCert(t, time.Now().Add(24*time.Hour))
	expKey, expCert, expPEM := testCert(t, time.Now().Add(-time.Hour))
	e := newTestEnv(t, func(c *Config) {
		c.Apps = append(c.Apps, App{
			ClientID:       certApp,
			CertificatePEM: append(append([]byte{}, certPEM...), expPEM...),
			RedirectURIs:   []string{DemoRedirectURI},
		})
	})
	tokenURL := e.tenantPath("/oauth2/v2.0/token")
	good := func() map[string]any {
		return map[string]any{
			"aud": tokenURL, "iss": certApp, "sub": certApp, "jti": newGUID(),
			"nbf": time.Now().Unix(), "exp": time.Now().Add(10 * time.Minute).Unix(),
		}
	}
	with := func(k string, v any) map[string]any { c := good(); c[k] = v; return c }
	form := func(a string) url.Values {
		return url.Values{
			"grant_type":            {"client_credentials"},
			"client_id":             {certApp},
			"scope":                 {"https://graph.microsoft.com/.default"},
			"client_assertion_type": {jwtBearerAssertionType},
			"client_assertion":      {a},
		}
	}
	tests := []struct {
		name       string
		assertion  string
		wantStatus int
		wantCode   int
	}{
		{"right cert, PS256", assertion(t, key, cert, "PS256", good()), 200, 0},
		{"right cert, RS256 with x5t", assertion(t, key, cert, "RS256", good()), 200, 0},
		{"aud is the issuer", assertion(t, key, cert, "PS256", with("aud", e.srv.URL()+"/"+DefaultTenant+"/v2.0")), 200, 0},
		{"wrong cert", assertion(t, otherKey, otherCert, "PS256", good()), 401, 700027},
		{"right thumbprint, wrong key", func() string {
			a := assertion(t, otherKey, otherCert, "PS256", good())
			h := assertion(t, key, cert, "PS256", good())
			return h[:indexDot(h)] + a[indexDot(a):] // header naming the registered cert
		}(), 401, 700027},
		{"expired cert", assertion(t, expKey, expCert, "PS256", good()), 401, 700027},
		{"wrong audience", assertion(t, key, cert, "PS256", with("aud", "https://login.microsoftonline.com/common/oauth2/v2.0/token")), 401, 700027},
		{"wrong issuer", assertion(t, key, cert, "PS256", with("iss", DemoClientID)), 401, 700027},
		{"expired assertion", assertion(t, key, cert, "PS256", with("exp", time.Now().Add(-time.Hour).Unix())), 401, 700024},
		{"not a JWT", "not.a.jwt", 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := e.token(form(tt.assertion))
			if tt.wantStatus == 200 {
				if status != 200 {
					t.Fatalf("status %d: %v", status, m)
				}
				if acr := jwtClaims(t, m["access_token"].(string))["azpacr"]; acr != "2" {
					t.Errorf("azpacr = %v, want 2 (certificate)", acr)
				}
				return
			}
			if tt.wantCode == 0 {
				if status != tt.wantStatus {
					t.Errorf("status = %d, want %d (%v)", status, tt.wantStatus, m)
				}
				return
			}
			wantEntraError(t, status, m, tt.wantStatus, "invalid_client", tt.wantCode)
		})
	}

	t.Run("authorization code with an assertion", func(t *testing.T) {
		verifier, challenge := pkce()
		q := authParams(challenge, map[string]string{"client_id": certApp})
		back := e.signIn(q, alex.ID)
		f := tokenForm(back.Get("code"), verifier)
		f.Set("client_id", certApp)
		f.Del("client_secret")
		f.Set("client_assertion_type", jwtBearerAssertionType)
		f.Set("client_assertion", assertion(t, key, cert, "PS256", good()))
		if status, m := e.token(f); status != http.StatusOK {
			t.Errorf("auth code + assertion: %v", m)
		}
	})
	t.Run("secret for a certificate-only app", func(t *testing.T) {
		f := form("")
		f.Del("client_assertion")
		f.Set("client_secret", "guess")
		status, m := e.token(f)
		wantEntraError(t, status, m, 401, "invalid_client", 7000215)
	})
}

func indexDot(s string) int {
	for i := range s {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}
