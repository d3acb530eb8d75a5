package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

// newTestStore returns a store in a fresh "sessions" directory under
// t.TempDir(), without a background sweeper unless opts asks for one.
func newTestStore(t testing.TB, opts FileStoreOptions) *FileStore {
	t.Helper()
	if opts.SweepInterval == 0 {
		opts.SweepInterval = -1
	}
	s, err := NewFileStore(filepath.Join(t.TempDir(), "sessions"), opts)
	if err != nil {
		t.Fatalf("NewFileStore: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func (s *FileStore) pathOf(token string) string {
	return filepath.Join(s.dir, fileName(token))
}

// dirNames lists the names in dir, sorted.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Name() != lockFileName { // the advisory lock of conditional commits
			names = append(names, e.Name())
		}
	}
	return names
}

// tempFiles lists the temporary files left in the store's directory.
func tempFiles(t testing.TB, s *FileStore) []string {
	t.Helper()
	var got []string
	for _, name := range dirNames(t, s.dir) {
		if strings.HasPrefix(name, tempPrefix) {
			got = append(got, name)
		}
	}
	return got
}

func mustCommit(t testing.TB, s *FileStore, token string, b []byte, expiry time.Time) {
	t.Helper()
	if err := s.Commit(token, b, expiry); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func wantFound(t testing.TB, s *FileStore, token string, want []byte) {
	t.Helper()
	got, found, err := s.Find(token)
	if err != nil || !found || !bytes.Equal(got, want) {
		t.Fatalf("Find = %.40q, %v, %v; want %.40q, true, nil", got, found, err, want)
	}
}

func wantNotFound(t testing.TB, s *FileStore, token string) {
	t.Helper()
	got, found, err := s.Find(token)
	if err != nil || found || got != nil {
		t.Fatalf("Find = %.40q, %v, %v; want nil, false, nil", got, found, err)
	}
}

func wantMode(t testing.TB, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %v, want %v", filepath.Base(path), got, want)
	}
}

var (
	liveExpiry = time.Now().Add(24 * time.Hour)
	pastExpiry = time.Now().Add(-time.Second)
)

func TestNewFileStore(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr bool
	}{
		{name: "creates missing dir and parents", setup: func(t *testing.T, dir string) {}},
		{name: "tightens an existing 0755 dir", setup: func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o755); err != nil { // pastExpiry the umask
				t.Fatal(err)
			}
		}},
		{name: "keeps a 0700 dir and its files", setup: func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "keep"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "refuses a regular file", wantErr: true, setup: func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dir, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "refuses a path under a regular file", wantErr: true, setup: func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Dir(filepath.Dir(dir)), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Dir(dir), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a", "b", "sessions")
			tt.setup(t, dir)
			s, err := NewFileStore(dir, FileStoreOptions{SweepInterval: -1})
			if tt.wantErr {
				if err == nil {
					s.Close()
					t.Fatal("NewFileStore succeeded, want an error")
				}
				if !strings.HasPrefix(err.Error(), "session store: ") {
					t.Errorf("error %q lacks context", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewFileStore: %v", err)
			}
			defer s.Close()
			wantMode(t, dir, 0o700)
		})
	}

	t.Run("refuses an empty path", func(t *testing.T) {
		if _, err := NewFileStore("", FileStoreOptions{}); err == nil {
			t.Fatal("NewFileStore(\"\") succeeded, want an error")
		}
	})
}

func TestFileStoreRoundTrip(t *testing.T) {
	big := make([]byte, 1<<20)
	rand.Read(big)
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", []byte{}},
		{"small", []byte("hello")},
		{"binary with NULs", []byte{0, 1, 2, 0, 255}},
		{"2 KB token cache", bytes.Repeat([]byte(`{"rt":"x"}`), 205)},
		{"1 MB", big},
	}
	s := newTestStore(t, FileStoreOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := "token-" + tt.name
			mustCommit(t, s, token, tt.payload, liveExpiry)
			wantFound(t, s, token, tt.payload)
			wantMode(t, s.pathOf(token), 0o600)

			// Overwrite, then delete (twice: a missing session is not an error).
			mustCommit(t, s, token, []byte("second"), liveExpiry)
			wantFound(t, s, token, []byte("second"))
			for range 2 {
				if err := s.Delete(token); err != nil {
					t.Fatalf("Delete: %v", err)
				}
				wantNotFound(t, s, token)
			}
		})
	}
	wantMode(t, s.dir, 0o700)
	if got := tempFiles(t, s); len(got) != 0 {
		t.Errorf("temporary files left: %v", got)
	}
}

func TestFileStoreDurable(t *testing.T) {
	s := newTestStore(t, FileStoreOptions{Durable: true})
	mustCommit(t, s, "t", []byte("durable"), liveExpiry)
	wantFound(t, s, "t", []byte("durable"))
	if err := s.Delete("t"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, s, "t")
}

