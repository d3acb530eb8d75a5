package deploy_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/config"
	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/stacktest"
	"github.com/graphauth/graphauth/internal/web"
)

// A deployment under test: the emulator, N instances of the real app, and in front of them either
// a load balancer (one public address for all instances, like production) or nothing (each
// instance is reached directly and is its own public address).
type deployment struct {
	t       *testing.T
	emu     *emulator.Server
	insts   []*instance
	lb      *balancer // nil without a balancer
	roots   *x509.CertPool
	secrets *secretSet // values no log line may hold
}

type deployOpts struct {
	instances int               // default 1
	env       map[string]string // config for every instance (over the defaults below)
	perInst   []map[string]string
	emuConfig func(*emulator.Config)
	balancer  string // "", "http" or "https" (the balancer terminates TLS)
	appTLS    bool   // each instance serves HTTPS itself (TLS_CERT_FILE, TLS_KEY_FILE)
	noAuto    bool   // do not auto-approve the emulator's first user
}

// instance is one app process's worth: config, app, server, logs and the requests it served.
type instance struct {
	name   string
	url    string // direct address: http(s)://127.0.0.1:PORT
	public string // the origin users reach it by (the balancer's, or url)
	cfg    config.Config
	app    *web.App
	logs   *stacktest.SyncBuffer
	served *requestLog
	stop   func() // stops the server and closes the store; idempotent
}

func deploy(t *testing.T, o deployOpts) *deployment {
	t.Helper()
	if o.instances == 0 {
		o.instances = 1
	}
	d := &deployment{t: t, roots: x509.NewCertPool(), secrets: newSecretSet()}

	// Listeners first: the emulator must know every redirect URI before it starts.
	lns := make([]net.Listener, o.instances)
	for i := range lns {
		lns[i] = listen(t)
	}
	var lbLn net.Listener
	if o.balancer != "" {
		lbLn = listen(t)
	}
	scheme := "http"
	if o.appTLS {
		scheme = "https"
	}
	publics := make([]string, o.instances)
	for i, ln := range lns {
		publics[i] = scheme + "://" + ln.Addr().String()
		if lbLn != nil {
			publics[i] = o.balancer + "://" + lbLn.Addr().String()
		}
	}

	ecfg := emulator.DefaultConfig()
	ecfg.Apps[0].RedirectURIs, ecfg.Apps[0].PostLogoutRedirectURIs = nil, nil
	for _, p := range publics {
		ecfg.Apps[0].RedirectURIs = append(ecfg.Apps[0].RedirectURIs, p+"/getAToken")
		ecfg.Apps[0].PostLogoutRedirectURIs = append(ecfg.Apps[0].PostLogoutRedirectURIs, p+"/")
	}
	if !o.noAuto {
		ecfg.Apps[0].AutoApproveUser = ecfg.Users[0].ID
	}
	if o.emuConfig != nil {
		o.emuConfig(&ecfg)
	}
	emu, err := emulator.New(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	d.emu = emu
	ca, err := os.ReadFile(emu.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	d.roots.AppendCertsFromPEM(ca)

	var certFile, keyFile string
	if o.appTLS || o.balancer == "https" {
		certFile, keyFile = serverCert(t, d.roots)
	}
	sessionDir := t.TempDir()               // shared by the instances when SESSION_TYPE is filesystem
	sessionKey := stacktest.NewSessionKey() // shared by the instances (a store's own wins)

	for i, ln := range lns {
		vars := emu.AppEnv()
		maps.Copy(vars, map[string]string{
			"HOST":             "127.0.0.1",
			"PORT":             strconv.Itoa(ln.Addr().(*net.TCPAddr).Port),
			"REDIRECT_URI":     publics[i] + "/getAToken",
			"SESSION_DIR":      sessionDir,
			"SESSION_KEY":      sessionKey,
			"OUTBOUND_TIMEOUT": "5s",
			"LOG_FORMAT":       "json",
			"LOG_LEVEL":        "debug",
		})
		if o.appTLS {
			vars["TLS_CERT_FILE"], vars["TLS_KEY_FILE"] = certFile, keyFile
		}
		for k, v := range o.env {
			vars[k] = v
		}
		if i < len(o.perInst) {
			for k, v := range o.perInst[i] {
				vars[k] = v
			}
		}
		d.insts = append(d.insts, d.startInstance(string(rune('A'+i)), ln, vars))
	}
	if lbLn != nil {
		d.lb = startBalancer(t, lbLn, o.balancer, certFile, keyFile, d.insts)
		for _, in := range d.insts {
			in.public = d.lb.url
		}
	}
	t.Cleanup(d.checkLogs) // registered last: runs first, while everything is still up
	return d
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// startInstance builds and serves one app from vars, as cmd/graphauth does.
func (d *deployment) startInstance(name string, ln net.Listener, vars map[string]string) *instance {
	t := d.t
	t.Helper()
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("instance %s config: %v", name, err)
	}
	d.secrets.add(cfg.ClientSecret, cfg.RedisURL, cfg.DatabaseURL)
	if u, err := url.Parse(cfg.RedisURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			d.secrets.add(pw)
		}
	}
	logs := &stacktest.SyncBuffer{}
	logger := web.NewLogger(cfg, logs)
	ctx, cancel := context.WithCancel(context.Background())
	app, closeStore, err := web.Build(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("instance %s: %v", name, err)
	}
	in := &instance{name: name, cfg: cfg, app: app, logs: logs, served: &requestLog{},
		url: "http://" + ln.Addr().String(), public: cfg.PublicOrigin()}
	if cfg.TLSCertFile != "" {
		in.url = "https://" + ln.Addr().String()
	}
	done := make(chan error, 1)
	go func() {
		done <- web.Serve(ctx, ln, in.served.wrap(app.Handler()), logger, cfg.TLSCertFile, cfg.TLSKeyFile)
	}()
	var once sync.Once
	in.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("instance %s: serve: %v", name, err)
			}
			if err := closeStore(); err != nil {
				t.Errorf("instance %s: close store: %v", name, err)
			}
		})
	}
	t.Cleanup(in.stop)
	return in
}

