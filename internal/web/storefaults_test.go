package web_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/stacktest"
)

// The session folder fails under the app, for real: a read-only mount, a full file system, a
// folder deleted (and one that cannot be recreated). The request that needs the store gets the
// "Session storage failed" page with status 500 and an error line in the log; nothing is lost:
// once the fault is gone every session works again, each for its own user. Tests run as root,
// where permissions do not stop writes, so the faults are mounts: they need CAP_SYS_ADMIN and
// skip without it.
func TestSessionFolderFaults(t *testing.T) {
	t.Run("read-only", func(t *testing.T) {
		h := stacktest.Start(t, stacktest.Options{NoAutoLogin: true})
		dir := h.Cfg.SessionDir
		users := signInThree(t, h)
		mount(t, dir, dir, "", syscall.MS_BIND, "")
		ro := true
		undo := func() {
			if ro {
				unmount(t, dir)
				ro = false
			}
		}
		t.Cleanup(undo)
		mount(t, "", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, "")
		if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o600); !errors.Is(err, syscall.EROFS) {
			t.Fatalf("the folder is not read-only: %v", err)
		}
		expectStoreFailure(t, h, users[0].c, "read-only file system")
		undo()
		expectAllWork(t, h, users)
	})

	t.Run("out of space", func(t *testing.T) {
		mnt := t.TempDir()
		mount(t, "tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700")
		t.Cleanup(func() { unmount(t, mnt) })
		h := stacktest.Start(t, stacktest.Options{NoAutoLogin: true, Env: map[string]string{
			"SESSION_DIR": filepath.Join(mnt, "sessions")}})
		users := signInThree(t, h)
		filler := filepath.Join(mnt, "filler")
		fillUp(t, filler)
		expectStoreFailure(t, h, users[0].c, "no space left on device")
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		expectAllWork(t, h, users)
	})

	t.Run("vanished and cannot be recreated", func(t *testing.T) {
		h := stacktest.Start(t, stacktest.Options{NoAutoLogin: true})
		dir := h.Cfg.SessionDir
		users := signInThree(t, h)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		// A file where the folder was: the store cannot make the folder again.
		if err := os.WriteFile(dir, []byte("not a folder"), 0o600); err != nil {
			t.Fatal(err)
		}
		c := h.Browser()
		h.Emu.SetAutoApprove(emulator.DemoClientID, users[0].id)
		p := h.Get(c, h.AuthorizeURL(c))
		if p.Status != http.StatusInternalServerError {
			t.Fatalf("sign-in with no session folder: %d\n%s", p.Status, p.Body)
		}
		stacktest.MustContain(t, p, "Session storage failed")
		expectLogged(t, h, "not a directory")
		// Once the path is free, the store makes the folder again without a restart; the
		// sessions it held are gone, so everyone signs in again.
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if p := h.Get(u.c, "/"); p.URL.Path != "/login" || p.Status != http.StatusOK {
				t.Errorf("%s after the folder vanished: %d at %s", u.name, p.Status, p.URL)
			}
		}
		h.Emu.SetAutoApprove(emulator.DemoClientID, users[0].id)
		h.SignIn(users[0].c)
		expectLogged(t, h, "directory has vanished; recreating it")
	})
}

type signedIn struct {
	name, id string
	c        *http.Client
}

// signInThree signs three users in, each in their own browser.
func signInThree(t *testing.T, h *stacktest.Stack) []signedIn {
	t.Helper()
	var out []signedIn
	for _, u := range emulator.DefaultConfig().Users[:3] {
		h.Emu.SetAutoApprove(emulator.DemoClientID, u.ID)
		c := h.Browser()
		stacktest.MustContain(t, h.SignIn(c), u.DisplayName)
		out = append(out, signedIn{name: u.DisplayName, id: u.ID, c: c})
	}
	return out
}

// expectStoreFailure: reading pages work, sign-ins (which must save) get the 500 page, and the
// log says why.
func expectStoreFailure(t *testing.T, h *stacktest.Stack, c *http.Client, why string) {
	t.Helper()
	// A page that only reads the session still works: it has nothing to save. (Not /msal-demo:
	// its first call after sign-in records step 6 for /flow.)
	for _, path := range []string{"/"} {
		if p := h.Get(c, path); p.Status != http.StatusOK {
			t.Errorf("GET %s (reads the session only) during the fault: %d, want 200\n%s", path, p.Status, p.Body)
		}
	}
	// The sign-in page stores nothing (the sign-in in progress is in a sealed cookie): it works.
	if p := h.Get(h.Browser(), "/login"); p.Status != http.StatusOK {
		t.Errorf("GET /login during the fault: %d, want 200\n%s", p.Status, p.Body)
	}
	// Completing a sign-in must save a new session: it fails with the error page. (A signed-in
	// user signing in again may succeed on a full disk: renewing deletes the old session first.)
	h.Emu.SetAutoApprove(emulator.DemoClientID, emulator.DefaultConfig().Users[0].ID)
	nc := h.Browser()
	p := h.Get(nc, h.AuthorizeURL(nc))
	if p.Status != http.StatusInternalServerError {
		t.Fatalf("sign-in during the fault: %d, want 500\n%s", p.Status, p.Body)
	}
	stacktest.MustContain(t, p, "Session storage failed", "could not save your session")
	expectLogged(t, h, why)
}

func expectLogged(t *testing.T, h *stacktest.Stack, why string) {
	t.Helper()
	for _, line := range strings.Split(h.Logs.String(), "\n") {
		if strings.Contains(line, why) && (strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN")) {
			return
		}
	}
	t.Errorf("no warning or error log line says %q:\n%s", why, h.Logs.String())
}

// expectAllWork: after the fault every session is still signed in as its own user, Graph
// included, and a new sign-in works.
func expectAllWork(t *testing.T, h *stacktest.Stack, users []signedIn) {
	t.Helper()
	for _, u := range users {
		p := h.Get(u.c, "/")
		if p.Status != http.StatusOK || p.URL.Path != "/" {
			t.Errorf("%s after the fault: %d at %s", u.name, p.Status, p.URL)
			continue
		}
		stacktest.MustContain(t, p, u.name)
		if d := h.Get(u.c, "/msal-demo"); d.Status != http.StatusOK {
			t.Errorf("%s: /msal-demo after the fault: %d", u.name, d.Status)
		} else {
			stacktest.MustContain(t, d, `"displayName": "`+u.name+`"`)
		}
	}
	h.Emu.SetAutoApprove(emulator.DemoClientID, users[2].id)
	h.SignIn(h.Browser())
}

func mount(t *testing.T, source, target, fstype string, flags uintptr, data string) {
	t.Helper()
	if err := syscall.Mount(source, target, fstype, flags, data); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			t.Skipf("cannot mount here (%v): this fault test needs root with CAP_SYS_ADMIN", err)
		}
		t.Fatalf("mount %s: %v", target, err)
	}
}

func unmount(t *testing.T, target string) {
	if err := syscall.Unmount(target, syscall.MNT_DETACH); err != nil {
		t.Errorf("unmount %s: %v", target, err)
	}
}

// fillUp writes to path until the file system is full.
func fillUp(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for i := 0; ; i++ {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
		if i > 1<<14 {
			t.Fatal(fmt.Errorf("the file system never filled up"))
		}
	}
	// Fill the last partial page too.
	for {
		if _, err := f.Write([]byte{0}); err != nil {
			break
		}
	}
}
