// Package session keeps each user's session (including their MSAL token cache)
// on the server, in a file-backed store for github.com/alexedwards/scs/v2.
package session

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
)

// The store implements these scs interfaces (All reports ErrIterationUnsupported, see there).
var (
	_ scs.Store         = (*FileStore)(nil)
	_ scs.IterableStore = (*FileStore)(nil)
)

// ErrIterationUnsupported is returned by All: files are named by a hash of the
// session token and the token itself is never written to disk, so the store
// cannot list sessions by token.
var ErrIterationUnsupported = errors.New("session store: listing sessions is not supported (only token hashes are stored)")

const (
	// DefaultSweepInterval is how often expired files are removed when
	// FileStoreOptions.SweepInterval is 0.
	DefaultSweepInterval = 5 * time.Minute

	// tempPrefix starts the name of every temporary file (commits in flight,
	// Ping probes). Session files are 64 hex digits, so the two never clash.
	tempPrefix = ".tmp-"

	// staleTempAge is how old a temporary file must be before Sweep treats it
	// as left behind by a crash rather than a commit in flight.
	staleTempAge = time.Minute

	dirMode = 0o700 // files are created 0600 by os.CreateTemp
)

// FileStoreOptions configures NewFileStore. The zero value is ready to use.
type FileStoreOptions struct {
	// SweepInterval is how often expired, damaged and stale temporary files
	// are removed in the background: 0 means DefaultSweepInterval, a negative
	// value disables the sweeper (call Sweep yourself).
	SweepInterval time.Duration

	// Logger receives the sweeper's reports and warnings; nil discards them.
	// Tokens are never logged.
	Logger *slog.Logger

	// Durable makes Commit fsync the file before the rename and the directory
	// after it, and Delete fsync the directory. Without it a commit is atomic
	// against the process being killed (rename replaces the old file in one
	// step, and the kernel still writes the page cache out), which is the
	// failure this app plans for. Only a power loss or kernel crash can then
	// lose a recent commit, or bring back a deleted (signed-out) session. The
	// price is two fsyncs per request that changes a session: milliseconds
	// on most disks, instead of tens of microseconds.
	Durable bool
}

// FileStore is an scs session store that keeps one file per session in a
// single directory.
//
// Each file is named hex(SHA-256(token)): a cookie value can never name a path
// outside the directory, and a listing of the directory does not reveal usable
// session IDs. Files are written to a temporary file in the same directory and
// renamed into place, so a reader sees the old or the new session, never a
// mixture; each carries a checksum, so a damaged file reads as "no session".
//
// The directory is flat. Measured on ext4 (which indexes large directories),
// a 256-way fan-out by the first two hex digits made nothing faster: at 100k
// sessions reads took p50 8.5µs flat vs 9.3µs fanned out and commits 61µs vs
// 69µs; at 1k and 10k the two were within run-to-run noise. So the simpler
// layout stays.
//
// If the directory is removed while the app runs, Find reports sessions as not
// found and the next Commit recreates it (mode 0700) with a warning: the
// sessions it held are gone either way, and users can sign in again without a
// restart. Ping reports the missing directory until then.
type FileStore struct {
	dir     string
	durable bool
	logger  *slog.Logger

	// locks serialise the rename in Commit with Sweep's final check-and-remove
	// of the same file, so a sweep that found an expired file can never
	// remove a fresh one committed in between. Striped by the first byte of
	// the file name; Find takes no lock at all.
	locks [256]sync.Mutex

	stop      chan struct{} // closed by Close; nil without a sweeper
	done      chan struct{} // closed when the sweeper has returned
	closeOnce sync.Once

	// watch keeps the files Find has read until inotify reports them changed (Linux, a local
	// file system; watch_linux.go); nil where that cannot be trusted, and Find reads each time.
	watch *dirWatch

	// hook, when set by tests, is called at each step of Commit and Ping
	// ("create", "write", "sync", "close", "rename") and before Sweep locks a
	// file it found dead ("sweep-recheck"); an error from it fails the step.
	hook func(step string) error
}

