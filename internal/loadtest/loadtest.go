package loadtest

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
)

// Options say what to run. The zero value runs 20 users for 3 seconds against an app and an
// emulator started in this process.
type Options struct {
	Users       int           // distinct users, each signed in once first (default 20)
	Concurrency int           // clients sending requests at once (default: one per user)
	Duration    time.Duration // how long to drive traffic once everyone is signed in (default 3s)
	// RefreshEvery is how long an access token is used before MSAL refreshes it: the emulator
	// issues tokens living 5 minutes (MSAL's early-expiry margin) plus this (default 1s). Keep
	// it well under a session's life (about Users/throughput/SignOutRate), or sign-outs renew
	// the tokens before they ever need refreshing.
	RefreshEvery time.Duration
	// SignOutRate is the share of actions that sign the user out and back in (default 0.005).
	SignOutRate float64
	Seed        uint64 // for the mix of actions (default 1)

	// A running app and emulator instead of in-process ones (both or neither). The emulator
	// must have the app's redirect URI registered; users are added through its control API.
	AppURL      string
	EmulatorURL string
	CAFile      string // the emulator's CA certificate (PEM)
	AppPID      int    // optional: the running app's process, to report its memory and descriptors

	// SessionDir is the in-process app's session folder ("" = a temporary one, removed after).
	SessionDir string
	// Progress, if set, receives a line at each phase.
	Progress io.Writer
}

