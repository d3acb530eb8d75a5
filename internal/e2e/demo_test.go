package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/stacktest"
)

// TestMakeDemoOnAnyPort runs `make demo` the way a newcomer does, on ports other than 5000 and
// 8443, in a pseudo-terminal (script(1)) so that Ctrl-C is a real one: the URL it prints is the
// real one and the last line; a browser signs in through the emulator it started (which
// registered the app's redirect URI for that port); `make check-demo` passes against it; Ctrl-C
// ends it with status 0 and no make error. A busy port is named before anything is built.
func TestMakeDemoOnAnyPort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries and runs make demo")
	}
	execPath := findBrowser(t)
	for _, tool := range []string{"make", "bash", "script"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " is not installed: the make demo test needs make, bash and script (util-linux)"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin, state := filepath.Join(tmp, "bin"), filepath.Join(tmp, "state")
	port, emuPort := freePort(t), freePort(t)
	vars := fmt.Sprintf("PORT=%d EMULATOR_PORT=%d BIN=%s EMU_STATE=%s", port, emuPort, bin, state)

	t.Run("a busy port is named before anything is built", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		busy := ln.Addr().(*net.TCPAddr).Port
		for _, tc := range []struct{ vars, want string }{
			{fmt.Sprintf("PORT=%d EMULATOR_PORT=%d", busy, emuPort), fmt.Sprintf("port %d (PORT, the app's) is in use", busy)},
			{fmt.Sprintf("PORT=%d EMULATOR_PORT=%d", port, busy), fmt.Sprintf("port %d (EMULATOR_PORT, the emulator's) is in use", busy)},
		} {
			cmd := exec.Command("make", "--no-print-directory", "-C", root, "demo", "BIN="+bin, "EMU_STATE="+state)
			cmd.Args = append(cmd.Args, strings.Fields(tc.vars)...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "go build") {
				t.Errorf("make demo %s: err %v, output:\n%s\nwant %q before any build", tc.vars, err, out, tc.want)
			}
		}
	})

	// script gives make a terminal; what the test writes to script's stdin is typed there.
	cmd := exec.Command("script", "-qefc", "make --no-print-directory -C "+root+" demo "+vars, "/dev/null")
	typed, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &stacktest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second // a killed script's children may hold its output open
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when make demo has ended, with waitErr set
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	appURL := "http://localhost:" + strconv.Itoa(port)
	urlLine := "graphauth demo: open " + appURL
	deadline := time.Now().Add(4 * time.Minute) // a cold build on a busy machine
	for !strings.Contains(out.String(), urlLine) {
		select {
		case <-exited:
			t.Fatalf("make demo ended (%v) before printing %q:\n%s", waitErr, urlLine, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("make demo printed no %q:\n%s", urlLine, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lastLineIs := func(when string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(out.String(), "\r", "")), "\n")
		if got := strings.TrimSpace(lines[len(lines)-1]); got != urlLine {
			t.Errorf("%s, the last line printed is %q, want %q:\n%s", when, got, urlLine, out)
		}
	}
	time.Sleep(500 * time.Millisecond) // anything printed late would show now
	lastLineIs("at start")

	t.Run("sign in through the emulator make demo started", func(t *testing.T) {
		browser := startBrowser(t, execPath, spkiAt(t, filepath.Join(state, "ca.pem"), net.JoinHostPort("localhost", strconv.Itoa(emuPort))))
		b := newTab(t, browser, appURL, phoneShots(t, "make-demo"))
		u := emulator.DefaultConfig().Users[0]
		b.run([]step{
			{name: "open the printed URL", shot: "login", do: func(ctx context.Context, b *tab) error {
				if err := b.open(ctx, appURL+"/"); err != nil {
					return err
				}
				return b.waitFor(ctx, "#sign-in")
			}},
			{name: "sign in", do: func(ctx context.Context, b *tab) error {
				if err := b.click(ctx, "#sign-in", "#signin-form"); err != nil {
					return err
				}
				return b.expectAt(ctx, fmt.Sprintf("https://localhost:%d/", emuPort))
			}},
			pickUser(u, ""),
			{name: "accept consent: welcome", shot: "welcome", do: func(ctx context.Context, b *tab) error {
				if err := b.click(ctx, "#accept", "#welcome"); err != nil {
					return err
				}
				return b.expectText(ctx, "#welcome", u.DisplayName)
			}},
		})
	})

	t.Run("make check-demo", func(t *testing.T) {
		cmd := exec.Command("make", "--no-print-directory", "-C", root, "check-demo", "BIN="+bin, "EMU_STATE="+state)
		got, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(got), "result: ok (5 ok, 0 failed, 0 skipped)") ||
			!strings.Contains(string(got), fmt.Sprintf("redirected to REDIRECT_URI %s/getAToken", appURL)) {
			t.Errorf("make check-demo: %v\n%s", err, got)
		}
	})
	lastLineIs("after the sign-in")

	if _, err := io.WriteString(typed, "\x03"); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("make demo after Ctrl-C: %v, want exit status 0:\n%s", waitErr, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("make demo still runs 30 s after Ctrl-C:\n%s", out)
	}
	if s := out.String(); strings.Contains(s, "make: ***") || !strings.Contains(s, "graphauth demo: stopped") {
		t.Errorf("make demo did not stop cleanly:\n%s", s)
	}
	for _, p := range []int{port, emuPort} {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort("localhost", strconv.Itoa(p)), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still answers after Ctrl-C", p)
		}
	}
}

// freePort is a loopback port nothing listens on, never 5000 or 8443 (a newcomer's own demo).
func freePort(t *testing.T) int {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if p != 5000 && p != 8443 {
			return p
		}
	}
}

// spkiAt is the base64 SHA-256 of the public key the TLS server at addr shows, verified against
// the CA in caFile (the form Chromium's --ignore-certificate-errors-spki-list takes).
func spkiAt(t *testing.T, caFile, addr string) string {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	host, _, _ := net.SplitHostPort(addr)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: host})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
