package session

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestVerifyDir(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFileStore(dir, FileStoreOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	for _, tok := range []string{"live-1", "live-2"} {
		if err := s.Commit(tok, []byte("payload of "+tok), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit("expired", []byte("old"), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A torn write: the first half of a valid file under a session name.
	whole := encodeFile([]byte("a session that was cut in half"), now.Add(time.Hour))
	torn := fileName("torn")
	if err := os.WriteFile(filepath.Join(dir, torn), whole[:len(whole)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	// A flipped bit.
	flipped := encodeFile([]byte("a session with a flipped bit"), now.Add(time.Hour))
	flipped[len(flipped)-1] ^= 1
	bad := fileName("flipped")
	if err := os.WriteFile(filepath.Join(dir, bad), flipped, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, tempPrefix+"123"), whole[:10], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	r, err := VerifyDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sessions != 3 || r.Expired != 1 || r.Temp != 1 {
		t.Errorf("report = %+v, want 3 sessions, 1 expired, 1 temp", r)
	}
	slices.Sort(r.Damaged)
	want := []string{torn, bad}
	slices.Sort(want)
	if !slices.Equal(r.Damaged, want) {
		t.Errorf("damaged = %v, want %v", r.Damaged, want)
	}
	if !slices.Equal(r.Other, []string{"README"}) {
		t.Errorf("other = %v", r.Other)
	}
	if r.Bytes <= 0 {
		t.Errorf("bytes = %d", r.Bytes)
	}

	if _, err := VerifyDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("VerifyDir of a missing directory: no error")
	}
}
