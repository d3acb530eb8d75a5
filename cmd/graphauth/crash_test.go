package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/loadtest"
	"github.com/graphauth/graphauth/internal/session"
)

// crashClient is one person using the app while it is killed under them.
type crashClient struct {
	user emulator.User
	b    *loadtest.Browser
	// signedIn is set when a sign-in's final page arrived: the app commits the session before
	// it sends anything, so that session was committed before any later kill.
	signedIn atomic.Bool
}

// The app is killed with SIGKILL, five times, while 50 people sign in and use /msal-demo with
// access tokens that need refreshing every second (each refresh rewrites the session's token
// cache). After each kill: no session file is half-written (every file in the folder decodes
// with the store's own decoder; an unfinished commit leaves only a temporary file), and once the
// app is started again on the same folder, everyone whose sign-in had completed is still signed
// in as themselves and gets their own Graph profile. Nobody ever sees someone else's page.
func TestSessionsSurviveSIGKILL(t *testing.T) {
	const clients, cycles = 50, 5
	p := newAppProcess(t, buildApp(t, raceEnabled), clients)
	p.emu.SetLifetimes(5*time.Minute+time.Second, time.Hour) // MSAL refreshes after ~1 s
	roots := p.roots()
	cs := make([]*crashClient, clients)
	for i := range cs {
		cs[i] = &crashClient{user: loadtest.TestUser(i), b: loadtest.NewBrowser(p.base, roots)}
	}
	defer func() {
		for _, c := range cs {
			c.b.Close()
		}
	}()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 6))
	var wrongUser atomic.Value

	for cycle := 1; cycle <= cycles; cycle++ {
		p.start()
		var signIns, requests atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, c := range cs {
			wg.Go(func() { c.use(p, stop, &signIns, &requests, &wrongUser) })
		}
		// Kill while sign-ins and refreshes are both in flight: in the first cycle once half the
		// clients have signed in, later after a random moment of traffic.
		deadline := time.Now().Add(20 * time.Second)
		if cycle == 1 {
			for signIns.Load() < clients/2 && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond)
			}
		} else {
			want := requests.Load() + 100 + int64(rng.IntN(300))
			for requests.Load() < want && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond)
			}
		}
		p.kill()
		close(stop)
		wg.Wait()
		t.Logf("cycle %d: killed after %d sign-ins and %d requests", cycle, signIns.Load(), requests.Load())

		rep, err := session.VerifyDir(p.sessionDir)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Damaged) > 0 || len(rep.Other) > 0 {
			t.Fatalf("cycle %d: half-written or unknown files after SIGKILL: %+v", cycle, rep)
		}
		t.Logf("cycle %d: %d session files, all whole; %d temporary files left by the kill", cycle, rep.Sessions, rep.Temp)

		// Restart on the same folder: every committed sign-in still works.
		p.start()
		signedIn := 0
		for _, c := range cs {
			if !c.signedIn.Load() {
				continue
			}
			signedIn++
			ctx := context.Background()
			home, err := c.b.Get(ctx, "/")
			if err != nil || home.Status != http.StatusOK || home.URL.Path != "/" || !strings.Contains(home.Text(), c.user.DisplayName) {
				t.Errorf("cycle %d: %s signed in before the kill, after the restart: %v %s", cycle, c.user.DisplayName, err, home)
				continue
			}
			demo, err := c.b.Get(ctx, "/msal-demo")
			if err != nil || demo.Status != http.StatusOK || !strings.Contains(demo.Text(), `"displayName": "`+c.user.DisplayName+`"`) {
				t.Errorf("cycle %d: %s's /msal-demo after the restart: %v %s", cycle, c.user.DisplayName, err, demo)
			}
		}
		t.Logf("cycle %d: %d of %d clients were signed in before the kill; all checked after the restart", cycle, signedIn, clients)
		if signedIn == 0 {
			t.Fatalf("cycle %d: nobody had signed in before the kill", cycle)
		}
		p.kill()
	}
	if w, ok := wrongUser.Load().(string); ok {
		t.Error(w)
	}
	if log := p.log(); strings.Contains(log, "DATA RACE") || strings.Contains(log, "panic") {
		t.Errorf("the app's log shows a race or a panic:\n%s", log)
	}
}

// use signs in (if not yet) and loads /msal-demo and / until stop or until the app goes away.
func (c *crashClient) use(p *appProcess, stop <-chan struct{}, signIns, requests *atomic.Int64, wrongUser *atomic.Value) {
	ctx := context.Background()
	for {
		select {
		case <-stop:
			return
		default:
		}
		if !c.signedIn.Load() {
			page, err := c.b.SignIn(ctx, c.user.ID)
			if err != nil {
				return // the app was killed mid-way (or the sign-in failed: checked after restart)
			}
			if !strings.Contains(page.Text(), c.user.DisplayName) {
				wrongUser.Store(fmt.Sprintf("%s's sign-in landed on someone else's page", c.user.DisplayName))
			}
			c.signedIn.Store(true)
			signIns.Add(1)
			continue
		}
		page, err := c.b.Get(ctx, "/msal-demo")
		if err != nil {
			return
		}
		requests.Add(1)
		if page.Status == http.StatusOK && !strings.Contains(page.Text(), `"displayName": "`+c.user.DisplayName+`"`) {
			wrongUser.Store(fmt.Sprintf("%s got someone else's /msal-demo", c.user.DisplayName))
		}
	}
}
