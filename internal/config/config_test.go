package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const goodClientID = "7d2e9c1a-5b6f-4e3d-9a8b-0c1d2e3f4a5b"

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func good() map[string]string {
	return map[string]string{
		"CLIENT_ID":     goodClientID,
		"CLIENT_SECRET": "s3cr~et-value-not-a-guid",
		"AUTHORITY":     "https://login.microsoftonline.com/contoso.onmicrosoft.com",
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(good()), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(c.Scopes, " "), "User.ReadBasic.All"; got != want {
		t.Errorf("Scopes = %q, want %q", got, want)
	}
	checks := []struct{ name, got, want string }{
		{"SessionType", c.SessionType, "filesystem"},
		{"GraphEndpoint", c.GraphEndpoint, "https://graph.microsoft.com/v1.0/me"},
		{"Addr", c.Addr(), "localhost:5000"},
		{"RedirectURI", c.RedirectURI, "http://localhost:5000/getAToken"},
		{"PublicOrigin", c.PublicOrigin(), "http://localhost:5000"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if !c.InstanceDiscovery || c.HTTPS() {
		t.Errorf("InstanceDiscovery=%v HTTPS=%v, want true false", c.InstanceDiscovery, c.HTTPS())
	}
	if c.SessionIdleTimeout != time.Hour || c.OutboundTimeout != 10*time.Second {
		t.Errorf("durations: idle %v outbound %v", c.SessionIdleTimeout, c.OutboundTimeout)
	}
}

func TestScopeSplitting(t *testing.T) {
	m := good()
	m["SCOPE"] = "User.ReadBasic.All, User.Read  User.Read"
	c, err := Load(env(m), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(c.Scopes, "|"), "User.ReadBasic.All|User.Read"; got != want {
		t.Errorf("Scopes = %q, want %q", got, want)
	}
}

func TestEnvWinsOverDotEnv(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, ".env")
	content := "CLIENT_ID=" + goodClientID + "\nCLIENT_SECRET=from-file-secret-value\nAUTHORITY=https://login.microsoftonline.com/fromfile\nPORT=6000\n"
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{"PORT": "7000"}), f)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7000 {
		t.Errorf("Port = %d, want 7000 (the environment wins)", c.Port)
	}
	if c.ClientSecret != "from-file-secret-value" || !strings.HasSuffix(c.Authority, "/fromfile") {
		t.Errorf("file values not used: %q %q", c.ClientSecret, c.Authority)
	}
	// A missing .env is fine.
	if _, err := Load(env(good()), filepath.Join(dir, "nope.env")); err != nil {
		t.Errorf("missing .env: %v", err)
	}
}

func TestSecretFromFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte("file-secret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := good()
	delete(m, "CLIENT_SECRET")
	m["CLIENT_SECRET_FILE"] = f
	c, err := Load(env(m), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientSecret != "file-secret-value" {
		t.Errorf("ClientSecret from file = %q", c.ClientSecret)
	}
}

func TestValidationNamesEachVariable(t *testing.T) {
	cases := []struct {
		name    string
		set     map[string]string
		unset   []string
		wantVar string
		wantMsg string
	}{
		{"missing client id", nil, []string{"CLIENT_ID"}, "CLIENT_ID", "missing"},
		{"client id not guid", map[string]string{"CLIENT_ID": "my-app"}, nil, "CLIENT_ID", "not a GUID"},
		{"client id placeholder", map[string]string{"CLIENT_ID": "Enter_the_Application_Id_here"}, nil, "CLIENT_ID", "placeholder"},
		{"missing secret", nil, []string{"CLIENT_SECRET"}, "CLIENT_SECRET", "missing"},
		{"secret placeholder", map[string]string{"CLIENT_SECRET": "Enter_the_Client_Secret_Here"}, nil, "CLIENT_SECRET", "placeholder"},
		{"secret is its id", map[string]string{"CLIENT_SECRET": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"}, nil, "CLIENT_SECRET", "secret's ID"},
		{"missing authority", nil, []string{"AUTHORITY"}, "AUTHORITY", "missing"},
		{"authority http", map[string]string{"AUTHORITY": "http://login.microsoftonline.com/t"}, nil, "AUTHORITY", "https"},
		{"authority no tenant", map[string]string{"AUTHORITY": "https://login.microsoftonline.com"}, nil, "AUTHORITY", "tenant"},
		{"authority two segments", map[string]string{"AUTHORITY": "https://login.microsoftonline.com/t/v2.0"}, nil, "AUTHORITY", "tenant"},
		{"authority placeholder", map[string]string{"AUTHORITY": "https://login.microsoftonline.com/<enter the tenant_id here>"}, nil, "AUTHORITY", "placeholder"},
		{"bad port", map[string]string{"PORT": "70000"}, nil, "PORT", "port number"},
		{"bad session type", map[string]string{"SESSION_TYPE": "mongodb"}, nil, "SESSION_TYPE", "not supported"},
		{"redis without url", map[string]string{"SESSION_TYPE": "redis"}, nil, "REDIS_URL", "required"},
		{"postgres without url", map[string]string{"SESSION_TYPE": "postgres"}, nil, "DATABASE_URL", "required"},
		{"redirect http not loopback", map[string]string{"REDIRECT_URI": "http://app.example.com/getAToken"}, nil, "REDIRECT_URI", "loopback"},
		{"redirect wrong path", map[string]string{"REDIRECT_URI": "https://app.example.com/callback"}, nil, "REDIRECT_URI", "/getAToken"},
		{"redirect relative", map[string]string{"REDIRECT_URI": "/getAToken"}, nil, "REDIRECT_URI", "absolute"},
		{"graph http", map[string]string{"GRAPH_ENDPOINT": "http://graph.microsoft.com/v1.0/me"}, nil, "GRAPH_ENDPOINT", "https"},
		{"discovery not bool", map[string]string{"INSTANCE_DISCOVERY": "maybe"}, nil, "INSTANCE_DISCOVERY", "true or false"},
		{"ca file missing", map[string]string{"EXTRA_CA_FILE": "/nonexistent/ca.pem"}, nil, "EXTRA_CA_FILE", "cannot read"},
		{"bad duration", map[string]string{"SESSION_IDLE_TIMEOUT": "forever"}, nil, "SESSION_IDLE_TIMEOUT", "duration"},
		{"bad proxy", map[string]string{"TRUSTED_PROXIES": "not-an-ip"}, nil, "TRUSTED_PROXIES", "CIDR"},
		{"tls half set", map[string]string{"TLS_CERT_FILE": "cert.pem"}, nil, "TLS_CERT_FILE", "both"},
		{"log format", map[string]string{"LOG_FORMAT": "xml"}, nil, "LOG_FORMAT", "text or json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			for k, v := range tc.set {
				m[k] = v
			}
			for _, k := range tc.unset {
				delete(m, k)
			}
			_, err := Load(env(m), "")
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			for _, p := range ve.Problems {
				if p.Var == tc.wantVar && strings.Contains(p.Msg, tc.wantMsg) {
					return
				}
			}
			t.Errorf("no problem for %s containing %q in:\n%v", tc.wantVar, tc.wantMsg, ve)
		})
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{"PORT": "x"}), "")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	vars := map[string]bool{}
	for _, p := range ve.Problems {
		vars[p.Var] = true
	}
	for _, v := range []string{"CLIENT_ID", "CLIENT_SECRET", "AUTHORITY", "PORT"} {
		if !vars[v] {
			t.Errorf("%s not reported; got %v", v, ve)
		}
	}
}

func TestHTTPSRedirectMeansSecure(t *testing.T) {
	m := good()
	m["REDIRECT_URI"] = "https://app.example.com/getAToken"
	c, err := Load(env(m), "")
	if err != nil {
		t.Fatal(err)
	}
	if !c.HTTPS() || c.PublicOrigin() != "https://app.example.com" {
		t.Errorf("HTTPS=%v origin=%q", c.HTTPS(), c.PublicOrigin())
	}
}

func FuzzParse(f *testing.F) {
	f.Add(goodClientID, "secret-value", "https://login.microsoftonline.com/t", "User.Read", "5000", "http://localhost:5000/getAToken")
	f.Add("", "", "", "", "", "")
	f.Add("x", "y", "https://h/t?x#y", ",,,", "-1", "::::")
	f.Fuzz(func(t *testing.T, id, secret, authority, scope, port, redirect string) {
		m := map[string]string{"CLIENT_ID": id, "CLIENT_SECRET": secret, "AUTHORITY": authority, "SCOPE": scope, "PORT": port, "REDIRECT_URI": redirect}
		c, err := Parse(env(m))
		if err == nil {
			// Whatever is accepted is well-formed.
			if len(c.Scopes) == 0 || c.Port < 1 || c.Port > 65535 || !IsGUID(c.ClientID) {
				t.Fatalf("accepted a bad config: %+v", c)
			}
		}
	})
}