func (o *Options) defaults() error {
	if o.Users <= 0 {
		o.Users = 20
	}
	if o.Concurrency <= 0 {
		o.Concurrency = o.Users
	}
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	if o.RefreshEvery <= 0 {
		o.RefreshEvery = time.Second
	}
	if o.SignOutRate < 0 || o.SignOutRate > 1 {
		return fmt.Errorf("sign-out rate %v: want 0..1", o.SignOutRate)
	}
	if o.SignOutRate == 0 {
		o.SignOutRate = 0.005
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if (o.AppURL == "") != (o.EmulatorURL == "") {
		return errors.New("give both the app's and the emulator's URL, or neither (in-process)")
	}
	return nil
}

// Action names.
const (
	ActSignIn  = "sign-in"
	ActIndex   = "index"
	ActDemo    = "msal-demo"
	ActSignOut = "sign-out"
)

var actionOrder = []string{ActIndex, ActDemo, ActSignOut, ActSignIn}

// Report is what a run measured.
type Report struct {
	Options   Options
	InProcess bool
	SignInAll time.Duration // signing every user in, before the timed run
	Elapsed   time.Duration // the timed run
	Actions   map[string]*Stats
	Refreshes int // /msal-demo answers whose token came from a refresh
	// Counters of the in-process emulator: refresh_token and authorization_code grants.
	RefreshGrants, CodeGrants int
	Errors                    []ErrorCount
	// Server-side log records at warn and error level (in-process only), with a few samples.
	LogWarnings, LogErrors int
	LogSamples             []string

	Before, Warm, After, Settled Resources // see Run
	App                          struct{ Before, After Resources }
	Leak                         string // empty when goroutines and descriptors came back
}

// Stats are one action's latencies.
type Stats struct {
	durations []time.Duration
}

// ErrorCount is one kind of error and how often it happened.
type ErrorCount struct {
	Kind    string
	Count   int
	Example string
}

// Count is how many times the action ran.
func (s *Stats) Count() int { return len(s.durations) }

// Percentile returns the p-th percentile (0..100) of the action's latencies.
func (s *Stats) Percentile(p float64) time.Duration {
	if len(s.durations) == 0 {
		return 0
	}
	i := int(float64(len(s.durations)-1) * p / 100)
	return s.durations[i]
}

// Total is the number of timed actions.
func (r *Report) Total() int {
	n := 0
	for _, name := range []string{ActIndex, ActDemo, ActSignOut} {
		if s := r.Actions[name]; s != nil {
			n += s.Count()
		}
	}
	return n
}

// ErrorTotal is the number of failed actions.
func (r *Report) ErrorTotal() int {
	n := 0
	for _, e := range r.Errors {
		n += e.Count
	}
	return n
}

// Err summarises what went wrong: errors, a leak, or nil.
func (r *Report) Err() error {
	var errs []error
	if n := r.ErrorTotal(); n > 0 {
		errs = append(errs, fmt.Errorf("%d errors", n))
	}
	if r.Leak != "" {
		errs = append(errs, errors.New("goroutines or file descriptors did not come back: "+firstLine(r.Leak)))
	}
	return errors.Join(errs...)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// collector gathers latencies and errors from every client.
type collector struct {
	mu        sync.Mutex
	durations map[string][]time.Duration
	errors    map[string]*ErrorCount
	refreshes int
}

func newCollector() *collector {
	return &collector{durations: map[string][]time.Duration{}, errors: map[string]*ErrorCount{}}
}

func (c *collector) add(action string, d time.Duration) {
	c.mu.Lock()
	c.durations[action] = append(c.durations[action], d)
	c.mu.Unlock()
}

func (c *collector) fail(action string, err error) {
	kind := action + ": " + errorKind(err)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.errors[kind]
	if e == nil {
		e = &ErrorCount{Kind: kind, Example: err.Error()}
		c.errors[kind] = e
	}
	e.Count++
}

// errorKind groups errors: the message without numbers that vary (ports, user numbers).
func errorKind(err error) string {
	s := err.Error()
	var b strings.Builder
	digits := false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteRune(r)
	}
	return b.String()
}

type user struct {
	emulator.User
	b *Browser
}

// Run signs every user in, drives traffic for the set time, and measures. In-process it also
// stops the app and the emulator at the end and checks that goroutines and file descriptors
// are back to what they were before anything started (Report.Leak).
//
// The report's resource snapshots: Before (this process, before anything started), Warm (after
// everyone signed in), After (right after the timed run, the app still up), Settled (after
// everything stopped). For a running app with AppPID, App.Before and App.After are its own.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	r := &Report{Options: o, Actions: map[string]*Stats{}, InProcess: o.AppURL == ""}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}

	// Start the runtime's network poller before the baseline: it opens descriptors once per
	// process and keeps them, which is not a leak.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	r.Before = SelfResources()
	var (
		appURL string
		roots  *x509.CertPool
		ip     *inProcess
		idp    idp
		err    error
	)
	if r.InProcess {
		dir := o.SessionDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "graphauth-loadtest-*"); err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
		}
		if ip, err = startInProcess(o.Users, dir); err != nil {
			return nil, fmt.Errorf("start app and emulator: %w", err)
		}
		defer ip.stop()
		appURL, idp = ip.appURL, inProcessIdP{ip.emu}
		if roots, err = ip.roots(); err != nil {
			return nil, err
		}
		progress("in-process app at %s, emulator at %s, sessions in %s", appURL, ip.emu.URL(), dir)
	} else {
		appURL = strings.TrimRight(o.AppURL, "/")
		if roots, err = poolFromFile(o.CAFile); err != nil {
			return nil, err
		}
		ctl := controlAPI{base: strings.TrimRight(o.EmulatorURL, "/"), c: NewBrowser(appURL, roots).HTTP}
		ctl.c.Jar = nil
		idp = ctl
		for i := range o.Users {
			if err := idp.SetUser(TestUser(i)); err != nil {
				return nil, err
			}
		}
		if o.AppPID > 0 {
			r.App.Before = ProcessResources(o.AppPID)
		}
	}
	if err := idp.SetLifetimes(5*time.Minute+o.RefreshEvery, 24*time.Hour); err != nil {
		return nil, err
	}

	users := make([]*user, o.Users)
	for i := range users {
		users[i] = &user{User: TestUser(i), b: NewBrowser(appURL, roots)}
	}
	defer func() {
		for _, u := range users {
			u.b.Close()
		}
	}()
	col := newCollector()

	// Everyone signs in first, Concurrency at a time.
	progress("signing in %d users, %d at a time", o.Users, o.Concurrency)
	start := time.Now()
	forEach(o.Concurrency, len(users), func(i int) {
		u := users[i]
		t0 := time.Now()
		p, err := u.b.SignIn(ctx, u.ID)
		if err == nil {
			err = checkOwnPage(p, u)
		}
		if err != nil {
			col.fail(ActSignIn, err)
			return
		}
		col.add(ActSignIn, time.Since(t0))
	})
	r.SignInAll = time.Since(start)
	r.Warm = SelfResources()

	// The timed run: each client takes a free user, does one action as them, gives them back.
	// A user is never driven by two clients at once, as with one person in one browser tab.
	progress("driving %d clients for %s", o.Concurrency, o.Duration)
	free := make(chan *user, len(users))
	for _, u := range users {
		free <- u
	}
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	start = time.Now()
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		rng := rand.New(rand.NewPCG(o.Seed, uint64(w)))
		wg.Go(func() {
			for runCtx.Err() == nil {
				var u *user
				select {
				case u = <-free:
				case <-runCtx.Done():
					return
				}
				// The action finishes even past the deadline: cutting a request short would
				// count our own cancellation as the app's error.
				act(ctx, u, rng, o.SignOutRate, col)
				free <- u
			}
		})
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	for _, u := range users {
		u.b.Close()
	}
	r.After = SelfResources()
	if o.AppPID > 0 {
		r.App.After = ProcessResources(o.AppPID)
	}

	for name, ds := range col.durations {
		slices.Sort(ds)
		r.Actions[name] = &Stats{durations: ds}
	}
	r.Refreshes = col.refreshes
	for _, e := range col.errors {
		r.Errors = append(r.Errors, *e)
	}
	sort.Slice(r.Errors, func(i, j int) bool { return r.Errors[i].Count > r.Errors[j].Count })

	if ip != nil {
		c := ip.emu.Counters()
		r.RefreshGrants, r.CodeGrants = c["token:refresh_token"], c["token:authorization_code"]
		r.LogWarnings, r.LogErrors, r.LogSamples = ip.logs.snapshot()
		progress("stopping the app and the emulator")
		if err := ip.stop(); err != nil {
			r.Errors = append(r.Errors, ErrorCount{Kind: "shutdown", Count: 1, Example: err.Error()})
		}
		http.DefaultClient.CloseIdleConnections()
		settled, ok := SettleTo(r.Before, 10*time.Second, 1) // the app's one scs sweeper (see SettleTo)
		r.Settled = settled
		if !ok {
			r.Leak = fmt.Sprintf("goroutines %d -> %d, file descriptors %d -> %d\n%s",
				r.Before.Goroutines, settled.Goroutines, r.Before.FDs, settled.FDs, GoroutineDump())
		}
	}
	return r, nil
}

