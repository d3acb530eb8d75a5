package session

import (
	"bytes"
	"context"
	"time"

	"github.com/alexedwards/scs/v2"
)

// Sealed wraps a store so that every record it keeps is sealed with keys (AES-256-GCM): a leaked
// file, Redis value or PostgreSQL row gives away no token, and a record is bound to the key the
// store keeps it under. scs hands stores the SHA-256 of the session ID (HashTokenInStore), and
// that key (hashed once more) is the additional data: a record copied under another session's key, or planted by
// someone without the keys, does not open, and Find reports it as not found.
//
// The wrapper keeps the inner store's IterableStore and passes the commit condition (IfExists,
// IfNew) through to it. It opens an unchanged record only once (openCache).
func Sealed(store scs.Store, keys *Keys) scs.Store {
	s := &sealedStore{inner: store, keys: keys, opened: newOpenCache(openCacheLimit)}
	if it, ok := store.(scs.IterableStore); ok {
		return &sealedIterable{sealedStore: s, it: it}
	}
	return s
}

var (
	_ scs.Store         = (*sealedStore)(nil)
	_ scs.CtxStore      = (*sealedStore)(nil)
	_ scs.IterableStore = (*sealedIterable)(nil)
)

type sealedStore struct {
	inner  scs.Store
	keys   *Keys
	opened *openCache
}

// recordAD binds a sealed record to the key it is stored under, through that key's SHA-256 (the
// file store's file name), so that a tool holding only a file can still open it with the keys.
func recordAD(token string) []byte { return recordADOf(fileName(token)) }

func recordADOf(digest string) []byte { return []byte("graphauth session record\x00" + digest) }

// OpenRecord opens a record read straight from a store (for tools and tests that look behind the
// app's back): digest is the hex SHA-256 of the key it was stored under, which is a file store's
// file name.
func OpenRecord(keys *Keys, digest string, record []byte) ([]byte, error) {
	return keys.Open(record, recordADOf(digest))
}

// ImmutableRecords promises that a record Find returns is never modified afterwards: it is a
// plaintext the wrapper opened (and keeps in openCache, shared by every later load of the same
// record), which nothing writes to. An unchanged session is therefore the same array load after
// load, and the web codec recognises it by that (web.ImmutableRecords).
func (s *sealedStore) ImmutableRecords() bool { return true }

// How a record reached openRecord, which decides what the cache may keep.
type recordUse int

const (
	recordOwned  recordUse = iota // the caller's own copy: kept as it is
	recordLent                    // only borrowed (FileStore.View): the cache keeps a copy
	recordShared                  // never modified, by anyone (FileStore.Peek): kept, and adopted (openCache.get)
)

// openRecord opens b, the record stored under token, unless it is the very record opened
// before (then the same plaintext).
func (s *sealedStore) openRecord(token string, b []byte, use recordUse) ([]byte, bool) {
	if p, ok := s.opened.get(token, b, use == recordShared); ok {
		return p, true
	}
	p, err := s.keys.Open(b, recordAD(token))
	if err != nil {
		s.opened.drop(token)
		return nil, false // planted, swapped, damaged or sealed with a retired key: no session
	}
	if use == recordLent {
		b = bytes.Clone(b)
	}
	s.opened.put(token, b, p)
	return p, true
}

func (s *sealedStore) open(token string, b []byte, found bool, err error) ([]byte, bool, error) {
	if err != nil {
		return nil, false, err
	}
	if !found {
		s.opened.drop(token)
		return nil, false, nil
	}
	p, ok := s.openRecord(token, b, recordOwned)
	return p, ok, nil
}

// viewer is a store that lends its record for the length of a call instead of copying it out
// (FileStore.View).
type viewer interface {
	View(token string, fn func(record []byte)) (found bool, err error)
}

// peeker is a store that can hand out a record it holds unchanged for good, when it holds it
// (FileStore.Peek: its inotify cache).
type peeker interface {
	Peek(token string) (record []byte, ok bool)
}

func (s *sealedStore) Find(token string) ([]byte, bool, error) {
	if pk, ok := s.inner.(peeker); ok {
		if b, ok := pk.Peek(token); ok {
			p, opened := s.openRecord(token, b, recordShared)
			return p, opened, nil
		}
	}
	if v, ok := s.inner.(viewer); ok {
		var p []byte
		var opened bool
		found, err := v.View(token, func(b []byte) { p, opened = s.openRecord(token, b, recordLent) })
		if err == nil && !found {
			s.opened.drop(token)
		}
		return p, opened, err
	}
	b, found, err := s.inner.Find(token)
	return s.open(token, b, found, err)
}

func (s *sealedStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if c, ok := s.inner.(interface {
		FindCtx(context.Context, string) ([]byte, bool, error)
	}); ok {
		b, found, err := c.FindCtx(ctx, token)
		return s.open(token, b, found, err)
	}
	return s.Find(token)
}

func (s *sealedStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s *sealedStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	sealed := s.keys.Seal(b, recordAD(token))
	var err error
	if c, ok := s.inner.(ctxCommitter); ok {
		err = c.CommitCtx(ctx, token, sealed, expiry)
	} else {
		err = s.inner.Commit(token, sealed, expiry)
	}
	if err != nil {
		s.opened.drop(token)
		return err
	}
	s.opened.put(token, sealed, b) // the next load of this session opens nothing
	return nil
}

func (s *sealedStore) Delete(token string) error {
	s.opened.drop(token)
	return s.inner.Delete(token)
}

func (s *sealedStore) DeleteCtx(ctx context.Context, token string) error {
	s.opened.drop(token)
	if c, ok := s.inner.(interface {
		DeleteCtx(context.Context, string) error
	}); ok {
		return c.DeleteCtx(ctx, token)
	}
	return s.inner.Delete(token)
}

type sealedIterable struct {
	*sealedStore
	it scs.IterableStore
}

// All opens every record; those that do not open are left out.
func (s *sealedIterable) All() (map[string][]byte, error) {
	all, err := s.it.All()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(all))
	for token, b := range all {
		if p, err := s.keys.Open(b, recordAD(token)); err == nil {
			out[token] = p
		}
	}
	return out, nil
}
