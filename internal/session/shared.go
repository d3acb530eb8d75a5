package session

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// DefaultStoreTimeout bounds each call to a shared store's server when Options.Timeout is 0.
const DefaultStoreTimeout = 3 * time.Second

// openShared opens a store that several app instances share: Redis (SESSION_TYPE=redis, scs's
// redisstore) or PostgreSQL (SESSION_TYPE=postgres, scs's postgresstore).
//
// A bad URL is an error: the app must not start with a setting it cannot use. A server that is
// down is not: the app starts anyway, logs a warning, answers requests that need a session with
// the "session storage failed" page, and /readyz reports the store until it is back. Connections
// are made on demand, so nothing needs restarting when the server returns.
func openShared(ctx context.Context, o Options) (*Store, error) {
	var (
		s   *Store
		err error
	)
	switch o.Type {
	case "redis":
		s, err = openRedis(o)
	case "postgres":
		s, err = openPostgres(o)
	default:
		return nil, fmt.Errorf("session store: SESSION_TYPE %q is not supported: use filesystem, memory, redis or postgres", o.Type)
	}
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		o.logger().Warn("session store unreachable at start-up; starting anyway: pages that need a session fail and /readyz reports 503 until it is back",
			"session_type", o.Type, "err", err.Error())
	}
	return s, nil
}

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultStoreTimeout
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (o Options) sweepInterval() time.Duration {
	if o.SweepInterval != 0 {
		return o.SweepInterval
	}
	return DefaultSweepInterval
}
