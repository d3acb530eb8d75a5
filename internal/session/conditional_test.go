package session_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/graphauth/graphauth/internal/session"
	"github.com/graphauth/graphauth/internal/session/sessiontest"
)

// Logout must win, in every store: a commit that means "update the session I loaded" writes
// nothing once the session was deleted, and one that means "a new session" never writes over an
// existing one. The race part runs writers in flight against a Delete: afterwards the session
// must be gone, whatever the interleaving.
func TestConditionalCommits(t *testing.T) {
	stores := map[string]func(t *testing.T) (writer, deleter scs.Store){
		"file": func(t *testing.T) (scs.Store, scs.Store) {
			// Two stores on one directory, as two instances on one machine: the writer and the
			// deleter must exclude each other through the directory's lock, not a mutex.
			dir := t.TempDir()
			a := fileStore(t, dir)
			return a, fileStore(t, dir)
		},
		"memory": func(*testing.T) (scs.Store, scs.Store) { m := session.NewMemoryStore(); return m, m },
		"redis": func(t *testing.T) (scs.Store, scs.Store) {
			r := sessiontest.StartRedis(t, sessiontest.RedisOptions{})
			a, _ := open(t, session.Options{Type: "redis", RedisURL: r.URL()})
			b, _ := open(t, session.Options{Type: "redis", RedisURL: r.URL()})
			return a.Store, b.Store
		},
		"postgres": func(t *testing.T) (scs.Store, scs.Store) {
			pg := sessiontest.StartPostgres(t)
			a, _ := open(t, session.Options{Type: "postgres", DatabaseURL: pg.URL(), SweepInterval: -1})
			b, _ := open(t, session.Options{Type: "postgres", DatabaseURL: pg.URL(), SweepInterval: -1})
			return a.Store, b.Store
		},
	}
	for _, name := range []string{"file", "memory", "redis", "postgres"} {
		t.Run(name, func(t *testing.T) {
			w, d := stores[name](t)
			// Every store, sealed or not, offers the conditional commit.
			for _, st := range []scs.Store{w, session.Sealed(w, testKeys(t, key(9)))} {
				c := st.(committer)
				exists, isNew := session.IfExists(context.Background()), session.IfNew(context.Background())
				exp := time.Now().Add(time.Hour)
				tok := fmt.Sprintf("tok-%T", st)

				if err := c.CommitCtx(isNew, tok, []byte("v1"), exp); err != nil {
					t.Fatalf("IfNew on a new ID: %v", err)
				}
				if err := c.CommitCtx(isNew, tok, []byte("evil"), exp); !errors.Is(err, session.ErrSessionGone) {
					t.Errorf("IfNew over an existing session: %v, want ErrSessionGone", err)
				}
				if err := c.CommitCtx(exists, tok, []byte("v2"), exp); err != nil {
					t.Fatalf("IfExists on a stored session: %v", err)
				}
				if b, found, _ := st.Find(tok); !found || string(b) != "v2" {
					t.Errorf("after the update: %q, %v", b, found)
				}
				if err := d.Delete(tok); err != nil {
					t.Fatal(err)
				}
				if err := c.CommitCtx(exists, tok, []byte("v3"), exp); !errors.Is(err, session.ErrSessionGone) {
					t.Errorf("IfExists after Delete: %v, want ErrSessionGone", err)
				}
				if _, found, _ := st.Find(tok); found {
					t.Error("a deleted session was written back")
				}
			}

			// Writers in flight while the session is deleted.
			c := w.(committer)
			exists := session.IfExists(context.Background())
			for round := range 20 {
				tok := fmt.Sprintf("race-%d", round)
				if err := w.Commit(tok, []byte("signed in"), time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for range 3 {
					wg.Go(func() {
						for range 10 {
							err := c.CommitCtx(exists, tok, []byte("written back"), time.Now().Add(time.Hour))
							if err != nil && !errors.Is(err, session.ErrSessionGone) {
								t.Error(err)
								return
							}
						}
					})
				}
				wg.Go(func() {
					if err := d.Delete(tok); err != nil {
						t.Error(err)
					}
				})
				wg.Wait()
				if _, found, _ := w.Find(tok); found {
					t.Fatalf("round %d: a commit in flight wrote the deleted session back", round)
				}
			}
		})
	}
}

// committer is the part of scs.CtxStore that scs uses to pass the condition down.
type committer interface {
	CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error
}

func fileStore(t *testing.T, dir string) *session.FileStore {
	t.Helper()
	st, err := session.NewFileStore(dir, session.FileStoreOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// SESSION_DIR must be the app's own: not a symlink (which could point anywhere), not another
// user's directory (whose owner could read or plant sessions).
func TestFileStoreRefusesForeignDir(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, err := session.NewFileStore(link, session.FileStoreOptions{SweepInterval: -1}); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("a symlinked SESSION_DIR: err = %v, want a refusal naming the symlink", err)
	}
	if os.Getuid() != 0 {
		t.Log("not root: cannot give a directory to another user; the owner check is not exercised")
		return
	}
	other := filepath.Join(base, "other")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(other, 65534, 65534); err != nil {
		t.Skipf("chown: %v", err)
	}
	if _, err := session.NewFileStore(other, session.FileStoreOptions{SweepInterval: -1}); err == nil || !strings.Contains(err.Error(), "another user") {
		t.Errorf("another user's SESSION_DIR: err = %v, want a refusal", err)
	}
}