// act does one action as u, chosen at random: the home page, the Graph demo, or signing out
// and back in.
func act(ctx context.Context, u *user, rng *rand.Rand, signOutRate float64, col *collector) {
	x := rng.Float64()
	switch {
	case x < signOutRate:
		t0 := time.Now()
		if _, err := u.b.SignOut(ctx); err != nil {
			col.fail(ActSignOut, err)
			return
		}
		col.add(ActSignOut, time.Since(t0))
		t0 = time.Now()
		p, err := u.b.SignIn(ctx, u.ID)
		if err == nil {
			err = checkOwnPage(p, u)
		}
		if err != nil {
			col.fail(ActSignIn, err)
			return
		}
		col.add(ActSignIn, time.Since(t0))
	case x < signOutRate+(1-signOutRate)/2:
		t0 := time.Now()
		p, err := u.b.Get(ctx, "/")
		d := time.Since(t0)
		if err == nil {
			err = expect(p, "/", `id="welcome"`)
		}
		if err == nil {
			err = checkOwnPage(p, u)
		}
		if err != nil {
			col.fail(ActIndex, err)
			return
		}
		col.add(ActIndex, d)
	default:
		t0 := time.Now()
		p, err := u.b.Get(ctx, "/msal-demo")
		d := time.Since(t0)
		if err == nil {
			err = expect(p, "/msal-demo", `id="graph-result"`)
		}
		if err == nil && !strings.Contains(p.Text(), `"displayName": "`+u.DisplayName+`"`) {
			err = fmt.Errorf("/msal-demo shows another user's Graph profile (want %s)", u.DisplayName)
		}
		if err != nil {
			col.fail(ActDemo, err)
			return
		}
		col.add(ActDemo, d)
		if strings.Contains(p.Body, "refresh token (it had expired)") {
			col.mu.Lock()
			col.refreshes++
			col.mu.Unlock()
		}
	}
}