func TestFileStoreExpiry(t *testing.T) {
	tests := []struct {
		name   string
		expiry time.Time
		found  bool
	}{
		{"in an hour", time.Now().Add(time.Hour), true},
		{"far liveExpiry (beyond int64 nanoseconds)", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"a second ago", time.Now().Add(-time.Second), false},
		{"zero time", time.Time{}, false},
	}
	s := newTestStore(t, FileStoreOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustCommit(t, s, tt.name, []byte("data"), tt.expiry)
			if tt.found {
				wantFound(t, s, tt.name, []byte("data"))
			} else {
				wantNotFound(t, s, tt.name)
			}
		})
	}

	t.Run("expires while stored", func(t *testing.T) {
		mustCommit(t, s, "short", []byte("data"), time.Now().Add(50*time.Millisecond))
		wantFound(t, s, "short", []byte("data"))
		time.Sleep(60 * time.Millisecond)
		wantNotFound(t, s, "short")
	})
}

func TestDecodeFile(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	payload := []byte("session data")
	valid := encodeFile(payload, now.Add(time.Hour))
	with := func(f func(b []byte) []byte) []byte { return f(slices.Clone(valid)) }

	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"valid", valid, true},
		{"valid, empty payload", encodeFile(nil, now.Add(time.Hour)), true},
		{"expires one nanosecond from now", encodeFile(payload, now.Add(1)), true},
		{"expires exactly now", encodeFile(payload, now), false},
		{"expired", encodeFile(payload, now.Add(-time.Hour)), false},
		{"nil", nil, false},
		{"empty", []byte{}, false},
		{"header only, payload missing", valid[:headerSize], false},
		{"payload truncated", valid[:len(valid)-1], false},
		{"trailing byte", append(slices.Clone(valid), 0), false},
		{"garbage", []byte("this is not a session file at all, not even close"), false},
		{"bad magic", with(func(b []byte) []byte { b[0] = 'X'; return b }), false},
		{"version 2", with(func(b []byte) []byte { b[4] = 2; return b }), false},
		{"reserved byte set", with(func(b []byte) []byte { b[6] = 1; return b }), false},
		{"length larger than file", with(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[16:20], 1<<31)
			return b
		}), false},
		{"payload changed, checksum not", with(func(b []byte) []byte { b[headerSize] ^= 0x20; return b }), false},
		{"expiry extended, checksum not", with(func(b []byte) []byte { b[8] ^= 0x01; return b }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodeFile(tt.data, now)
			if ok != tt.ok {
				t.Fatalf("decodeFile ok = %v, want %v", ok, tt.ok)
			}
			if !ok && got != nil {
				t.Errorf("decodeFile returned payload %q with ok=false", got)
			}
		})
	}

	t.Run("every single-bit flip is rejected", func(t *testing.T) {
		for i := range len(valid) * 8 {
			b := slices.Clone(valid)
			b[i/8] ^= 1 << (i % 8)
			if _, ok := decodeFile(b, now); ok {
				t.Fatalf("flipping bit %d of byte %d was not detected", i%8, i/8)
			}
		}
	})
	t.Run("every truncation is rejected", func(t *testing.T) {
		for n := range len(valid) {
			if _, ok := decodeFile(valid[:n], now); ok {
				t.Fatalf("file truncated to %d bytes was accepted", n)
			}
		}
	})
}

func TestFileStoreDamagedFiles(t *testing.T) {
	valid := encodeFile([]byte("the session"), liveExpiry)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty file", []byte{}},
		{"truncated header", valid[:10]},
		{"truncated payload", valid[:len(valid)-3]},
		{"garbage", []byte("\x00\xffnot a session file, but long enough to have a header")},
		{"bad magic", append([]byte("XXXX"), valid[4:]...)},
		{"flipped payload bit", func() []byte { b := slices.Clone(valid); b[len(b)-1] ^= 1; return b }()},
	}
	s := newTestStore(t, FileStoreOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustCommit(t, s, tt.name, []byte("the session"), liveExpiry)
			if err := os.WriteFile(s.pathOf(tt.name), tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			wantNotFound(t, s, tt.name)
		})
	}
}

// hostileTokens are cookie values an attacker might send.
var hostileTokens = []string{
	"../../etc/passwd",
	"",
	"a/b",
	"\x00",
	"abc\x00../../x",
	"/etc/passwd",
	".",
	"..",
	`..\..\windows`,
	".tmp-looks-like-a-temp-file",
	"line\nbreak",
	"\xff\xfe not utf-8",
	strings.Repeat("../", 10<<10/3), // a 10 KB token
}

