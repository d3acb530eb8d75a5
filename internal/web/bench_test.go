package web_test

// Benchmarks of the app's own cost, each beside a bare baseline measured in the same run
// (`make bench`; the README's "Performance" section quotes them):
//
//   - BenchmarkIndex: signed-in GET / (session load and save, template) at 1, 16 and 64
//     concurrent clients, against a bare net/http handler rendering the same template with no
//     session. The two alternate in four rounds so drift on a shared machine hits both alike.
//   - BenchmarkDemo: /msal-demo with a cached token against a fast local Graph stub, against a
//     bare handler making the same Graph call and rendering the same page; token caches of 1,
//     10 and 100 access tokens.
//   - BenchmarkCallback: the callback's own work, the token endpoint's time taken out (see there).
//   - BenchmarkAllocs: allocations per request, in process.
//   - BenchmarkIndexStoredSessions: GET / at 16 clients with 1k, 10k and 100k sessions stored.
//
// Latencies are per request as a client sees them over loopback HTTP; ns/op counts one app
// request plus one baseline request.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/config"
	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/graph"
	"github.com/graphauth/graphauth/internal/httpclient"
	"github.com/graphauth/graphauth/internal/loadtest"
	"github.com/graphauth/graphauth/internal/session"
	"github.com/graphauth/graphauth/internal/web"
	"github.com/graphauth/graphauth/templates"
)

// benchEnv is the app (web.Build, as main wires it) on loopback against the emulator, a fast
// Graph stub, and the bare baseline server.
type benchEnv struct {
	emu     *emulator.Server
	cfg     config.Config
	app     *web.App
	appURL  string
	bareURL string
	roots   *x509.CertPool
	client  *http.Client // the load clients' shared transport; cookies set by hand
	user    emulator.User
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{appURL: "http://" + ln.Addr().String(), user: emulator.DefaultConfig().Users[0]}
	ecfg := emulator.DefaultConfig()
	ecfg.Apps[0].RedirectURIs = []string{e.appURL + "/getAToken"}
	ecfg.Apps[0].PostLogoutRedirectURIs = []string{e.appURL + "/"}
	ecfg.Apps[0].AutoApproveUser = e.user.ID
	if e.emu, err = emulator.New(ecfg); err != nil {
		b.Fatal(err)
	}
	if err := e.emu.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.emu.Close() })

	stub := newGraphStub(b, e.user)
	caFile := filepath.Join(b.TempDir(), "ca.pem")
	emuCA, err := os.ReadFile(e.emu.CAFile())
	if err != nil {
		b.Fatal(err)
	}
	stubCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: stub.Certificate().Raw})
	if err := os.WriteFile(caFile, append(emuCA, stubCA...), 0o600); err != nil {
		b.Fatal(err)
	}
	e.roots = x509.NewCertPool()
	e.roots.AppendCertsFromPEM(emuCA)
	e.roots.AppendCertsFromPEM(stubCA)

	vars := e.emu.AppEnv()
	maps.Copy(vars, map[string]string{
		"EXTRA_CA_FILE": caFile, "GRAPH_ENDPOINT": stub.URL + "/v1.0/me", "HOST": "127.0.0.1",
		"PORT": strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), "SESSION_DIR": b.TempDir(),
	})
	if e.cfg, err = config.Parse(func(k string) string { return vars[k] }); err != nil {
		b.Fatal(err)
	}
	// The app logs one line per request, as in production; formatted, then discarded.
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	app, closeStore, err := web.Build(ctx, e.cfg, log)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	e.app = app
	served := make(chan error, 1)
	go func() { served <- web.Serve(ctx, ln, app.Handler(), log, "", "") }()
	b.Cleanup(func() {
		cancel()
		<-served
		_ = closeStore()
	})

	bare := newBare(b, e, stub.URL+"/v1.0/me")
	bln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e.bareURL = "http://" + bln.Addr().String()
	bsrv := &http.Server{Handler: bare, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = bsrv.Serve(bln) }()
	b.Cleanup(func() { _ = bsrv.Close() })

	e.client = &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 1024, IdleConnTimeout: time.Minute},
	}
	b.Cleanup(e.client.CloseIdleConnections)
	return e
}

