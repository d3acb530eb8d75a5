package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/loadtest"
	"github.com/graphauth/graphauth/internal/session"
)

// BenchmarkResidentMemory runs the real binary with sessions stored on disk and many users at
// once (cmd/loadtest's traffic: home page, Graph demo with refreshes, sign-outs), and reports
// the app process's peak and final resident set size, and the size of a session on disk.
// Each case is one fresh process, measured once (run with -benchtime 1x).
func BenchmarkResidentMemory(b *testing.B) {
	bin := buildApp(b, false)
	for _, tc := range []struct{ stored, users int }{{10_000, 200}, {0, 200}, {10_000, 50}} {
		b.Run(fmt.Sprintf("stored=%dk/users=%d", tc.stored/1000, tc.users), func(b *testing.B) {
			measureMemory(b, bin, tc.stored, tc.users)
		})
	}
}

func measureMemory(b *testing.B, bin string, stored, users int) {
	p := newAppProcess(b, bin, users)
	p.start()
	ctx := context.Background()
	if stored > 0 {
		// One real sign-in, then its session file copied under stored random IDs: each is a
		// complete signed-in session (its cookie would work).
		br := loadtest.NewBrowser(p.base, p.roots())
		if _, err := br.SignIn(ctx, loadtest.TestUser(0).ID); err != nil {
			b.Fatal(err)
		}
		br.Close()
		fillStore(b, p.sessionDir, br.SessionCookie(), stored)
	}
	rep, err := loadtest.Run(ctx, loadtest.Options{
		AppURL: p.base, EmulatorURL: p.emu.URL(), CAFile: p.emu.CAFile(), AppPID: p.pid(),
		Users: users, Concurrency: users, Duration: 10 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		b.Fatalf("load: %v", err)
	}
	dir, err := session.VerifyDir(p.sessionDir)
	if err != nil {
		b.Fatal(err)
	}
	onDisk := diskUsage(b, p.sessionDir)
	b.ReportMetric(float64(rep.App.After.PeakRSS)/(1<<20), "peak_rss_MiB")
	b.ReportMetric(float64(rep.App.After.RSS)/(1<<20), "end_rss_MiB")
	b.ReportMetric(float64(rep.App.After.FDs), "fds")
	b.ReportMetric(float64(dir.Sessions), "sessions")
	b.ReportMetric(float64(dir.Bytes)/float64(dir.Sessions), "file_bytes/session")
	b.ReportMetric(float64(onDisk)/float64(dir.Sessions), "disk_bytes/session")
	b.ReportMetric(float64(rep.Total())/rep.Elapsed.Seconds(), "actions/s")
	p.kill()
}

// fillStore commits n copies of the session behind cookie under new random IDs.
func fillStore(b *testing.B, dir, cookie string, n int) {
	b.Helper()
	st, err := session.NewFileStore(dir, session.FileStoreOptions{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	data, found, err := st.Find(storeKey(cookie))
	if err != nil || !found {
		b.Fatalf("the signed-in session is not in the store: %v", err)
	}
	expiry := time.Now().Add(time.Hour)
	for i := range n {
		if err := st.Commit(storeKey(fmt.Sprintf("stored-session-%d", i)), data, expiry); err != nil {
			b.Fatal(err)
		}
	}
}

// storeKey is the key the app stores a session under: scs's HashTokenInStore.
func storeKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// diskUsage adds up the blocks the folder's files occupy.
func diskUsage(b *testing.B, dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, e := range entries {
		info, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		}
	}
	return total
}
