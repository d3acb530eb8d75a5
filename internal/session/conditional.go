package session

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
)

// ErrSessionGone is what a conditional commit returns when the session it would write over no
// longer exists: signed out (Destroy), replaced by RenewToken, or expired, while the request that
// loaded it was still running. Nothing was written; the session stays gone.
var ErrSessionGone = errors.New("session store: the session ended while this request ran (signed out or replaced); nothing was written")

// A destroyed session must stay destroyed. scs commits after the handler, so without a
// condition a request that loaded a session before the user signed out (or before RenewToken
// gave it a new ID) would write it back afterwards, token cache and all. The web layer therefore
// says, through the context given to CommitCtx, which commit it means:
//
//   - IfExists: the request loaded this session from the store; write only over a record that is
//     still there (Redis SET XX, SQL UPDATE, the file store checks under its lock);
//   - IfNew: the request made this ID (a new session, or RenewToken); write only if no record has
//     it (Redis SET NX, INSERT ... ON CONFLICT DO NOTHING).
//
// A commit without a condition (tests, tools) writes unconditionally, as scs's stores do.
type commitCond int

const (
	condNone commitCond = iota
	condExists
	condNew
)

type condKey struct{}

// IfExists marks ctx's commit as an update of a session loaded from the store.
func IfExists(ctx context.Context) context.Context {
	return context.WithValue(ctx, condKey{}, condExists)
}

// IfNew marks ctx's commit as the creation of a session ID this request made.
func IfNew(ctx context.Context) context.Context { return context.WithValue(ctx, condKey{}, condNew) }

func condOf(ctx context.Context) commitCond {
	c, _ := ctx.Value(condKey{}).(commitCond)
	return c
}

// ctxCommitter is the part of scs.CtxStore the wrappers pass the condition through.
type ctxCommitter interface {
	CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error
}

var (
	_ scs.Store         = (*memoryStore)(nil)
	_ scs.IterableStore = (*memoryStore)(nil)
	_ ctxCommitter      = (*memoryStore)(nil)
)

// memoryStore is scs's memstore with conditional commits: one lock makes "is it still there?"
// and the write one step against Delete.
type memoryStore struct {
	mu sync.Mutex
	m  *memstore.MemStore
}

// NewMemoryStore returns an in-process store (SESSION_TYPE=memory) that honours IfExists/IfNew.
func NewMemoryStore() scs.Store { return &memoryStore{m: memstore.NewWithCleanupInterval(time.Minute)} }

func (s *memoryStore) Find(token string) ([]byte, bool, error) { return s.m.Find(token) }
func (s *memoryStore) All() (map[string][]byte, error)         { return s.m.All() }

func (s *memoryStore) Delete(token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.Delete(token)
}

func (s *memoryStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s *memoryStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := condOf(ctx); c != condNone {
		_, found, err := s.m.Find(token)
		if err != nil {
			return err
		}
		if found != (c == condExists) {
			return ErrSessionGone
		}
	}
	return s.m.Commit(token, b, expiry)
}