// balancer is the load balancer (or TLS-terminating proxy) in front of the instances: an
// httputil.ReverseProxy that sets X-Forwarded-For/-Host/-Proto, overwriting what the client sent,
// and forwards every request to the instance the test picked with use.
type balancer struct {
	url    string
	insts  []*instance
	target atomic.Int32
}

func startBalancer(t *testing.T, ln net.Listener, scheme, certFile, keyFile string, insts []*instance) *balancer {
	t.Helper()
	b := &balancer{url: scheme + "://" + ln.Addr().String(), insts: insts}
	transport := &http.Transport{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			u, _ := url.Parse(b.insts[b.target.Load()].url)
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		Transport: transport,
		ErrorLog:  nil,
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() {
		if scheme == "https" {
			done <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			done <- srv.Serve(ln)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		transport.CloseIdleConnections()
	})
	return b
}

// use sends the following requests to instance i.
func (b *balancer) use(i int) { b.target.Store(int32(i)) }

// requestLog records "METHOD /path" for every request an instance served.
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// since returns the requests served after mark (a len from an earlier call).
func (l *requestLog) since(mark int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs[mark:]...)
}

func (l *requestLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// served reports whether inst served req ("GET /path") since mark.
func served(inst *instance, mark int, req string) bool {
	for _, r := range inst.served.since(mark) {
		if r == req {
			return true
		}
	}
	return false
}

// browser is a cookie-jar client following redirects across the app and the emulator. It
// remembers every cookie value, authorization code, state and nonce it carried, so that the
// deployment can check none of them reached a log.
type browser struct {
	*http.Client
	d *deployment
}

func (d *deployment) browser() *browser {
	jar, _ := cookiejar.New(nil)
	rt := &recordingTransport{
		next:    &http.Transport{TLSClientConfig: &tls.Config{RootCAs: d.roots}},
		secrets: d.secrets,
	}
	d.t.Cleanup(rt.next.CloseIdleConnections)
	return &browser{Client: &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: rt}, d: d}
}

type recordingTransport struct {
	next    *http.Transport
	secrets *secretSet
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	rt.secrets.add(q.Get("code"), q.Get("state"), q.Get("nonce"), q.Get("code_challenge"))
	for _, c := range r.Cookies() {
		rt.secrets.add(c.Value)
	}
	resp, err := rt.next.RoundTrip(r)
	if err == nil {
		for _, c := range resp.Cookies() {
			rt.secrets.add(c.Value)
		}
	}
	return resp, err
}

func (b *browser) noFollow() *http.Client {
	c := *b.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func (b *browser) get(u string) page {
	b.d.t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		b.d.t.Fatalf("GET %s: %v", u, err)
	}
	return readPage(b.d.t, resp)
}

func (b *browser) post(c *http.Client, u string, hdr http.Header) page {
	b.d.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, nil)
	if err != nil {
		b.d.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		b.d.t.Fatalf("POST %s: %v", u, err)
	}
	return readPage(b.d.t, resp)
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(body), header: resp.Header}
}

var signInHref = regexp.MustCompile(`id="sign-in" href="([^"]+)"`)

