package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/graphauth/graphauth/internal/emulator"
)

// TestBrowser walks the tutorial's journey in headless Chromium: the app, the emulator's
// sign-in and consent pages, the welcome page, MSAL Demo (Graph /me), and the POST sign-out
// through the identity platform back to the app; then a second user who declines consent.
// Every page is screenshotted to test-output/screenshots/ and checked for console errors, CSP
// violations and a loaded stylesheet.
//
// To cover another page, add a step to a journey (a step with a shot name is screenshotted), or
// a journey of its own as another t.Run with a fresh tab.
func TestBrowser(t *testing.T) {
	execPath := findBrowser(t)
	s := startStack(t)
	browser := startBrowser(t, execPath, s.emulatorSPKI(t))
	shots := newScreenshots(t)

	t.Run("sign in, MSAL Demo, Notes, logout", func(t *testing.T) {
		b := newTab(t, browser, s.Base, shots)
		b.run(insertBefore(signInJourney(s, s.Users[0]), "back to MSAL Demo", notesJourney(s, s.Users[0], t.TempDir())))
	})
	t.Run("consent declined", func(t *testing.T) {
		// Another user: the first one's consent is remembered by the emulator.
		b := newTab(t, browser, s.Base, shots)
		b.run(declineConsentJourney(s, s.Users[1]))
	})
}

// insertBefore puts more steps before the step named name.
func insertBefore(steps []step, name string, more []step) []step {
	for i, st := range steps {
		if st.name == name {
			return append(append(append([]step(nil), steps[:i]...), more...), steps[i:]...)
		}
	}
	return append(steps, more...)
}

// signInJourney: sign in as u, accept consent, open MSAL Demo, log out.
func signInJourney(s *stack, u emulator.User) []step {
	return []step{
		{name: "open the app", shot: "login", do: func(ctx context.Context, b *tab) error {
			if err := b.open(ctx, "/"); err != nil {
				return err
			}
			if err := b.waitFor(ctx, "#sign-in"); err != nil {
				return err
			}
			if err := b.expectAt(ctx, "/login"); err != nil {
				return err
			}
			return b.expectText(ctx, "#sign-in", "Login with Microsoft Identity")
		}},
		{name: "click Login with Microsoft Identity", shot: "emulator-signin", do: func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#sign-in", "#signin-form"); err != nil {
				return err
			}
			return b.expectAt(ctx, s.Emu.Authority()+"/oauth2/v2.0/authorize?")
		}},
		pickUser(u, "consent"),
		{name: "accept consent", shot: "welcome", do: func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#accept", "#welcome"); err != nil {
				return err
			}
			if err := b.expectAt(ctx, "/"); err != nil {
				return err
			}
			if err := b.expectText(ctx, "#welcome", u.DisplayName); err != nil {
				return err
			}
			return b.expectText(ctx, "#signed-in-as", u.DisplayName)
		}},
		{name: "click MSAL Demo", shot: "msal-demo", do: func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#msal-demo", "#graph-result"); err != nil {
				return err
			}
			if err := b.expectAt(ctx, "/msal-demo"); err != nil {
				return err
			}
			return b.expectText(ctx, "#graph-result",
				`"displayName": "`+u.DisplayName+`"`, `"userPrincipalName": "`+u.UserPrincipalName+`"`)
		}},
		{name: "open /flow, the sign-in step by step", shot: "flow", do: func(ctx context.Context, b *tab) error {
			if err := b.open(ctx, "/flow"); err != nil {
				return err
			}
			if err := b.waitFor(ctx, "#flow-steps"); err != nil {
				return err
			}
			if err := b.expectText(ctx, "#state-check", "equals the one sent"); err != nil {
				return err
			}
			return b.expectText(ctx, "#graph-status", "200")
		}},
		{name: "open /token and click Refresh now", shot: "token", do: func(ctx context.Context, b *tab) error {
			if err := b.open(ctx, "/token"); err != nil {
				return err
			}
			if err := b.waitFor(ctx, "#token-countdown"); err != nil {
				return err
			}
			if err := b.expectText(ctx, "#id-claims", u.DisplayName); err != nil {
				return err
			}
			// A POST from the app's own page: Chromium marks it same-origin, the app allows it.
			return b.click(ctx, "#refresh-now", "#refreshed")
		}},
		{name: "back to MSAL Demo", do: func(ctx context.Context, b *tab) error {
			if err := b.open(ctx, "/msal-demo"); err != nil {
				return err
			}
			return b.waitFor(ctx, "#logout")
		}},
		{name: "click Logout", shot: "after-logout", do: func(ctx context.Context, b *tab) error {
			before := len(s.posts.to("/logout"))
			logouts := s.Emu.Counters()["logout"]
			// The form POSTs to the app, which redirects to the identity platform's logout,
			// which redirects back to the app's home page, which sends a signed-out user to
			// /login.
			if err := b.click(ctx, "#logout", "#sign-in"); err != nil {
				return err
			}
			if err := b.expectAt(ctx, "/login"); err != nil {
				return err
			}
			posts := s.posts.to("/logout")
			if len(posts) != before+1 {
				return fmt.Errorf("the app got %d logout POSTs, want 1", len(posts)-before)
			}
			p := posts[len(posts)-1]
			b.t.Logf("Chromium's logout form: %s", p)
			// What net/http.CrossOriginProtection relies on: the browser marks its own form.
			if p.SecFetchSite != "same-origin" {
				return fmt.Errorf("logout POST carried Sec-Fetch-Site %q, want same-origin (%s)", p.SecFetchSite, p)
			}
			if got := s.Emu.Counters()["logout"]; got != logouts+1 {
				return fmt.Errorf("the identity platform's logout was called %d times, want 1", got-logouts)
			}
			// Signed out: a signed-in page sends the browser back to /login.
			if err := b.open(ctx, "/msal-demo"); err != nil {
				return err
			}
			if err := b.waitFor(ctx, "#sign-in"); err != nil {
				return err
			}
			return b.expectAt(ctx, "/login")
		}},
	}
}

// declineConsentJourney: sign in as u and press Cancel on the consent page; the app explains.
func declineConsentJourney(s *stack, u emulator.User) []step {
	return []step{
		{name: "open the app", do: func(ctx context.Context, b *tab) error {
			if err := b.open(ctx, "/"); err != nil {
				return err
			}
			return b.waitFor(ctx, "#sign-in")
		}},
		{name: "click Login with Microsoft Identity", do: func(ctx context.Context, b *tab) error {
			return b.click(ctx, "#sign-in", "#signin-form")
		}},
		pickUser(u, ""),
		{name: "cancel consent", shot: "consent-cancel-error", do: func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#cancel", "#error-code"); err != nil {
				return err
			}
			if err := b.expectAt(ctx, "/getAToken"); err != nil {
				return err
			}
			if err := b.expectText(ctx, "#error-code", "AADSTS65004"); err != nil {
				return err
			}
			return b.expectText(ctx, "#error-action", "Sign in")
		}},
	}
}

// pickUser chooses u on the emulator's sign-in page and expects its consent page.
func pickUser(u emulator.User, shot string) step {
	return step{name: "pick " + u.DisplayName, shot: shot, do: func(ctx context.Context, b *tab) error {
		if err := b.click(ctx, `button[data-upn="`+u.UserPrincipalName+`"]`, "#consent-form"); err != nil {
			return err
		}
		if err := b.expectText(ctx, "#consent-user", u.DisplayName); err != nil {
			return err
		}
		return b.expectText(ctx, "#scopes", "User.ReadBasic.All")
	}}
}
