package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"maps"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
)

// checkEnv is a good configuration for the emulator; override entries to break it.
func checkEnv(t *testing.T, emu *emulator.Server, override map[string]string) func(string) string {
	env := emu.AppEnv()
	maps.Copy(env, map[string]string{
		"SESSION_DIR":      t.TempDir(),
		"OUTBOUND_TIMEOUT": "3s",
	})
	for k, v := range override {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return func(k string) string { return env[k] }
}

func startEmulator(t *testing.T, adjust func(*emulator.Config)) *emulator.Server {
	t.Helper()
	cfg := emulator.DefaultConfig()
	if adjust != nil {
		adjust(&cfg)
	}
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	return emu
}

// runCheck runs `graphauth check [args]` as main would, returning its output and exit code.
func runCheck(t *testing.T, getenv func(string) string, args ...string) (string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"-env-file", "", "check"}, args...), getenv, &stdout, &stderr)
	code := exitCode(err, &stderr)
	return stdout.String() + stderr.String(), code
}

// stepLine returns the line of the report for one step ("1/4 offline ...").
func stepLine(t *testing.T, out, name string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && strings.Contains(f[0], "/") && f[1] == name {
			return l
		}
	}
	t.Fatalf("no line for step %s in:\n%s", name, out)
	return ""
}

func wantStatus(t *testing.T, out string, statuses map[string]string) {
	t.Helper()
	for name, want := range statuses {
		if f := strings.Fields(stepLine(t, out, name)); f[2] != want {
			t.Errorf("step %s: %s, want %s\n%s", name, f[2], want, out)
		}
	}
}

func mustContainAll(t *testing.T, out string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(out, p) {
			t.Errorf("output lacks %q:\n%s", p, out)
		}
	}
}

func TestCheckGoodSetupPassesEveryStep(t *testing.T) {
	emu := startEmulator(t, nil)
	out, code := runCheck(t, checkEnv(t, emu, nil))
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	wantStatus(t, out, map[string]string{"offline": "ok", "metadata": "ok", "redirect": "ok", "credential": "ok", "graph": "ok"})
	mustContainAll(t, out, "issuer matches AUTHORITY: "+emu.Authority()+"/v2.0",
		"redirected to REDIRECT_URI "+emulator.DemoRedirectURI+" (login_required, as expected with nobody signed in): it is registered",
		"got an app-only token for https://graph.microsoft.com/.default with the client secret",
		"answered 401 over TLS", " ms  ", "result: ok (5 ok, 0 failed, 0 skipped)",
		"not checked (no step can, without a person signing in):", "consent to the delegated permissions (SCOPE: User.ReadBasic.All)",
		"Conditional Access", "Notes.Read is granted")
	if got := emu.Counters()["authorize"]; got != 1 {
		t.Errorf("authorize requests = %d, want 1", got)
	}
	if got := emu.Counters()["token:client_credentials"]; got != 1 {
		t.Errorf("client_credentials grants = %d, want 1", got)
	}
	if strings.Contains(out, emulator.DemoClientSecret) || strings.Contains(out, "eyJ") {
		t.Errorf("the output shows the secret or a token:\n%s", out)
	}
}

func TestCheckJSON(t *testing.T) {
	emu := startEmulator(t, nil)
	for _, tc := range []struct {
		name     string
		override map[string]string
		wantOK   bool
		wantCode int
		statuses []string
	}{
		{"good", nil, true, 0, []string{"ok", "ok", "ok", "ok", "ok"}},
		{"wrong secret", map[string]string{"CLIENT_SECRET": "not-the-secret-value"}, false, 1, []string{"ok", "ok", "ok", "fail", "ok"}},
		{"unregistered redirect URI", map[string]string{"REDIRECT_URI": "http://localhost:5999/getAToken"}, false, 1, []string{"ok", "ok", "fail", "ok", "ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runCheck(t, checkEnv(t, emu, tc.override), "--json")
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.wantCode, out)
			}
			var rep checkReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("not one JSON document: %v\n%s", err, out)
			}
			if rep.OK != tc.wantOK || len(rep.Steps) != 5 {
				t.Fatalf("ok=%v with %d steps:\n%s", rep.OK, len(rep.Steps), out)
			}
			for i, s := range rep.Steps {
				if s.Status != tc.statuses[i] || s.Step != i+1 || s.Summary == "" {
					t.Errorf("step %d: %+v, want status %s", i+1, s, tc.statuses[i])
				}
			}
			for _, s := range rep.Steps {
				if s.Status == statusFail && s.Code == "" {
					t.Errorf("step %s failed without a code: %+v", s.Name, s)
				}
			}
			if len(rep.NotChecked) < 3 || !strings.Contains(strings.Join(rep.NotChecked, "\n"), "Conditional Access") {
				t.Errorf("not_checked = %q, want what no step can check", rep.NotChecked)
			}
		})
	}
}

