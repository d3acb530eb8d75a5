package web

import (
	"net/http"
	"net/url"
	"strings"
)

// signInReason is what the sign-in page says about why the person is there: a fixed message
// picked by ?reason= (reason.go), else, when a signed-in page sent them (?next=), which page,
// named from the fixed list below. Nothing in the link becomes text on the page.
func signInReason(q url.Values) string {
	if m, ok := signInReasons[q.Get("reason")]; ok {
		return m
	}
	if p := returnPath(q.Get("next")); p != "" {
		return "Sign in to see " + pageName(p) + ". You will land there after signing in."
	}
	return ""
}

// pageNames name the pages a signed-out visitor may have asked for, by path prefix (longest
// first where prefixes overlap).
var pageNames = []struct{ prefix, name string }{
	{"/msal-demo", "MSAL Demo (your Graph profile)"},
	{"/flow", "your sign-in, step by step"},
	{"/token", "your tokens"},
	{"/notes/pages/", "this OneNote page"},
	{"/notes/sections/", "this OneNote section"},
	{"/notes/exports/", "this export"},
	{"/notes", "your OneNote notebooks"},
}

func pageName(path string) string {
	path, _, _ = strings.Cut(path, "?")
	for _, n := range pageNames {
		if path == n.prefix || strings.HasPrefix(path, strings.TrimSuffix(n.prefix, "/")+"/") {
			return n.name
		}
	}
	return "the page you asked for"
}

// After logout, the identity platform sends the browser back to the home page; this short-lived
// cookie (a fixed value, nothing secret) lets the sign-in page that follows say "You are signed
// out" without writing anything to the session store.
const signedOutMaxAge = 300 // seconds

func (a *App) signedOutCookie() *http.Cookie {
	name := "graphauth_signedout"
	if a.cfg.HTTPS() {
		name = "__Host-graphauth_signedout"
	}
	return &http.Cookie{Name: name, Value: "1", Path: "/", HttpOnly: true, Secure: a.cfg.HTTPS(),
		SameSite: http.SameSiteLaxMode, MaxAge: signedOutMaxAge}
}

// markSignedOut sets the cookie on logout's response.
func (a *App) markSignedOut(w http.ResponseWriter) { http.SetCookie(w, a.signedOutCookie()) }

// justSignedOut reports whether r carries the cookie, and clears it: the message shows once.
func (a *App) justSignedOut(w http.ResponseWriter, r *http.Request) bool {
	c := a.signedOutCookie()
	if _, err := r.Cookie(c.Name); err != nil {
		return false
	}
	c.Value, c.MaxAge = "", -1
	http.SetCookie(w, c)
	return true
}
