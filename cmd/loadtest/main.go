// Command loadtest signs users in to graphauth through the emulator and drives the home page,
// the Graph demo, token refreshes and sign-outs from many clients for a set time, then reports
// throughput, latency percentiles and every error, and checks that goroutines and file
// descriptors come back afterwards. main only wires; run does the work.
//
//	go run ./cmd/loadtest -users 200 -duration 60s          # app and emulator in this process
//	go run ./cmd/loadtest -app http://localhost:5000 -emulator https://localhost:8443 \
//	    -ca .emulator/ca.pem                                 # a running app (make demo)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/graphauth/graphauth/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// run parses the flags, runs the load and prints the report. It fails when any request
// failed or goroutines or file descriptors did not come back.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o loadtest.Options
	fs.IntVar(&o.Users, "users", 20, "distinct users to sign in")
	fs.IntVar(&o.Concurrency, "clients", 0, "concurrent clients (0: one per user)")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to drive traffic after signing everyone in (default 3s)")
	fs.DurationVar(&o.RefreshEvery, "refresh-every", 0, "how long an access token is used before it is refreshed (default 1s)")
	fs.Float64Var(&o.SignOutRate, "signout-rate", 0, "share of actions that sign out and back in (default 0.005)")
	fs.StringVar(&o.AppURL, "app", "", "a running app's URL (default: start one in this process)")
	fs.StringVar(&o.EmulatorURL, "emulator", "", "the running emulator's URL, with -app")
	fs.StringVar(&o.CAFile, "ca", "", "the emulator's CA certificate (PEM), with -app")
	fs.IntVar(&o.AppPID, "app-pid", 0, "the running app's process ID, to report its memory and file descriptors")
	fs.StringVar(&o.SessionDir, "session-dir", "", "the in-process app's session folder (default: a temporary one)")
	quiet := fs.Bool("q", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if !*quiet {
		o.Progress = stderr
	}
	rep, err := loadtest.Run(ctx, o)
	if err != nil {
		return err
	}
	rep.WriteText(stdout)
	return rep.Err()
}
