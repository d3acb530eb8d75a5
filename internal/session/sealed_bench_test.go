package session_test

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/graphauth/graphauth/internal/session"
)

// BenchmarkSealedFileStore is what sealing (and the conditional commit's lock) adds to a file
// store's Find and Commit, for an 11 KB record (a signed-in session's size).
func BenchmarkSealedFileStore(b *testing.B) {
	record := make([]byte, 11<<10)
	_, _ = rand.Read(record)
	fs, err := session.NewFileStore(b.TempDir(), session.FileStoreOptions{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer fs.Close()
	keys, _ := session.NewKeys(make([]byte, session.KeySize))
	exp := time.Now().Add(time.Hour)
	for _, st := range []struct {
		name string
		s    scs.Store
	}{{"plain", fs}, {"sealed", session.Sealed(fs, keys)}} {
		tok := "bench-" + st.name
		if err := st.s.Commit(tok, record, exp); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("Find/%s", st.name), func(b *testing.B) {
			for b.Loop() {
				if _, found, err := st.s.Find(tok); err != nil || !found {
					b.Fatal(found, err)
				}
			}
		})
		b.Run(fmt.Sprintf("Commit/%s", st.name), func(b *testing.B) {
			for b.Loop() {
				if err := st.s.Commit(tok, record, exp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
