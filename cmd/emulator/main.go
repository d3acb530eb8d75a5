// Command emulator runs a local stand-in for the Microsoft identity platform and Microsoft
// Graph /me over HTTPS on a loopback address, for tests and for `make demo`. It is not
// Microsoft: its users, apps and tokens are fake.
//
// Usage:
//
//	emulator [-addr localhost:8443] [-state-dir .emulator] [-config file.json]
//	         [-auto-approve USER] [-redirect-uri URI]... [-print-env] [-v]
//	         [-onenote-rpm N] [-onenote-concurrency N] [-onenote-clock F] [-onenote-empty]
//
// At start it prints the authority, the Graph /me URL, the demo client ID, the CA file to
// trust, and the lines to put in the app's .env. With -print-env it prints only those lines
// (after making sure the certificates exist) and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/graphauth/graphauth/internal/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulator:", err)
		os.Exit(1)
	}
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// run starts the emulator and serves until ctx is cancelled.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "localhost:8443", "loopback `host:port` to listen on (port 0 picks one)")
	stateDir := fs.String("state-dir", ".emulator", "`dir`ectory keeping the CA, server certificate and signing key across starts")
	configPath := fs.String("config", "", "optional JSON config `file` (tenant, apps, users, lifetimes); see internal/emulator/testdata/example-config.json")
	autoApprove := fs.String("auto-approve", "", "sign this `user` (UPN or object ID) in to the demo app without showing the pages")
	var redirectURIs stringList
	fs.Var(&redirectURIs, "redirect-uri", "the demo app's redirect `URI` (repeatable; replaces the default http://localhost:5000/getAToken)")
	printEnv := fs.Bool("print-env", false, "print the app's KEY=VALUE settings and exit")
	verbose := fs.Bool("v", false, "log every request")
	oneNoteRPM := fs.Int("onenote-rpm", 0, "OneNote throttle: requests per minute per app and user (0: 120, negative: unlimited)")
	oneNoteConc := fs.Int("onenote-concurrency", 0, "OneNote throttle: requests in flight per app and user (0: 5, negative: unlimited)")
	oneNoteClock := fs.Float64("onenote-clock", 1, "OneNote throttle clock `speed` (100 makes its minute last 0.6 s)")
	oneNoteEmpty := fs.Bool("onenote-empty", false, "start users with no OneNote notebooks instead of the demo ones")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	cfg := emulator.DefaultConfig()
	if *configPath != "" {
		var err error
		if cfg, err = emulator.LoadConfigFile(*configPath); err != nil {
			return err
		}
	}
	dir, err := filepath.Abs(*stateDir)
	if err != nil {
		return fmt.Errorf("-state-dir: %w", err)
	}
	cfg.StateDir = dir
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := applyDemoFlags(&cfg, redirectURIs, *autoApprove); err != nil {
		return err
	}
	if *oneNoteClock <= 0 {
		return fmt.Errorf("-onenote-clock %v: must be positive", *oneNoteClock)
	}
	cfg.OneNote.RequestsPerMinute, cfg.OneNote.Concurrency = *oneNoteRPM, *oneNoteConc
	cfg.OneNote.ClockSpeed, cfg.OneNote.SkipDemoData = *oneNoteClock, *oneNoteEmpty

	srv, err := emulator.New(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()

	if *printEnv {
		base, err := emulator.BaseURLForAddr(*addr)
		if err != nil {
			return fmt.Errorf("-print-env: %w", err)
		}
		for _, line := range srv.EnvLines(base) {
			fmt.Fprintln(stdout, line)
		}
		return nil
	}

	if err := srv.Start(*addr); err != nil {
		return err
	}
	printBanner(stdout, srv, cfg)
	<-ctx.Done()
	fmt.Fprintln(stderr, "emulator: shutting down")
	return srv.Close()
}

// applyDemoFlags applies -redirect-uri and -auto-approve to the demo app.
func applyDemoFlags(cfg *emulator.Config, redirectURIs []string, autoApprove string) error {
	if len(redirectURIs) == 0 && autoApprove == "" {
		return nil
	}
	i := slices.IndexFunc(cfg.Apps, func(a emulator.App) bool { return strings.EqualFold(a.ClientID, emulator.DemoClientID) })
	if i < 0 {
		return fmt.Errorf("-redirect-uri and -auto-approve change the demo app %s, which the config does not have", emulator.DemoClientID)
	}
	app := &cfg.Apps[i]
	if len(redirectURIs) > 0 {
		app.RedirectURIs = append([]string(nil), redirectURIs...)
		// Let the app's home page be a post-logout redirect URI too.
		for _, r := range redirectURIs {
			u, err := url.Parse(r)
			if err != nil || !u.IsAbs() {
				return fmt.Errorf("-redirect-uri %q: need an absolute URL", r)
			}
			home := u.Scheme + "://" + u.Host + "/"
			if !slices.Contains(app.PostLogoutRedirectURIs, home) {
				app.PostLogoutRedirectURIs = append(app.PostLogoutRedirectURIs, home)
			}
		}
	}
	if autoApprove != "" {
		app.AutoApproveUser = autoApprove
	}
	return nil
}

func printBanner(w io.Writer, srv *emulator.Server, cfg emulator.Config) {
	fmt.Fprintf(w, "Local identity emulator (NOT Microsoft: fake users, apps and tokens)\n\n")
	fmt.Fprintf(w, "  Authority:  %s\n", srv.Authority())
	fmt.Fprintf(w, "  Graph /me:  %s\n", srv.GraphMeURL())
	fmt.Fprintf(w, "  OneNote:    %s/onenote/notebooks", srv.GraphMeURL())
	if len(cfg.OneNote.NoOneNoteUsers) > 0 {
		fmt.Fprintf(w, " (no OneNote for %s)", strings.Join(cfg.OneNote.NoOneNoteUsers, ", "))
	}
	fmt.Fprintln(w)
	env := srv.EnvLines(srv.URL())
	fmt.Fprintf(w, "  Client ID:  %s\n", strings.TrimPrefix(env[1], "CLIENT_ID="))
	fmt.Fprintf(w, "  CA file:    %s\n", srv.CAFile())
	fmt.Fprintf(w, "  Test users:")
	for _, u := range cfg.Users {
		fmt.Fprintf(w, " %s", u.UserPrincipalName)
	}
	fmt.Fprintf(w, "\n\nSettings for the app (.env):\n")
	for _, line := range env {
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Press Ctrl+C to stop.")
}
