package emulator

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a running (or ready to run) emulator. Its methods are safe for concurrent use.
type Server struct {
	tenant   string
	log      *slog.Logger
	st       *state
	tempDir  bool // st.dir was created by New and is removed by Close
	handler  http.Handler
	pages    *pages
	onenote  *oneNoteState
	shutdown chan struct{} // closed by Close: ends injected delays

	mu         sync.Mutex
	apps       map[string]*App // by lower-case client ID
	appOrder   []string
	users      map[string]*User // by lower-case object ID
	userOrder  []string
	atLife     time.Duration
	rtLife     time.Duration
	codeLife   time.Duration
	strictRT   bool // Config.StrictRefreshRotation
	counters   map[string]int
	faults     map[string][]Fault
	pending    map[string]*pendingAuth  // sign-in in progress, by random ID
	codes      map[string]*authCode     // by SHA-256 of the code
	refresh    map[string]*refreshGrant // by SHA-256 of the refresh token
	consents   map[string][]string      // "client|oid" -> consented Graph scopes
	validFrom  map[string]time.Time     // oid -> refresh tokens granted before are revoked
	revokedAll time.Time                // refresh tokens granted before are revoked
	lastSweep  time.Time

	srvMu     sync.Mutex
	srv       *http.Server
	baseURL   string
	served    chan struct{} // closed when Serve returns
	closeOnce sync.Once
	closeErr  error
}

// New checks cfg, prepares the state directory (CA, server certificate, signing key) and
// returns a Server that is not yet listening: see Start, or use Handler with your own listener.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		tenant:    cfg.Tenant,
		log:       cfg.Logger,
		shutdown:  make(chan struct{}),
		apps:      map[string]*App{},
		users:     map[string]*User{},
		atLife:    cfg.AccessTokenLifetime,
		rtLife:    cfg.RefreshTokenLifetime,
		codeLife:  cfg.CodeLifetime,
		strictRT:  cfg.StrictRefreshRotation,
		counters:  map[string]int{},
		faults:    map[string][]Fault{},
		pending:   map[string]*pendingAuth{},
		codes:     map[string]*authCode{},
		refresh:   map[string]*refreshGrant{},
		consents:  map[string][]string{},
		validFrom: map[string]time.Time{},
	}
	for i := range cfg.Apps {
		a := cfg.Apps[i]
		key := strings.ToLower(a.ClientID)
		s.apps[key] = &a
		s.appOrder = append(s.appOrder, key)
	}
	for i := range cfg.Users {
		u := cfg.Users[i]
		key := strings.ToLower(u.ID)
		s.users[key] = &u
		s.userOrder = append(s.userOrder, key)
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}

	dir := cfg.StateDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "graphauth-emulator-*"); err != nil {
			return nil, fmt.Errorf("emulator state dir: %w", err)
		}
		s.tempDir = true
	}
	if s.st, err = loadOrCreateState(dir, s.log); err != nil {
		if s.tempDir {
			os.RemoveAll(dir)
		}
		return nil, fmt.Errorf("emulator state dir %s: %w", dir, err)
	}
	s.onenote = newOneNoteState(cfg.OneNote, s.st)
	s.handler = s.routes()
	return s, nil
}

