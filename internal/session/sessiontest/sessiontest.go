// Package sessiontest starts real Redis and PostgreSQL servers for tests of the shared session
// stores: each on a random loopback port, with its files in the test's t.TempDir(), stopped when
// the test ends. Tests can also stop and restart a server to play an outage.
//
// The servers come from Debian's packages (`redis-server`, `postgresql`; .ci/run installs them).
// When one is missing the test fails under CI=true and is skipped otherwise.
package sessiontest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 30 * time.Second

// missing fails (under CI=true) or skips the test when a server binary is not installed.
func missing(t testing.TB, what, install string) {
	t.Helper()
	msg := fmt.Sprintf("%s not found: install it (%s) to run this test", what, install)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// server is one child process: a Redis or PostgreSQL server.
type server struct {
	t       testing.TB
	name    string
	logFile string
	build   func() *exec.Cmd
	ready   func(context.Context) error

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{} // closed when cmd has exited
}

// start runs the server and waits until ready reports it accepts connections.
func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("%s is already running", s.name)
	}
	log, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := s.build()
	cmd.Stdout, cmd.Stderr = log, log
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	setParentDeathSignal(cmd.SysProcAttr) // the server dies with the test binary, even on a crash
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	exit := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exit) }()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		err := s.ready(ctx)
		if err == nil {
			break
		}
		select {
		case <-exit:
			return fmt.Errorf("%s exited at start-up:\n%s", s.name, s.tail())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exit
			return fmt.Errorf("%s did not accept connections within %v (last: %v):\n%s", s.name, startTimeout, err, s.tail())
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.cmd, s.exit = cmd, exit
	return nil
}

// stop asks the server to shut down (sig) and waits for it, killing it after 15 s.
func (s *server) stop(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.exit:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exit
	}
	s.cmd, s.exit = nil, nil
}

