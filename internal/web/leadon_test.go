package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/stacktest"
)

// A signed-in page asked for while signed out sends the person to sign in with the page kept
// (loginURL), the sign-in page says which page, and after sign-in they land on it.
func TestSignedOutPagesLeadBackAfterSignIn(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	for _, tc := range []struct{ path, wantLoc, wantReason string }{
		{"/", "/login", ""},
		{"/msal-demo", "/login?next=%2Fmsal-demo", "Sign in to see MSAL Demo (your Graph profile)."},
		{"/flow", "/login?next=%2Fflow", "Sign in to see your sign-in, step by step."},
		{"/token", "/login?next=%2Ftoken", "Sign in to see your tokens."},
		{"/notes", "/login?next=%2Fnotes", "Sign in to see your OneNote notebooks."},
	} {
		t.Run(tc.path, func(t *testing.T) {
			c := h.Browser()
			p := h.Get(stacktest.NoFollow(c), tc.path)
			if loc := p.Header.Get("Location"); p.Status != http.StatusFound || loc != tc.wantLoc {
				t.Fatalf("GET %s signed out: %d to %q, want 302 to %q", tc.path, p.Status, loc, tc.wantLoc)
			}
			login := h.Get(c, tc.wantLoc)
			if tc.wantReason == "" {
				if strings.Contains(login.Body, `id="sign-in-reason"`) {
					t.Errorf("the plain sign-in page gives a reason:\n%s", login.Body)
				}
			} else {
				stacktest.MustContain(t, login, `id="sign-in-reason"`, html.EscapeString(tc.wantReason))
			}
			m := regexp.MustCompile(`id="sign-in" href="([^"]+)"`).FindStringSubmatch(login.Body)
			if m == nil {
				t.Fatalf("no sign-in button:\n%s", login.Body)
			}
			end := h.Get(c, html.UnescapeString(m[1]))
			// (/notes first asks for Notes.Read: its consent page, on the way to /notes.)
			if end.Status != http.StatusOK || !strings.HasPrefix(end.URL.Path, tc.path) {
				t.Errorf("after sign-in: %d at %s, want %s", end.Status, end.URL, tc.path)
			}
		})
	}
}

// The reason comes from a fixed list: a link cannot make the sign-in page say anything else,
// and a path off this app gets no "Sign in to see" at all.
func TestSignInReasonIsNeverTheLinksText(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	for next, want := range map[string]string{
		"/notes/pages/1-abc":            "Sign in to see this OneNote page.",
		"/flow?x=<b>hi</b>":             "Sign in to see your sign-in, step by step.",
		"/something-else":               "Sign in to see the page you asked for.",
		"https://evil.example/":         "",
		"//evil.example/<script>":       "",
		"/\\evil.example":               "",
		"/flow\r\nSet-Cookie: a=b":      "",
		"/tokenevil":                    "Sign in to see the page you asked for.",
		"/" + strings.Repeat("a", 1000): "",
	} {
		p := h.Get(c, "/login?next="+url.QueryEscape(next))
		if want == "" {
			if strings.Contains(p.Body, `id="sign-in-reason"`) {
				t.Errorf("next=%q: a reason is shown:\n%s", next, p.Body)
			}
			continue
		}
		stacktest.MustContain(t, p, html.EscapeString(want))
		if strings.Contains(p.Body, "<b>hi") || strings.Contains(p.Body, "evil") {
			t.Errorf("next=%q: the link's text is on the page", next)
		}
	}
}

// After logout the sign-in page says "You are signed out", once; GET /logout while signed out
// says so instead of offering to sign out.
func TestSignedOutMessage(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	p := h.Post(c, "/logout", sameOrigin) // through the identity platform's logout, back to /
	if p.Status != http.StatusOK || p.URL.Path != "/login" {
		t.Fatalf("after logout: %d at %s", p.Status, p.URL)
	}
	stacktest.MustContain(t, p, `id="sign-in-reason"`, "You are signed out")
	if again := h.Get(c, "/"); strings.Contains(again.Body, "You are signed out") {
		t.Error("the signed-out message shows again on the next visit")
	}

	lp := h.Get(c, "/logout")
	stacktest.MustContain(t, lp, `id="signed-out"`, "You are signed out")
	if strings.Contains(lp.Body, `action="/logout"`) {
		t.Errorf("GET /logout signed out offers to sign out:\n%s", lp.Body)
	}
	// Signed in, it still asks.
	h.SignIn(c)
	stacktest.MustContain(t, h.Get(c, "/logout"), `id="logout"`, "Sign out of this app")
}

// An error the identity platform sends back to the redirect URI shows the trace and
// correlation IDs it carries, as every other error page does.
func TestAuthorizeErrorShowsTraceIDs(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.Emu.FailNext(emulator.Fault{Endpoint: "authorize", Code: 65004})
	cb := h.CallbackURL(c, h.AuthorizeURL(c))
	u, _ := url.Parse(cb)
	desc := u.Query().Get("error_description")
	trace := regexp.MustCompile(`Trace ID: (\S+)`).FindStringSubmatch(desc)
	correl := regexp.MustCompile(`Correlation ID: (\S+)`).FindStringSubmatch(desc)
	if trace == nil || correl == nil {
		t.Fatalf("the emulator's error_description lacks the IDs: %q", desc)
	}
	p := h.Get(c, cb)
	if p.Status != http.StatusBadRequest {
		t.Fatalf("callback with an error: %d", p.Status)
	}
	stacktest.MustContain(t, p, "AADSTS65004", "Trace ID: <code>"+trace[1]+"</code>", "<code>"+correl[1]+"</code>")
}

// The static files are served one by one; the folder lists nothing.
func TestStaticFolderListsNothing(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	for _, p := range []string{"/static/", "/static", "/static/?C=M;O=D"} {
		if got := h.Get(stacktest.NoFollow(c), p); got.Status != http.StatusNotFound || strings.Contains(got.Body, `<a href="style.css">`) {
			t.Errorf("GET %s: %d\n%s", p, got.Status, got.Body)
		}
	}
	if got := h.Get(c, "/static/style.css"); got.Status != http.StatusOK {
		t.Errorf("GET /static/style.css: %d", got.Status)
	}
}
