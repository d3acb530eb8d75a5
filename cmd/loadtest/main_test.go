package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The short load run of `make test`: 20 users through the in-process app and emulator for 3
// seconds, with access tokens refreshed every second and some sign-outs. run fails on any
// error, on a page showing another user's data, and on goroutines or file descriptors that do
// not come back after the app stops.
func TestShortLoadRun(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-users", "20", "-duration", "3s", "-refresh-every", "1s",
		"-signout-rate", "0.004", "-q"}, &stdout, &stderr)
	t.Log("\n" + stdout.String())
	if err != nil {
		t.Fatalf("load run: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"0 errors", "came back to their starting counts", "msal-demo", "sign-out"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out, " 0 token refreshes") {
		t.Error("no access token was refreshed during the run")
	}
}

func TestBadFlags(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-app", "http://127.0.0.1:1"}, &out, &out); err == nil {
		t.Error("-app without -emulator: no error")
	}
	if err := run(context.Background(), []string{"extra"}, &out, &out); err == nil {
		t.Error("a stray argument: no error")
	}
}
