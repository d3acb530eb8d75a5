package session_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/session"
	"github.com/graphauth/graphauth/internal/session/sessiontest"
)

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func open(t *testing.T, o session.Options) (*session.Store, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	s, err := session.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open(%s): %v", o.Type, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, logs
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// roundTrip checks Commit, Find, an overwrite, expiry and Delete.
func roundTrip(t *testing.T, s *session.Store) {
	t.Helper()
	const token = "hashed-token-a"
	if _, found, err := s.Find(token); err != nil || found {
		t.Fatalf("Find before Commit = %v, %v; want not found", found, err)
	}
	if err := s.Commit(token, []byte("one"), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := s.Commit(token, []byte("two"), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Commit again: %v", err)
	}
	got, found, err := s.Find(token)
	if err != nil || !found || string(got) != "two" {
		t.Fatalf("Find = %q, %v, %v; want \"two\"", got, found, err)
	}
	if err := s.Commit("expired", []byte("old"), time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("Commit expired: %v", err)
	}
	if _, found, err := s.Find("expired"); err != nil || found {
		t.Errorf("expired session: found=%v err=%v, want not found", found, err)
	}
	if err := s.Delete(token); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, found, err := s.Find(token); err != nil || found {
		t.Errorf("Find after Delete = %v, %v; want not found", found, err)
	}
	if err := s.Delete("never-existed"); err != nil {
		t.Errorf("Delete of a missing session: %v", err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestRedisStore(t *testing.T) {
	r := sessiontest.StartRedis(t, sessiontest.RedisOptions{Persist: true})
	s, logs := open(t, session.Options{Type: "redis", RedisURL: r.URL()})

	t.Run("round trip", func(t *testing.T) { roundTrip(t, s) })

	t.Run("keys are prefixed hashes with Redis expiry", func(t *testing.T) {
		if err := s.Commit("tok", []byte("x"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		ttl, _ := r.Do(t, "PTTL", session.RedisKeyPrefix+"tok").(int64)
		if ttl <= 0 || ttl > int64(time.Hour/time.Millisecond) {
			t.Errorf("PTTL = %d ms, want an expiry within the hour", ttl)
		}
	})

	t.Run("a restart is survived without a failed request", func(t *testing.T) {
		// The pool holds a connection to the old server: the first command after the restart
		// meets a closed connection and must be retried on a fresh one.
		if err := s.Commit("survivor", []byte("kept"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		r.Stop()
		r.Start(t)
		got, found, err := s.Find("survivor")
		if err != nil || !found || string(got) != "kept" {
			t.Fatalf("Find after restart = %q, %v, %v", got, found, err)
		}
	})

	t.Run("down: errors, then back", func(t *testing.T) {
		r.Stop()
		if err := s.Ping(context.Background()); err == nil {
			t.Error("Ping with Redis stopped: nil error")
		}
		_, _, err := s.Find("survivor")
		if err == nil || !strings.Contains(err.Error(), "session store: redis: find") {
			t.Errorf("Find with Redis stopped: %v, want a wrapped error", err)
		}
		if err := s.Commit("x", []byte("x"), time.Now().Add(time.Hour)); err == nil {
			t.Error("Commit with Redis stopped: nil error")
		}
		r.Start(t)
		if err := s.Ping(context.Background()); err != nil {
			t.Errorf("Ping after restart: %v", err)
		}
		if _, found, err := s.Find("survivor"); err != nil || !found {
			t.Errorf("Find after restart: %v, %v", found, err)
		}
	})

	if strings.Contains(logs.String(), r.Password()) {
		t.Errorf("the Redis password reached the log:\n%s", logs)
	}
}

func TestRedisDownAtStart(t *testing.T) {
	url := "redis://:pw-not-for-logs@127.0.0.1:" + strconv.Itoa(closedPort(t)) + "/0"
	s, logs := open(t, session.Options{Type: "redis", RedisURL: url})
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("Ping succeeded with no server")
	}
	if !strings.Contains(logs.String(), "session store unreachable at start-up") {
		t.Errorf("no start-up warning:\n%s", logs)
	}
	if strings.Contains(logs.String(), "pw-not-for-logs") {
		t.Errorf("the password reached the log:\n%s", logs)
	}
}

func TestSharedStoreURLErrorsHideSecrets(t *testing.T) {
	cases := []session.Options{
		{Type: "redis", RedisURL: "http://:s3cret-pw@127.0.0.1:6379/0"},
		{Type: "redis", RedisURL: "redis://:s3cret-pw@127.0.0.1:6379/zero"},
		{Type: "redis", RedisURL: "redis://:s3cret-pw@[::1/0"},
		{Type: "redis", RedisURL: "redis:s3cret-pw"},
		{Type: "postgres", DatabaseURL: "postgres://u:s3cret-pw@127.0.0.1:5432/db?sslmode=nonsense"},
		{Type: "postgres", DatabaseURL: "postgres://u:s3cret-pw@[::1/db"},
		{Type: "mongodb"},
	}
	for _, o := range cases {
		t.Run(o.Type+" "+o.RedisURL+o.DatabaseURL, func(t *testing.T) {
			s, err := session.Open(context.Background(), o)
			if err == nil {
				_ = s.Close()
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func TestPostgresStore(t *testing.T) {
	pg := sessiontest.StartPostgres(t)
	tableExists := func() bool {
		return pg.Query(t, "SELECT to_regclass($1) IS NOT NULL", session.PostgresTable).(bool)
	}
	if tableExists() {
		t.Fatal("the table exists before the app ran")
	}

	// Two instances start at once on an empty database: both create the table, neither fails.
	var wg sync.WaitGroup
	stores := make([]*session.Store, 4)
	logs := make([]*lockedBuffer, 4)
	for i := range stores {
		wg.Go(func() {
			stores[i], logs[i] = open(t, session.Options{Type: "postgres", DatabaseURL: pg.URL(), SweepInterval: -1})
		})
	}
	wg.Wait()
	for i, l := range logs {
		if l.String() != "" {
			t.Errorf("store %d logged at start-up:\n%s", i, l)
		}
	}
	if !tableExists() {
		t.Fatal("the table was not created")
	}
	s := stores[0]

	t.Run("round trip", func(t *testing.T) { roundTrip(t, s) })

	t.Run("shared between instances", func(t *testing.T) {
		if err := stores[1].Commit("shared", []byte("from 1"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, found, err := stores[2].Find("shared")
		if err != nil || !found || string(got) != "from 1" {
			t.Fatalf("Find on another store = %q, %v, %v", got, found, err)
		}
	})

	t.Run("sweep removes only expired rows", func(t *testing.T) {
		for i := range 3 {
			if err := s.Commit(fmt.Sprint("dead", i), []byte("x"), time.Now().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Commit("alive", []byte("x"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		sw, ok := s.Store.(interface {
			Sweep(context.Context) (int64, error)
		})
		if !ok {
			t.Fatalf("%T has no Sweep", s.Store)
		}
		n, err := sw.Sweep(context.Background())
		if err != nil || n < 3 {
			t.Fatalf("Sweep = %d, %v; want at least 3 removed", n, err)
		}
		if _, found, _ := s.Find("alive"); !found {
			t.Error("Sweep removed a live session")
		}
	})

	t.Run("down: errors, then back", func(t *testing.T) {
		pg.Stop()
		if err := s.Ping(context.Background()); err == nil {
			t.Error("Ping with PostgreSQL stopped: nil error")
		}
		if _, _, err := s.Find("alive"); err == nil || !strings.Contains(err.Error(), "session store: postgres: find") {
			t.Errorf("Find with PostgreSQL stopped: %v", err)
		}
		pg.Start(t)
		if err := s.Ping(context.Background()); err != nil {
			t.Errorf("Ping after restart: %v", err)
		}
		if _, found, err := s.Find("alive"); err != nil || !found {
			t.Errorf("Find after restart: %v, %v", found, err)
		}
	})

	t.Run("down at start, table created once it is up", func(t *testing.T) {
		pg.Exec(t, "DROP TABLE "+session.PostgresTable)
		pg.Stop()
		late, logs := open(t, session.Options{Type: "postgres", DatabaseURL: pg.URL(), SweepInterval: -1})
		if !strings.Contains(logs.String(), "session store unreachable at start-up") {
			t.Errorf("no start-up warning:\n%s", logs)
		}
		if err := late.Commit("x", []byte("x"), time.Now().Add(time.Hour)); err == nil {
			t.Error("Commit with PostgreSQL down: nil error")
		}
		pg.Start(t)
		if tableExists() {
			t.Fatal("the table came back by itself")
		}
		roundTrip(t, late)
		if !tableExists() {
			t.Error("the table was not created once the database was up")
		}
	})
}
