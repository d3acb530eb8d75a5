package web

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/graphauth/graphauth/internal/config"
	"github.com/graphauth/graphauth/internal/export"
	"github.com/graphauth/graphauth/internal/session"
)

// newExports is the export manager over the app's session store: exports keep their state and
// their zips where the sessions are, so every instance sharing that store sees every export.
func newExports(cfg config.Config, store scs.Store, log *slog.Logger) (*export.Manager, error) {
	return export.NewManager(export.Options{
		Store: exportStore{store}, Dir: cfg.ExportDir, Retention: cfg.ExportRetention,
		MaxBytes: cfg.ExportMaxBytes, Concurrency: cfg.OneNoteConcurrency, Logger: log,
	})
}

// exportStore uses an scs store as a key-value store. Its keys ("export:...") never collide
// with sessions': scs hands the store the SHA-256 of a session ID in hex (HashTokenInStore).
// A sealed store seals these records too, bound to their keys.
type exportStore struct{ s scs.Store }

// The context-taking methods are optional, one by one (the memory store has only CommitCtx).
type (
	ctxFinder interface {
		FindCtx(context.Context, string) ([]byte, bool, error)
	}
	ctxCommitter interface {
		CommitCtx(context.Context, string, []byte, time.Time) error
	}
	ctxDeleter interface {
		DeleteCtx(context.Context, string) error
	}
)

func (e exportStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if c, ok := e.s.(ctxFinder); ok {
		return c.FindCtx(ctx, key)
	}
	return e.s.Find(key)
}

func (e exportStore) Put(ctx context.Context, key string, value []byte, expiry time.Time) error {
	if c, ok := e.s.(ctxCommitter); ok {
		return c.CommitCtx(ctx, key, value, expiry)
	}
	return e.s.Commit(key, value, expiry)
}

// PutNew is the store's conditional commit (Redis SET NX, INSERT ... ON CONFLICT DO NOTHING,
// the file store's check under its lock), so two instances cannot both start an export for
// one person.
func (e exportStore) PutNew(ctx context.Context, key string, value []byte, expiry time.Time) (bool, error) {
	c, ok := e.s.(ctxCommitter)
	if !ok {
		// A store without conditional commits: check, then write (good enough for one instance).
		if _, found, err := e.s.Find(key); err != nil || found {
			return false, err
		}
		return true, e.s.Commit(key, value, expiry)
	}
	err := c.CommitCtx(session.IfNew(ctx), key, value, expiry)
	if errors.Is(err, session.ErrSessionGone) {
		return false, nil
	}
	return err == nil, err
}

func (e exportStore) Delete(ctx context.Context, key string) error {
	if c, ok := e.s.(ctxDeleter); ok {
		return c.DeleteCtx(ctx, key)
	}
	return e.s.Delete(key)
}