// newGraphStub answers GET /v1.0/me at once with the user's profile, in Graph's shape.
func newGraphStub(b *testing.B, u emulator.User) *httptest.Server {
	profile, err := json.Marshal(struct {
		Context string `json:"@odata.context"`
		emulator.User
	}{"https://graph.microsoft.com/v1.0/$metadata#users/$entity", u})
	if err != nil {
		b.Fatal(err)
	}
	stub := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/me" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			http.Error(w, `{"error":{"code":"InvalidAuthenticationToken","message":"no token"}}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("request-id", "00000000-0000-0000-0000-000000000000")
		_, _ = w.Write(profile)
	}))
	b.Cleanup(stub.Close)
	return stub
}

// The baseline's view models: the same field names the app's pages use.
type (
	bareLayout struct {
		Title     string
		User      *auth.Identity
		Notice    string
		RequestID string
		Reason    string
		Page      any
	}
	bareIndex struct{ Name, Username string }
	bareDemo  struct {
		JSON        string
		TokenSource string
		Duration    time.Duration
	}
)

// newBare is the baseline: a bare net/http handler rendering the app's own templates for the
// same user, with no session, no middleware and no MSAL. Its /msal-demo makes the same Graph
// call the app makes (a GET with a bearer token, the JSON decoded and indented).
func newBare(b *testing.B, e *benchEnv, graphURL string) http.Handler {
	// The app's template functions (internal/web/render.go), re-declared: they are unexported.
	funcs := template.FuncMap{
		"ms":    func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) },
		"until": func(t time.Time) string { return time.Until(t).Round(time.Second).String() },
		"rfc3339": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		},
	}
	undefined := regexp.MustCompile(`function "([^"]+)" not defined`)
	parse := func(page string) *template.Template {
		for {
			t, err := template.New("base.html").Funcs(funcs).ParseFS(templates.FS, "base.html", page)
			if err == nil {
				return t
			}
			// A function the app gained since: a stand-in, so the benchmark still runs (the
			// page's cost barely changes); add the real one above.
			m := undefined.FindStringSubmatch(err.Error())
			if m == nil || funcs[m[1]] != nil {
				b.Fatalf("baseline template %s: %v", page, err)
			}
			b.Logf("baseline: template function %q is not declared here; using a stand-in", m[1])
			funcs[m[1]] = func(args ...any) string { return fmt.Sprint(args...) }
		}
	}
	index, demo := parse("index.html"), parse("demo.html")
	who := &auth.Identity{Name: e.user.DisplayName, Username: e.user.UserPrincipalName, OID: e.user.ID, TID: emulator.DefaultTenant}
	notice := "This app signs in against an identity provider on this machine (" + strings.TrimPrefix(e.emu.URL(), "https://") +
		"), not Microsoft: the users, tokens and profiles are test data."
	hc, err := httpclient.New(e.cfg.ExtraCAFile)
	if err != nil {
		b.Fatal(err)
	}
	render := func(w http.ResponseWriter, t *template.Template, title string, view any) {
		var buf bytes.Buffer
		l := bareLayout{Title: title, User: who, Notice: notice, RequestID: "bench/0000000000-000001", Page: view}
		if err := t.ExecuteTemplate(&buf, "base.html", l); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		render(w, index, "Welcome", bareIndex{Name: who.Name, Username: who.Username})
	})
	mux.HandleFunc("GET /msal-demo", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, graphURL, nil)
		req.Header.Set("Authorization", "Bearer a-fixed-access-token")
		req.Header.Set("Accept", "application/json")
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			http.Error(w, "graph failed", http.StatusBadGateway)
			return
		}
		var profile map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&profile); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		var pretty bytes.Buffer
		enc := json.NewEncoder(&pretty)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "    ")
		_ = enc.Encode(profile)
		render(w, demo, "Microsoft Identity", bareDemo{JSON: strings.TrimSpace(pretty.String()), TokenSource: "cache", Duration: time.Since(start)})
	})
	return mux
}

// signIn signs a new browser session in through the emulator and returns its cookie header.
func (e *benchEnv) signIn(b *testing.B) string {
	b.Helper()
	br := loadtest.NewBrowser(e.appURL, e.roots)
	defer br.Close()
	if _, err := br.SignIn(context.Background(), e.user.ID); err != nil {
		b.Fatal(err)
	}
	return e.app.CookieName() + "=" + br.SessionCookie()
}

// target is one side of a comparison: a URL and the cookies of its clients.
type target struct {
	url     string
	cookies []string // client i uses cookies[i % len]; none for the baseline
	marker  string   // text every answer must contain
}

