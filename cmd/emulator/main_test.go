package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
)

// syncBuffer is written by run's goroutine and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// envValue finds KEY=value in out.
func envValue(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v
		}
	}
	return ""
}

// startRun runs the command in the background and waits for its settings to be printed.
func startRun(t *testing.T, args ...string) (out *syncBuffer, cancel context.CancelFunc, done chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done = make(chan error, 1)
	go func() { done <- run(ctx, args, out, errOut) }()
	deadline := time.Now().Add(10 * time.Second)
	for envValue(out.String(), "GRAPH_ENDPOINT") == "" {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("run returned early: %v\n%s", err, errOut)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no settings printed:\n%s\n%s", out, errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	return out, cancel, done
}

func clientFor(t *testing.T, caFile string) *http.Client {
	t.Helper()
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA in " + caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestRunServesMetadataAndStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	out, cancel, done := startRun(t, "-addr", "127.0.0.1:0", "-state-dir", dir)

	authority := envValue(out.String(), "AUTHORITY")
	caFile := envValue(out.String(), "EXTRA_CA_FILE")
	if !strings.HasPrefix(authority, "https://127.0.0.1:") || caFile != filepath.Join(dir, "ca.pem") {
		t.Fatalf("printed:\n%s", out)
	}
	for _, want := range []string{"NOT Microsoft", "CLIENT_ID=" + emulator.DemoClientID, "CLIENT_SECRET=" + emulator.DemoClientSecret,
		"INSTANCE_DISCOVERY=false", "GRAPH_ENDPOINT=" + strings.TrimSuffix(authority, "/"+emulator.DefaultTenant) + "/v1.0/me"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}

	client := clientFor(t, caFile)
	resp, err := client.Get(authority + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var md struct{ Issuer string }
	err = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if err != nil || md.Issuer != authority+"/v2.0" {
		t.Errorf("issuer = %q, %v", md.Issuer, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
		done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop on cancel")
	}
	if _, err := client.Get(authority + "/v2.0/.well-known/openid-configuration"); err == nil {
		t.Error("still serving after cancel")
	}
}

func TestRunDemoFlags(t *testing.T) {
	out, _, _ := startRun(t, "-addr", "127.0.0.1:0", "-state-dir", t.TempDir(),
		"-redirect-uri", "http://localhost:8080/getAToken", "-auto-approve", "priya.natarajan@graphauth.example")
	client := clientFor(t, envValue(out.String(), "EXTRA_CA_FILE"))
	q := url.Values{
		"client_id": {emulator.DemoClientID}, "response_type": {"code"}, "scope": {"User.Read"},
		"redirect_uri": {"http://localhost:8080/getAToken"}, "state": {"s"},
	}
	resp, err := client.Get(envValue(out.String(), "AUTHORITY") + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://localhost:8080/getAToken?code=") {
		t.Errorf("authorize: %d %q", resp.StatusCode, loc)
	}
	// The replaced default redirect URI is refused now.
	q.Set("redirect_uri", emulator.DemoRedirectURI)
	resp, err = client.Get(envValue(out.String(), "AUTHORITY") + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "AADSTS50011") {
		t.Errorf("old redirect URI: %d", resp.StatusCode)
	}
}

func TestRunPrintEnv(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-print-env", "-addr", "localhost:8443", "-state-dir", dir}, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	want := strings.Join([]string{
		"AUTHORITY=https://localhost:8443/" + emulator.DefaultTenant,
		"CLIENT_ID=" + emulator.DemoClientID,
		"CLIENT_SECRET=" + emulator.DemoClientSecret,
		"INSTANCE_DISCOVERY=false",
		"EXTRA_CA_FILE=" + filepath.Join(dir, "ca.pem"),
		"GRAPH_ENDPOINT=https://localhost:8443/v1.0/me",
	}, "\n") + "\n"
	if out.String() != want {
		t.Errorf("print-env\n got %q\nwant %q", out.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.pem")); err != nil {
		t.Errorf("certificates not created: %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"non-loopback address", []string{"-addr", "0.0.0.0:0"}, "non-loopback"},
		{"print-env with port 0", []string{"-print-env", "-addr", "127.0.0.1:0"}, "fixed port"},
		{"bad flag", []string{"-nope"}, "not defined"},
		{"stray argument", []string{"extra"}, "unexpected"},
		{"missing config", []string{"-config", "/nonexistent/emulator.json"}, "no such file"},
		{"bad OneNote clock", []string{"-onenote-clock", "0", "-addr", "127.0.0.1:0"}, "onenote-clock"},
		{"unknown auto-approve user", []string{"-auto-approve", "ghost@example.com", "-addr", "127.0.0.1:0"}, "AutoApproveUser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-state-dir", t.TempDir()}, tt.args...)
			err := run(context.Background(), args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRunOneNoteFlags(t *testing.T) {
	out, _, _ := startRun(t, "-addr", "127.0.0.1:0", "-state-dir", t.TempDir(),
		"-onenote-rpm", "50", "-onenote-concurrency", "2", "-onenote-clock", "100", "-onenote-empty")
	if !strings.Contains(out.String(), "/v1.0/me/onenote/notebooks") {
		t.Errorf("banner lacks the OneNote URL:\n%s", out)
	}
	client := clientFor(t, envValue(out.String(), "EXTRA_CA_FILE"))
	base := strings.TrimSuffix(envValue(out.String(), "AUTHORITY"), "/"+emulator.DefaultTenant)
	resp, err := client.Get(base + "/_emulator/onenote/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("stats: %d", resp.StatusCode)
	}
	resp, err = client.Get(base + "/v1.0/me/onenote/notebooks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("notebooks without a token: %d", resp.StatusCode)
	}
}

func TestRunWithConfigFile(t *testing.T) {
	out, _, _ := startRun(t, "-addr", "127.0.0.1:0", "-state-dir", t.TempDir(),
		"-config", filepath.Join("..", "..", "internal", "emulator", "testdata", "example-config.json"))
	if !strings.Contains(out.String(), "sam.okafor@graphauth.example") {
		t.Errorf("config users not listed:\n%s", out)
	}
}
