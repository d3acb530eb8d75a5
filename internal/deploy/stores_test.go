package deploy_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"

	"github.com/graphauth/graphauth/internal/session"
	"github.com/graphauth/graphauth/internal/session/sessiontest"
	"github.com/graphauth/graphauth/internal/stacktest"
)

// store is a session store the test can also look into, behind the app's back.
type store struct {
	kind    string // SESSION_TYPE
	env     map[string]string
	records func(t *testing.T) [][]byte // every stored session record, opened (scs's encoding)
	ids     func(t *testing.T) []string // what the store keys sessions by
	stop    func()                      // an outage (nil: the store cannot be stopped)
	start   func(t testing.TB)
}

// fileHeaderSize is the size of FileStore's header before the scs record (see filestore.go).
const fileHeaderSize = 24

// storeKey makes the SESSION_KEY a test's instances share, and the ring that opens its records.
func storeKey(t *testing.T) (string, *session.Keys) {
	hexKey := stacktest.NewSessionKey()
	raw, _ := hex.DecodeString(hexKey)
	keys, err := session.NewKeys(raw)
	if err != nil {
		t.Fatal(err)
	}
	return hexKey, keys
}

// openRecord opens a sealed record stored under key (what scs gave the store).
func openRecord(t *testing.T, keys *session.Keys, key string, rec []byte) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(key))
	b, err := session.OpenRecord(keys, hex.EncodeToString(sum[:]), rec)
	if err != nil {
		t.Fatalf("a stored record does not open with SESSION_KEY: %v", err)
	}
	return b
}

func fileStore(t *testing.T) store {
	dir := t.TempDir()
	hexKey, keys := storeKey(t)
	return store{
		kind: "filesystem",
		env:  map[string]string{"SESSION_TYPE": "filesystem", "SESSION_DIR": dir, "SESSION_KEY": hexKey},
		ids: func(t *testing.T) []string {
			entries, _ := os.ReadDir(dir)
			var out []string
			for _, e := range entries {
				if e.Name() != ".lock" { // the store's advisory lock file
					out = append(out, e.Name())
				}
			}
			return out
		},
		records: func(t *testing.T) [][]byte {
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var out [][]byte
			for _, e := range entries {
				if _, err := hex.DecodeString(e.Name()); err != nil || len(e.Name()) != 64 {
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil || len(b) < fileHeaderSize {
					continue
				}
				rec, err := session.OpenRecord(keys, e.Name(), b[fileHeaderSize:])
				if err != nil {
					t.Fatalf("%s does not open with SESSION_KEY: %v", e.Name(), err)
				}
				out = append(out, rec)
			}
			return out
		},
	}
}

// redisStore starts a Redis (with an append-only file, so a restart keeps the sessions) and
// hands its URL to the app through REDIS_URL_FILE, the container-secret form.
func redisStore(t *testing.T) store {
	r := sessiontest.StartRedis(t, sessiontest.RedisOptions{Persist: true})
	urlFile := filepath.Join(t.TempDir(), "redis_url")
	if err := os.WriteFile(urlFile, []byte(r.URL()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hexKey, keys := storeKey(t)
	return store{
		kind: "redis",
		env:  map[string]string{"SESSION_TYPE": "redis", "REDIS_URL_FILE": urlFile, "SESSION_KEY": hexKey},
		ids: func(t *testing.T) []string {
			keys, _ := redis.Strings(r.Do(t, "KEYS", "*"), nil)
			return keys
		},
		records: func(t *testing.T) [][]byte {
			names, _ := redis.Strings(r.Do(t, "KEYS", session.RedisKeyPrefix+"*"), nil)
			var out [][]byte
			for _, k := range names {
				if b, err := redis.Bytes(r.Do(t, "GET", k), nil); err == nil {
					out = append(out, openRecord(t, keys, strings.TrimPrefix(k, session.RedisKeyPrefix), b))
				}
			}
			return out
		},
		stop:  r.Stop,
		start: r.Start,
	}
}

// postgresStore starts PostgreSQL with an empty database (the app creates its table) and hands
// its URL to the app through DATABASE_URL_FILE.
func postgresStore(t *testing.T) store {
	pg := sessiontest.StartPostgres(t)
	urlFile := filepath.Join(t.TempDir(), "database_url")
	if err := os.WriteFile(urlFile, []byte(pg.URL()), 0o600); err != nil {
		t.Fatal(err)
	}
	hexKey, keys := storeKey(t)
	return store{
		kind: "postgres",
		env:  map[string]string{"SESSION_TYPE": "postgres", "DATABASE_URL_FILE": urlFile, "SESSION_KEY": hexKey},
		ids: func(t *testing.T) []string {
			s, _ := pg.Query(t, "SELECT coalesce(string_agg(token, ' '), '') FROM "+session.PostgresTable).(string)
			return strings.Fields(s)
		},
		records: func(t *testing.T) [][]byte {
			var out [][]byte
			n, _ := pg.Query(t, "SELECT count(*) FROM "+session.PostgresTable+" WHERE expiry > now()").(int64)
			for i := range n {
				b, _ := pg.Query(t, "SELECT data FROM "+session.PostgresTable+" WHERE expiry > now() ORDER BY token OFFSET $1 LIMIT 1", i).([]byte)
				tok, _ := pg.Query(t, "SELECT token FROM "+session.PostgresTable+" WHERE expiry > now() ORDER BY token OFFSET $1 LIMIT 1", i).(string)
				out = append(out, openRecord(t, keys, tok, b))
			}
			return out
		},
		stop:  pg.Stop,
		start: pg.Start,
	}
}

// signedInRecords returns the stored records that hold a signed-in user's token cache.
func signedInRecords(t *testing.T, s store) [][]byte {
	t.Helper()
	var out [][]byte
	for _, rec := range s.records(t) {
		if _, ok := sessionValues(t, rec)["token_cache"]; ok {
			out = append(out, rec)
		}
	}
	return out
}
