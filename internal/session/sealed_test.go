package session_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/graphauth/graphauth/internal/session"
)

func testKeys(t *testing.T, raw ...[]byte) *session.Keys {
	t.Helper()
	k, err := session.NewKeys(raw...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, session.KeySize) }

func TestKeysSealOpen(t *testing.T) {
	k1, k2 := key(1), key(2)
	ring := testKeys(t, k1)
	sealed := ring.Seal([]byte("refresh token"), []byte("ad-A"))
	if bytes.Contains(sealed, []byte("refresh token")) {
		t.Fatal("the sealed value holds the plaintext")
	}
	if p, err := ring.Open(sealed, []byte("ad-A")); err != nil || string(p) != "refresh token" {
		t.Fatalf("Open = %q, %v", p, err)
	}
	if again := ring.Seal([]byte("refresh token"), []byte("ad-A")); bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	for name, tc := range map[string]struct {
		ring   *session.Keys
		sealed []byte
		ad     string
	}{
		"other additional data": {ring, sealed, "ad-B"},
		"other key":             {testKeys(t, k2), sealed, "ad-A"},
		"flipped byte":          {ring, flip(sealed, len(sealed)-3), "ad-A"},
		"truncated":             {ring, sealed[:20], "ad-A"},
		"empty":                 {ring, nil, "ad-A"},
	} {
		if _, err := tc.ring.Open(tc.sealed, []byte(tc.ad)); !errors.Is(err, session.ErrNotSealed) {
			t.Errorf("%s: Open err = %v, want ErrNotSealed", name, err)
		}
	}
	// Rotation: a new key first, the old one kept, opens both; without the old one, only the new.
	rotated := testKeys(t, k2, k1)
	if _, err := rotated.Open(sealed, []byte("ad-A")); err != nil {
		t.Errorf("the rotated ring does not open the old key's value: %v", err)
	}
	fresh := rotated.Seal([]byte("x"), nil)
	if _, err := testKeys(t, k2).Open(fresh, nil); err != nil {
		t.Errorf("the rotated ring does not seal with its first key: %v", err)
	}
	if _, err := ring.Open(fresh, nil); err == nil {
		t.Error("a value sealed after rotation opens with the retired key alone")
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

// A sealed store keeps no plaintext, and a record opens only under the key it was stored under
// with the app's keys: planted, swapped and tampered records are "not found".
func TestSealedStore(t *testing.T) {
	dir := t.TempDir()
	fs, err := session.NewFileStore(dir, session.FileStoreOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	stores := map[string]scs.Store{"file": fs, "memory": session.NewMemoryStore()}
	for name, inner := range stores {
		t.Run(name, func(t *testing.T) {
			ring := testKeys(t, key(3))
			st := session.Sealed(inner, ring)
			exp := time.Now().Add(time.Hour)
			secret := []byte("access+refresh tokens of A")
			if err := st.Commit("A", secret, exp); err != nil {
				t.Fatal(err)
			}
			if got, found, err := st.Find("A"); err != nil || !found || !bytes.Equal(got, secret) {
				t.Fatalf("Find(A) = %q, %v, %v", got, found, err)
			}
			raw, found, _ := inner.Find("A")
			if !found || bytes.Contains(raw, secret) {
				t.Fatalf("the stored record is missing or holds the plaintext: %q", raw)
			}
			if name == "file" {
				files, _ := filepath.Glob(filepath.Join(dir, "*"))
				for _, f := range files {
					if b, _ := os.ReadFile(f); bytes.Contains(b, secret) {
						t.Errorf("%s holds the plaintext", f)
					}
				}
			}

			// Swapped: A's record copied under B's key.
			if err := inner.Commit("B", raw, exp); err != nil {
				t.Fatal(err)
			}
			if _, found, err := st.Find("B"); found || err != nil {
				t.Errorf("a record swapped in from another session opened: found=%v err=%v", found, err)
			}
			// Planted: a record written without the keys (the old unsealed format).
			if err := inner.Commit("C", secret, exp); err != nil {
				t.Fatal(err)
			}
			if _, found, err := st.Find("C"); found || err != nil {
				t.Errorf("a planted record opened: found=%v err=%v", found, err)
			}
			// Sealed by someone else's keys.
			if err := session.Sealed(inner, testKeys(t, key(4))).Commit("D", secret, exp); err != nil {
				t.Fatal(err)
			}
			if _, found, _ := st.Find("D"); found {
				t.Error("a record sealed with another key opened")
			}
			// Tampered.
			if err := inner.Commit("A", flip(raw, len(raw)/2), exp); err != nil {
				t.Fatal(err)
			}
			if _, found, _ := st.Find("A"); found {
				t.Error("a tampered record opened")
			}
			// A store that lists its sessions still does, opened.
			if it, ok := st.(scs.IterableStore); ok && name == "memory" {
				if err := st.Commit("E", []byte("e"), exp); err != nil {
					t.Fatal(err)
				}
				all, err := it.All()
				if err != nil || string(all["E"]) != "e" || len(all) != 1 {
					t.Errorf("All = %q, %v; want only E, opened", all, err)
				}
			}
		})
	}
}

// A conditional commit passes through the sealing wrapper.
func TestSealedStoreKeepsConditions(t *testing.T) {
	st := session.Sealed(session.NewMemoryStore(), testKeys(t, key(5)))
	c, ok := st.(scs.CtxStore)
	if !ok {
		t.Fatal("the sealed store is not a CtxStore")
	}
	exp := time.Now().Add(time.Hour)
	if err := c.CommitCtx(session.IfExists(context.Background()), "gone", []byte("x"), exp); !errors.Is(err, session.ErrSessionGone) {
		t.Errorf("IfExists on a missing session through Sealed: %v, want ErrSessionGone", err)
	}
}

// Each sealing wrapper keeps the records it opened (openCache), but the store stays the truth: a
// session rewritten, deleted or expired by another instance on the same directory is seen at
// once, and an unchanged record opens to the same plaintext.
func TestSealedStoreSeesOtherInstances(t *testing.T) {
	a, b := twoInstances(t, key(6))
	find := func(st scs.Store) string {
		t.Helper()
		p, found, err := st.Find("S")
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			return "<none>"
		}
		return string(p)
	}
	exp := time.Now().Add(time.Hour)
	if err := a.Commit("S", []byte("v1"), exp); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second load is served by a's cache
		if got := find(a); got != "v1" {
			t.Fatalf("a: %q, want v1", got)
		}
	}
	if err := b.Commit("S", []byte("v2"), exp); err != nil {
		t.Fatal(err)
	}
	if got := find(a); got != "v2" {
		t.Errorf("after another instance rewrote the session, a loads %q, want v2", got)
	}
	if got := find(b); got != "v2" {
		t.Errorf("b loads %q, want v2", got)
	}
	if err := b.Delete("S"); err != nil {
		t.Fatal(err)
	}
	if got := find(a); got != "<none>" {
		t.Errorf("after another instance deleted the session, a loads %q", got)
	}
	if err := a.Commit("S", []byte("v3"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := find(b); got != "<none>" {
		t.Errorf("an expired session loads as %q", got)
	}
}

// A record the file store lends for the call (View, a pooled buffer) is copied before it is kept:
// reading another session into the same buffer must not make a rewritten session look unchanged.
func TestSealedStoreKeepsACopyOfLentRecords(t *testing.T) {
	a, b := twoInstances(t, key(7))
	exp := time.Now().Add(time.Hour)
	for tok, v := range map[string]string{"S": "S v1", "T": "T v1"} {
		if err := b.Commit(tok, []byte(v), exp); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 { // the pool hands a's reads the same buffer, most of the time
		for _, tok := range []string{"S", "T"} {
			if _, found, err := a.Find(tok); !found || err != nil {
				t.Fatal(tok, found, err)
			}
		}
		if err := b.Commit("S", []byte("S v2"), exp); err != nil {
			t.Fatal(err)
		}
		if p, _, _ := a.Find("S"); string(p) != "S v2" {
			t.Fatalf("a loads %q after S was rewritten, want S v2", p)
		}
		if err := b.Commit("S", []byte("S v1"), exp); err != nil {
			t.Fatal(err)
		}
	}
}

// twoInstances are two sealed file stores on one directory with the same key, as two app
// processes sharing SESSION_DIR.
func twoInstances(t *testing.T, k []byte) (scs.Store, scs.Store) {
	t.Helper()
	dir := t.TempDir()
	ring := testKeys(t, k)
	var insts [2]scs.Store
	for i := range insts {
		fs, err := session.NewFileStore(dir, session.FileStoreOptions{SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fs.Close() })
		insts[i] = session.Sealed(fs, ring)
	}
	return insts[0], insts[1]
}