// tail is the end of the server's log, for failure messages.
func (s *server) tail() string {
	b, _ := os.ReadFile(s.logFile)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Redis is a redis-server child process.
type Redis struct {
	srv      *server
	port     int
	password string
}

// RedisOptions configures StartRedis.
type RedisOptions struct {
	// Persist keeps the data across Stop and Start (an append-only file synced on every write),
	// as a production Redis would. Without it a restart starts empty.
	Persist bool
}

// StartRedis starts redis-server on a random loopback port with a random password, in a
// directory under t.TempDir(), and stops it when the test ends.
func StartRedis(t testing.TB, o RedisOptions) *Redis {
	t.Helper()
	bin := findRedis()
	if bin == "" {
		missing(t, "redis-server", "apt-get install redis-server")
	}
	dir := t.TempDir()
	r := &Redis{password: randomHex(16)}
	var lastErr error
	for range 3 { // the port may be taken between freePort and the server's bind: try another
		r.port = freePort(t)
		args := []string{
			"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--protected-mode", "yes",
			"--dir", dir, "--save", "", "--requirepass", r.password, "--daemonize", "no",
			"--logfile", "", // to stdout, which goes to the log file
		}
		if o.Persist {
			args = append(args, "--appendonly", "yes", "--appendfsync", "always")
		} else {
			args = append(args, "--appendonly", "no")
		}
		r.srv = &server{
			t: t, name: "redis-server", logFile: filepath.Join(dir, "redis.log"),
			build: func() *exec.Cmd { return exec.Command(bin, args...) },
			ready: r.ping,
		}
		if lastErr = r.srv.start(); lastErr == nil {
			t.Cleanup(r.Stop)
			return r
		}
	}
	t.Fatalf("redis: %v", lastErr)
	return nil
}

func findRedis() string {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func (r *Redis) ping(ctx context.Context) error {
	c, err := redis.DialURLContext(ctx, r.URL(), redis.DialConnectTimeout(time.Second),
		redis.DialReadTimeout(time.Second), redis.DialWriteTimeout(time.Second))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Do("PING")
	return err
}

// URL is the REDIS_URL for this server (it holds the password).
func (r *Redis) URL() string {
	return fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", r.password, r.port)
}

// Password is the server's password (tests check it never reaches a log).
func (r *Redis) Password() string { return r.password }

// Addr is host:port.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// Stop shuts the server down (SIGTERM) and waits for it. Stopping a stopped server does nothing.
func (r *Redis) Stop() { r.srv.stop(syscall.SIGTERM) }

// Start starts a stopped server again on the same port, with the same password and directory.
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	if err := r.srv.start(); err != nil {
		t.Fatalf("redis restart: %v", err)
	}
}

// Do runs one command on a fresh connection (for tests that look inside the store).
func (r *Redis) Do(t testing.TB, cmd string, args ...any) any {
	t.Helper()
	c, err := redis.DialURL(r.URL())
	if err != nil {
		t.Fatalf("redis: %v", err)
	}
	defer c.Close()
	reply, err := c.Do(cmd, args...)
	if err != nil {
		t.Fatalf("redis %s: %v", cmd, err)
	}
	return reply
}

// Postgres is a PostgreSQL server child process with its own cluster in t.TempDir().
type Postgres struct {
	srv  *server
	port int
	db   string
	user string
}

// StartPostgres runs initdb in a directory under t.TempDir() and starts postgres on a random
// loopback port (TCP only; its Unix socket stays in that directory), with trust authentication
// for the loopback user "graphauth". It stops the server when the test ends.
//
// PostgreSQL refuses to run as root, and tests in CI run as root: then initdb and postgres run
// as the "postgres" user that Debian's package creates (or "nobody"), through the process
// credentials, so neither sudo nor runuser is needed.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	binDir := findPostgres()
	if binDir == "" {
		missing(t, "PostgreSQL (postgres and initdb)", "apt-get install postgresql")
	}
	cred, err := postgresCredential()
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "pg")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		// The server's user must reach its directory: open the path down to it for traversal
		// (t.TempDir's directories are 0700 root) and hand it the directory itself.
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o711); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(root, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
		for d := filepath.Dir(filepath.Dir(dir)); ; d = filepath.Dir(d) {
			if info, err := os.Stat(d); err == nil && info.Mode().Perm()&0o001 == 0 {
				t.Fatalf("postgres: the server runs as uid %d, which cannot enter %s (mode %v): "+
					"point TMPDIR at a directory every user can traverse, such as /tmp", cred.Uid, d, info.Mode().Perm())
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	data := filepath.Join(root, "data")
	logFile := filepath.Join(dir, "postgres.log")

	p := &Postgres{db: "postgres", user: "graphauth"}
	initdb := exec.Command(filepath.Join(binDir, "initdb"), "-D", data, "-U", p.user, "-A", "trust",
		"-E", "UTF8", "--locale=C", "-N")
	initdb.Dir = root
	initdb.Env = []string{"LANG=C", "PATH=/usr/bin:/bin"}
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}

	var lastErr error
	for range 3 {
		p.port = freePort(t)
		args := []string{"-D", data, "-p", strconv.Itoa(p.port), "-k", root,
			"-c", "listen_addresses=127.0.0.1",
			// A throwaway test cluster: no durability, small memory.
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "shared_buffers=16MB", "-c", "max_connections=60"}
		p.srv = &server{
			t: t, name: "postgres", logFile: logFile,
			build: func() *exec.Cmd {
				cmd := exec.Command(filepath.Join(binDir, "postgres"), args...)
				cmd.Dir = root
				cmd.Env = []string{"LANG=C", "PATH=/usr/bin:/bin"}
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
				return cmd
			},
			ready: p.ping,
		}
		if lastErr = p.srv.start(); lastErr == nil {
			t.Cleanup(p.Stop)
			return p
		}
	}
	t.Fatalf("postgres: %v", lastErr)
	return nil
}

// findPostgres returns the directory holding postgres and initdb: from $PATH, else Debian's
// /usr/lib/postgresql/<version>/bin (newest first), which is not on $PATH.
func findPostgres() string {
	has := func(dir string) bool {
		for _, b := range []string{"postgres", "initdb"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real)
		}
		if has(filepath.Dir(p)) {
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d
		}
	}
	return ""
}

func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// postgresCredential is nil when the test does not run as root; otherwise the user the
// server runs as.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil // no supplementary groups
	}
	return nil, errors.New(`running as root, and neither a "postgres" nor a "nobody" user exists to run the server as`)
}

func (p *Postgres) ping(ctx context.Context) error {
	db, err := sql.Open("pgx", p.URL()+"&connect_timeout=1")
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// URL is the DATABASE_URL for this server.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", p.user, p.port, p.db)
}

// Stop shuts the server down (fast shutdown, SIGINT) and waits for it.
func (p *Postgres) Stop() { p.srv.stop(syscall.SIGINT) }

// Start starts a stopped server again, on the same port with the same data.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	if err := p.srv.start(); err != nil {
		t.Fatalf("postgres restart: %v", err)
	}
}

// Query runs a query returning one value (for tests that look inside the store).
func (p *Postgres) Query(t testing.TB, query string, args ...any) any {
	t.Helper()
	db, err := sql.Open("pgx", p.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v any
	if err := db.QueryRow(query, args...).Scan(&v); err != nil {
		t.Fatalf("postgres %q: %v", strings.SplitN(query, " ", 2)[0], err)
	}
	return v
}

// Exec runs a statement (for tests that change the store behind the app's back).
func (p *Postgres) Exec(t testing.TB, stmt string, args ...any) {
	t.Helper()
	db, err := sql.Open("pgx", p.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt, args...); err != nil {
		t.Fatalf("postgres %q: %v", strings.SplitN(stmt, " ", 2)[0], err)
	}
}
