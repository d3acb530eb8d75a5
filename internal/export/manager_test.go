package export

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// memStore is a Store in a map, with expiry, for the manager's own rules.
type memStore struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]memEntry
}

type memEntry struct {
	b      []byte
	expiry time.Time
}

func newMemStore(now func() time.Time) *memStore {
	return &memStore{now: now, m: map[string]memEntry{}}
}

func (s *memStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || !s.now().Before(e.expiry) {
		return nil, false, nil
	}
	return e.b, true, nil
}

func (s *memStore) Put(_ context.Context, key string, b []byte, expiry time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = memEntry{append([]byte(nil), b...), expiry}
	return nil
}

// PutNew, like PostgreSQL's INSERT ... ON CONFLICT, refuses over an expired but unswept record.
func (s *memStore) PutNew(_ context.Context, key string, b []byte, expiry time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; ok {
		return false, nil
	}
	s.m[key] = memEntry{append([]byte(nil), b...), expiry}
	return true, nil
}

func (s *memStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// A restart removes what exports of dead processes left in EXPORT_DIR, and keeps a live
// process's (several instances may share the directory) and anything that is not an export's.
func TestNewManagerRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	dead := filepath.Join(dir, "p999999999-abc")      // no such process
	live := filepath.Join(dir, "p1-abc")              // init is always alive
	stray := filepath.Join(dir, "something-else.zip") // not a working directory: not ours to remove
	for _, d := range []string{dead, live} {
		if err := os.MkdirAll(filepath.Join(d, "job"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "job", "export.zip"), []byte("zip"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(stray, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(Options{Store: newMemStore(time.Now), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for path, want := range map[string]bool{dead: false, stray: true, live: true, m.own: true} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", path, err == nil, want)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("EXPORT_DIR mode %v, want 0700", fi.Mode().Perm())
	}
	// A symlink as EXPORT_DIR is refused.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if _, err := NewManager(Options{Store: newMemStore(time.Now), Dir: link}); err == nil {
		t.Error("a symlinked EXPORT_DIR was accepted")
	}
}

// A job whose instance stopped heart-beating reads as failed, and its owner's lock is taken
// over; a live one keeps its lock.
func TestStaleJobFailsAndFreesItsOwner(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := newMemStore(clock)
	m, err := NewManager(Options{Store: st, Dir: t.TempDir(), Now: clock, StaleAfter: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	old := Job{ID: newID(), Owner: "tid.oid", Kind: "section", Status: StatusRunning, Started: now, Heartbeat: now, Expires: now.Add(time.Hour)}
	if err := m.save(ctx, old); err != nil {
		t.Fatal(err)
	}
	_ = st.Put(ctx, userKey(old.Owner), []byte(old.ID), now.Add(30*time.Second))

	if err := m.lock(ctx, Job{ID: newID(), Owner: old.Owner}); !errors.As(err, new(*BusyError)) {
		t.Fatalf("lock while the job is alive: %v, want busy", err)
	}
	now = now.Add(31 * time.Second) // no heartbeat since
	j, err := m.Get(ctx, old.Owner, old.ID)
	if err != nil || j.Status != StatusFailed || j.Error == "" {
		t.Fatalf("stale job reads as %+v, %v; want failed with a reason", j, err)
	}
	if _, err := m.Get(ctx, "someone.else", old.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another owner's Get: %v, want ErrNotFound", err)
	}
	// The lock record has expired but is still there (unswept): it is taken over.
	next := Job{ID: newID(), Owner: old.Owner}
	if err := m.lock(ctx, next); err != nil {
		t.Fatalf("lock after the stale job: %v", err)
	}
	if b, _, _ := st.Get(ctx, userKey(old.Owner)); string(b) != next.ID {
		t.Errorf("lock holds %q, want %q", b, next.ID)
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		newID(): true, "": false, "../../etc/passwd": false, "0123456789abcdef0123456789ABCDEF": false,
		"0123456789abcdef0123456789abcdef": true, "0123456789abcdef0123456789abcde": false,
		"export:job:" + strconv.Itoa(1): false,
	} {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestRelURL(t *testing.T) {
	for _, tc := range []struct{ dir, target, want string }{
		{"", "Plans/Packing list.md", "Plans/Packing%20list.md"},
		{"Plans", "Plans/Packing list.md", "Packing%20list.md"},
		{"Plans/Itinerary", "Plans/Itinerary.md", "../Itinerary.md"},
		{"A/B", "C/D (2).md", "../../C/D%20%282%29.md"},
		{"Plans", "Plans/index.md", "index.md"},
	} {
		if got := relURL(tc.dir, tc.target); got != tc.want {
			t.Errorf("relURL(%q, %q) = %q, want %q", tc.dir, tc.target, got, tc.want)
		}
	}
}

// An id that is not a job's is refused before the store is asked: even a record stored under
// that key, with the right owner, is not found by Get, Cancel or Open.
func TestInvalidIDNeverReachesTheStore(t *testing.T) {
	st := newMemStore(time.Now)
	m, err := NewManager(Options{Store: st, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	for _, id := range []string{"nothex", "0123456789ABCDEF0123456789ABCDEF", "x:0"} {
		j := Job{ID: id, Owner: "tid.oid", Status: StatusDone, Heartbeat: time.Now(), Expires: time.Now().Add(time.Hour)}
		if err := m.save(ctx, j); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Get(ctx, j.Owner, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q): %v, want ErrNotFound", id, err)
		}
		if _, err := m.Cancel(ctx, j.Owner, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Cancel(%q): %v, want ErrNotFound", id, err)
		}
		if _, err := m.Open(ctx, j.Owner, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q): %v, want ErrNotFound", id, err)
		}
	}
}