// drive sends n requests from c concurrent clients and returns each latency and the wall time.
func drive(b *testing.B, client *http.Client, t target, c, n int) ([]time.Duration, time.Duration) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				req, _ := http.NewRequest(http.MethodGet, t.url, nil)
				if len(t.cookies) > 0 {
					req.Header.Set("Cookie", t.cookies[w%len(t.cookies)])
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Store(err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(t.marker)) {
					failed.Store(fmt.Errorf("GET %s: %d %v", t.url, resp.StatusCode, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return lat, time.Since(start)
}

// comparison drives the app and the baseline alternately, b.N requests each in four rounds,
// and reports both sides' throughput and latency, and their ratio.
func comparison(b *testing.B, client *http.Client, app, bare target, c int) {
	const rounds = 4
	// Warm both sides (connections, pools) before timing.
	drive(b, client, app, c, 2*c)
	drive(b, client, bare, c, 2*c)
	b.ResetTimer()
	var appLat, bareLat []time.Duration
	var appWall, bareWall time.Duration
	for r := range rounds {
		n := b.N / rounds
		if r < b.N%rounds {
			n++
		}
		if n == 0 {
			continue
		}
		lat, wall := drive(b, client, app, c, n)
		appLat, appWall = append(appLat, lat...), appWall+wall
		lat, wall = drive(b, client, bare, c, n)
		bareLat, bareWall = append(bareLat, lat...), bareWall+wall
	}
	b.StopTimer()
	appRPS := float64(len(appLat)) / appWall.Seconds()
	bareRPS := float64(len(bareLat)) / bareWall.Seconds()
	b.ReportMetric(appRPS, "app_req/s")
	b.ReportMetric(bareRPS, "bare_req/s")
	b.ReportMetric(appRPS/bareRPS, "throughput_ratio")
	reportLatency(b, "app", appLat)
	reportLatency(b, "bare", bareLat)
	b.ReportMetric(float64(pct(appLat, 50)-pct(bareLat, 50))/1e3, "added_p50_µs")
}

func reportLatency(b *testing.B, side string, lat []time.Duration) {
	b.ReportMetric(float64(pct(lat, 50))/1e3, side+"_p50_µs")
	b.ReportMetric(float64(pct(lat, 99))/1e3, side+"_p99_µs")
}

// pct is the p-th percentile; it sorts lat.
func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[int(float64(len(lat)-1)*p/100)]
}

func BenchmarkIndex(b *testing.B) {
	e := newBenchEnv(b)
	cookies := make([]string, 64)
	for i := range cookies {
		cookies[i] = e.signIn(b)
	}
	for _, c := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("clients=%d", c), func(b *testing.B) {
			comparison(b, e.client,
				target{url: e.appURL + "/", cookies: cookies, marker: `id="welcome"`},
				target{url: e.bareURL + "/", marker: `id="welcome"`}, c)
		})
	}
}

// storeKey is the key the app stores a session under: scs's HashTokenInStore.
func storeKey(cookieValue string) string {
	sum := sha256.Sum256([]byte(cookieValue))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func BenchmarkDemo(b *testing.B) {
	e := newBenchEnv(b)
	cookies := make([]string, 16)
	for i := range cookies {
		cookies[i] = e.signIn(b)
	}
	app := func(cookies []string) target {
		return target{url: e.appURL + "/msal-demo", cookies: cookies, marker: `id="graph-result"`}
	}
	bare := target{url: e.bareURL + "/msal-demo", marker: `id="graph-result"`}
	for _, c := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d/cache=1token", c), func(b *testing.B) {
			comparison(b, e.client, app(cookies), bare, c)
		})
	}
	// The token cache grows: 10 and 100 access tokens (for other APIs) in the session's cache.
	for _, extra := range []int{9, 99} {
		cookie := e.signIn(b)
		size := growTokenCache(b, e, cookie, extra)
		b.Run(fmt.Sprintf("clients=1/cache=%dtokens", extra+1), func(b *testing.B) {
			comparison(b, e.client, app([]string{cookie}), bare, 1)
			b.ReportMetric(float64(size), "cache_bytes")
		})
	}
}

