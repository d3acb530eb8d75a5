package web_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/session"
	"github.com/graphauth/graphauth/internal/session/sessiontest"
	"github.com/graphauth/graphauth/internal/stacktest"
)

var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}

// withCookie is a browser holding only the given session cookie value.
func withCookie(h *stacktest.Stack, value string) *http.Client {
	c := stacktest.NoFollow(h.Browser())
	u, _ := url.Parse(h.Base)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: h.CookieName, Value: value}})
	return c
}

// idSignsIn reports whether the session ID value still signs anyone in.
func idSignsIn(t *testing.T, h *stacktest.Stack, value string) bool {
	t.Helper()
	p := h.Get(withCookie(h, value), "/")
	return p.Status == http.StatusOK && strings.Contains(p.Body, `id="signed-in-as"`)
}

// refreshInFlight starts "Refresh now" with the token endpoint held for a second, and returns
// once the refresh has reached the identity platform (the request is in flight, its session
// loaded) with a channel that gets the page when it ends.
func refreshInFlight(t *testing.T, h *stacktest.Stack, value string) <-chan stacktest.Page {
	t.Helper()
	before := h.Counter("token:refresh_token")
	h.Emu.FailNext(emulator.Fault{Endpoint: "token", Delay: time.Second})
	done := make(chan stacktest.Page, 1)
	c := withCookie(h, value)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, h.Base+"/token", nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			done <- stacktest.Page{Body: err.Error()}
			return
		}
		done <- stacktest.ReadPage(t, resp)
	}()
	for deadline := time.Now().Add(5 * time.Second); h.Counter("token:refresh_token") == before; {
		if time.Now().After(deadline) {
			t.Fatal("the refresh never reached the token endpoint")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return done
}

// Logout must win, in every store: a request that loaded the session before POST /logout (or
// before a new sign-in replaced its ID with RenewToken) and changes it afterwards (here "Refresh
// now", whose refresh rotates the token cache) does not write the session back.
func TestSignOutWinsOverRequestsInFlight(t *testing.T) {
	stores := map[string]func(t *testing.T) map[string]string{
		"filesystem": func(*testing.T) map[string]string { return nil },
		"memory":     func(*testing.T) map[string]string { return map[string]string{"SESSION_TYPE": "memory"} },
		"redis": func(t *testing.T) map[string]string {
			r := sessiontest.StartRedis(t, sessiontest.RedisOptions{})
			return map[string]string{"SESSION_TYPE": "redis", "REDIS_URL": r.URL()}
		},
		"postgres": func(t *testing.T) map[string]string {
			pg := sessiontest.StartPostgres(t)
			return map[string]string{"SESSION_TYPE": "postgres", "DATABASE_URL": pg.URL()}
		},
	}
	for _, name := range []string{"filesystem", "memory", "redis", "postgres"} {
		t.Run(name, func(t *testing.T) {
			h := stacktest.Start(t, stacktest.Options{Env: stores[name](t)})
			c := h.Browser()

			// 1. Sign out while a refresh is in flight.
			h.SignIn(c)
			old := h.SessionCookie(c)
			done := refreshInFlight(t, h, old)
			if p := h.Post(stacktest.NoFollow(c), "/logout", sameOrigin); p.Status != http.StatusSeeOther {
				t.Fatalf("POST /logout: %d", p.Status)
			}
			p := <-done
			if p.Status != http.StatusConflict {
				t.Errorf("the request in flight during sign-out: %d, want 409\n%s", p.Status, p.Body)
			}
			stacktest.MustContain(t, p, "Your session ended")
			if idSignsIn(t, h, old) {
				t.Error("the request in flight wrote the signed-out session back: its ID signs in again")
			}

			// 2. A new sign-in (RenewToken) while a refresh of the old session is in flight.
			h.SignIn(c)
			before := h.SessionCookie(c)
			done = refreshInFlight(t, h, before)
			h.SignIn(c)
			after := h.SessionCookie(c)
			<-done
			if after == before {
				t.Fatal("the sign-in did not renew the session ID")
			}
			if idSignsIn(t, h, before) {
				t.Error("the request in flight wrote the replaced session back under its old ID")
			}
			if !idSignsIn(t, h, after) {
				t.Error("the new session was harmed by the old one's request")
			}
		})
	}
}

// A session record planted in SESSION_DIR, or one user's record copied under another ID, signs
// nobody in: records are sealed with SESSION_KEY and bound to their stored key.
func TestPlantedAndSwappedSessionsSignNobodyIn(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	victim := h.SessionCookie(c)
	fs, err := session.NewFileStore(h.Cfg.SessionDir, session.FileStoreOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	sealed, found, err := fs.Find(stacktest.StoreKey(victim))
	if err != nil || !found {
		t.Fatalf("the victim's record: %v %v", found, err)
	}
	plain, found, _ := session.Sealed(fs, h.Keys()).Find(stacktest.StoreKey(victim))
	if !found {
		t.Fatal("the victim's record does not open with the app's keys")
	}
	// The record at rest holds no token.
	for _, s := range secretsOf(t, h, c) {
		if strings.Contains(string(sealed), s) {
			t.Errorf("the stored record holds a token or secret in clear")
		}
	}
	files, _ := filepath.Glob(filepath.Join(h.Cfg.SessionDir, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "refresh_token") || strings.Contains(string(b), "eyJ") {
			t.Errorf("%s holds tokens in clear", filepath.Base(f))
		}
	}

	exp := time.Now().Add(time.Hour)
	for name, record := range map[string][]byte{
		"planted (a valid session, unsealed)":    plain,
		"swapped (another user's sealed record)": sealed,
	} {
		attacker := "attacker-chosen-session-id-" + strings.Fields(name)[0]
		if err := fs.Commit(stacktest.StoreKey(attacker), record, exp); err != nil {
			t.Fatal(err)
		}
		if idSignsIn(t, h, attacker) {
			t.Errorf("%s: the record signed the attacker in", name)
		}
	}
	if !idSignsIn(t, h, victim) {
		t.Error("the victim's own session stopped working")
	}
}
