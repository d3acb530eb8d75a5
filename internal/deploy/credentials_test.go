package deploy_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphauth/graphauth/internal/emulator"
)

// writeFile writes data to a new file under t.TempDir() and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Certificate credentials: the app signs a client assertion with CLIENT_CERTIFICATE_FILE's key,
// and the emulator checks it against the certificate registered for the app, as Entra ID does.
func TestCertificateCredential(t *testing.T) {
	t.Parallel()
	_, key, certPEM := newCert(t, "graphauth app credential")
	good := writeFile(t, "app.pem", append(append([]byte{}, certPEM...), keyPEM(t, key)...))
	_, otherKey, otherPEM := newCert(t, "not the registered certificate")
	wrong := writeFile(t, "other.pem", append(append([]byte{}, otherPEM...), keyPEM(t, otherKey)...))

	d := deploy(t, deployOpts{
		instances: 2,
		perInst: []map[string]string{
			// The certificate wins over a secret set next to it (this one would fail: AADSTS7000215).
			{"CLIENT_CERTIFICATE_FILE": good, "CLIENT_SECRET": "not-the-apps-secret-value"},
			{"CLIENT_CERTIFICATE_FILE": wrong, "CLIENT_SECRET": ""},
		},
		emuConfig: func(c *emulator.Config) { c.Apps[0].CertificatePEM = certPEM },
	})
	d.secrets.add(string(keyPEM(t, key)), "not-the-apps-secret-value")

	t.Run("registered certificate, preferred over a secret", func(t *testing.T) {
		br := d.browser()
		br.signIn(d.insts[0].url)
		if p := br.get(d.insts[0].url + "/msal-demo"); p.status != http.StatusOK {
			t.Fatalf("/msal-demo: %d\n%s", p.status, p.body)
		}
	})
	t.Run("wrong certificate explained", func(t *testing.T) {
		br := d.browser()
		in := d.insts[1]
		p := br.get(br.authorizeURL(in.url))
		if p.status < 400 || p.url.Path != "/getAToken" {
			t.Fatalf("wrong certificate: ended at %s with %d\n%s", p.url, p.status, p.body)
		}
		mustContain(t, p, "AADSTS700027", "certificate")
		for _, leak := range []string{"PRIVATE KEY", "BEGIN CERTIFICATE", "client_assertion="} {
			if strings.Contains(p.body, leak) {
				t.Errorf("the error page shows %q", leak)
			}
		}
		if br.sessionCookie(in.url) != nil && strings.Contains(br.get(in.url+"/").body, "Welcome") {
			t.Error("signed in despite the refused certificate")
		}
	})
}

// Secrets can come from files (container secrets): CLIENT_SECRET_FILE here; REDIS_URL_FILE and
// DATABASE_URL_FILE are what TestSharedStores uses.
func TestSecretFromFile(t *testing.T) {
	t.Parallel()
	secretFile := writeFile(t, "client_secret", []byte(emulator.DemoClientSecret+"\n"))
	d := deploy(t, deployOpts{env: map[string]string{"CLIENT_SECRET": "", "CLIENT_SECRET_FILE": secretFile}})
	if got := d.insts[0].cfg.ClientSecret; got != emulator.DemoClientSecret {
		t.Fatalf("ClientSecret from the file = %q", got)
	}
	br := d.browser()
	br.signIn(d.insts[0].url)
	if p := br.get(d.insts[0].url + "/msal-demo"); p.status != http.StatusOK {
		t.Fatalf("/msal-demo: %d\n%s", p.status, p.body)
	}
}
