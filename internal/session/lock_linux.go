package session

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// lockFileName is the advisory lock file in a session directory. Not a session name nor a
// temporary one: Sweep and VerifyDir leave it alone.
const lockFileName = ".lock"

// fOFDSetLkW is Linux's F_OFD_SETLKW: a byte-range lock owned by the open file, so two FileStores
// in one process exclude each other as well as two processes do.
const fOFDSetLkW = 38

// lockStripe locks byte `stripe` of the directory's lock file until the returned function runs.
func lockStripe(dir string, stripe byte) (func(), error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil // the directory has vanished: nothing to guard, the commit fails anyway
	}
	if err != nil {
		return nil, err
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: int64(stripe), Len: 1}
	for {
		err = syscall.FcntlFlock(f.Fd(), fOFDSetLkW, &lk)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { _ = f.Close() }, nil // closing the file releases its OFD locks
}

// ownerOf returns the uid owning a file.
func ownerOf(info os.FileInfo) (int, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
