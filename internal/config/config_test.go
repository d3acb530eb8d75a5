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
	m["SESSION_KEY"] = testKey
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

// testKey is a well-formed SESSION_KEY for these tests only (never a real one).
var testKey = strings.Repeat("ab", 32)

func problemsOf(t *testing.T, m map[string]string) string {
	t.Helper()
	_, err := Load(env(m), "")
	var ve *ValidationError
	if err == nil {
		return ""
	}
	if !errors.As(err, &ve) {
		t.Fatalf("not a ValidationError: %v", err)
	}
	return err.Error()
}

func TestSessionKey(t *testing.T) {
	other := strings.Repeat("cd", 32)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	public := func(kv ...string) map[string]string {
		m := good()
		m["HOST"], m["REDIRECT_URI"] = "0.0.0.0", "https://app.example.com/getAToken"
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	t.Run("loopback may go without", func(t *testing.T) {
		c, err := Load(env(good()), "")
		if err != nil || len(c.SessionKeys) != 0 || !c.Loopback() {
			t.Fatalf("keys %d, loopback %v, err %v", len(c.SessionKeys), c.Loopback(), err)
		}
	})
	t.Run("missing on a public host", func(t *testing.T) {
		got := problemsOf(t, public())
		if !strings.Contains(got, "SESSION_KEY: missing") || !strings.Contains(got, "openssl rand -hex 32") {
			t.Errorf("problems = %s", got)
		}
		// HOST loopback but a public REDIRECT_URI (behind a proxy) is not loopback either.
		m := public("HOST", "127.0.0.1")
		if got := problemsOf(t, m); !strings.Contains(got, "SESSION_KEY") {
			t.Errorf("a loopback HOST behind a public REDIRECT_URI went without a key: %q", got)
		}
	})
	t.Run("rotation list and file", func(t *testing.T) {
		c, err := Load(env(public("SESSION_KEY", testKey+", "+other)), "")
		if err != nil || len(c.SessionKeys) != 2 || c.SessionKeys[0][0] != 0xab {
			t.Fatalf("keys %d, err %v", len(c.SessionKeys), err)
		}
		c, err = Load(env(public("SESSION_KEY_FILE", keyFile)), "")
		if err != nil || len(c.SessionKeys) != 1 || c.SessionKeys[0][0] != 0xcd {
			t.Fatalf("from file: keys %d, err %v", len(c.SessionKeys), err)
		}
	})
	t.Run("malformed, and never quoted", func(t *testing.T) {
		for _, bad := range []string{"abc", testKey[:62], testKey + "00", strings.Repeat("zz", 32), testKey + ",xyz"} {
			got := problemsOf(t, public("SESSION_KEY", bad))
			if !strings.Contains(got, "SESSION_KEY: key") || strings.Contains(got, bad) || strings.Contains(got, testKey[:20]) {
				t.Errorf("SESSION_KEY=%.8s...: %s", bad, got)
			}
		}
	})
}

func TestSessionStoreTransport(t *testing.T) {
	cases := []struct {
		name string
		kv   map[string]string
		ok   bool
	}{
		{"redis loopback", map[string]string{"SESSION_TYPE": "redis", "REDIS_URL": "redis://127.0.0.1:6379/0"}, true},
		{"redis remote plain", map[string]string{"SESSION_TYPE": "redis", "REDIS_URL": "redis://:pw@cache.internal:6379/0"}, false},
		{"redis remote TLS", map[string]string{"SESSION_TYPE": "redis", "REDIS_URL": "rediss://:pw@cache.internal:6380/0"}, true},
		{"redis remote plain, overridden", map[string]string{"SESSION_TYPE": "redis", "REDIS_URL": "redis://cache.internal:6379/0", InsecureStoreVar: "1"}, true},
		{"postgres loopback", map[string]string{"SESSION_TYPE": "postgres", "DATABASE_URL": "postgres://u:p@localhost:5432/db"}, true},
		{"postgres socket", map[string]string{"SESSION_TYPE": "postgres", "DATABASE_URL": "host=/var/run/postgresql dbname=db"}, true},
		{"postgres remote default sslmode", map[string]string{"SESSION_TYPE": "postgres", "DATABASE_URL": "postgres://u:p@db.internal:5432/db"}, false},
		{"postgres remote require", map[string]string{"SESSION_TYPE": "postgres", "DATABASE_URL": "postgres://u:p@db.internal:5432/db?sslmode=require"}, false},
		{"postgres remote verify-full", map[string]string{"SESSION_TYPE": "postgres", "DATABASE_URL": "postgres://u:p@db.internal:5432/db?sslmode=verify-full"}, true},
		{"postgres remote plain, overridden", map[string]string{"SESSION_TYPE": "postgres", "DATABASE_URL": "postgres://u:p@db.internal/db?sslmode=disable", InsecureStoreVar: "true"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			for k, v := range tc.kv {
				m[k] = v
			}
			got := problemsOf(t, m)
			if tc.ok && got != "" {
				t.Errorf("refused: %s", got)
			}
			if !tc.ok && !strings.Contains(got, InsecureStoreVar) {
				t.Errorf("accepted without TLS (problems: %q)", got)
			}
			if strings.Contains(got, ":pw@") || strings.Contains(got, "u:p@") {
				t.Errorf("the problem quotes the URL with its password: %s", got)
			}
		})
	}
}

func TestAllowedTenants(t *testing.T) {
	m := good()
	m["AUTHORITY"] = "https://login.microsoftonline.com/organizations"
	c, err := Load(env(m), "")
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "ALLOWED_TENANTS") {
		t.Errorf("multi-tenant without ALLOWED_TENANTS: warnings %q", w)
	}
	m["ALLOWED_TENANTS"] = "72F988BF-86F1-41AF-91AB-2D7CD011DB47, 00000000-0000-4000-8000-0000000e0001"
	c, err = Load(env(m), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(c.AllowedTenants, " "), "72f988bf-86f1-41af-91ab-2d7cd011db47 00000000-0000-4000-8000-0000000e0001"; got != want {
		t.Errorf("AllowedTenants = %q, want %q (lower case, compared case-insensitively)", got, want)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("warnings with ALLOWED_TENANTS set: %q", w)
	}
	m["ALLOWED_TENANTS"] = "contoso.onmicrosoft.com"
	if got := problemsOf(t, m); !strings.Contains(got, "ALLOWED_TENANTS") || !strings.Contains(got, "GUID") {
		t.Errorf("a domain name in ALLOWED_TENANTS: %q", got)
	}
	m = good() // a single-tenant authority: no warning
	if c, _ := Load(env(m), ""); len(c.Warnings()) != 0 {
		t.Errorf("single tenant: warnings %q", c.Warnings())
	}
}