// growTokenCache adds extra access tokens (copies of the real one, for other resources) to the
// token cache of the session behind cookie, and returns the cache's new size.
func growTokenCache(b *testing.B, e *benchEnv, cookie string, extra int) int {
	b.Helper()
	st, err := session.NewFileStore(e.cfg.SessionDir, session.FileStoreOptions{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	key := storeKey(strings.SplitN(cookie, "=", 2)[1])
	data, found, err := st.Find(key)
	if err != nil || !found {
		b.Fatalf("session not found: %v", err)
	}
	deadline, values, err := web.SessionCodec{}.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := values["token_cache"].([]byte)
	var cache map[string]map[string]map[string]any
	if err := json.Unmarshal(raw, &cache); err != nil {
		b.Fatalf("token cache: %v", err)
	}
	var key0 string
	var at map[string]any
	for k, v := range cache["AccessToken"] {
		key0, at = k, v
	}
	if at == nil {
		b.Fatal("no access token in the cache")
	}
	for i := range extra {
		cp := map[string]any{}
		for k, v := range at {
			cp[k] = v
		}
		res := fmt.Sprintf("api://bench-resource-%03d/.default", i)
		cp["target"] = res
		cp["secret"] = fmt.Sprintf("%s-%d", at["secret"], i)
		cache["AccessToken"][strings.Replace(key0, "user.readbasic.all", strings.ToLower(res), 1)+strconv.Itoa(i)] = cp
	}
	grown, err := json.Marshal(cache)
	if err != nil {
		b.Fatal(err)
	}
	values["token_cache"] = grown
	enc, err := web.SessionCodec{}.Encode(deadline, values)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Commit(key, enc, deadline); err != nil {
		b.Fatal(err)
	}
	return len(grown)
}

// BenchmarkCallback measures the callback's own work: the state check, the session's flow
// bookkeeping, the code redemption's processing in MSAL (cache write) and the ID-token checks,
// the session ID renewal and the session commit. Method: the app is wired exactly as web.Build
// wires it, except that its outbound HTTP client times each round trip to the token endpoint;
// each callback runs in process (handler.ServeHTTP) and its own work is its total time minus
// that request's token round trip (network and the emulator's work, which signs tokens). Signing
// in up to the callback (login page, authorize) is done untimed before each measurement.
func BenchmarkCallback(b *testing.B) {
	e := newBenchEnv(b)
	rt := &timingTransport{}
	h := instrumentedApp(b, e, rt)
	br := loadtest.NewBrowser(e.appURL, e.roots)
	defer br.Close()
	nf := *br.HTTP
	nf.Jar = nil
	nf.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	callback := func() (time.Duration, time.Duration) {
		cookie, callback := startSignIn(b, e, h, &nf)
		req := httptest.NewRequest(http.MethodGet, callback, nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		rt.reset()
		b.StartTimer()
		t0 := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(t0)
		b.StopTimer()
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/" {
			b.Fatalf("callback: %d %s\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		return d, rt.tokenTime()
	}
	// Warm up: every pooled MSAL client fetches the authority's metadata on its first call.
	b.StopTimer()
	for range 20 {
		callback()
	}
	var own, total, token []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		d, tok := callback()
		total, token, own = append(total, d), append(token, tok), append(own, d-tok)
	}
	b.StopTimer()
	b.ReportMetric(float64(pct(own, 50))/1e3, "own_p50_µs")
	b.ReportMetric(float64(pct(own, 99))/1e3, "own_p99_µs")
	b.ReportMetric(float64(pct(total, 50))/1e3, "total_p50_µs")
	b.ReportMetric(float64(pct(token, 50))/1e3, "token_endpoint_p50_µs")
}

// startSignIn loads /login for a new session (in process) and follows the authorize URL to
// the emulator's redirect back: it returns the session cookie and the callback URL.
func startSignIn(b *testing.B, e *benchEnv, h http.Handler, client *http.Client) (string, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	var cookie string
	for _, c := range rec.Result().Cookies() {
		if c.Name == e.app.CookieName() {
			cookie = c.Name + "=" + c.Value
		}
	}
	m := signInLink.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil || cookie == "" {
		b.Fatalf("/login: %d", rec.Code)
	}
	resp, err := client.Get(htmlUnescape(m[1]))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(loc, "/getAToken?") {
		b.Fatalf("authorize: %d %s", resp.StatusCode, loc)
	}
	return cookie, loc
}

func htmlUnescape(s string) string { return strings.ReplaceAll(s, "&amp;", "&") }

// instrumentedApp wires the app as web.Build does, with rt timing the outbound round trips.
func instrumentedApp(b *testing.B, e *benchEnv, rt *timingTransport) http.Handler {
	b.Helper()
	cfg := e.cfg
	cfg.SessionDir = b.TempDir()
	hc, err := httpclient.New(cfg.ExtraCAFile)
	if err != nil {
		b.Fatal(err)
	}
	rt.base = hc.Transport
	hc.Transport = rt
	store, err := session.Open(context.Background(), session.Options{Type: cfg.SessionType, Dir: cfg.SessionDir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	ac, err := auth.New(auth.Settings{
		Authority: cfg.Authority, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		ClientCertificateFile: cfg.ClientCertificateFile, RedirectURI: cfg.RedirectURI, Scopes: cfg.Scopes,
		InstanceDiscovery: cfg.InstanceDiscovery, AllowedTenants: cfg.AllowedTenants, Timeout: cfg.OutboundTimeout,
	}, hc)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	app, err := web.New(cfg, web.Deps{Logger: log, Store: store.Store, Auth: ac,
		Graph: &graph.Client{HTTP: hc, Endpoint: cfg.GraphEndpoint, Timeout: cfg.OutboundTimeout}})
	if err != nil {
		b.Fatal(err)
	}
	return app.Handler()
}

// timingTransport adds up the time of round trips to a token endpoint since the last reset.
type timingTransport struct {
	base  http.RoundTripper
	nanos atomic.Int64
}

func (t *timingTransport) reset()                   { t.nanos.Store(0) }
func (t *timingTransport) tokenTime() time.Duration { return time.Duration(t.nanos.Load()) }

func (t *timingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		return t.base.RoundTrip(r)
	}
	t0 := time.Now()
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		// The body is part of the endpoint's answer: read it inside the timed span.
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		err = rerr
	}
	t.nanos.Add(int64(time.Since(t0)))
	return resp, err
}

// BenchmarkAllocs counts allocations per request in process (no network on the app's side
// except /msal-demo's Graph call), beside the baseline handler's.
func BenchmarkAllocs(b *testing.B) {
	e := newBenchEnv(b)
	cookie := e.signIn(b)
	app := e.app.Handler()
	bare := newBare(b, e, "")
	for _, path := range []string{"/", "/msal-demo"} {
		for _, side := range []string{"app", "bare"} {
			if side == "bare" && path == "/msal-demo" {
				continue // its Graph URL is not set here; the comparison is in BenchmarkDemo
			}
			b.Run(fmt.Sprintf("%s%s", side, path), func(b *testing.B) {
				h := app
				if side == "bare" {
					h = bare
				}
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodGet, path, nil)
					req.Header.Set("Cookie", cookie)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d", path, rec.Code)
					}
				}
			})
		}
	}
}

