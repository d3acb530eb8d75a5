package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Manager. Zero values take the defaults in brackets.
type Options struct {
	Store       Store         // shared by every instance of the app (required)
	Dir         string        // local working directory (EXPORT_DIR) [os.TempDir()/graphauth-exports]
	Retention   time.Duration // how long a finished zip is kept (EXPORT_RETENTION) [1h]
	MaxBytes    int64         // the largest zip (EXPORT_MAX_BYTES) [2 GiB]
	Concurrency int           // pages fetched at once: the OneNote concurrency budget [5]
	Logger      *slog.Logger
	Now         func() time.Time
	Heartbeat   time.Duration // how often a running job writes its record and looks for a cancel [1s]
	StaleAfter  time.Duration // a running job without a heartbeat this long has died [30s]
	ChunkSize   int           // bytes per stored chunk of the zip [1 MiB]
}

// Manager starts export jobs on this instance and answers for any job in the shared store.
type Manager struct {
	o     Options
	own   string // this process's working directory, under o.Dir
	log   *slog.Logger
	base  context.Context
	stop  context.CancelCauseFunc
	wg    sync.WaitGroup
	mu    sync.Mutex
	local map[string]context.CancelCauseFunc // jobs running here
}

var (
	errCancelled = errors.New("cancelled by its owner")
	errShutdown  = errors.New("the app instance running the export stopped")
)

// DefaultDir is where exports are staged when EXPORT_DIR is not set.
func DefaultDir() string { return filepath.Join(os.TempDir(), "graphauth-exports") }

// NewManager makes the working directory (0700, owned by this user, not a symlink) and removes
// what exports of processes that are no longer running left there (a crash or a restart).
func NewManager(o Options) (*Manager, error) {
	if o.Store == nil {
		return nil, errors.New("export: no store")
	}
	if o.Dir == "" {
		o.Dir = DefaultDir()
	}
	if o.Retention <= 0 {
		o.Retention = time.Hour
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 2 << 30
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 5
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = time.Second
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 30 * time.Second
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 1 << 20
	}
	if err := ensureDir(o.Dir); err != nil {
		return nil, fmt.Errorf("export: EXPORT_DIR: %w", err)
	}
	removeLeftovers(o.Dir, o.Logger)
	own, err := os.MkdirTemp(o.Dir, "p"+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("export: EXPORT_DIR: %w", err)
	}
	base, stop := context.WithCancelCause(context.Background())
	return &Manager{o: o, own: own, log: o.Logger, base: base, stop: stop, local: map[string]context.CancelCauseFunc{}}, nil
}

// ensureDir creates dir 0700 and refuses one that is a symlink or another user's: whoever
// controls it could read the exports or swap their files.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if info.Mode()&fs.ModeSymlink != 0 || !info.IsDir() {
		return fmt.Errorf("%s is not a directory (or is a symlink): give EXPORT_DIR a real directory", dir)
	}
	if uid, ok := ownerOf(info); ok && uid != os.Getuid() {
		return fmt.Errorf("%s belongs to another user (uid %d): give EXPORT_DIR a directory this user owns", dir, uid)
	}
	return os.Chmod(dir, 0o700)
}

// removeLeftovers deletes the working directories of processes that have ended. Each process
// works in p<pid>-<random>; several instances may share EXPORT_DIR, so a live one's is kept,
// and anything else in the directory is left alone.
func removeLeftovers(dir string, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		pid, ok := pidOf(name)
		switch {
		case !ok || !e.IsDir():
			continue // not ours: EXPORT_DIR may be a directory shared with other things
		case pid == os.Getpid():
			continue // another Manager of this process (tests run several instances in one)
		case processAlive(pid):
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			log.Warn("export: could not remove a left-over export", "path", filepath.Join(dir, name), "err", err)
		} else {
			log.Info("export: removed a left-over export from an earlier run", "path", filepath.Join(dir, name))
		}
	}
}

