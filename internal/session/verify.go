package session

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DirReport is what VerifyDir found in a session directory.
type DirReport struct {
	Sessions int      // well-formed session files, expired or not
	Expired  int      // of those, how many have expired
	Bytes    int64    // total size of the well-formed session files
	Temp     int      // temporary files (a commit in flight, or left by a crash)
	Damaged  []string // session-named files that do not decode: truncated, torn or corrupted
	Other    []string // anything else (files the store never writes)
}

// VerifyDir reads every file in a FileStore directory with the store's own decoder and reports
// what it holds. It is for tests and operators checking the store's promise that a session
// file is never half-written: after any crash, each session file is either a complete old
// version or a complete new one (Damaged stays empty), and an unfinished commit leaves at most
// a temporary file, which Find never reads and Sweep removes. VerifyDir changes nothing.
func VerifyDir(dir string) (DirReport, error) {
	var r DirReport
	entries, err := os.ReadDir(dir)
	if err != nil {
		return r, fmt.Errorf("session store: verify: %w", err)
	}
	now := time.Now()
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, tempPrefix) && e.Type().IsRegular():
			r.Temp++
		case name == lockFileName:
			// the advisory lock file of conditional commits
		case isSessionName(name) && e.Type().IsRegular():
			data, err := os.ReadFile(filepath.Join(dir, name))
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile (a logout or a sweep)
			}
			if err != nil {
				return r, fmt.Errorf("session store: verify %s: %w", name, err)
			}
			// Decode as of the earliest representable time, so that expiry does not count
			// as damage; then look at the expiry separately.
			if _, ok := decodeFile(data, time.Unix(0, math.MinInt64+1)); !ok {
				r.Damaged = append(r.Damaged, name)
				continue
			}
			r.Sessions++
			r.Bytes += int64(len(data))
			if _, live := decodeFile(data, now); !live {
				r.Expired++
			}
		default:
			r.Other = append(r.Other, name)
		}
	}
	return r, nil
}