// NewFileStore returns a store keeping its files in dir. It creates dir (and
// its parents) with mode 0700, tightens an existing dir to 0700, and refuses a
// path that is not a directory. Unless opts.SweepInterval is negative it
// starts a background sweeper; call Close to stop it.
func NewFileStore(dir string, opts FileStoreOptions) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("session store: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &FileStore{dir: abs, durable: opts.Durable, logger: logger}
	if err := s.ensureDir(); err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	if w, err := newDirWatch(abs); err == nil {
		s.watch = w
		// A store dropped without Close must not keep its inotify instance (128 per user).
		runtime.AddCleanup(s, func(w *dirWatch) { w.close() }, w)
	} else {
		logger.Info("session store: no inotify cache, every session is read from its file", "dir", abs, "why", err.Error())
	}

	interval := opts.SweepInterval
	if interval == 0 {
		interval = DefaultSweepInterval
	}
	if interval > 0 {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.sweepLoop(interval)
	}
	return s, nil
}

// ensureDir creates the directory if needed and makes sure it is a directory
// with mode 0700 (MkdirAll's mode is reduced by the umask, so set it again).
//
// It refuses a directory that is a symlink or belongs to another user: whoever controls it could
// point the store elsewhere or read and replace sessions.
func (s *FileStore) ensureDir() error {
	if err := os.MkdirAll(s.dir, dirMode); err != nil {
		return err
	}
	info, err := os.Lstat(s.dir)
	if err != nil {
		return err
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symlink: give SESSION_DIR as the real directory, owned by this user", s.dir)
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", s.dir)
	}
	if uid, ok := ownerOf(info); ok && uid != os.Getuid() {
		return fmt.Errorf("%s belongs to another user (uid %d, this process runs as %d): give SESSION_DIR a directory this user owns", s.dir, uid, os.Getuid())
	}
	if info.Mode().Perm() != dirMode {
		s.logger.Info("session store: tightening directory permissions",
			"dir", s.dir, "was", info.Mode().Perm().String())
		if err := os.Chmod(s.dir, dirMode); err != nil {
			return err
		}
	}
	return nil
}