func pidOf(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "p")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(num)
	return pid, err == nil && pid > 0
}

// Close cancels the jobs running on this instance (they are recorded as failed: "the app
// instance stopped"), waits for them to clean up, and removes the working directory.
func (m *Manager) Close() error {
	m.stop(errShutdown)
	m.wg.Wait()
	return os.RemoveAll(m.own)
}

// Start records a new job for owner and runs it on this instance. It refuses a second export
// while the owner has one running (*BusyError naming it).
func (m *Manager) Start(ctx context.Context, owner string, scope Scope, src Source) (Job, error) {
	now := m.o.Now()
	j := Job{ID: newID(), Owner: owner, Kind: scope.Kind, ScopeID: scope.ID, Status: StatusRunning, Phase: "listing",
		Started: now, Heartbeat: now, Expires: now.Add(m.o.Retention)}
	if err := m.lock(ctx, j); err != nil {
		return Job{}, err
	}
	if err := m.save(ctx, j); err != nil {
		_ = m.o.Store.Delete(ctx, userKey(owner))
		return Job{}, err
	}
	jctx, cancel := context.WithCancelCause(m.base)
	m.mu.Lock()
	m.local[j.ID] = cancel
	m.mu.Unlock()
	m.wg.Add(1)
	go m.run(jctx, cancel, j, scope, src)
	return j, nil
}

// lock takes the owner's one-export-at-a-time lock, atomically in the shared store. A lock whose
// job has ended or whose instance died (no heartbeat) is taken over.
func (m *Manager) lock(ctx context.Context, j Job) error {
	key := userKey(j.Owner)
	for attempt := 0; ; attempt++ {
		ok, err := m.o.Store.PutNew(ctx, key, []byte(j.ID), m.o.Now().Add(m.o.StaleAfter))
		if err != nil {
			return fmt.Errorf("export: store: %w", err)
		}
		if ok {
			return nil
		}
		held, found, err := m.o.Store.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("export: store: %w", err)
		}
		if found {
			if cur, err := m.load(ctx, string(held)); err == nil && cur.Active() {
				return &BusyError{Running: cur}
			}
		}
		if attempt > 0 {
			return &BusyError{Running: Job{ID: string(held), Owner: j.Owner, Status: StatusRunning}}
		}
		// Expired but not yet swept (file store, PostgreSQL), or its job is over: free it.
		if err := m.o.Store.Delete(ctx, key); err != nil {
			return fmt.Errorf("export: store: %w", err)
		}
	}
}

// load reads a job record, showing a running job whose instance stopped heart-beating as failed.
func (m *Manager) load(ctx context.Context, id string) (Job, error) {
	if !ValidID(id) {
		return Job{}, ErrNotFound
	}
	b, found, err := m.o.Store.Get(ctx, jobKey(id))
	if err != nil {
		return Job{}, fmt.Errorf("export: store: %w", err)
	}
	if !found {
		return Job{}, ErrNotFound
	}
	j, err := decodeJob(b)
	if err != nil {
		return Job{}, ErrNotFound
	}
	if j.Status == StatusRunning && m.o.Now().Sub(j.Heartbeat) > m.o.StaleAfter {
		j.Status, j.Error = StatusFailed, "The app instance running this export stopped (its last sign of life was at "+
			j.Heartbeat.UTC().Format("15:04:05 UTC")+"). Start the export again."
		j.Current = ""
	}
	return j, nil
}