// routes is the emulator's table of contents.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.HandleFunc("GET /_static/emulator.css", s.handleStatic)
	mux.HandleFunc("GET /_static/formpost.js", s.handleStatic)
	mux.HandleFunc("GET /_static/favicon.svg", s.handleStatic)
	mux.HandleFunc("GET /favicon.ico", s.handleStatic) // browsers ask for it; the SVG answers

	// Microsoft identity platform v2.0, per tenant (the GUID, "common" or "organizations").
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.handleMetadata)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.handleKeys)
	mux.HandleFunc("/{tenant}/oauth2/v2.0/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /{tenant}/login", s.handleSignIn)
	mux.HandleFunc("POST /{tenant}/consent", s.handleConsent)
	mux.HandleFunc("/{tenant}/oauth2/v2.0/token", s.handleToken)
	mux.HandleFunc("/{tenant}/oauth2/v2.0/logout", s.handleLogout)

	// Microsoft Graph, on the same host.
	mux.HandleFunc("GET /v1.0/me", s.handleMe)
	mux.HandleFunc("GET /oidc/userinfo", s.handleUserInfo)

	// Control API for tests (loopback clients only).
	mux.HandleFunc("GET /_emulator/counters", s.loopbackOnly(s.handleGetCounters))
	mux.HandleFunc("POST /_emulator/reset-counters", s.loopbackOnly(s.handleResetCounters))
	mux.HandleFunc("POST /_emulator/faults", s.loopbackOnly(s.handlePostFault))
	mux.HandleFunc("POST /_emulator/lifetimes", s.loopbackOnly(s.handlePostLifetimes))
	mux.HandleFunc("GET /_emulator/users", s.loopbackOnly(s.handleGetUsers))
	mux.HandleFunc("PUT /_emulator/users/{id}", s.loopbackOnly(s.handlePutUser))
	mux.HandleFunc("POST /_emulator/revoke", s.loopbackOnly(s.handlePostRevoke))
	mux.HandleFunc("POST /_emulator/auto-approve", s.loopbackOnly(s.handlePostAutoApprove))
	mux.HandleFunc("POST /_emulator/onenote/clock", s.loopbackOnly(s.handleOneNoteClock))
	mux.HandleFunc("POST /_emulator/onenote/fault-rates", s.loopbackOnly(s.handleOneNoteFaultRates))
	mux.HandleFunc("POST /_emulator/onenote/settings", s.loopbackOnly(s.handleOneNoteSettings))
	mux.HandleFunc("POST /_emulator/onenote/sections", s.loopbackOnly(s.handleOneNoteSections))
	mux.HandleFunc("POST /_emulator/onenote/pages", s.onenotePagesLoopback) // loopback only: control_onenote_perf.go
	mux.HandleFunc("POST /_emulator/onenote/user", s.loopbackOnly(s.handleOneNoteUser))
	mux.HandleFunc("GET /_emulator/onenote/stats", s.loopbackOnly(s.handleOneNoteStats))
	mux.HandleFunc("POST /_emulator/onenote/reset-stats", s.loopbackOnly(s.handleOneNoteResetStats))
	return s.logRequests(s.withOneNote(mux)) // OneNote's paths: onenote.go
}

// Start listens on addr (a loopback address such as "127.0.0.1:0" or "localhost:8443") and
// serves HTTPS in the background until Close.
func (s *Server) Start(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("emulator address %q: %w", addr, err)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("emulator address %q: refusing a non-loopback address; use 127.0.0.1, ::1 or localhost", addr)
	}
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	select {
	case <-s.shutdown:
		return errors.New("emulator: Start after Close")
	default:
	}
	if s.srv != nil {
		return errors.New("emulator: already started")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("emulator listen: %w", err)
	}
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	urlHost := strings.ToLower(host)
	if ip := net.ParseIP(host); ip != nil {
		urlHost = ip.String()
	}
	s.baseURL = "https://" + net.JoinHostPort(urlHost, port)
	s.srv = &http.Server{
		Handler: s.handler,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{s.st.tlsCert},
		},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Browsers that do not trust the CA yet produce TLS handshake noise: keep it at debug.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.served = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("emulator stopped serving", "err", err)
		}
	}(s.srv, s.served)
	s.log.Info("emulator listening", "url", s.baseURL, "tenant", s.tenant)
	return nil
}

// URL is the base URL, e.g. "https://127.0.0.1:8443"; "" before Start.
func (s *Server) URL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.baseURL
}

// Authority is the authority URL an MSAL client uses: URL()/<tenant>.
func (s *Server) Authority() string { return s.URL() + "/" + s.tenant }

// GraphMeURL is the emulated Microsoft Graph /me endpoint: URL()/v1.0/me.
func (s *Server) GraphMeURL() string { return s.URL() + "/v1.0/me" }