// authorizeURL opens origin/login and returns the sign-in button's target.
func (b *browser) authorizeURL(origin string) string {
	t := b.d.t
	t.Helper()
	p := b.get(origin + "/login")
	if p.status != http.StatusOK {
		t.Fatalf("%s/login: %d\n%s", origin, p.status, p.body)
	}
	m := signInHref.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no sign-in link on %s/login:\n%s", origin, p.body)
	}
	return html.UnescapeString(m[1])
}

// signIn runs the whole flow from origin and checks it lands on the welcome page.
func (b *browser) signIn(origin string) page {
	t := b.d.t
	t.Helper()
	p := b.get(b.authorizeURL(origin))
	if p.status != http.StatusOK || p.url.Path != "/" || !strings.Contains(p.body, "Welcome") {
		t.Fatalf("sign-in from %s ended at %s with %d:\n%s", origin, p.url, p.status, p.body)
	}
	return p
}

// sessionCookie returns the app's session cookie as the jar holds it for origin.
func (b *browser) sessionCookie(origin string) *http.Cookie {
	u, _ := url.Parse(origin)
	for _, c := range b.Jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "graphauth_session") {
			return c
		}
	}
	return nil
}

func mustContain(t *testing.T, p page, parts ...string) {
	t.Helper()
	text := html.UnescapeString(p.body)
	for _, s := range parts {
		if !strings.Contains(text, s) {
			t.Errorf("page %s (%d) lacks %q:\n%s", p.url, p.status, s, p.body)
		}
	}
}

// secretSet holds values that must never appear in a log line.
type secretSet struct {
	mu   sync.Mutex
	vals map[string]bool
}

func newSecretSet() *secretSet { return &secretSet{vals: map[string]bool{}} }

func (s *secretSet) add(vals ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vals {
		if len(v) >= 8 { // shorter values (e.g. "0") would match by chance
			s.vals[v] = true
		}
	}
}

func (s *secretSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.vals))
	for v := range s.vals {
		out = append(out, v)
	}
	return out
}

// leakPatterns catch what the test did not see itself: JWTs (access and ID tokens), the
// emulator's authorization codes ("0.EMU...") and refresh tokens ("1.EMU..."), and a code or
// cookie written as a parameter.
var leakPatterns = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}|[01]\.EMU[A-Za-z0-9_-]{8,}|(^|[^_A-Za-z])code=|graphauth_session=`)

// checkLogs fails the test if any instance logged a secret, and checks that every line is one
// JSON object (LOG_FORMAT=json) with a level and a message.
func (d *deployment) checkLogs() {
	secrets := d.secrets.list()
	for _, in := range d.insts {
		logs := in.logs.String()
		for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
			if line == "" {
				continue
			}
			if in.cfg.LogFormat == "json" {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["level"] == nil || rec["msg"] == nil {
					d.t.Errorf("instance %s: log line is not a JSON record with level and msg: %s", in.name, line)
				}
			}
			if m := leakPatterns.FindString(line); m != "" {
				d.t.Errorf("instance %s logged something like a token, code or cookie (%q): %s", in.name, m, line)
			}
			for _, s := range secrets {
				if strings.Contains(line, s) {
					d.t.Errorf("instance %s logged a secret value (%.6s...): %s", in.name, s, line)
				}
			}
		}
	}
}

// logLines returns instance in's log records whose msg is msg.
func logLines(in *instance, msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(in.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// newCert makes a self-signed RSA certificate for hosts (DNS names or IPs).
func newCert(t *testing.T, cn string, hosts ...string) (*x509.Certificate, *rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func keyPEM(t *testing.T, key *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// serverCert writes a loopback server certificate and key to files and trusts it in roots.
func serverCert(t *testing.T, roots *x509.CertPool) (certFile, keyFile string) {
	t.Helper()
	cert, key, certPEM := newCert(t, "graphauth test server", "127.0.0.1", "localhost")
	roots.AddCert(cert)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM(t, key), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// sessionValues decodes one stored session record (scs's gob encoding) into its values.
func sessionValues(t *testing.T, record []byte) map[string]any {
	t.Helper()
	_, values, err := web.SessionCodec{}.Decode(record)
	if err != nil {
		t.Fatalf("decode session record: %v", err)
	}
	return values
}

// tokenSecrets returns every "secret" in a serialized MSAL token cache: the access, refresh and
// ID tokens.
func tokenSecrets(t *testing.T, cache []byte) []string {
	t.Helper()
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal(cache, &doc); err != nil {
		t.Fatalf("token cache is not MSAL's JSON: %v", err)
	}
	var out []string
	for _, kind := range doc {
		for _, entry := range kind {
			if s, ok := entry["secret"].(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func fmtBytes(n int) string { return fmt.Sprintf("%d B (%.1f KiB)", n, float64(n)/1024) }
