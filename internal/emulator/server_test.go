package emulator

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStateDirReuseAndPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s1, err := New(Config{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s1.Close()
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode = %v, %v", fi.Mode().Perm(), err)
	}
	files := []string{caCertFile, caKeyFile, serverCertFile, serverKeyFile, signingKeyFile}
	before := map[string][]byte{}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v", f, fi.Mode().Perm(), err)
		}
		before[f], _ = os.ReadFile(filepath.Join(dir, f))
	}

	s2, err := New(Config{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	for _, f := range files {
		if after, _ := os.ReadFile(filepath.Join(dir, f)); !bytes.Equal(after, before[f]) {
			t.Errorf("%s was regenerated on reuse", f)
		}
	}
	if s1.st.signer.kid != s2.st.signer.kid {
		t.Error("signing key ID changed across starts")
	}

	// A damaged server certificate is replaced; the CA is kept.
	if err := os.WriteFile(filepath.Join(dir, serverCertFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	s3, err := New(Config{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if after, _ := os.ReadFile(filepath.Join(dir, caCertFile)); !bytes.Equal(after, before[caCertFile]) {
		t.Error("CA regenerated although it was valid")
	}
	if after, _ := os.ReadFile(filepath.Join(dir, serverCertFile)); bytes.Equal(after, before[serverCertFile]) || bytes.Equal(after, []byte("garbage")) {
		t.Error("damaged server certificate not replaced")
	}
}

func TestStateDirConcurrentFirstStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	servers := make([]*Server, 4)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := New(Config{StateDir: dir})
			if err != nil {
				t.Error(err)
				return
			}
			servers[i] = s
		}(i)
	}
	wg.Wait()
	caPEM, _ := os.ReadFile(filepath.Join(dir, caCertFile))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, s := range servers {
		if s == nil {
			continue
		}
		defer s.Close()
		leaf, err := x509.ParseCertificate(s.st.tlsCert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"}); err != nil {
			t.Errorf("a server's certificate does not chain to the CA on disk: %v", err)
		}
		if s.st.signer.kid != servers[0].st.signer.kid {
			t.Error("servers sharing a state dir sign with different keys")
		}
	}
}

func TestTempStateDirRemovedAtClose(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(s.CAFile())
	if _, err := os.Stat(s.CAFile()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temp state dir still there: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestServerCertificate(t *testing.T) {
	e := newTestEnv(t, nil)
	caPEM, _ := os.ReadFile(e.srv.CAFile())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	addr := strings.TrimPrefix(e.srv.URL(), "https://")
	for _, name := range []string{"localhost", "127.0.0.1"} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: name})
		if err != nil {
			t.Errorf("TLS as %s: %v", name, err)
			continue
		}
		conn.Close()
	}
	// The CA's name constraints keep it from vouching for anything but loopback names.
	block, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.PermittedDNSDomainsCritical || len(ca.PermittedDNSDomains) != 1 || ca.PermittedDNSDomains[0] != "localhost" {
		t.Errorf("CA name constraints = %v", ca.PermittedDNSDomains)
	}
	if !strings.Contains(ca.Subject.String(), "NOT Microsoft") {
		t.Errorf("CA subject = %s", ca.Subject)
	}
}

func TestStartAndClose(t *testing.T) {
	s, err := New(Config{StateDir: sharedStateDir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:443", "nonsense"} {
		if err := s.Start(addr); err == nil {
			t.Errorf("Start(%q) succeeded; it must refuse", addr)
		}
	}
	if s.URL() != "" {
		t.Errorf("URL before Start = %q", s.URL())
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err == nil {
		t.Error("second Start succeeded")
	}
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") || s.Authority() != s.URL()+"/"+DefaultTenant || s.GraphMeURL() != s.URL()+"/v1.0/me" {
		t.Errorf("URL %q, Authority %q, GraphMeURL %q", s.URL(), s.Authority(), s.GraphMeURL())
	}
	client := trustingClient(t, s.CAFile())
	resp, err := client.Get(s.Authority() + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Get(s.Authority() + "/v2.0/.well-known/openid-configuration"); err == nil {
		t.Error("still serving after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Start("127.0.0.1:0"); err == nil {
		t.Error("Start after Close succeeded")
	}
}

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"tenant not a GUID", func(c *Config) { c.Tenant = "contoso.onmicrosoft.com" }, "Tenant"},
		{"user id not a GUID", func(c *Config) { c.Users[0].ID = "alex" }, "Users[0]"},
		{"duplicate UPN", func(c *Config) { c.Users[1].UserPrincipalName = strings.ToUpper(c.Users[0].UserPrincipalName) }, "duplicate"},
		{"relative redirect URI", func(c *Config) { c.Apps[0].RedirectURIs = []string{"/getAToken"} }, "absolute"},
		{"bad certificate", func(c *Config) { c.Apps[0].CertificatePEM = []byte("nope") }, "CertificatePEM"},
		{"duplicate app", func(c *Config) { c.Apps = append(c.Apps, c.Apps[0]) }, "duplicate ClientID"},
		{"unknown auto-approve user", func(c *Config) { c.Apps[0].AutoApproveUser = "ghost@example.com" }, "AutoApproveUser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.StateDir = sharedStateDir
			tt.mutate(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLoadConfigFile(t *testing.T) {
	cfg, err := LoadConfigFile(filepath.Join("testdata", "example-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps) != 2 || len(cfg.Users) != 2 || cfg.Apps[1].AutoApproveUser != "sam.okafor@graphauth.example" || cfg.AccessTokenLifetime != time.Hour {
		t.Errorf("cfg = %+v", cfg)
	}
	cfg.StateDir = sharedStateDir
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"tenant":"x","appz":[]}`), 0o600)
	if _, err := LoadConfigFile(bad); err == nil || !strings.Contains(err.Error(), "appz") {
		t.Errorf("unknown field: %v", err)
	}
}

// TestConcurrentUse runs sign-ins, refreshes, Graph calls and control calls at once (-race).
func TestConcurrentUse(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Apps[0].AutoApproveUser = alex.ID })
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				verifier, challenge := pkce()
				_, h, _ := e.get(e.tenantPath("/oauth2/v2.0/authorize?" + authParams(challenge, nil).Encode()))
				code := e.redirectQuery(h).Get("code")
				status, m := e.token(tokenForm(code, verifier))
				if status != http.StatusOK {
					errs <- "token: " + m["error_description"].(string)
					return
				}
				if status, m = e.token(refreshForm(m["refresh_token"].(string))); status != http.StatusOK {
					errs <- "refresh failed"
					return
				}
				if status, _, _ := e.me(m["access_token"].(string), ""); status != http.StatusOK {
					errs <- "graph failed"
				}
				e.srv.Counters()
				e.srv.SetLifetimes(time.Hour, 24*time.Hour)
				u := zoe
				u.JobTitle = "Job " + string(rune('A'+i))
				e.srv.SetUser(u)
				e.srv.FailNext(Fault{Endpoint: "keys", Status: 500})
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if got := e.srv.Counters()["token:refresh_token"]; got != 24 {
		t.Errorf("refreshes = %d, want 24", got)
	}
}

func TestErrorWhenHandlerUsedWithoutStart(t *testing.T) {
	s, err := New(Config{StateDir: sharedStateDir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req, _ := http.NewRequest(http.MethodGet, "https://127.0.0.1:9999/"+DefaultTenant+"/v2.0/.well-known/openid-configuration", nil)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"issuer":"https://127.0.0.1:9999/`+DefaultTenant+`/v2.0"`) {
		t.Errorf("Handler without Start: %d %s", rec.Code, rec.Body)
	}
}