// fileName is the name of the file holding token's session. Hashing makes any
// token (with "../", "/", NUL or 10 KB of text) a harmless 64-character name.
func fileName(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// isSessionName reports whether name looks like a file written by fileName.
func isSessionName(name string) bool {
	if len(name) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// lockFor returns the stripe lock for a file name made by fileName.
func (s *FileStore) lockFor(name string) *sync.Mutex {
	return &s.locks[stripe(name)]
}

func stripe(name string) byte {
	var b [1]byte
	_, _ = hex.Decode(b[:], []byte(name[:2]))
	return b[0]
}

// lock takes the stripe lock of the file name and, where the system has them, the same stripe of
// the directory's advisory lock file, which other processes sharing the directory take too. It
// returns the function that releases both.
func (s *FileStore) lock(name string) (unlock func(), err error) {
	mu := s.lockFor(name)
	mu.Lock()
	release, err := lockStripe(s.dir, stripe(name))
	if err != nil {
		mu.Unlock()
		return nil, err
	}
	return func() { release(); mu.Unlock() }, nil
}

// checkCond reports ErrSessionGone when path's existence does not match the commit condition.
func checkCond(path string, cond commitCond) error {
	_, err := os.Lstat(path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if exists != (cond == condExists) {
		return ErrSessionGone
	}
	return nil
}

func (s *FileStore) step(name string) error {
	if s.hook == nil {
		return nil
	}
	return s.hook(name)
}

// Find returns the session data for token. A missing, expired or damaged file
// is reported as found=false with a nil error; only a real I/O failure (such
// as a permission error) is returned as an error.
func (s *FileStore) Find(token string) (b []byte, found bool, err error) {
	found, err = s.View(token, func(record []byte) { b = bytes.Clone(record) })
	return b, found, err
}

// readBuffers lends View its buffers: a signed-in request reads its session, and a fresh 16 KB
// buffer each time was 7% of GET /'s cost (allocating and clearing it, then collecting it).
var readBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// View is Find without the copy: fn gets the record only for the length of the call (the buffer
// is reused afterwards), must not modify it, and is not called when the session is missing,
// expired or damaged.
func (s *FileStore) View(token string, fn func(record []byte)) (found bool, err error) {
	now := time.Now()
	var seen uint64
	if s.watch != nil {
		payload, n, ok := s.watch.lookup(token, unixNanos(now))
		if ok {
			fn(payload) // the file is unchanged since it was read: no system call but the lookup's
			return true, nil
		}
		seen = n
	}
	name := fileName(token)
	bp := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(bp)
	data, err := readFileInto(filepath.Join(s.dir, name), *bp)
	if cap(data) <= 64<<10 {
		*bp = data[:0] // keep a grown buffer, but not a huge one
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("session store: find: %w", err)
	}
	payload, ok := decodeFile(data, now)
	if !ok {
		return false, nil
	}
	if s.watch != nil {
		_ = s.step("view-keep") // tests change the file here, between the read and the keep
		s.watch.keep(token, name, bytes.Clone(payload), int64(binary.BigEndian.Uint64(data[8:16])), seen)
	}
	fn(payload)
	return true, nil
}

// Peek returns token's record when the inotify cache holds it, unchanged in its file and not
// expired: the cache's own copy, never modified, so the caller may keep it (and must not change
// it). ok=false means it must be read (View or Find).
func (s *FileStore) Peek(token string) (record []byte, ok bool) {
	if s.watch == nil {
		return nil, false
	}
	record, _, ok = s.watch.lookup(token, unixNanos(time.Now()))
	return record, ok
}

// Commit stores b as token's session until expiry, replacing any earlier
// version atomically: the data goes to a temporary file (mode 0600) in the
// same directory, which is then renamed over the session file. On failure the
// temporary file is removed and the previous version, if any, is untouched.
func (s *FileStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// CommitCtx is Commit with the condition IfExists or IfNew taken from ctx: the check that the
// file is (or is not) there and the rename are one step against Delete, under the file's stripe
// lock and an advisory lock that other processes (and other FileStores) sharing the directory
// take too. A condition that fails returns ErrSessionGone and writes nothing.
func (s *FileStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if err := s.commit(token, b, expiry, condOf(ctx)); err != nil {
		return fmt.Errorf("session store: commit: %w", err)
	}
	return nil
}

func (s *FileStore) commit(token string, b []byte, expiry time.Time, cond commitCond) (err error) {
	if uint64(len(b)) > math.MaxUint32 {
		return fmt.Errorf("session data of %d bytes is too large", len(b))
	}
	data := encodeFile(b, expiry)
	name := fileName(token)

	f, err := s.createTemp()
	if err != nil {
		return err
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			_ = f.Close() // a second Close after a failed one only reports ErrClosed
			_ = os.Remove(tmp)
		}
	}()

	if err := s.step("write"); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if s.durable {
		if err := s.step("sync"); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := s.step("close"); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}

	unlock, err := s.lock(name)
	if err != nil {
		return err
	}
	if cond != condNone {
		err = checkCond(filepath.Join(s.dir, name), cond)
	}
	if err == nil {
		err = s.step("rename") // after the check: where a Delete must not fall
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, name))
	}
	unlock()
	if err != nil {
		return err
	}
	renamed = true

	if s.durable {
		return syncDir(s.dir)
	}
	return nil
}

// createTemp creates a temporary file in the store's directory, recreating
// the directory if it has vanished.
func (s *FileStore) createTemp() (*os.File, error) {
	if err := s.step("create"); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.dir, tempPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) {
		s.logger.Warn("session store: directory has vanished; recreating it", "dir", s.dir)
		if err := s.ensureDir(); err != nil {
			return nil, err
		}
		f, err = os.CreateTemp(s.dir, tempPrefix+"*")
	}
	return f, err
}