func expect(p Page, path, marker string) error {
	if p.Status != http.StatusOK || p.URL.Path != path || !strings.Contains(p.Body, marker) {
		return fmt.Errorf("GET %s answered %s", path, p)
	}
	return nil
}

// checkOwnPage makes sure a signed-in page names its own user, never someone else.
func checkOwnPage(p Page, u *user) error {
	if !strings.Contains(p.Text(), u.DisplayName) {
		return fmt.Errorf("%s does not name its user (want %s): another session's page?", p.URL.Path, u.DisplayName)
	}
	return nil
}

// forEach runs fn(0..n-1) with at most par at once.
func forEach(par, n int, fn func(int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(par, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// WriteText prints the report.
func (r *Report) WriteText(w io.Writer) {
	o := r.Options
	where := "a running app at " + o.AppURL
	if r.InProcess {
		where = "an in-process app and emulator"
	}
	fmt.Fprintf(w, "loadtest: %d users, %d clients, %s against %s\n", o.Users, o.Concurrency, o.Duration, where)
	fmt.Fprintf(w, "signed in %d users in %s\n", o.Users, r.SignInAll.Round(time.Millisecond))
	total := r.Total()
	secs := r.Elapsed.Seconds()
	fmt.Fprintf(w, "timed run: %d actions in %s = %.1f actions/s; %d errors; %d token refreshes\n",
		total, r.Elapsed.Round(time.Millisecond), float64(total)/secs, r.ErrorTotal(), r.Refreshes)
	fmt.Fprintf(w, "\n%-10s %8s %9s %9s %9s %9s %9s\n", "action", "count", "per s", "p50", "p90", "p99", "max")
	for _, name := range actionOrder {
		s := r.Actions[name]
		if s == nil {
			continue
		}
		fmt.Fprintf(w, "%-10s %8d %9.1f %9s %9s %9s %9s\n", name, s.Count(), float64(s.Count())/secs,
			ms(s.Percentile(50)), ms(s.Percentile(90)), ms(s.Percentile(99)), ms(s.Percentile(100)))
	}
	fmt.Fprintln(w, "(sign-in counts the initial sign-ins too; per s is over the timed run)")
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %6d  %s\n          e.g. %s\n", e.Count, e.Kind, e.Example)
		}
	}
	if r.InProcess {
		fmt.Fprintf(w, "\nidentity provider: %d authorization-code grants, %d refresh-token grants\n", r.CodeGrants, r.RefreshGrants)
		fmt.Fprintf(w, "app log: %d warnings, %d errors\n", r.LogWarnings, r.LogErrors)
		for _, s := range r.LogSamples {
			fmt.Fprintf(w, "  %s\n", s)
		}
		fmt.Fprintf(w, "\nthis process (app + emulator + clients): goroutines %d before, %d signed in, %d after the run, %d after stopping (not counting scs's one memstore sweeper, see SettleTo); "+
			"file descriptors %d, %d, %d, %d; peak RSS %s\n",
			r.Before.Goroutines, r.Warm.Goroutines, r.After.Goroutines, r.Settled.Goroutines,
			r.Before.FDs, r.Warm.FDs, r.After.FDs, r.Settled.FDs, MiB(r.After.PeakRSS))
		if r.Leak == "" {
			fmt.Fprintln(w, "goroutines and file descriptors came back to their starting counts")
		} else {
			fmt.Fprintf(w, "LEAK: %s\n", r.Leak)
		}
	}
	if o.AppPID > 0 {
		fmt.Fprintf(w, "\napp process %d: file descriptors %d before, %d after; RSS %s after, peak %s\n",
			o.AppPID, r.App.Before.FDs, r.App.After.FDs, MiB(r.App.After.RSS), MiB(r.App.After.PeakRSS))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