// Last in the file (benchmarks run in source order): it writes ~1.2 GB of session files, and
// the write-back and removal would slow the file system under the benchmarks after it.
func BenchmarkIndexStoredSessions(b *testing.B) {
	e := newBenchEnv(b)
	cookies := make([]string, 16)
	for i := range cookies {
		cookies[i] = e.signIn(b)
	}
	syscall.Sync() // the previous run's 100k files were just removed
	stored := 16
	for _, n := range []int{1_000, 10_000, 100_000} {
		stored += addSessions(b, e, cookies[0], n-stored)
		// Let the kernel write the new files out first, so the write-back does not land in
		// the measurement (100k sessions are about 1.2 GB).
		syscall.Sync()
		b.Run(fmt.Sprintf("sessions=%dk", n/1000), func(b *testing.B) {
			comparison(b, e.client,
				target{url: e.appURL + "/", cookies: cookies, marker: `id="welcome"`},
				target{url: e.bareURL + "/", marker: `id="welcome"`}, 16)
		})
	}
}

// addSessions stores n more signed-in sessions, copies of the one behind cookie under new
// random IDs (each a real session: its cookie would work), straight into the session folder.
func addSessions(b *testing.B, e *benchEnv, cookie string, n int) int {
	b.Helper()
	if n <= 0 {
		return 0
	}
	st, err := session.NewFileStore(e.cfg.SessionDir, session.FileStoreOptions{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	data, found, err := st.Find(storeKey(strings.SplitN(cookie, "=", 2)[1]))
	if err != nil || !found {
		b.Fatalf("session not found: %v", err)
	}
	expiry := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	var failed atomic.Value
	per := (n + 3) / 4
	for w := range 4 {
		wg.Go(func() {
			for i := w * per; i < min(n, (w+1)*per); i++ {
				if err := st.Commit(storeKey(fmt.Sprintf("bench-session-%d-%d", w, i)), data, expiry); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return n
}
