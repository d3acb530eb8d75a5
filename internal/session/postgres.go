package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgresTable is the table graphauth keeps its sessions in, created when missing. Its own name
// (not scs's default "sessions") so that it does not clash with another app's table in a shared
// database. The token column holds scs's SHA-256 of the session token, never the cookie value.
const PostgresTable = "graphauth_sessions"

// postgresSchema is scs postgresstore's schema. The advisory lock makes instances starting at
// the same moment create it one after the other: concurrent CREATE TABLE IF NOT EXISTS can
// otherwise fail on PostgreSQL's catalog unique index.
var postgresSchema = []string{
	`SELECT pg_advisory_xact_lock(7159032845513064563)`, // any constant: "graphauth sessions schema"
	`CREATE TABLE IF NOT EXISTS ` + PostgresTable + ` (
		token  TEXT PRIMARY KEY,
		data   BYTEA NOT NULL,
		expiry TIMESTAMPTZ NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS ` + PostgresTable + `_expiry_idx ON ` + PostgresTable + ` (expiry)`,
}

var _ scs.Store = (*postgresStore)(nil)

// postgresStore is scs's postgresstore, with its table created on first use (and retried until
// the database is reachable), error context, and a sweeper that logs through slog instead of
// postgresstore's own, which writes to the standard library's global logger.
type postgresStore struct {
	db      *sql.DB
	ps      *postgresstore.PostgresStore
	timeout time.Duration
	log     *slog.Logger

	schemaMu       sync.Mutex
	schemaReady    bool
	schemaErr      error         // the last attempt's failure
	schemaInFlight chan struct{} // closed when the running attempt ends; nil when none runs

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func openPostgres(o Options) (*Store, error) {
	cfg, err := pgx.ParseConfig(o.DatabaseURL)
	if err != nil {
		// pgx redacts passwords only on a best-effort basis: say nothing of the value.
		return nil, errors.New("session store: DATABASE_URL is not a valid PostgreSQL connection string " +
			"(the value is not shown: it may hold a password); use postgres://user:password@host:5432/dbname")
	}
	timeout := o.timeout()
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = timeout
	}
	// postgresstore's queries take no context: a server-side limit keeps a stuck query from
	// holding a request (and a connection) for long.
	if _, ok := cfg.RuntimeParams["statement_timeout"]; !ok {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(timeout.Milliseconds(), 10)
	}
	db := stdlib.OpenDB(*cfg) // connects on demand: a database that is down does not stop the app
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)

	s := &postgresStore{
		db:      db,
		ps:      postgresstore.NewWithConfig(db, postgresstore.Config{TableName: PostgresTable, CleanUpInterval: 0}),
		timeout: timeout,
		log:     o.logger(),
	}
	if interval := o.sweepInterval(); interval > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.sweepLoop(interval)
	}
	return &Store{Store: s, Ping: s.ping, Close: s.close}, nil
}

// ensureSchema creates the table if it is missing, once per process. A failure is retried on a
// later call, so a database that comes up after the app gets its table then. Calls that arrive
// while an attempt is running share its result instead of queueing one attempt each behind it
// (with the database down, each attempt costs a connect timeout).
func (s *postgresStore) ensureSchema(ctx context.Context) error {
	s.schemaMu.Lock()
	if s.schemaReady {
		s.schemaMu.Unlock()
		return nil
	}
	if ch := s.schemaInFlight; ch != nil {
		s.schemaMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.schemaMu.Lock()
		defer s.schemaMu.Unlock()
		if s.schemaReady {
			return nil
		}
		return s.schemaErr
	}
	ch := make(chan struct{})
	s.schemaInFlight = ch
	s.schemaMu.Unlock()

	err := s.createSchema(ctx)

	s.schemaMu.Lock()
	s.schemaReady, s.schemaErr, s.schemaInFlight = err == nil, err, nil
	s.schemaMu.Unlock()
	close(ch)
	return err
}

func (s *postgresStore) createSchema(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create table %s: %w", PostgresTable, err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	for _, stmt := range postgresSchema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create table %s: %w", PostgresTable, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create table %s: %w", PostgresTable, err)
	}
	return nil
}

func (s *postgresStore) Find(token string) ([]byte, bool, error) {
	if err := s.ensureSchema(context.Background()); err != nil {
		return nil, false, fmt.Errorf("session store: postgres: find: %w", err)
	}
	b, found, err := s.ps.Find(token)
	if err != nil {
		return nil, false, fmt.Errorf("session store: postgres: find: %w", err)
	}
	return b, found, nil
}

func (s *postgresStore) Commit(token string, b []byte, expiry time.Time) error {
	if err := s.ensureSchema(context.Background()); err != nil {
		return fmt.Errorf("session store: postgres: commit: %w", err)
	}
	if err := s.ps.Commit(token, b, expiry); err != nil {
		return fmt.Errorf("session store: postgres: commit: %w", err)
	}
	return nil
}

// CommitCtx is Commit with the condition IfExists or IfNew from ctx: an UPDATE of a row that is
// still there (and not expired), or an INSERT that does nothing if the token has a row. Either
// is one statement, so a Delete can never fall between the check and the write.
func (s *postgresStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	cond := condOf(ctx)
	if cond == condNone {
		return s.Commit(token, b, expiry)
	}
	if err := s.ensureSchema(ctx); err != nil {
		return fmt.Errorf("session store: postgres: commit: %w", err)
	}
	q := `UPDATE ` + PostgresTable + ` SET data = $2, expiry = $3 WHERE token = $1 AND expiry > current_timestamp`
	if cond == condNew {
		q = `INSERT INTO ` + PostgresTable + ` (token, data, expiry) VALUES ($1, $2, $3) ON CONFLICT (token) DO NOTHING`
	}
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := s.db.ExecContext(qctx, q, token, b, expiry.UTC())
	if err != nil {
		return fmt.Errorf("session store: postgres: commit: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrSessionGone
	}
	return nil
}

func (s *postgresStore) Delete(token string) error {
	if err := s.ensureSchema(context.Background()); err != nil {
		return fmt.Errorf("session store: postgres: delete: %w", err)
	}
	if err := s.ps.Delete(token); err != nil {
		return fmt.Errorf("session store: postgres: delete: %w", err)
	}
	return nil
}

// ping checks the database answers and the table exists (creating it if it does not).
func (s *postgresStore) ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := s.ensureSchema(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// Sweep deletes expired sessions. Find already ignores them; this only reclaims the space.
func (s *postgresStore) Sweep(ctx context.Context) (removed int64, err error) {
	if err := s.ensureSchema(ctx); err != nil {
		return 0, fmt.Errorf("session store: postgres: sweep: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := s.db.ExecContext(ctx, `DELETE FROM `+PostgresTable+` WHERE expiry < current_timestamp`)
	if err != nil {
		return 0, fmt.Errorf("session store: postgres: sweep: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func (s *postgresStore) sweepLoop(interval time.Duration) {
	defer close(s.done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			removed, err := s.Sweep(context.Background())
			if err != nil {
				s.log.Warn("session store: sweep failed", "session_type", "postgres", "err", err.Error())
				continue
			}
			s.log.Debug("session store: swept", "session_type", "postgres", "removed", removed)
		}
	}
}

func (s *postgresStore) close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
		err = s.db.Close()
	})
	return err
}
