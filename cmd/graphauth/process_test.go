package main

import (
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/loadtest"
	"github.com/graphauth/graphauth/internal/stacktest"
)

// buildApp compiles this command into a temporary folder and returns the binary's path. Under
// the race detector it builds with -race too, which reuses the packages `go test -race` has
// just compiled (and checks the app for races while it runs).
func buildApp(tb testing.TB, race bool) string {
	tb.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		tb.Fatalf("this test builds the app and needs the go command on PATH: %v", err)
	}
	bin := filepath.Join(tb.TempDir(), "graphauth")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// appProcess is the graphauth binary serving on a fixed loopback port against an in-process
// emulator, with its session folder; it can be killed and started again on the same folder.
type appProcess struct {
	tb         testing.TB
	bin        string
	emu        *emulator.Server
	base       string
	port       int
	sessionDir string
	logPath    string
	env        []string

	mu  sync.Mutex
	cmd *exec.Cmd
}

func newAppProcess(tb testing.TB, bin string, users int, extraEnv ...string) *appProcess {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := &appProcess{tb: tb, bin: bin, port: port, base: "http://127.0.0.1:" + strconv.Itoa(port),
		sessionDir: filepath.Join(tb.TempDir(), "sessions"), logPath: filepath.Join(tb.TempDir(), "app.log")}

	ecfg := emulator.DefaultConfig()
	ecfg.Apps[0].RedirectURIs = []string{p.base + "/getAToken"}
	ecfg.Apps[0].PostLogoutRedirectURIs = []string{p.base + "/"}
	for i := range users {
		ecfg.Users = append(ecfg.Users, loadtest.TestUser(i))
	}
	if p.emu, err = emulator.New(ecfg); err != nil {
		tb.Fatal(err)
	}
	if err := p.emu.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.emu.Close() })
	p.env = append([]string{
		"CLIENT_ID=" + emulator.DemoClientID,
		"CLIENT_SECRET=" + emulator.DemoClientSecret,
		"AUTHORITY=" + p.emu.Authority(),
		"INSTANCE_DISCOVERY=false",
		"EXTRA_CA_FILE=" + p.emu.CAFile(),
		"GRAPH_ENDPOINT=" + p.emu.GraphMeURL(),
		"HOST=127.0.0.1",
		"PORT=" + strconv.Itoa(port),
		"SESSION_DIR=" + p.sessionDir,
		"SESSION_KEY=" + stacktest.NewSessionKey(), // the same across restarts: sessions survive them
		"LOG_LEVEL=warn",
		"GORACE=halt_on_error=1",
	}, extraEnv...)
	tb.Cleanup(p.kill)
	return p
}

// start runs the binary and waits until it answers /healthz.
func (p *appProcess) start() {
	p.tb.Helper()
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.tb.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(p.bin, "-env-file", "")
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		p.tb.Fatal(err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(p.logPath)
			p.tb.Fatalf("the app did not come up: %v\n%s", err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *appProcess) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *appProcess) kill() {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		p.tb.Errorf("waiting for the killed app: %v", err)
	}
}

func (p *appProcess) roots() *x509.CertPool {
	pem, err := os.ReadFile(p.emu.CAFile())
	if err != nil {
		p.tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

func (p *appProcess) log() string {
	out, _ := os.ReadFile(p.logPath)
	return string(out)
}