// checkContained fails unless every file under root is inside dir.
func checkContained(t testing.TB, root, dir string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Dir(path) != dir {
			t.Errorf("file %q written outside the store's directory", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFileStoreHostileTokens(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "sessions")
	s, err := NewFileStore(dir, FileStoreOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	for _, token := range hostileTokens {
		t.Run(fmt.Sprintf("%.20q", token), func(t *testing.T) {
			data := []byte("data")
			mustCommit(t, s, token, data, liveExpiry)
			if got, want := dirNames(t, dir), []string{fileName(token)}; !slices.Equal(got, want) {
				t.Fatalf("directory holds %q, want %q", got, want)
			}
			checkContained(t, root, dir)
			wantFound(t, s, token, data)
			if err := s.Delete(token); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if got := dirNames(t, dir); len(got) != 0 {
				t.Fatalf("directory holds %q after Delete", got)
			}
		})
	}
}

// TestFileStoreReaderNeverSeesPartialFile rewrites one session in a loop from
// two writers while readers look it up: each read must find the session (the
// file is replaced, never absent) and see exactly one writer's payload.
func TestFileStoreReaderNeverSeesPartialFile(t *testing.T) {
	s := newTestStore(t, FileStoreOptions{})
	const token = "rewritten"
	sizes := []int{0, 1, 700, 2 << 10, 64 << 10}
	// Payload k is len sizes[k%len(sizes)], every byte equal to k (mod 250,
	// a multiple of len(sizes), so that the byte still tells the length).
	payload := func(k int) []byte { k %= 250; return bytes.Repeat([]byte{byte(k)}, sizes[k%len(sizes)]) }
	check := func(b []byte) error {
		if len(b) == 0 {
			return nil
		}
		k := int(b[0])
		if len(b) != sizes[k%len(sizes)] || bytes.Count(b, b[:1]) != len(b) {
			return fmt.Errorf("mixed or partial payload: len %d, first byte %d", len(b), k)
		}
		return nil
	}
	mustCommit(t, s, token, payload(1), liveExpiry)

	const writes = 400 // per writer
	var writers, readers sync.WaitGroup
	done := make(chan struct{})
	var reads atomic.Int64
	for w := range 2 {
		writers.Go(func() {
			for i := range writes {
				if err := s.Commit(token, payload(w*writes+i), liveExpiry); err != nil {
					t.Errorf("Commit: %v", err)
					return
				}
			}
		})
	}
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				b, found, err := s.Find(token)
				reads.Add(1)
				if err != nil || !found {
					t.Errorf("Find during rewrite = found %v, err %v; want the old or new session", found, err)
					return
				}
				if err := check(b); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(done)
	readers.Wait()
	if got := reads.Load(); got < 100 {
		t.Errorf("only %d reads overlapped the writes", got)
	}
	if got := tempFiles(t, s); len(got) != 0 {
		t.Errorf("temporary files left: %v", got)
	}
}

// TestFileStoreConcurrentUse runs Commit, Find and Delete on shared and private
// tokens from many goroutines while Sweep runs in a loop.
func TestFileStoreConcurrentUse(t *testing.T) {
	s := newTestStore(t, FileStoreOptions{})
	// Work for the sweeper: expired and damaged sessions, and live ones it must keep.
	for i := range 50 {
		mustCommit(t, s, fmt.Sprint("expired-", i), []byte("old"), pastExpiry)
		if err := os.WriteFile(s.pathOf(fmt.Sprint("damaged-", i)), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		mustCommit(t, s, fmt.Sprint("live-", i), []byte("live"), liveExpiry)
	}

	const workers, iterations = 8, 100
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var sweeper sync.WaitGroup
	sweeper.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Sweep(); err != nil {
				t.Errorf("Sweep: %v", err)
				return
			}
		}
	})
	for w := range workers {
		wg.Go(func() {
			mine := fmt.Sprint("private-", w)
			for i := range iterations {
				want := fmt.Appendf(nil, "%d/%d", w, i)
				if err := s.Commit(mine, want, liveExpiry); err != nil {
					t.Errorf("Commit: %v", err)
					return
				}
				got, found, err := s.Find(mine)
				if err != nil || !found || !bytes.Equal(got, want) {
					t.Errorf("Find(private) = %q, %v, %v; want %q", got, found, err, want)
					return
				}
				shared := fmt.Sprint("shared-", i%3)
				if err := s.Commit(shared, want, liveExpiry); err != nil {
					t.Errorf("Commit(shared): %v", err)
					return
				}
				if _, _, err := s.Find(shared); err != nil {
					t.Errorf("Find(shared): %v", err)
					return
				}
				if i%5 == 0 {
					if err := s.Delete(shared); err != nil {
						t.Errorf("Delete(shared): %v", err)
						return
					}
				}
				live := fmt.Sprint("live-", i%10)
				if _, found, err := s.Find(live); !found || err != nil {
					t.Errorf("Find(live) during sweep = %v, %v", found, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	sweeper.Wait()

	if _, err := s.Sweep(); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	for i := range 50 {
		if _, err := os.Stat(s.pathOf(fmt.Sprint("expired-", i))); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("expired session %d survived the sweep: %v", i, err)
		}
	}
	for i := range 10 {
		wantFound(t, s, fmt.Sprint("live-", i), []byte("live"))
	}
	for w := range workers {
		wantFound(t, s, fmt.Sprint("private-", w), fmt.Appendf(nil, "%d/%d", w, iterations-1))
	}
}

func TestFileStoreSweep(t *testing.T) {
	s := newTestStore(t, FileStoreOptions{})
	longAgo := time.Now().Add(-2 * staleTempAge)
	write := func(t *testing.T, name string, data []byte, mtime time.Time) {
		t.Helper()
		path := filepath.Join(s.dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if !mtime.IsZero() {
			if err := os.Chtimes(path, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
	valid := encodeFile([]byte("x"), liveExpiry)
	tests := []struct {
		name     string
		file     string
		setup    func(t *testing.T, file string)
		wantKept bool
	}{
		{"live session", fileName("live"), func(t *testing.T, f string) { mustCommit(t, s, "live", []byte("x"), liveExpiry) }, true},
		{"expired session", fileName("expired"), func(t *testing.T, f string) { mustCommit(t, s, "expired", []byte("x"), pastExpiry) }, false},
		{"garbage", fileName("garbage"), func(t *testing.T, f string) { write(t, f, []byte("garbage garbage garbage"), time.Time{}) }, false},
		{"truncated", fileName("truncated"), func(t *testing.T, f string) { write(t, f, valid[:len(valid)-1], time.Time{}) }, false},
		{"empty", fileName("empty"), func(t *testing.T, f string) { write(t, f, nil, time.Time{}) }, false},
		{"stale temp file", tempPrefix + "123", func(t *testing.T, f string) { write(t, f, []byte("half"), longAgo) }, false},
		{"stale ping file", tempPrefix + "ping-123", func(t *testing.T, f string) { write(t, f, nil, longAgo) }, false},
		{"fresh temp file (commit in flight)", tempPrefix + "456", func(t *testing.T, f string) { write(t, f, []byte("half"), time.Time{}) }, true},
		{"someone else's file", "README", func(t *testing.T, f string) { write(t, f, []byte("hi"), longAgo) }, true},
		{"directory with a session name", fileName("dir"), func(t *testing.T, f string) {
			if err := os.Mkdir(filepath.Join(s.dir, f), 0o700); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	wantRemoved := 0
	for _, tt := range tests {
		tt.setup(t, tt.file)
		if !tt.wantKept {
			wantRemoved++
		}
	}

	removed, err := s.Sweep()
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if removed != wantRemoved {
		t.Errorf("Sweep removed %d files, want %d", removed, wantRemoved)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := os.Stat(filepath.Join(s.dir, tt.file))
			if kept := err == nil; kept != tt.wantKept {
				t.Errorf("kept = %v (stat: %v), want %v", kept, err, tt.wantKept)
			}
		})
	}
	wantFound(t, s, "live", []byte("x"))

	if removed, err := s.Sweep(); removed != 0 || err != nil {
		t.Errorf("second Sweep = %d, %v; want 0, nil", removed, err)
	}
}

// TestSweepKeepsSessionCommittedDuringCheck commits a live session between
// Sweep finding the old, expired file and removing it: the new one must stay.
func TestSweepKeepsSessionCommittedDuringCheck(t *testing.T) {
	s := newTestStore(t, FileStoreOptions{})
	mustCommit(t, s, "tok", []byte("expired"), pastExpiry)
	s.hook = func(step string) error {
		if step == "sweep-recheck" {
			mustCommit(t, s, "tok", []byte("signed in again"), liveExpiry)
		}
		return nil
	}
	removed, err := s.Sweep()
	if removed != 0 || err != nil {
		t.Fatalf("Sweep = %d, %v; want 0, nil", removed, err)
	}
	wantFound(t, s, "tok", []byte("signed in again"))
}

// A Delete that comes between a conditional commit's check and its rename waits for the rename,
// then removes the file: it must not run in that window, or the rename writes the deleted session
// back. The deleter is the same store (its stripe mutex) or, on Linux, another store on the
// directory (the advisory lock file), as a second instance would be.
func TestDeleteWaitsForConditionalCommit(t *testing.T) {
	s := newTestStore(t, FileStoreOptions{})
	deleters := map[string]*FileStore{"same store": s}
	if runtime.GOOS == "linux" {
		other, err := NewFileStore(s.dir, FileStoreOptions{SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = other.Close() })
		deleters["another store"] = other
	}
	for name, d := range deleters {
		mustCommit(t, s, "tok", []byte("signed in"), liveExpiry)
		deleted := make(chan error, 1)
		s.hook = func(step string) error {
			if step == "rename" {
				go func() { deleted <- d.Delete("tok") }()
				time.Sleep(50 * time.Millisecond) // time for a Delete that does not wait to remove the file
			}
			return nil
		}
		err := s.CommitCtx(IfExists(context.Background()), "tok", []byte("written back"), liveExpiry)
		s.hook = nil
		if err != nil {
			t.Fatalf("%s: the commit: %v", name, err)
		}
		if err := <-deleted; err != nil {
			t.Fatal(err)
		}
		if _, found, _ := s.Find("tok"); found {
			t.Errorf("%s: a Delete during a commit's check and rename was undone by the rename", name)
		}
	}
}

func TestFileStoreClose(t *testing.T) {
	t.Run("stops the sweeper", func(t *testing.T) {
		s := newTestStore(t, FileStoreOptions{SweepInterval: time.Millisecond})
		mustCommit(t, s, "expired", []byte("x"), pastExpiry)
		waitUntil(t, "the sweeper removes an expired file", func() bool {
			_, err := os.Stat(s.pathOf("expired"))
			return errors.Is(err, fs.ErrNotExist)
		})

		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case <-s.done:
		default:
			t.Fatal("Close returned before the sweeper goroutine ended")
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}

		// No sweeper any more, but the store still works.
		mustCommit(t, s, "expired-after-close", []byte("x"), pastExpiry)
		mustCommit(t, s, "live", []byte("x"), liveExpiry)
		time.Sleep(20 * time.Millisecond)
		if _, err := os.Stat(s.pathOf("expired-after-close")); err != nil {
			t.Errorf("a file was swept after Close: %v", err)
		}
		wantFound(t, s, "live", []byte("x"))
	})

	t.Run("goroutine count", func(t *testing.T) {
		before := runtime.NumGoroutine()
		s, err := NewFileStore(t.TempDir(), FileStoreOptions{SweepInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if got := runtime.NumGoroutine(); got != before+1 {
			t.Errorf("goroutines after NewFileStore = %d, want %d", got, before+1)
		}
		s.Close()
		// The sweeper has signalled done; give it a moment to return.
		waitUntil(t, "the sweeper goroutine exits", func() bool { return runtime.NumGoroutine() <= before })
	})

	tests := []struct {
		name        string
		interval    time.Duration
		wantSweeper bool
	}{
		{"default interval", 0, true},
		{"disabled", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewFileStore(t.TempDir(), FileStoreOptions{SweepInterval: tt.interval})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.done != nil; got != tt.wantSweeper {
				t.Errorf("sweeper running = %v, want %v", got, tt.wantSweeper)
			}
			var wg sync.WaitGroup
			for range 3 { // concurrent, repeated Close
				wg.Go(func() {
					if err := s.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				})
			}
			wg.Wait()
		})
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFileStoreUnwritableDir commits into a directory that refuses writes: the
// commit fails with a wrapped error and other sessions stay as they were.
func TestFileStoreUnwritableDir(t *testing.T) {
	s := newTestStore(t, FileStoreOptions{})
	mustCommit(t, s, "other", []byte("other session"), liveExpiry)
	mustCommit(t, s, "mine", []byte("my old session"), liveExpiry)

	if os.Geteuid() == 0 {
		// Root ignores the directory's mode, so chmod 0500 would not stop the
		// writes: fail file creation the way the kernel would.
		t.Log("running as root, where mode 0500 does not stop writes: injecting EACCES at file creation")
		s.hook = func(step string) error {
			if step == "create" {
				return &fs.PathError{Op: "open", Path: s.dir, Err: syscall.EACCES}
			}
			return nil
		}
	} else {
		if err := os.Chmod(s.dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(s.dir, 0o700) })
	}

	for _, token := range []string{"new", "mine"} {
		err := s.Commit(token, []byte("new data"), liveExpiry)
		if err == nil {
			t.Fatalf("Commit(%q) into a read-only dir succeeded", token)
		}
		if !errors.Is(err, fs.ErrPermission) || !strings.HasPrefix(err.Error(), "session store: commit: ") {
			t.Errorf("Commit error = %v; want a wrapped permission error", err)
		}
	}
	if err := s.Ping(); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Ping = %v; want a permission error", err)
	}
	wantFound(t, s, "other", []byte("other session"))
	wantFound(t, s, "mine", []byte("my old session"))
	wantNotFound(t, s, "new")
	if got, want := len(dirNames(t, s.dir)), 2; got != want {
		t.Errorf("directory holds %d files, want %d", got, want)
	}
}

// TestFileStoreCommitFailure fails each step of Commit in turn: the error is
// wrapped, the temporary file is gone and the previous session is intact.
func TestFileStoreCommitFailure(t *testing.T) {
	injected := errors.New("injected failure")
	for _, step := range []string{"create", "write", "sync", "close", "rename"} {
		t.Run(step, func(t *testing.T) {
			s := newTestStore(t, FileStoreOptions{Durable: true})
			mustCommit(t, s, "other", []byte("other session"), liveExpiry)
			mustCommit(t, s, "mine", []byte("old"), liveExpiry)
			s.hook = func(got string) error {
				if got == step {
					return injected
				}
				return nil
			}
			err := s.Commit("mine", []byte("new"), liveExpiry)
			if !errors.Is(err, injected) || !strings.HasPrefix(err.Error(), "session store: commit: ") {
				t.Fatalf("Commit = %v; want the wrapped injected error", err)
			}
			wantFound(t, s, "mine", []byte("old"))
			wantFound(t, s, "other", []byte("other session"))
			if got := tempFiles(t, s); len(got) != 0 {
				t.Errorf("temporary files left: %v", got)
			}
		})
	}

	// A real OS failure, which works as root too: rename onto a directory.
	t.Run("target is a directory", func(t *testing.T) {
		s := newTestStore(t, FileStoreOptions{})
		mustCommit(t, s, "other", []byte("other session"), liveExpiry)
		if err := os.Mkdir(s.pathOf("mine"), 0o700); err != nil {
			t.Fatal(err)
		}
		err := s.Commit("mine", []byte("new"), liveExpiry)
		if err == nil || !strings.HasPrefix(err.Error(), "session store: commit: ") {
			t.Fatalf("Commit = %v; want a wrapped error", err)
		}
		if _, _, err := s.Find("mine"); err == nil {
			t.Errorf("Find on a directory returned no error")
		}
		wantFound(t, s, "other", []byte("other session"))
		if got := tempFiles(t, s); len(got) != 0 {
			t.Errorf("temporary files left: %v", got)
		}
	})
}

// TestFileStoreFindIOError checks that Find reports a real I/O failure as an
// error rather than as a missing session.
func TestFileStoreFindIOError(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"session path is a directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"session file unreadable", func(t *testing.T, path string) {
			if os.Geteuid() == 0 {
				// Root reads a mode 0000 file anyway: make the read fail instead.
				t.Log("running as root, where mode 0000 does not stop reads: using a directory instead")
				if err := os.Mkdir(path, 0o000); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err := os.WriteFile(path, encodeFile([]byte("x"), liveExpiry), 0o000); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t, FileStoreOptions{})
			tt.setup(t, s.pathOf("t"))
			b, found, err := s.Find("t")
			if err == nil || found || b != nil {
				t.Fatalf("Find = %q, %v, %v; want nil, false and an error", b, found, err)
			}
			if !strings.HasPrefix(err.Error(), "session store: find: ") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

func TestFileStoreVanishedDir(t *testing.T) {
	t.Run("removed: reads miss, Commit recreates it", func(t *testing.T) {
		var logs bytes.Buffer
		s := newTestStore(t, FileStoreOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		const token = "secret-token-value"
		mustCommit(t, s, token, []byte("x"), liveExpiry)
		if err := os.RemoveAll(s.dir); err != nil {
			t.Fatal(err)
		}

		wantNotFound(t, s, token)
		if err := s.Delete(token); err != nil {
			t.Errorf("Delete: %v", err)
		}
		if removed, err := s.Sweep(); removed != 0 || err != nil {
			t.Errorf("Sweep = %d, %v; want 0, nil", removed, err)
		}
		if err := s.Ping(); err == nil {
			t.Error("Ping succeeded with the directory gone")
		}

		mustCommit(t, s, token, []byte("y"), liveExpiry)
		wantMode(t, s.dir, 0o700)
		wantFound(t, s, token, []byte("y"))
		if err := s.Ping(); err != nil {
			t.Errorf("Ping after recreation: %v", err)
		}
		if !strings.Contains(logs.String(), "recreating") {
			t.Errorf("no warning logged; logs: %s", logs.String())
		}
		if strings.Contains(logs.String(), token) {
			t.Errorf("a session token was logged: %s", logs.String())
		}
	})

	t.Run("replaced by a file: every call errors cleanly", func(t *testing.T) {
		s := newTestStore(t, FileStoreOptions{})
		if err := os.RemoveAll(s.dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.dir, []byte("not a dir"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit("t", []byte("x"), liveExpiry); err == nil || !strings.HasPrefix(err.Error(), "session store: commit: ") {
			t.Errorf("Commit = %v; want a wrapped error", err)
		}
		if _, found, err := s.Find("t"); found || err == nil {
			t.Errorf("Find = %v, %v; want false and an error", found, err)
		}
		if err := s.Delete("t"); err == nil {
			t.Error("Delete succeeded")
		}
		if _, err := s.Sweep(); err == nil {
			t.Error("Sweep succeeded")
		}
		if err := s.Ping(); err == nil {
			t.Error("Ping succeeded")
		}
		if got, _ := os.ReadFile(s.dir); string(got) != "not a dir" {
			t.Errorf("the file in the way was changed to %q", got)
		}
	})
}

func TestFileStoreAll(t *testing.T) {
	s := newTestStore(t, FileStoreOptions{})
	mustCommit(t, s, "t", []byte("x"), liveExpiry)
	m, err := s.All()
	if !errors.Is(err, ErrIterationUnsupported) || m != nil {
		t.Errorf("All = %v, %v; want nil, ErrIterationUnsupported", m, err)
	}
}

// TestSCSIntegration drives the store through scs's LoadAndSave middleware
// with a cookie-jar client, as the web app does.
func TestSCSIntegration(t *testing.T) {
	store := newTestStore(t, FileStoreOptions{})
	sm := scs.New()
	sm.Store = store

	mux := http.NewServeMux()
	mux.HandleFunc("PUT /cache", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sm.Put(r.Context(), "msal", string(body))
	})
	mux.HandleFunc("GET /cache", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sm.GetString(r.Context(), "msal"))
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /iterate", func(w http.ResponseWriter, r *http.Request) {
		err := sm.Iterate(r.Context(), func(context.Context) error { return nil })
		if !errors.Is(err, ErrIterationUnsupported) {
			http.Error(w, fmt.Sprint(err), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewServer(sm.LoadAndSave(mux))
	defer srv.Close()

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := srv.Client()
	client.Jar = jar
	srvURL, _ := url.Parse(srv.URL)

	do := func(method, path, body string) string {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, got)
		}
		return string(got)
	}
	sessionToken := func() string {
		for _, c := range jar.Cookies(srvURL) {
			if c.Name == sm.Cookie.Name {
				return c.Value
			}
		}
		return ""
	}
	exists := func(token string) bool {
		_, err := os.Stat(store.pathOf(token))
		return err == nil
	}

	cache := strings.Repeat(`{"refresh_token":"r"}`, 100)
	do("PUT", "/cache", cache)
	oldToken := sessionToken()
	if oldToken == "" || !exists(oldToken) {
		t.Fatalf("no session file after Put (token %q)", oldToken)
	}
	if got := do("GET", "/cache", ""); got != cache {
		t.Fatalf("GET /cache = %.40q, want %.40q", got, cache)
	}

	do("POST", "/renew", "")
	newToken := sessionToken()
	if newToken == oldToken {
		t.Fatal("RenewToken kept the session token")
	}
	if exists(oldToken) {
		t.Error("RenewToken left the old session file")
	}
	if !exists(newToken) {
		t.Error("no session file for the renewed token")
	}
	if got := do("GET", "/cache", ""); got != cache {
		t.Fatalf("GET /cache after renew = %.40q, want %.40q", got, cache)
	}

	do("GET", "/iterate", "")
	do("POST", "/logout", "")
	if exists(newToken) {
		t.Error("Destroy left the session file")
	}
	if got := do("GET", "/cache", ""); got != "" {
		t.Errorf("GET /cache after logout = %.40q, want empty", got)
	}
}

var fuzzNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// FuzzDecodeFile checks that decodeFile never panics and accepts only files
// whose checksum, computed here independently, matches.
func FuzzDecodeFile(f *testing.F) {
	f.Add(encodeFile([]byte("session"), fuzzNow.Add(time.Hour)))
	f.Add(encodeFile(nil, fuzzNow.Add(-time.Hour)))
	table := crc32.MakeTable(crc32.Castagnoli)
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, ok := decodeFile(data, fuzzNow)
		if !ok {
			if payload != nil {
				t.Fatalf("payload %q returned with ok=false", payload)
			}
			return
		}
		if len(data) < headerSize {
			t.Fatalf("accepted %d bytes, shorter than a header", len(data))
		}
		h := crc32.New(table)
		h.Write(data[:20])
		h.Write(data[headerSize:])
		if got, want := h.Sum32(), binary.BigEndian.Uint32(data[20:24]); got != want {
			t.Fatalf("accepted a file whose checksum %08x does not match %08x", want, got)
		}
		if !bytes.Equal(payload, data[headerSize:]) {
			t.Fatal("payload is not the bytes after the header")
		}
		expiry := time.Unix(0, int64(binary.BigEndian.Uint64(data[8:16])))
		if !expiry.After(fuzzNow) {
			t.Fatalf("accepted a file that expired at %v", expiry)
		}
		if got := encodeFile(payload, expiry); !bytes.Equal(got, data) {
			t.Fatal("accepted file does not re-encode to the same bytes")
		}
	})
}

// FuzzFileStoreToken commits, finds and deletes arbitrary tokens: every file
// must stay inside the store's directory.
func FuzzFileStoreToken(f *testing.F) {
	for _, token := range hostileTokens {
		f.Add(token)
	}
	root := f.TempDir()
	dir := filepath.Join(root, "sessions")
	s, err := NewFileStore(dir, FileStoreOptions{SweepInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })

	f.Fuzz(func(t *testing.T, token string) {
		data := []byte("session data")
		mustCommit(t, s, token, data, liveExpiry)
		if got, want := dirNames(t, dir), []string{fileName(token)}; !slices.Equal(got, want) {
			t.Fatalf("directory holds %q, want %q", got, want)
		}
		checkContained(t, root, dir)
		wantFound(t, s, token, data)
		if err := s.Delete(token); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if got := dirNames(t, dir); len(got) != 0 {
			t.Fatalf("directory holds %q after Delete", got)
		}
	})
}

// Benchmarks. The stores are filled only when a benchmark runs.

// benchPayload is about the size of a session holding an MSAL token cache.
func benchPayload() []byte {
	raw := make([]byte, 1536)
	rand.Read(raw)
	return []byte(base64.StdEncoding.EncodeToString(raw)) // 2048 bytes
}

// populatedStore returns a store holding n live sessions and their tokens,
// written directly to disk from several goroutines.
func populatedStore(b *testing.B, n int) (*FileStore, []string) {
	b.Helper()
	s := newTestStore(b, FileStoreOptions{})
	tokens := make([]string, n)
	for i := range tokens {
		raw := make([]byte, 32)
		rand.Read(raw)
		tokens[i] = base64.RawURLEncoding.EncodeToString(raw) // like scs's tokens
	}
	data := encodeFile(benchPayload(), time.Now().Add(24*time.Hour))
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Value
	workers := 4 * runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := os.WriteFile(s.pathOf(tokens[i]), data, 0o600); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote %d sessions in %v", n, time.Since(start).Round(time.Millisecond))
	return s, tokens
}

// reportLatency adds p50 and p99 of the per-operation durations to the
// benchmark's results.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(at(0.50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(at(0.99).Nanoseconds()), "p99-ns")
}

func benchFind(b *testing.B, s *FileStore, tokens []string) {
	rng := mathrand.New(mathrand.NewPCG(1, 2))
	var lat []time.Duration
	for b.Loop() {
		token := tokens[rng.IntN(len(tokens))]
		start := time.Now()
		_, found, err := s.Find(token)
		lat = append(lat, time.Since(start))
		if err != nil || !found {
			b.Fatalf("Find = %v, %v", found, err)
		}
	}
	reportLatency(b, lat)
}

func BenchmarkFileStore(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("sessions=%dk", n/1000), func(b *testing.B) {
			s, tokens := populatedStore(b, n)
			payload := benchPayload()

			b.Run("Find", func(b *testing.B) { benchFind(b, s, tokens) })

			benchCommit := func(b *testing.B, s *FileStore) {
				rng := mathrand.New(mathrand.NewPCG(3, 4))
				expiry := time.Now().Add(24 * time.Hour)
				var lat []time.Duration
				for b.Loop() {
					token := tokens[rng.IntN(len(tokens))]
					start := time.Now()
					err := s.Commit(token, payload, expiry)
					lat = append(lat, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
				}
				reportLatency(b, lat)
			}
			b.Run("Commit", func(b *testing.B) { benchCommit(b, s) })
			b.Run("CommitDurable", func(b *testing.B) {
				durable, err := NewFileStore(s.dir, FileStoreOptions{SweepInterval: -1, Durable: true})
				if err != nil {
					b.Fatal(err)
				}
				defer durable.Close()
				benchCommit(b, durable)
			})

			// Find while Sweep walks every file over and over.
			b.Run("FindDuringSweep", func(b *testing.B) {
				stop := make(chan struct{})
				var sweeps, sweepNanos atomic.Int64
				var wg sync.WaitGroup
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						start := time.Now()
						if _, err := s.Sweep(); err != nil {
							b.Error(err)
							return
						}
						sweeps.Add(1)
						sweepNanos.Add(int64(time.Since(start)))
					}
				})
				benchFind(b, s, tokens)
				close(stop)
				wg.Wait()
				if n := sweeps.Load(); n > 0 {
					b.ReportMetric(float64(sweepNanos.Load())/float64(n)/1e6, "ms/sweep")
				}
			})
		})
	}
}
