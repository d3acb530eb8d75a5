package session

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
)

// Options picks and configures the session store (SESSION_TYPE).
type Options struct {
	Type          string // filesystem, memory, redis, postgres
	Dir           string // filesystem
	RedisURL      string // redis
	DatabaseURL   string // postgres
	SweepInterval time.Duration
	// Logger receives the stores' warnings (a store down at start-up, sweep failures); nil
	// discards them. Tokens, passwords and session IDs are never logged.
	Logger *slog.Logger
	// Timeout bounds each call to a shared store's server (connect, read, write, query);
	// 0 means DefaultStoreTimeout.
	Timeout time.Duration
}

// Store is an scs store with the operations the app needs around it.
type Store struct {
	scs.Store
	// Ping reports whether the store is usable now (for /readyz).
	Ping func(context.Context) error
	// Close releases the store (stops sweepers, closes connections).
	Close func() error
}

// Open builds the store named by o.Type.
func Open(ctx context.Context, o Options) (*Store, error) {
	switch o.Type {
	case "", "filesystem":
		fs, err := NewFileStore(o.Dir, FileStoreOptions{SweepInterval: o.SweepInterval, Logger: o.Logger})
		if err != nil {
			return nil, fmt.Errorf("%w", err)
		}
		return &Store{Store: fs, Ping: func(context.Context) error { return fs.Ping() }, Close: fs.Close}, nil
	case "memory":
		m := memstore.New()
		return &Store{Store: m, Ping: func(context.Context) error { return nil }, Close: func() error { return nil }}, nil
	}
	return openShared(ctx, o)
}
