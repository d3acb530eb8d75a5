// Command graphauth serves the sign-in app (`graphauth`) or smoke-tests an app registration
// (`graphauth check`). main only wires; run does the work and is what the tests call.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/graphauth/graphauth/internal/config"
	"github.com/graphauth/graphauth/internal/web"
)

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// tuneGC keeps the process's memory within a soft limit of 48 MiB. The collector runs at Go's
// default pace (when the heap has doubled): with the session, codec and page caches and the pooled
// page writers, a signed-in page makes little garbage, and make perf measured no difference in
// throughput between GOGC 100, 150 and 200 (two interleaved passes each: GET / 0.61-0.66 of the
// baseline for all three) while the process held 36 MiB after the load at 100, 38.5 at 150 and
// 42-43 at 200. GOGC and GOMEMLIMIT in the environment win.
func tuneGC(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(48 << 20)
	}
}

// errUsage marks a bad command line or configuration: exit code 2.
var errUsage = errors.New("usage")

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ve *config.ValidationError
	switch {
	case errors.As(err, &ve):
		fmt.Fprintln(stderr, "graphauth:", ve.Error())
		fmt.Fprintln(stderr, "Set these in the environment or in .env (see config.example.env).")
		return 2
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "graphauth:", err)
		}
		return 2
	case errors.Is(err, errCheckFailed):
		return 1
	}
	fmt.Fprintln(stderr, "graphauth:", err)
	return 1
}

// run starts the app (or a subcommand) and returns when ctx is cancelled or it fails.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("graphauth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envFile := fs.String("env-file", ".env", "a .env file read for variables the environment does not set")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: graphauth [-env-file FILE]            serve the app")
		fmt.Fprintln(stderr, "       graphauth [-env-file FILE] check [--json]  smoke-test the app registration")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	load := func() (config.Config, error) { return config.Load(getenv, *envFile) }
	switch cmd := fs.Arg(0); cmd {
	case "":
		cfg, err := load()
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout)
	case "check":
		// check loads the configuration itself: a bad one is its first failed step, not exit 2.
		return check(ctx, load, fs.Args()[1:], stdout, stderr)
	default:
		return fmt.Errorf("%w: unknown command %q (want nothing or check)", errUsage, cmd)
	}
}

func serve(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	out := web.NewLogWriter(stdout, 100*time.Millisecond)
	defer out.Close()
	log := web.NewLogger(cfg, out)
	app, closeStore, err := web.Build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	ln, err := net.Listen("tcp", cfg.Addr())
	if errors.Is(err, syscall.EADDRINUSE) {
		// Port 5000 is often taken (macOS AirPlay listens there): say which variable moves the app.
		return fmt.Errorf("listen on %s: the address is in use by another program: set PORT to a free port (e.g. PORT=%d) and register its redirect URI, or stop that program: %w",
			cfg.Addr(), cfg.Port+1, err)
	}
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
	}
	log.Info("graphauth listening", "url", cfg.PublicOrigin(), "addr", ln.Addr().String(),
		"authority", cfg.Authority, "session_type", cfg.SessionType)
	return web.Serve(ctx, ln, app.Handler(), log, cfg.TLSCertFile, cfg.TLSKeyFile)
}