// Delete removes token's session. A session that does not exist is not an error.
func (s *FileStore) Delete(token string) error {
	name := fileName(token)
	unlock, err := s.lock(name)
	if err != nil {
		return fmt.Errorf("session store: delete: %w", err)
	}
	err = os.Remove(filepath.Join(s.dir, name))
	unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && s.durable {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("session store: delete: %w", err)
	}
	return nil
}

// All implements scs.IterableStore but always returns ErrIterationUnsupported.
//
// scs wants a map from session token to data, and the store keeps only
// hex(SHA-256(token)). Writing the token into the file would make it work, but
// we chose not to. The token is a bearer credential: anyone who holds it is
// signed in. A session file that leaks through a backup, a misplaced volume or
// a debugging copy would then give out a cookie ready to replay. With hashes
// only, what leaks is the MSAL cache inside the file. That is bad enough: its
// access tokens work for up to an hour. But its refresh tokens are useless
// without this confidential client's credential. It is the same reason
// password-reset tokens and API keys are stored hashed. The app does not need
// iteration either: sign-out destroys the current session by its token. If
// "sign out everywhere" is ever wanted, keep a per-user index in the session
// data rather than the token on disk.
func (s *FileStore) All() (map[string][]byte, error) {
	return nil, ErrIterationUnsupported
}

// Sweep removes expired and damaged session files, and temporary files older
// than a minute (left by a crash mid-commit). It leaves files it does not
// recognise alone. It reads the directory in batches and locks a file only
// for its final check-and-remove: Find never waits for it, and Commit waits
// at most for one small file's check.
func (s *FileStore) Sweep() (removed int, err error) {
	return s.sweep(nil)
}

// sweep does the work of Sweep, giving up between batches once stop is closed.
func (s *FileStore) sweep(stop <-chan struct{}) (removed int, err error) {
	d, err := os.Open(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // nothing to sweep; the next Commit recreates the directory
	}
	if err != nil {
		return 0, fmt.Errorf("session store: sweep: %w", err)
	}
	defer d.Close()

	now := time.Now()
	var firstErr error
	failures := 0
	for {
		entries, readErr := d.ReadDir(512)
		for _, e := range entries {
			ok, err := s.sweepEntry(e, now)
			if ok {
				removed++
			}
			if err != nil {
				failures++
				if firstErr == nil {
					firstErr = err
				}
			}
		}
		if readErr == io.EOF {
			break
		}
		if readErr != nil {
			failures++
			if firstErr == nil {
				firstErr = readErr
			}
			break
		}
		select {
		case <-stop:
			return removed, nil
		default:
		}
	}
	if firstErr != nil {
		return removed, fmt.Errorf("session store: sweep: %d failures, first: %w", failures, firstErr)
	}
	return removed, nil
}

// sweepEntry removes one directory entry if it is dead, reporting whether it did.
func (s *FileStore) sweepEntry(e fs.DirEntry, now time.Time) (removed bool, err error) {
	name := e.Name()
	path := filepath.Join(s.dir, name)
	switch {
	case strings.HasPrefix(name, tempPrefix) && e.Type().IsRegular():
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // its commit finished meanwhile
		}
		if err != nil {
			return false, err
		}
		if now.Sub(info.ModTime()) < staleTempAge {
			return false, nil // probably a commit in flight
		}
		return removeFile(path)

	case isSessionName(name) && e.Type().IsRegular():
		// First look without a lock: most files are alive.
		if dead, err := fileIsDead(path, now); !dead || err != nil {
			return false, err
		}
		_ = s.step("sweep-recheck")
		// Look again under the lock Commit takes for its rename, so a session
		// committed since the first look is kept.
		unlock, err := s.lock(name)
		if err != nil {
			return false, err
		}
		defer unlock()
		if dead, err := fileIsDead(path, now); !dead || err != nil {
			return false, err
		}
		return removeFile(path)
	}
	return false, nil
}

// fileIsDead reports whether the session file at path is expired or damaged.
// A file that no longer exists is not dead: there is nothing to remove.
func fileIsDead(path string, now time.Time) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, ok := decodeFile(data, now)
	return !ok, nil
}