// Get returns owner's job id. Another person's job is ErrNotFound, exactly as a missing one.
func (m *Manager) Get(ctx context.Context, owner, id string) (Job, error) {
	j, err := m.load(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if j.Owner != owner {
		return Job{}, ErrNotFound
	}
	return j, nil
}

// Running returns owner's running export, if any.
func (m *Manager) Running(ctx context.Context, owner string) (Job, bool) {
	held, found, err := m.o.Store.Get(ctx, userKey(owner))
	if err != nil || !found {
		return Job{}, false
	}
	j, err := m.Get(ctx, owner, string(held))
	if err != nil || !j.Active() {
		return Job{}, false
	}
	return j, true
}

// Cancel asks owner's job id to stop. Whichever instance runs it sees the request within a
// heartbeat; this one stops it at once.
func (m *Manager) Cancel(ctx context.Context, owner, id string) (Job, error) {
	j, err := m.Get(ctx, owner, id)
	if err != nil || !j.Active() {
		return j, err
	}
	if err := m.o.Store.Put(ctx, cancelKey(id), []byte("1"), m.o.Now().Add(m.o.Retention)); err != nil {
		return j, fmt.Errorf("export: store: %w", err)
	}
	m.mu.Lock()
	cancel := m.local[id]
	m.mu.Unlock()
	if cancel != nil {
		cancel(errCancelled)
	}
	return j, nil
}

// CancelOwner cancels owner's running export, if any (at sign-out).
func (m *Manager) CancelOwner(ctx context.Context, owner string) {
	if j, ok := m.Running(ctx, owner); ok {
		if _, err := m.Cancel(ctx, owner, j.ID); err != nil {
			m.log.Warn("export: cancel at sign-out failed", "job", j.ID, "err", err)
		}
	}
}

// Download is a finished job's zip, read chunk by chunk from the store.
type Download struct {
	Job   Job
	m     *Manager
	first []byte
}

// Open checks that owner's job id is done and its zip still kept, before any byte is sent.
func (m *Manager) Open(ctx context.Context, owner, id string) (*Download, error) {
	j, err := m.Get(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	if j.Status != StatusDone {
		return nil, ErrNotDone
	}
	first, found, err := m.o.Store.Get(ctx, chunkKey(id, 0))
	if err != nil {
		return nil, fmt.Errorf("export: store: %w", err)
	}
	if !found && j.Chunks > 0 {
		return nil, ErrGone
	}
	return &Download{Job: j, m: m, first: first}, nil
}

// WriteTo streams the zip, holding one chunk in memory at a time.
func (d *Download) WriteTo(ctx context.Context, w io.Writer) (int64, error) {
	var total int64
	for n := 0; n < d.Job.Chunks; n++ {
		b := d.first
		if n > 0 {
			var found bool
			var err error
			b, found, err = d.m.o.Store.Get(ctx, chunkKey(d.Job.ID, n))
			if err != nil {
				return total, err
			}
			if !found {
				return total, ErrGone
			}
		}
		k, err := w.Write(b)
		total += int64(k)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (m *Manager) save(ctx context.Context, j Job) error {
	b, err := encodeJob(j)
	if err != nil {
		return err
	}
	return m.o.Store.Put(ctx, jobKey(j.ID), b, j.Expires)
}

// run is one job on this instance, from listing to the zip in the store, and its clean-up.
func (m *Manager) run(ctx context.Context, cancel context.CancelCauseFunc, j Job, scope Scope, src Source) {
	defer m.wg.Done()
	defer func() {
		m.mu.Lock()
		delete(m.local, j.ID)
		m.mu.Unlock()
		cancel(nil)
	}()
	// The store calls of the bookkeeping must work after the job's context is cancelled.
	bg := context.WithoutCancel(ctx)
	st := &jobState{j: j}
	dir := filepath.Join(m.own, j.ID)
	r := &runner{src: src, scope: scope, dir: dir, st: st, disk: &diskBudget{max: m.o.MaxBytes}, concurrency: m.o.Concurrency}

	hbStop, hbDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(m.o.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-hbStop:
				return
			case <-t.C:
				m.heartbeat(bg, st, cancel)
			}
		}
	}()

	chunks, size := 0, int64(0)
	err := os.Mkdir(dir, 0o700)
	if err == nil {
		err = r.execute(ctx)
	}
	if err == nil {
		st.update(func(j *Job) { j.Phase = "saving" })
		chunks, size, err = m.storeZip(ctx, j.ID, r.zipPath)
	}
	close(hbStop)
	<-hbDone
	if rmErr := os.RemoveAll(dir); rmErr != nil {
		m.log.Warn("export: could not remove the working directory", "job", j.ID, "err", rmErr)
	}

	now := m.o.Now()
	final := st.snapshot()
	final.Finished, final.Heartbeat, final.Expires, final.Current, final.Phase = now, now, now.Add(m.o.Retention), "", ""
	cause := context.Cause(ctx)
	switch {
	case err == nil:
		final.Status, final.Chunks, final.Bytes = StatusDone, chunks, size
	case errors.Is(cause, errCancelled):
		final.Status = StatusCancelled
	default:
		final.Status, final.Error = StatusFailed, describe(err, cause, m.o.MaxBytes)
	}
	if final.Status != StatusDone {
		for n := range chunks + 1 {
			_ = m.o.Store.Delete(bg, chunkKey(j.ID, n))
		}
		m.log.Info("export ended", "job", j.ID, "status", final.Status, "err", err)
	} else {
		m.log.Info("export done", "job", j.ID, "pages", final.Pages, "failed", final.PagesFailed, "bytes", final.Bytes)
	}
	// Clean up before the final record: whoever sees the job ended finds nothing else left.
	_ = m.o.Store.Delete(bg, cancelKey(j.ID))
	if held, found, err := m.o.Store.Get(bg, userKey(j.Owner)); err == nil && found && string(held) == j.ID {
		_ = m.o.Store.Delete(bg, userKey(j.Owner))
	}
	if err := m.save(bg, final); err != nil {
		m.log.Error("export: could not record the job's end", "job", j.ID, "err", err)
	}
}

// heartbeat writes the job's progress, keeps the owner's lock alive, and looks for a cancel.
func (m *Manager) heartbeat(ctx context.Context, st *jobState, cancel context.CancelCauseFunc) {
	now := m.o.Now()
	st.update(func(j *Job) { j.Heartbeat, j.Expires = now, now.Add(m.o.Retention) })
	j := st.snapshot()
	if err := m.save(ctx, j); err != nil {
		m.log.Warn("export: could not record progress", "job", j.ID, "err", err)
	}
	_ = m.o.Store.Put(ctx, userKey(j.Owner), []byte(j.ID), now.Add(m.o.StaleAfter))
	if _, found, err := m.o.Store.Get(ctx, cancelKey(j.ID)); err == nil && found {
		cancel(errCancelled)
	}
}

// storeZip copies the zip into the shared store in chunks, each kept for the retention time.
func (m *Manager) storeZip(ctx context.Context, id, path string) (chunks int, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	buf := make([]byte, m.o.ChunkSize)
	expiry := m.o.Now().Add(m.o.Retention)
	for n := 0; ; n++ {
		k, err := io.ReadFull(f, buf)
		if k > 0 {
			if ctx.Err() != nil {
				return n, size, context.Cause(ctx)
			}
			if perr := m.o.Store.Put(ctx, chunkKey(id, n), buf[:k], expiry); perr != nil {
				return n + 1, size, fmt.Errorf("store the zip: %w", perr)
			}
			size += int64(k)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if k > 0 {
				return n + 1, size, nil
			}
			return n, size, nil
		}
		if err != nil {
			return n, size, err
		}
	}
}

// describe says in plain words why a job failed.
func describe(err, cause error, maxBytes int64) string {
	switch {
	case errors.Is(cause, errShutdown):
		return "The app instance running this export stopped. Start the export again."
	case errors.Is(err, ErrTooLarge):
		return fmt.Sprintf("The export is larger than this app allows (EXPORT_MAX_BYTES, %d MiB): export its sections one at a time.", maxBytes>>20)
	}
	p := problemOf(err)
	if p.Code != "" {
		return fmt.Sprintf("%s (Graph error %s, %d attempts).", upperFirst(p.Reason), p.Code, p.Attempts)
	}
	return upperFirst(p.Reason) + "."
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
