package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/stacktest"
)

func TestConfigErrorsExitTwoAndNameEachVariable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := map[string]string{"CLIENT_ID": "not-a-guid", "PORT": "99999"}
	err := run(context.Background(), []string{"-env-file", ""}, func(k string) string { return env[k] }, &stdout, &stderr)
	if code := exitCode(err, &stderr); code != 2 {
		t.Fatalf("exit code %d, want 2 (err %v)", code, err)
	}
	msg := stderr.String()
	for _, want := range []string{"CLIENT_ID", "not a GUID", "CLIENT_SECRET", "AUTHORITY", "PORT", "config.example.env"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "goroutine") || strings.Contains(msg, "panic") {
		t.Errorf("stack trace in the message:\n%s", msg)
	}
}

func TestUnknownCommandIsUsageError(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-env-file", "", "frobnicate"}, validEnv(t, 5000), &stderr, &stderr)
	if code := exitCode(err, &stderr); code != 2 {
		t.Fatalf("exit code %d, want 2 (err %v)", code, err)
	}
	if err := run(context.Background(), []string{"-h"}, validEnv(t, 5000), &stderr, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func validEnv(t *testing.T, port int) func(string) string {
	env := map[string]string{
		"CLIENT_ID":          "7d2e9c1a-5b6f-4e3d-9a8b-0c1d2e3f4a5b",
		"CLIENT_SECRET":      "test-secret-value",
		"AUTHORITY":          "https://127.0.0.1:1/tenant",
		"HOST":               "127.0.0.1",
		"PORT":               strconv.Itoa(port),
		"SESSION_DIR":        t.TempDir(),
		"INSTANCE_DISCOVERY": "false",
	}
	return func(k string) string { return env[k] }
}

// startApp runs the app with validEnv on a free loopback port and waits until /healthz answers.
// It returns what the app wrote, /healthz's status, and stop, which cancels run and returns its
// error (failing the test if run has not stopped 15 seconds later).
func startApp(t *testing.T) (out *stacktest.SyncBuffer, healthz int, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	out = &stacktest.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-env-file", ""}, validEnv(t, port), out, out) }()
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("run did not stop after cancel")
			return nil
		}
	}

	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/healthz"
	var resp *http.Response
	for i := 0; i < 100; i++ {
		if resp, err = http.Get(url); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		_ = stop()
		t.Fatalf("server never came up: %v", err)
	}
	resp.Body.Close()
	return out, resp.StatusCode, stop
}

func TestRunServesAndStopsOnCancel(t *testing.T) {
	_, status, stop := startApp(t)
	if status != http.StatusOK {
		t.Errorf("/healthz: %d", status)
	}
	if err := stop(); err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}
