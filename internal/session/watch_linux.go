package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
)

// dirWatch keeps the session files this process has read, and inotify tells it which of them
// have changed since: a signed-in request that finds its session in it reads no file. Every
// lookup first reads the inotify queue (one system call that returns at once) and forgets the
// files named there. The kernel queues an event before the call that changed the file returns,
// so a commit, delete, sweep, chmod or hand edit by this process or any other on this machine
// (another instance sharing the directory) is seen by the next lookup, exactly as a read of the
// file would see it.
//
// It is used only where inotify sees every change: a local file system (a network one is
// changed by other machines, which inotify never hears of), a directory path without symbolic
// links, and as long as the directory and each directory above it stay where they are. Moving or
// deleting any of them, an overflowing queue or a failed read turns the cache off for good, and
// Find reads files again. Not detected: a file system mounted over the directory or one above it
// while the app runs, and a change made through a hard link from another directory (the store
// never makes one).
type dirWatch struct {
	mu     sync.Mutex
	fd     int   // the inotify instance; -1 once off
	dirWd  int32 // the watch on the directory itself
	events uint64
	files  map[string]watchedFile // by session token: a lookup hashes nothing
	tokens map[string]string      // file name to token, for the events, which name files
	size   int
	limit  int
	buf    [8 << 10]byte
}

type watchedFile struct {
	name    string
	payload []byte // never modified: lookups hand it out, and callers may keep it
	expiry  int64  // Unix nanoseconds, as in the file
}

// watchCacheLimit bounds the payload bytes kept (about 400 signed-in sessions of 10 KB).
const watchCacheLimit = 4 << 20

const (
	// dirEvents: anything that changes what a file in the directory reads as, or whether it
	// can be read.
	dirEvents = syscall.IN_CREATE | syscall.IN_DELETE | syscall.IN_MODIFY | syscall.IN_ATTRIB |
		syscall.IN_CLOSE_WRITE | syscall.IN_MOVED_FROM | syscall.IN_MOVED_TO |
		syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF
	// ancestorEvents: the directories above it moving away (a new one could take the path).
	ancestorEvents = syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF
	// offEvents end the watch: it no longer watches what the path names.
	offEvents = syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF | syscall.IN_IGNORED | syscall.IN_UNMOUNT
)

// localFileSystems are the file systems whose changes all go through this kernel (statfs magic
// numbers): ext2-4, XFS, Btrfs, tmpfs, overlayfs (containers), F2FS, ZFS, bcachefs.
var localFileSystems = map[int64]bool{
	0xEF53: true, 0x58465342: true, 0x9123683E: true, 0x01021994: true,
	0x794C7630: true, 0xF2F52010: true, 0x2FC12FC1: true, 0xCA451A4E: true,
}

// newDirWatch watches dir (an absolute path) and the directories above it. It returns an error
// saying why when the cache cannot be trusted there. Each watch is added with IN_DONT_FOLLOW and
// IN_ONLYDIR, so a path with a symbolic link in it (which could be pointed elsewhere) is refused.
func newDirWatch(dir string) (*dirWatch, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil, err
	}
	if !localFileSystems[int64(st.Type)] {
		return nil, fmt.Errorf("file system type %#x may be changed by other machines", st.Type)
	}
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w := &dirWatch{fd: fd, files: map[string]watchedFile{}, tokens: map[string]string{}, limit: watchCacheLimit}
	wd, err := syscall.InotifyAddWatch(fd, dir, dirEvents|syscall.IN_ONLYDIR|syscall.IN_DONT_FOLLOW)
	if err != nil {
		w.close()
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w.dirWd = int32(wd)
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if _, err := syscall.InotifyAddWatch(fd, d, ancestorEvents|syscall.IN_ONLYDIR|syscall.IN_DONT_FOLLOW); err != nil {
			w.close()
			return nil, fmt.Errorf("inotify on %s: %w", d, err)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	return w, nil
}

// lookup returns token's payload if its file is unchanged since it was kept and not expired at
// now. Otherwise it returns the count of events seen, for keep.
func (w *dirWatch) lookup(token string, now int64) (payload []byte, seen uint64, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.readEventsLocked()
	if f, found := w.files[token]; found && now < f.expiry {
		return f.payload, 0, true
	}
	return nil, w.events, false
}

// keep remembers token's payload, read from the file name after a lookup that returned seen. If
// any event came since, the file may have changed after it was read, and nothing is kept.
// payload must not be modified afterwards.
func (w *dirWatch) keep(token, name string, payload []byte, expiry int64, seen uint64) {
	n := len(token) + len(name) + len(payload)
	if n > w.limit/16 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.readEventsLocked()
	if w.fd < 0 || w.events != seen {
		return
	}
	w.forgetLocked(name)
	for w.size+n > w.limit && len(w.files) > 0 {
		for _, f := range w.files { // random eviction
			w.forgetLocked(f.name)
			break
		}
	}
	w.files[token] = watchedFile{name: name, payload: payload, expiry: expiry}
	w.tokens[name] = token
	w.size += n
}

// forgetLocked forgets the file name.
func (w *dirWatch) forgetLocked(name string) {
	token, ok := w.tokens[name]
	if !ok {
		return
	}
	w.size -= len(token) + len(name) + len(w.files[token].payload)
	delete(w.files, token)
	delete(w.tokens, name)
}

func (w *dirWatch) forgetAllLocked() {
	clear(w.files)
	clear(w.tokens)
	w.size = 0
}

// readEventsLocked reads the queued events and forgets the files they name.
func (w *dirWatch) readEventsLocked() {
	for w.fd >= 0 {
		n, err := syscall.Read(w.fd, w.buf[:])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.EAGAIN) {
			return
		}
		if err != nil || n < syscall.SizeofInotifyEvent {
			w.offLocked()
			return
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			// struct inotify_event: wd, mask, cookie, len, then len bytes of NUL-padded name.
			ev := w.buf[off:n]
			wd := int32(binary.NativeEndian.Uint32(ev[0:4]))
			mask := binary.NativeEndian.Uint32(ev[4:8])
			nameLen := int(binary.NativeEndian.Uint32(ev[12:16]))
			nameStart := off + syscall.SizeofInotifyEvent
			off = nameStart + nameLen
			if off > n {
				w.offLocked() // a torn event: the kernel never writes one
				return
			}
			w.events++
			switch {
			case mask&offEvents != 0:
				w.offLocked()
				return
			case mask&syscall.IN_Q_OVERFLOW != 0, wd != w.dirWd, nameLen == 0:
				// Events were lost, or something happened to the directory itself (a chmod):
				// forget everything.
				w.forgetAllLocked()
			default:
				name := w.buf[nameStart:off]
				for len(name) > 0 && name[len(name)-1] == 0 {
					name = name[:len(name)-1]
				}
				w.forgetLocked(string(name))
			}
		}
	}
}

// offLocked turns the cache off for good.
func (w *dirWatch) offLocked() {
	if w.fd >= 0 {
		_ = syscall.Close(w.fd)
		w.fd = -1
	}
	w.forgetAllLocked()
}

func (w *dirWatch) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.offLocked()
}