// Each broken registration fails at the step that can see it, with the code, what it means and
// the fix, and exits 1.
func TestCheckExplainsBrokenRegistrations(t *testing.T) {
	emu := startEmulator(t, nil)
	const unknownApp = "3f2b8c41-9d7e-4a6b-8c5d-2e1f0a9b8c7d"
	const unknownTenant = "6a1d9e2f-3b4c-4d5e-8f90-a1b2c3d4e5f6"
	dead := deadAddr(t)
	cases := []struct {
		name     string
		override map[string]string
		statuses map[string]string
		want     []string
	}{
		{"wrong secret", map[string]string{"CLIENT_SECRET": "a-wrong-secret-value"},
			map[string]string{"metadata": "ok", "redirect": "ok", "credential": "FAIL", "graph": "ok"},
			[]string{"AADSTS7000215", "pasted instead of its Value", "copy its Value column", "trace ID", "correlation ID"}},
		{"unknown client", map[string]string{"CLIENT_ID": unknownApp},
			map[string]string{"metadata": "ok", "redirect": "FAIL", "credential": "FAIL", "graph": "ok"},
			[]string{"AADSTS700016", "no application with this client ID", "Check CLIENT_ID (" + unknownApp + ")",
				"the identity platform does not know CLIENT_ID " + unknownApp}},
		// The registration lacks this redirect URI: the identity platform shows AADSTS50011 and
		// never redirects, which is what sign-in would meet.
		{"unregistered redirect URI", map[string]string{"REDIRECT_URI": "http://localhost:5999/getAToken"},
			map[string]string{"metadata": "ok", "redirect": "FAIL", "credential": "ok", "graph": "ok"},
			[]string{"REDIRECT_URI http://localhost:5999/getAToken is not registered for this app", "AADSTS50011",
				"add exactly http://localhost:5999/getAToken", "trace ID", "correlation ID"}},
		{"unreachable Graph", map[string]string{"GRAPH_ENDPOINT": "https://" + dead + "/v1.0/me"},
			map[string]string{"metadata": "ok", "redirect": "ok", "credential": "ok", "graph": "FAIL"},
			[]string{"Check GRAPH_ENDPOINT (https://" + dead + "/v1.0/me)", "connection refused"}},
		{"unknown tenant", map[string]string{"AUTHORITY": emu.URL() + "/" + unknownTenant},
			map[string]string{"metadata": "FAIL", "redirect": "skipped", "credential": "skipped", "graph": "ok"},
			[]string{"AADSTS90002", "tenant in AUTHORITY does not exist", "Check AUTHORITY (" + emu.URL() + "/" + unknownTenant + ")",
				"needs the authority's metadata (step 2)"}},
		{"unreachable authority", map[string]string{"AUTHORITY": "https://" + dead + "/" + unknownTenant},
			map[string]string{"metadata": "FAIL", "redirect": "skipped", "credential": "skipped", "graph": "ok"},
			[]string{"could not reach https://" + dead + "/" + unknownTenant + "/v2.0/.well-known/openid-configuration",
				"connection refused", "Check AUTHORITY"}},
		{"untrusted authority certificate", map[string]string{"EXTRA_CA_FILE": ""},
			map[string]string{"metadata": "FAIL", "redirect": "skipped", "credential": "skipped", "graph": "FAIL"},
			[]string{"not trusted here", "EXTRA_CA_FILE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runCheck(t, checkEnv(t, emu, tc.override))
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, out)
			}
			wantStatus(t, out, tc.statuses)
			mustContainAll(t, out, append(tc.want, "what to do:", "result: FAIL")...)
			if strings.Contains(out, "a-wrong-secret-value") || strings.Contains(out, emulator.DemoClientSecret) {
				t.Errorf("the output shows a secret:\n%s", out)
			}
		})
	}
}

