package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"
)

// RedisKeyPrefix starts the key of every session graphauth keeps in Redis. The rest of the key
// is scs's SHA-256 of the session token (the app sets HashTokenInStore), never the cookie value.
const RedisKeyPrefix = "graphauth:session:"

var _ scs.Store = (*redisStore)(nil)

// redisStore is scs's redisstore with error context and one retry on a dead pooled connection.
// Redis expires the keys itself (PEXPIREAT), so there is nothing to sweep.
type redisStore struct {
	rs   *redisstore.RedisStore
	pool *redis.Pool
}

func openRedis(o Options) (*Store, error) {
	if err := checkRedisURL(o.RedisURL); err != nil {
		return nil, fmt.Errorf("session store: REDIS_URL: %w", err)
	}
	raw, timeout := o.RedisURL, o.timeout()
	pool := &redis.Pool{
		MaxIdle:     16,
		IdleTimeout: 5 * time.Minute,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			// Every read and write has a deadline: a hung server costs a request `timeout`,
			// not a goroutine forever.
			return redis.DialURLContext(ctx, raw,
				redis.DialConnectTimeout(timeout),
				redis.DialReadTimeout(timeout),
				redis.DialWriteTimeout(timeout))
		},
		// A connection idle for a while may have been closed by the server or a proxy:
		// check it before use.
		TestOnBorrow: func(c redis.Conn, lastUsed time.Time) error {
			if time.Since(lastUsed) < time.Minute {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
	s := &redisStore{rs: redisstore.NewWithPrefix(pool, RedisKeyPrefix), pool: pool}
	return &Store{Store: s, Ping: s.ping, Close: pool.Close}, nil
}

// checkRedisURL validates REDIS_URL without ever putting it in an error: it may hold a
// password (url.Parse's own errors quote the whole URL).
func checkRedisURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL (the value is not shown: it may hold a password); use redis://[:password@]host:6379/0 or rediss:// for TLS")
	}
	switch u.Scheme {
	case "redis", "rediss", "valkey", "valkeys":
	default:
		return errors.New("the scheme must be redis:// or rediss:// (TLS), e.g. redis://127.0.0.1:6379/0")
	}
	if u.Opaque != "" || u.Host == "" {
		return errors.New("no host: use redis://[:password@]host:6379/0")
	}
	if u.Path != "" && u.Path != "/" && !redisDBPath.MatchString(u.Path) {
		return errors.New("the path must be a database number, e.g. redis://127.0.0.1:6379/0")
	}
	return nil
}

var redisDBPath = regexp.MustCompile(`^/\d{1,5}$`)

func (s *redisStore) Find(token string) ([]byte, bool, error) {
	b, found, err := s.rs.Find(token)
	if staleConn(err) {
		b, found, err = s.rs.Find(token)
	}
	if err != nil {
		return nil, false, fmt.Errorf("session store: redis: find: %w", err)
	}
	return b, found, nil
}

// Commit is SET and PEXPIREAT in one MULTI/EXEC, so repeating it after a dead connection is safe.
func (s *redisStore) Commit(token string, b []byte, expiry time.Time) error {
	err := s.rs.Commit(token, b, expiry)
	if staleConn(err) {
		err = s.rs.Commit(token, b, expiry)
	}
	if err != nil {
		return fmt.Errorf("session store: redis: commit: %w", err)
	}
	return nil
}

// CommitCtx is Commit with the condition IfExists or IfNew from ctx, as one SET with XX (only
// over a key that exists) or NX (only a new key) and PXAT: Redis does the check and the write in
// one step, so a Delete can never fall between them.
func (s *redisStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	cond := condOf(ctx)
	if cond == condNone {
		return s.Commit(token, b, expiry)
	}
	flag := "XX"
	if cond == condNew {
		flag = "NX"
	}
	set := func() (any, error) {
		c, err := s.pool.GetContext(ctx)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return c.Do("SET", RedisKeyPrefix+token, b, "PXAT", max(expiry.UnixMilli(), 1), flag)
	}
	reply, err := set()
	if staleConn(err) {
		reply, err = set()
	}
	if err != nil {
		return fmt.Errorf("session store: redis: commit: %w", err)
	}
	if reply == nil {
		return ErrSessionGone
	}
	return nil
}

func (s *redisStore) Delete(token string) error {
	err := s.rs.Delete(token)
	if staleConn(err) {
		err = s.rs.Delete(token)
	}
	if err != nil {
		return fmt.Errorf("session store: redis: delete: %w", err)
	}
	return nil
}

func (s *redisStore) ping(ctx context.Context) error {
	err := s.pingOnce(ctx)
	if staleConn(err) {
		err = s.pingOnce(ctx)
	}
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

func (s *redisStore) pingOnce(ctx context.Context) error {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = redis.DoContext(c, ctx, "PING")
	return err
}

// staleConn reports whether err looks like a pooled connection the server has closed (after a
// Redis restart, every idle connection is): worth one retry on a fresh connection. An error
// reply from Redis, a failed dial or a timeout is not retried: it would fail again, or wait again.
func staleConn(err error) bool {
	if err == nil {
		return false
	}
	var re redis.Error
	if errors.As(err, &re) {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
