package web_test

import (
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/graphauth/graphauth/internal/stacktest"
)

// A flood of anonymous GET /login leaves the session store as it was: the sign-in in progress
// travels in a sealed cookie, and a real sign-in still works right after.
func TestAnonymousLoginsCostTheStoreNothing(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	before := entries(t, h.Cfg.SessionDir)
	// 10,000, as the issue asks: about 14 s under -race on two quiet cores (FLOOD_VISITS changes it).
	visits, workers := 10000, 8
	if n, err := strconv.Atoi(os.Getenv("FLOOD_VISITS")); err == nil && n > 0 {
		visits = n
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for i := w; i < visits; i += workers {
				resp, err := client.Get(h.Base + "/login")
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- &statusError{resp.StatusCode}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if after := entries(t, h.Cfg.SessionDir); after > before {
		t.Errorf("%d anonymous GET /login added %d entries to the session store, want none", visits, after-before)
	}
	if p := h.SignIn(h.Browser()); p.Status != http.StatusOK {
		t.Fatalf("sign-in after the flood: %d", p.Status)
	}
}

// A callback replayed with a copy of the sign-in cookie it came with gets no session: its code
// was redeemed (the identity platform refuses it again), and no session is made.
func TestReplayedCallbackWithACopiedCookieIsRefused(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	authURL := h.AuthorizeURL(c)
	cookie := signInCookie(h, c)
	cb := h.CallbackURL(c, authURL)
	if p := h.Get(c, cb); p.Status != http.StatusOK || p.URL.Path != "/" {
		t.Fatalf("sign-in: %d at %s", p.Status, p.URL)
	}
	// The browser's own replay: the flow left its cookie.
	if p := h.Get(c, cb); p.Status != http.StatusBadRequest {
		t.Errorf("replayed callback in the same browser: %d, want 400", p.Status)
	}
	thief := h.Browser()
	u, _ := url.Parse(h.Base)
	thief.Jar.SetCookies(u, []*http.Cookie{{Name: "graphauth_signin", Value: cookie, Path: "/"}})
	p := h.Get(thief, cb)
	if p.Status < 400 {
		t.Fatalf("replayed callback with the copied cookie: %d, want an error page\n%s", p.Status, p.Body)
	}
	stacktest.MustContain(t, p, "AADSTS54005")
	if h.SessionCookie(thief) != "" {
		t.Error("the replay got a session")
	}
}

// A forged or tampered sign-in cookie opens for nobody.
func TestForgedSignInCookieIsRefused(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	authURL := h.AuthorizeURL(c)
	cookie := []byte(signInCookie(h, c))
	cookie[len(cookie)/2] ^= 1 // one flipped character
	forger := h.Browser()
	u, _ := url.Parse(h.Base)
	forger.Jar.SetCookies(u, []*http.Cookie{{Name: "graphauth_signin", Value: string(cookie), Path: "/"}})
	if p := h.Get(forger, h.CallbackURL(c, authURL)); p.Status != http.StatusBadRequest {
		t.Fatalf("callback with a tampered cookie: %d, want 400", p.Status)
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "status " + http.StatusText(e.code) }

func entries(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// Pages are rendered whole before they are sent: they go out with their length, in one piece.
func TestPagesGoOutWithTheirLength(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	for _, path := range []string{"/", "/login", "/flow", "/token"} {
		resp, err := c.Get(h.Base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ContentLength <= 0 || len(resp.TransferEncoding) > 0 {
			t.Errorf("%s: Content-Length %d, Transfer-Encoding %v", path, resp.ContentLength, resp.TransferEncoding)
		}
	}
}
