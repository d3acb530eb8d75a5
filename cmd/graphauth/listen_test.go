package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
)

// A port in use is reported with the variable that changes it, and exits 1 without a panic.
func TestAddressInUseNamesPORT(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"-env-file", ""}, validEnv(t, port), &stdout, &stderr)
	if code := exitCode(err, &stderr); code != 1 {
		t.Fatalf("exit code %d, want 1 (err %v)", code, err)
	}
	msg := stderr.String()
	for _, want := range []string{"address is in use", "set PORT to a free port", "redirect URI"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}
