package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/graphauth/graphauth/internal/stacktest"
)

// Off loopback, a missing SESSION_KEY stops the app at start-up with the way to make one; a
// remote Redis without TLS too, unless explicitly allowed.
func TestSessionKeyAndStoreTLSRequiredOffLoopback(t *testing.T) {
	base := func(kv ...string) func(string) string {
		env := map[string]string{
			"CLIENT_ID": "7d2e9c1a-5b6f-4e3d-9a8b-0c1d2e3f4a5b", "CLIENT_SECRET": "test-secret-value",
			"AUTHORITY": "https://login.microsoftonline.com/7d2e9c1a-5b6f-4e3d-9a8b-0c1d2e3f4a5c",
			"HOST":      "0.0.0.0", "REDIRECT_URI": "https://app.example.com/getAToken", "SESSION_DIR": t.TempDir(),
		}
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return func(k string) string { return env[k] }
	}
	for name, tc := range map[string]struct {
		env  func(string) string
		want []string
	}{
		"no key": {base(), []string{"SESSION_KEY", "openssl rand -hex 32"}},
		"remote redis": {base("SESSION_KEY", stacktest.NewSessionKey(), "SESSION_TYPE", "redis", "REDIS_URL", "redis://:pw@cache.example.com:6379/0"),
			[]string{"SESSION_STORE_INSECURE_TRANSPORT", "rediss://"}},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"-env-file", ""}, tc.env, &stdout, &stderr)
		if code := exitCode(err, &stderr); code != 2 {
			t.Errorf("%s: exit code %d, want 2 (err %v)", name, code, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%s: message lacks %q:\n%s", name, w, stderr.String())
			}
		}
		if strings.Contains(stderr.String(), ":pw@") {
			t.Errorf("%s: the message quotes the store's password", name)
		}
	}
}

// On loopback without SESSION_KEY the app starts with a key of its own, and says so.
func TestLoopbackMakesItsOwnSessionKey(t *testing.T) {
	out, _, stop := startApp(t)
	defer func() { _ = stop() }()
	if !strings.Contains(out.String(), "SESSION_KEY is not set") || !strings.Contains(out.String(), "will not survive a restart") {
		t.Errorf("no warning about the per-process key:\n%s", out)
	}
}