func removeFile(path string) (bool, error) {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (s *FileStore) sweepLoop(interval time.Duration) {
	defer close(s.done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			start := time.Now()
			removed, err := s.sweep(s.stop)
			if err != nil {
				s.logger.Warn("session store: sweep failed", "dir", s.dir, "removed", removed, "err", err)
				continue
			}
			s.logger.Debug("session store: swept", "dir", s.dir, "removed", removed,
				"took", time.Since(start))
		}
	}
}

// Ping checks that the directory exists and is writable, by creating and
// removing a temporary file. It is meant for a readiness check, and unlike
// Commit it does not recreate a missing directory.
func (s *FileStore) Ping() error {
	err := s.step("create")
	var f *os.File
	if err == nil {
		f, err = os.CreateTemp(s.dir, tempPrefix+"ping-*")
	}
	if err != nil {
		return fmt.Errorf("session store: ping: %w", err)
	}
	if err := errors.Join(f.Close(), os.Remove(f.Name())); err != nil {
		return fmt.Errorf("session store: ping: %w", err)
	}
	return nil
}

// Close stops the background sweeper and waits for it to return, abandoning a
// sweep in progress after its current batch, and ends the inotify cache. The
// store stays usable (Find reads every file). Calling Close more than once is
// fine.
func (s *FileStore) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
		if s.watch != nil {
			s.watch.close() // Find reads the files from now on
		}
	})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// The file format, all integers big-endian:
//
//	offset size
//	0      4    magic "GASF" (graphauth session file)
//	4      1    version, 1
//	5      3    reserved, zero
//	8      8    expiry, int64 Unix nanoseconds
//	16     4    payload length, uint32
//	20     4    CRC-32C (Castagnoli) of bytes 0-19 followed by the payload
//	24     ...  payload: the session data scs gave to Commit
//
// The CRC guards against accidental damage (a truncated or torn file, a bit
// flip), and it covers the expiry too. It does not authenticate: the app wraps
// the store in Sealed, so the payload is an AES-GCM sealed record that a file
// planted or copied into the directory cannot forge.
const (
	fileMagic   = "GASF"
	fileVersion = 1
	headerSize  = 24
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeFile returns the file contents for payload expiring at expiry.
func encodeFile(payload []byte, expiry time.Time) []byte {
	data := make([]byte, headerSize+len(payload))
	copy(data[0:4], fileMagic)
	data[4] = fileVersion
	binary.BigEndian.PutUint64(data[8:16], uint64(unixNanos(expiry)))
	binary.BigEndian.PutUint32(data[16:20], uint32(len(payload)))
	copy(data[headerSize:], payload)
	crc := crc32.Update(crc32.Checksum(data[:20], castagnoli), castagnoli, payload)
	binary.BigEndian.PutUint32(data[20:24], crc)
	return data
}

// decodeFile returns the payload of a file's contents if they are well formed,
// their checksum matches, and the expiry is after now. It does no I/O. The
// payload shares data's memory.
func decodeFile(data []byte, now time.Time) (payload []byte, ok bool) {
	if len(data) < headerSize ||
		string(data[0:4]) != fileMagic ||
		data[4] != fileVersion ||
		data[5] != 0 || data[6] != 0 || data[7] != 0 {
		return nil, false
	}
	length := binary.BigEndian.Uint32(data[16:20])
	if uint64(length) != uint64(len(data)-headerSize) {
		return nil, false // truncated, or trailing bytes
	}
	payload = data[headerSize:]
	crc := crc32.Update(crc32.Checksum(data[:20], castagnoli), castagnoli, payload)
	if crc != binary.BigEndian.Uint32(data[20:24]) {
		return nil, false
	}
	expiry := int64(binary.BigEndian.Uint64(data[8:16]))
	if unixNanos(now) >= expiry {
		return nil, false
	}
	return payload, true
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// unixNanos is t.UnixNano, clamped: UnixNano is undefined outside the years
// 1678-2262, and a zero time.Time must still read as long expired.
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}
