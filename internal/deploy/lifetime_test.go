package deploy_test

import (
	"os"
	"strings"
	"testing"
	"time"
)

// signedIn reports whether the browser's session at origin is signed in.
func signedIn(t *testing.T, br *browser, origin string) bool {
	t.Helper()
	p := br.get(origin + "/")
	return p.url.Path == "/" && strings.Contains(p.body, "Welcome")
}

// countSessionFiles counts the session files (64 hex digits) in dir.
func countSessionFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if len(e.Name()) == 64 && !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// Session lifetimes: SESSION_IDLE_TIMEOUT signs out a user who stops making requests, and
// SESSION_LIFETIME signs out everyone after a fixed time, however active. The file store's
// sweeper (SESSION_SWEEP_INTERVAL) then deletes the expired files in the background.
func TestSessionLifetimes(t *testing.T) {
	t.Parallel() // mostly waiting
	d := deploy(t, deployOpts{instances: 2, perInst: []map[string]string{
		{"SESSION_IDLE_TIMEOUT": "1s", "SESSION_LIFETIME": "1h", "SESSION_SWEEP_INTERVAL": "100ms"},
		{"SESSION_IDLE_TIMEOUT": "1h", "SESSION_LIFETIME": "2s", "SESSION_SWEEP_INTERVAL": "1h"},
	}})
	idle, absolute := d.insts[0], d.insts[1]

	t.Run("idle timeout", func(t *testing.T) {
		t.Parallel()
		br := d.browser()
		br.signIn(idle.url)
		if n := countSessionFiles(t, idle.cfg.SessionDir); n == 0 {
			t.Fatal("no session file after sign-in")
		}
		time.Sleep(1500 * time.Millisecond) // longer than the idle timeout, no request meanwhile
		if signedIn(t, br, idle.url) {
			t.Fatal("still signed in after the idle timeout")
		}
	})

	t.Run("absolute lifetime", func(t *testing.T) {
		t.Parallel()
		br := d.browser()
		br.signIn(absolute.url)
		// Requests every 200 ms keep the session from ever going idle; the 2 s lifetime ends
		// it anyway.
		deadline := time.Now().Add(15 * time.Second)
		for signedIn(t, br, absolute.url) {
			if time.Now().After(deadline) {
				t.Fatal("still signed in long after SESSION_LIFETIME")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// Expired session files are deleted by the background sweeper, while requests go on.
func TestExpiredFileSessionsSwept(t *testing.T) {
	t.Parallel()
	d := deploy(t, deployOpts{env: map[string]string{
		// 2 s idle: the active user's requests, 200 ms apart, keep it alive even on a slow machine.
		"SESSION_IDLE_TIMEOUT": "2s", "SESSION_SWEEP_INTERVAL": "100ms",
	}})
	in := d.insts[0]
	const users = 5
	for range users {
		d.browser().signIn(in.url)
	}
	if n := countSessionFiles(t, in.cfg.SessionDir); n != users {
		t.Fatalf("%d session files after %d sign-ins", n, users)
	}
	// Another user keeps working while the others' sessions expire and are swept.
	active := d.browser()
	active.signIn(in.url)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if !signedIn(t, active, in.url) {
			t.Fatal("the active user was signed out")
		}
		if n := countSessionFiles(t, in.cfg.SessionDir); n == 1 {
			break // only the active user's session is left
		} else if time.Now().After(deadline) {
			t.Fatalf("%d session files left: the expired ones were not swept", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
