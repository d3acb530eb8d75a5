package loadtest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/graphauth/graphauth/internal/config"
	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/web"
)

// TestUser returns the i-th generated test user (i from 0): a fixed GUID and a name that
// appears on the app's pages, so every page can be checked to belong to its user.
func TestUser(i int) emulator.User {
	return emulator.User{
		ID:                fmt.Sprintf("00000000-0000-4000-8000-%012d", 500000+i),
		UserPrincipalName: fmt.Sprintf("load.user%05d@graphauth.example", i),
		DisplayName:       fmt.Sprintf("Load User %05d", i),
		GivenName:         "Load",
		Surname:           fmt.Sprintf("User%05d", i),
		Mail:              fmt.Sprintf("load.user%05d@graphauth.example", i),
		BusinessPhones:    []string{},
	}
}

// idp is what the load run needs from the identity provider: add users and set token
// lifetimes. The in-process emulator is driven by its methods, a running one by its control API.
type idp interface {
	SetUser(emulator.User) error
	SetLifetimes(accessToken, refreshToken time.Duration) error
}

type inProcessIdP struct{ s *emulator.Server }

func (e inProcessIdP) SetUser(u emulator.User) error { e.s.SetUser(u); return nil }
func (e inProcessIdP) SetLifetimes(at, rt time.Duration) error {
	e.s.SetLifetimes(at, rt)
	return nil
}

// controlAPI drives a running emulator (cmd/emulator) over HTTPS.
type controlAPI struct {
	base string
	c    *http.Client
}

func (e controlAPI) SetUser(u emulator.User) error {
	return e.send(http.MethodPut, "/_emulator/users/"+u.ID, u)
}

func (e controlAPI) SetLifetimes(at, rt time.Duration) error {
	return e.send(http.MethodPost, "/_emulator/lifetimes", map[string]int64{
		"access_token_seconds": int64(at / time.Second), "refresh_token_seconds": int64(rt / time.Second)})
}

func (e controlAPI) send(method, path string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.c.Do(req)
	if err != nil {
		return fmt.Errorf("emulator control API %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("emulator control API %s: %d %s", path, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// inProcess is an emulator and the app (web.Build + web.Serve, the code main runs) in this
// process, on loopback ports, with sessions in a temporary folder.
type inProcess struct {
	emu        *emulator.Server
	appURL     string
	sessionDir string
	logs       *countingHandler
	cancel     context.CancelFunc
	served     chan error
	closeStore func() error
	stopOnce   sync.Once
	stopErr    error
}

func startInProcess(users int, sessionDir string) (*inProcess, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	ecfg := emulator.DefaultConfig()
	ecfg.Apps[0].RedirectURIs = []string{base + "/getAToken"}
	ecfg.Apps[0].PostLogoutRedirectURIs = []string{base + "/"}
	for i := range users {
		ecfg.Users = append(ecfg.Users, TestUser(i))
	}
	emu, err := emulator.New(ecfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		ln.Close()
		return nil, err
	}
	ip := &inProcess{emu: emu, appURL: base, sessionDir: sessionDir, logs: newCountingHandler()}
	vars := emu.AppEnv()
	maps.Copy(vars, map[string]string{
		"HOST":        "127.0.0.1",
		"PORT":        strconv.Itoa(ln.Addr().(*net.TCPAddr).Port),
		"SESSION_DIR": sessionDir,
	})
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		ln.Close()
		_ = emu.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(ip.logs)
	app, closeStore, err := web.Build(ctx, cfg, log)
	if err != nil {
		cancel()
		ln.Close()
		_ = emu.Close()
		return nil, err
	}
	ip.cancel, ip.closeStore = cancel, closeStore
	ip.served = make(chan error, 1)
	go func() { ip.served <- web.Serve(ctx, ln, app.Handler(), log, "", "") }()
	return ip, nil
}

func (ip *inProcess) roots() (*x509.CertPool, error) { return poolFromFile(ip.emu.CAFile()) }

// stop shuts the app down gracefully, then the store and the emulator.
func (ip *inProcess) stop() error {
	ip.stopOnce.Do(func() {
		ip.cancel()
		err := <-ip.served
		ip.stopErr = errors.Join(err, ip.closeStore(), ip.emu.Close())
	})
	return ip.stopErr
}

func poolFromFile(path string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if path == "" {
		return pool, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate", path)
	}
	return pool, nil
}

// countingHandler is the in-process app's logger: it keeps nothing but a count of records by
// level and the first few warnings and errors (the app logs no secret, token or cookie).
type countingHandler struct {
	mu      sync.Mutex
	counts  map[slog.Level]int
	samples []string
}

func newCountingHandler() *countingHandler {
	return &countingHandler{counts: map[slog.Level]int{}}
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }

func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Level]++
	if r.Level >= slog.LevelWarn && len(h.samples) < 20 {
		var b bytes.Buffer
		b.WriteString(r.Level.String() + " " + r.Message)
		r.Attrs(func(a slog.Attr) bool {
			b.WriteString(" " + a.Key + "=" + a.Value.String())
			return true
		})
		h.samples = append(h.samples, b.String())
	}
	return nil
}

func (h *countingHandler) snapshot() (warnings, errs int, samples []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[slog.LevelWarn], h.counts[slog.LevelError], append([]string(nil), h.samples...)
}