// A configuration error is check's first failed step (exit 1), not the server's exit 2, and no
// network call is made.
func TestCheckReportsOfflineProblemsAsStepOne(t *testing.T) {
	emu := startEmulator(t, nil)
	cases := []struct {
		name     string
		override map[string]string
		want     []string
	}{
		{"bad client id and secret ID", map[string]string{"CLIENT_ID": "my-app", "CLIENT_SECRET": "0c9f3a8e-2b7d-4e61-9a5f-3d2c1b0a9e8f"},
			[]string{"CLIENT_ID: \"my-app\" is not a GUID", "CLIENT_SECRET: this is a GUID, which is the secret's ID"}},
		{"placeholder secret", map[string]string{"CLIENT_SECRET": "Enter_the_Client_Secret_Here"},
			[]string{"CLIENT_SECRET: still the placeholder"}},
		{"http authority, missing tenant", map[string]string{"AUTHORITY": "http://login.microsoftonline.com"},
			[]string{"AUTHORITY:", "is not an https URL"}},
		{"http redirect on a public host", map[string]string{"REDIRECT_URI": "http://app.example.com/getAToken"},
			[]string{"REDIRECT_URI:", "http only for localhost"}},
		{"relative redirect", map[string]string{"REDIRECT_URI": "/getAToken"},
			[]string{"REDIRECT_URI:", "not an absolute URL"}},
		{"empty scope", map[string]string{"SCOPE": " , "}, []string{"SCOPE: no scope given"}},
		{"missing variables", map[string]string{"CLIENT_ID": "", "CLIENT_SECRET": "", "AUTHORITY": ""},
			[]string{"CLIENT_ID: missing", "CLIENT_SECRET: missing", "AUTHORITY: missing"}},
		{"unreadable certificate", map[string]string{"CLIENT_CERTIFICATE_FILE": filepath.Join(t.TempDir(), "nope.pem")},
			[]string{"CLIENT_CERTIFICATE_FILE: cannot read"}},
		{"expired certificate", map[string]string{"CLIENT_CERTIFICATE_FILE": writeCert(t, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))},
			[]string{"CLIENT_CERTIFICATE_FILE:", "expired on", "upload it under Certificates & secrets"}},
		{"certificate not valid yet", map[string]string{"CLIENT_CERTIFICATE_FILE": writeCert(t, time.Now().Add(24*time.Hour), time.Now().Add(48*time.Hour))},
			[]string{"CLIENT_CERTIFICATE_FILE:", "is not valid before"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu.ResetCounters()
			out, code := runCheck(t, checkEnv(t, emu, tc.override))
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, out)
			}
			wantStatus(t, out, map[string]string{"offline": "FAIL", "metadata": "skipped", "redirect": "skipped", "credential": "skipped", "graph": "skipped"})
			mustContainAll(t, out, append(tc.want, "needs a valid configuration (step 1)", "config.example.env", "result: FAIL (0 ok, 1 failed, 4 skipped)")...)
			if n := emu.Counters()["metadata"] + emu.Counters()["token"] + emu.Counters()["authorize"]; n != 0 {
				t.Errorf("%d network calls despite a bad configuration", n)
			}
		})
	}
	// The server itself still refuses a bad configuration with exit code 2.
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-env-file", ""}, checkEnv(t, emu, map[string]string{"CLIENT_ID": "my-app"}), &stderr, &stderr)
	if code := exitCode(err, &stderr); code != 2 {
		t.Errorf("server with a bad CLIENT_ID: exit %d, want 2", code)
	}
}