// Tenant is the emulator's tenant ID.
func (s *Server) Tenant() string { return s.tenant }

// CAFile is the path of the PEM CA certificate a client must trust to reach the emulator.
func (s *Server) CAFile() string { return s.st.caFile }

// Handler serves every endpoint; use it directly with httptest or a custom listener.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the listener and anything in progress and, if New made a temporary state
// directory, removes it. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.shutdown)
		s.srvMu.Lock()
		srv, served := s.srv, s.served
		s.srvMu.Unlock()
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := srv.Shutdown(ctx); err != nil {
				s.closeErr = errors.Join(err, srv.Close())
			}
			cancel()
			<-served
		}
		if s.tempDir {
			if err := os.RemoveAll(s.st.dir); err != nil {
				s.closeErr = errors.Join(s.closeErr, err)
			}
		}
	})
	return s.closeErr
}

// AppEnv is EnvLines for the running server as a map: the variables an app needs to use this
// emulator, for tests that start the app in-process.
func (s *Server) AppEnv() map[string]string {
	env := map[string]string{}
	for _, line := range s.EnvLines(s.URL()) {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	return env
}

// EnvLines returns the settings an app needs to use this emulator, as KEY=VALUE lines, with
// baseURL in place of URL() (so they can be printed before Start). They name the demo app
// (DemoClientID) if it is configured, else the first app; its secret is a fake one.
func (s *Server) EnvLines(baseURL string) []string {
	var clientID, secret string
	s.mu.Lock()
	a := s.apps[strings.ToLower(DemoClientID)]
	if a == nil && len(s.appOrder) > 0 {
		a = s.apps[s.appOrder[0]]
	}
	if a != nil {
		clientID, secret = a.ClientID, a.Secret
	}
	s.mu.Unlock()
	return []string{
		"AUTHORITY=" + baseURL + "/" + s.tenant,
		"CLIENT_ID=" + clientID,
		"CLIENT_SECRET=" + secret,
		"INSTANCE_DISCOVERY=false",
		"EXTRA_CA_FILE=" + s.CAFile(),
		"GRAPH_ENDPOINT=" + baseURL + "/v1.0/me",
	}
}

// BaseURLForAddr returns the base URL Start(addr) will use when addr has a fixed port, and
// an error for a non-loopback address or port 0.
func BaseURLForAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	if !isLoopbackHost(host) {
		return "", fmt.Errorf("address %q is not a loopback address", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", fmt.Errorf("address %q: need a fixed port", addr)
	}
	urlHost := strings.ToLower(host)
	if ip := net.ParseIP(host); ip != nil {
		urlHost = ip.String()
	}
	return "https://" + net.JoinHostPort(urlHost, port), nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// base returns the scheme and host clients used to reach this request, so that issuer and
// endpoints match what the client sees (MSAL requires the issuer's host to equal the
// authority's). Only loopback hosts are echoed.
func (s *Server) base(r *http.Request) string {
	host := strings.ToLower(r.Host)
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if host != "" && isLoopbackHost(h) {
		return "https://" + host
	}
	if u := s.URL(); u != "" {
		return u
	}
	return "https://" + host
}

// issuer is the v2.0 issuer of this tenant as seen by r.
func (s *Server) issuer(r *http.Request) string { return s.base(r) + "/" + s.tenant + "/v2.0" }

// knownTenant reports whether the path's tenant segment names this tenant.
func (s *Server) knownTenant(t string) bool {
	t = strings.ToLower(t)
	return t == s.tenant || t == "common" || t == "organizations"
}

// count increments counters.
func (s *Server) count(keys ...string) {
	s.mu.Lock()
	for _, k := range keys {
		s.counters[k]++
	}
	s.mu.Unlock()
}

// sleep waits d, or less if the request is cancelled or the server closes. It reports
// whether the full delay elapsed.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.shutdown:
		return false
	}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// logRequests logs method, path (never the query: it carries codes) and status.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.log.Debug("emulator request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
	})
}
