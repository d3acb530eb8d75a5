package session

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/alexedwards/scs/v2"
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
	// Keys, when set, seal every record (Sealed). The app always sets them.
	Keys *Keys
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

// Open builds the store named by o.Type, sealed with o.Keys when they are set.
func Open(ctx context.Context, o Options) (*Store, error) {
	s, err := open(ctx, o)
	if err != nil || o.Keys == nil {
		return s, err
	}
	s.Store = Sealed(s.Store, o.Keys)
	return s, nil
}

func open(ctx context.Context, o Options) (*Store, error) {
	switch o.Type {
	case "", "filesystem":
		fs, err := NewFileStore(o.Dir, FileStoreOptions{SweepInterval: o.SweepInterval, Logger: o.Logger})
		if err != nil {
			return nil, fmt.Errorf("%w", err)
		}
		return &Store{Store: fs, Ping: func(context.Context) error { return fs.Ping() }, Close: fs.Close}, nil
	case "memory":
		return &Store{Store: NewMemoryStore(), Ping: func(context.Context) error { return nil }, Close: func() error { return nil }}, nil
	}
	return openShared(ctx, o)
}