// A certificate credential: step 1 reports its expiry date, step 3 proves the emulator accepts it.
func TestCheckCertificateCredential(t *testing.T) {
	certFile := writeCert(t, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour))
	pemData, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	emu := startEmulator(t, func(c *emulator.Config) { c.Apps[0].CertificatePEM = pemData })
	out, code := runCheck(t, checkEnv(t, emu, map[string]string{"CLIENT_SECRET": "", "CLIENT_CERTIFICATE_FILE": certFile}))
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	mustContainAll(t, out, "the certificate (valid until "+time.Now().Add(90*24*time.Hour).UTC().Format(time.DateOnly),
		"with the certificate", "result: ok")
}

func TestGraphDefaultScope(t *testing.T) {
	for endpoint, want := range map[string]string{
		"https://graph.microsoft.com/v1.0/me":              "https://graph.microsoft.com/.default",
		"https://graph.microsoft.us/v1.0/me":               "https://graph.microsoft.us/.default",
		"https://dod-graph.microsoft.us/v1.0/me":           "https://dod-graph.microsoft.us/.default",
		"https://microsoftgraph.chinacloudapi.cn/v1.0/me":  "https://microsoftgraph.chinacloudapi.cn/.default",
		"https://localhost:8443/v1.0/me":                   "https://graph.microsoft.com/.default", // a stand-in for Graph
		"https://Graph.Microsoft.US:443/beta/me?$select=a": "https://graph.microsoft.us/.default",
	} {
		if got := graphDefaultScope(endpoint); got != want {
			t.Errorf("graphDefaultScope(%s) = %s, want %s", endpoint, got, want)
		}
	}
}

func TestIssuerProblem(t *testing.T) {
	const tid = "9b2c4d6e-1f3a-4b5c-8d7e-0a1b2c3d4e5f"
	for _, tc := range []struct {
		authority, issuer string
		ok                bool
	}{
		{"https://login.microsoftonline.com/" + tid, "https://login.microsoftonline.com/" + tid + "/v2.0", true},
		{"https://login.microsoftonline.com/organizations", "https://login.microsoftonline.com/{tenantid}/v2.0", true},
		{"https://login.microsoftonline.com/contoso.onmicrosoft.com", "https://login.microsoftonline.com/" + tid + "/v2.0", true},
		{"https://login.microsoftonline.com/" + tid, "https://sts.windows.net/" + tid + "/", false},
		{"https://login.microsoftonline.com/" + tid, "https://login.microsoftonline.com/0aaaaaaa-1f3a-4b5c-8d7e-0a1b2c3d4e5f/v2.0", false},
	} {
		if got := issuerProblem(tc.authority, tc.issuer); (got == "") != tc.ok {
			t.Errorf("issuerProblem(%s, %s) = %q, want ok=%v", tc.authority, tc.issuer, got, tc.ok)
		}
	}
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// writeCert writes a self-signed certificate and its RSA key, valid from notBefore to notAfter.
func writeCert(t *testing.T, notBefore, notAfter time.Time) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "graphauth check test"},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&b, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	path := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The redirect step reads every answer a silent authorize request can get: a code (an app that
// signs a user in without a page), "nobody signed in", or a registered redirect URI with another
// refusal (which sign-in would meet too).
func TestCheckRedirectOutcomes(t *testing.T) {
	t.Run("code", func(t *testing.T) {
		emu := startEmulator(t, func(c *emulator.Config) { c.Apps[0].AutoApproveUser = c.Users[0].UserPrincipalName })
		out, code := runCheck(t, checkEnv(t, emu, nil))
		if code != 0 {
			t.Fatalf("exit %d, want 0:\n%s", code, out)
		}
		mustContainAll(t, out, "redirected to REDIRECT_URI "+emulator.DemoRedirectURI+" with a code: it is registered")
	})
	t.Run("registered, refused otherwise", func(t *testing.T) {
		emu := startEmulator(t, nil)
		emu.FailNext(emulator.Fault{Endpoint: "authorize", Code: 65001})
		out, code := runCheck(t, checkEnv(t, emu, nil))
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, out)
		}
		wantStatus(t, out, map[string]string{"redirect": "FAIL", "credential": "ok"})
		mustContainAll(t, out, "REDIRECT_URI "+emulator.DemoRedirectURI+" is registered, but the authorize request was refused",
			"AADSTS65001", "Grant admin consent", "trace ID")
	})
}
