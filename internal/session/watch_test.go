//go:build linux

package session

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// on reports whether the cache is still in use (after reading the events queued).
func (w *dirWatch) on() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.readEventsLocked()
	return w.fd >= 0
}

// watchedStore is a test store whose inotify cache is on (the test directory is on a local file
// system), with token's session read once, so that the cache holds it.
func watchedStore(t *testing.T, token string, b []byte) *FileStore {
	t.Helper()
	s := newTestStore(t, FileStoreOptions{})
	if s.watch == nil || !s.watch.on() {
		t.Fatalf("the store in %s has no inotify cache", s.dir)
	}
	mustCommit(t, s, token, b, liveExpiry)
	wantFound(t, s, token, b)
	wantCached(t, s, token, b)
	return s
}

// wantCached fails unless the store's cache holds token's session as b.
func wantCached(t *testing.T, s *FileStore, token string, b []byte) {
	t.Helper()
	s.watch.mu.Lock()
	f, ok := s.watch.files[token]
	s.watch.mu.Unlock()
	if !ok || string(f.payload) != string(b) {
		t.Fatalf("the cache holds %q (%v) for %q; want %q", f.payload, ok, token, b)
	}
}

// Every way a session file changes, by this store, another store on the directory (as another
// instance would) or by hand, is seen by the next Find, with no time for events to arrive.
func TestWatchSeesEveryChange(t *testing.T) {
	changes := []struct {
		name   string
		change func(t *testing.T, s, other *FileStore, path string)
		want   []byte // nil: not found
	}{
		{"commit here", func(t *testing.T, s, _ *FileStore, _ string) { mustCommit(t, s, "tok", []byte("v2"), liveExpiry) }, []byte("v2")},
		{"commit by another instance", func(t *testing.T, _, o *FileStore, _ string) { mustCommit(t, o, "tok", []byte("v2"), liveExpiry) }, []byte("v2")},
		{"delete by another instance", func(t *testing.T, _, o *FileStore, _ string) {
			if err := o.Delete("tok"); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"expired by another instance", func(t *testing.T, _, o *FileStore, _ string) { mustCommit(t, o, "tok", []byte("v2"), pastExpiry) }, nil},
		{"rewritten in place", func(t *testing.T, _, _ *FileStore, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Write(encodeFile([]byte("v2"), liveExpiry))
			if err := errorsJoin(err, f.Close()); err != nil {
				t.Fatal(err)
			}
		}, []byte("v2")},
		{"truncated", func(t *testing.T, _, _ *FileStore, path string) {
			if err := os.Truncate(path, 10); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"renamed away", func(t *testing.T, _, _ *FileStore, path string) {
			if err := os.Rename(path, path+".old"); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"another session's file renamed over it", func(t *testing.T, _, o *FileStore, path string) {
			mustCommit(t, o, "someone else", []byte("theirs"), liveExpiry)
			if err := os.Rename(o.pathOf("someone else"), path); err != nil {
				t.Fatal(err)
			}
		}, []byte("theirs")},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			s := watchedStore(t, "tok", []byte("v1"))
			other, err := NewFileStore(s.dir, FileStoreOptions{SweepInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = other.Close() })
			c.change(t, s, other, s.pathOf("tok"))
			if c.want == nil {
				wantNotFound(t, s, "tok")
			} else {
				wantFound(t, s, "tok", c.want)
				wantCached(t, s, "tok", c.want) // and the cache holds the new one
			}
		})
	}
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// A file that changes after Find read it but before the cache keeps it must not be kept: the
// event for the change may already have been read (by another Find) by then.
func TestWatchKeepsNothingChangedWhileRead(t *testing.T) {
	s := newTestStore(t, FileStoreOptions{})
	if s.watch == nil {
		t.Fatal("no inotify cache")
	}
	mustCommit(t, s, "tok", []byte("v1"), liveExpiry)
	s.hook = func(step string) error {
		if step == "view-keep" {
			s.hook = nil
			mustCommit(t, s, "tok", []byte("v2"), liveExpiry) // between the read and the keep
			wantFound(t, s, "tok", []byte("v2"))              // a second Find reads the event
		}
		return nil
	}
	wantFound(t, s, "tok", []byte("v1")) // what was read, for this call
	wantFound(t, s, "tok", []byte("v2"))
}

// A cached session still ends at its expiry, with no file event to say so.
func TestWatchKeepsExpiry(t *testing.T) {
	s := newTestStore(t, FileStoreOptions{})
	expiry := time.Now().Add(300 * time.Millisecond)
	mustCommit(t, s, "tok", []byte("v1"), expiry)
	wantFound(t, s, "tok", []byte("v1"))
	wantCached(t, s, "tok", []byte("v1"))
	time.Sleep(time.Until(expiry) + 10*time.Millisecond)
	wantNotFound(t, s, "tok")
}

// When the directory, or one above it, is moved away and a new one takes its path, Find must see
// the new directory's files (none), not what the cache kept from the old one.
func TestWatchOffWhenDirectoryMoves(t *testing.T) {
	for _, level := range []string{"the directory", "its parent"} {
		t.Run(level, func(t *testing.T) {
			s := watchedStore(t, "tok", []byte("v1"))
			moved := s.dir
			if level == "its parent" {
				moved = filepath.Dir(s.dir)
			}
			if err := os.Rename(moved, moved+".old"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.RemoveAll(moved + ".old") })
			if err := os.MkdirAll(s.dir, 0o700); err != nil {
				t.Fatal(err)
			}
			wantNotFound(t, s, "tok")
			if s.watch.on() {
				t.Error("the cache is still on")
			}
			mustCommit(t, s, "tok", []byte("v2"), liveExpiry) // the store goes on, reading files
			wantFound(t, s, "tok", []byte("v2"))
		})
	}
}

// When more changes come than the kernel queues, the ones after are lost: the cache must then
// forget everything, not only the files the events it did get name.
func TestWatchForgetsAllOnOverflow(t *testing.T) {
	limit := 16384
	if b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			limit = n
		}
	}
	if limit > 1<<20 {
		t.Skipf("max_queued_events is %d", limit)
	}
	s := watchedStore(t, "tok", []byte("v1"))
	// Fill the queue with changes to other files (alternating, so the kernel cannot merge them).
	paths := []string{filepath.Join(s.dir, "a"), filepath.Join(s.dir, "b")}
	for i := 0; i <= limit/2+1; i++ {
		for _, p := range paths {
			err := os.Chmod(p, 0o600)
			if os.IsNotExist(err) {
				err = os.WriteFile(p, nil, 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// This change's event is lost.
	other, err := NewFileStore(s.dir, FileStoreOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	mustCommit(t, other, "tok", []byte("v2"), liveExpiry)
	wantFound(t, s, "tok", []byte("v2"))
}

// The cache is used only where inotify is known to see every change: not through a path with a
// symbolic link in it (the link could be pointed elsewhere).
func TestWatchNotThroughSymlinks(t *testing.T) {
	real := filepath.Join(t.TempDir(), "real")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	s, err := NewFileStore(filepath.Join(link, "sessions"), FileStoreOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if s.watch != nil {
		t.Error("a store reached through a symbolic link has an inotify cache")
	}
}

// After Close, the store reads files and still sees changes.
func TestWatchClosed(t *testing.T) {
	s := watchedStore(t, "tok", []byte("v1"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.watch.on() {
		t.Fatal("the cache is on after Close")
	}
	if err := os.WriteFile(s.pathOf("tok"), encodeFile([]byte("v2"), liveExpiry), 0o600); err != nil {
		t.Fatal(err)
	}
	wantFound(t, s, "tok", []byte("v2"))
}

// A sealed record the file store's cache hands out is kept by the sealing wrapper as that very
// array, so an unchanged session's next load compares one array with itself instead of reading
// two copies; a changed one is still opened afresh.
func TestSealedStoreAdoptsCachedRecords(t *testing.T) {
	fs := newTestStore(t, FileStoreOptions{})
	st := Sealed(fs, RandomKeys()).(*sealedIterable)
	if err := st.Commit("tok", []byte("v1"), liveExpiry); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if p, found, err := st.Find("tok"); string(p) != "v1" || !found || err != nil {
			t.Fatalf("Find = %q, %v, %v", p, found, err)
		}
	}
	fs.watch.mu.Lock()
	cached := fs.watch.files["tok"].payload
	fs.watch.mu.Unlock()
	st.opened.mu.Lock()
	kept := st.opened.m["tok"].sealed
	st.opened.mu.Unlock()
	if len(cached) == 0 || len(kept) != len(cached) || &kept[0] != &cached[0] {
		t.Fatalf("the sealing wrapper keeps its own copy of the cached record")
	}
	other, err := NewFileStore(fs.dir, FileStoreOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	if err := Sealed(other, st.keys).Commit("tok", []byte("v2"), liveExpiry); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := st.Find("tok"); string(p) != "v2" {
		t.Fatalf("after another instance's commit: %q, want v2", p)
	}
}
