package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/stacktest"
)

// phoneWidth is a common phone's CSS width (iPhone 12 to 15).
const phoneWidth = 390

// TestBrowserNewcomer walks what a newcomer meets in the first hour: a signed-in page asked for
// while signed out leads back to it after sign-in, the sign-in page says why the person is
// there and, after logout, that they are signed out; and every page, the emulator's included,
// fits a phone's width (screenshots in test-output/screenshots/phone/).
func TestBrowserNewcomer(t *testing.T) {
	execPath := findBrowser(t)
	// A user with a long e-mail address: the welcome page must wrap it, not scroll.
	long := emulator.User{}
	s := &stack{Stack: stacktest.Start(t, stacktest.Options{
		NoAutoLogin: true,
		Env:         map[string]string{"OUTBOUND_TIMEOUT": "5s"},
		EmuConfig: func(c *emulator.Config) {
			u := c.Users[0]
			u.UserPrincipalName = "maximilian.alexander.featherstonehaugh-montgomery@contoso-engineering-department.onmicrosoft.com"
			u.Mail = u.UserPrincipalName
			u.DisplayName = "Maximilian Alexander Featherstonehaugh-Montgomery"
			c.Users[0] = u
			long = u
		},
	}), posts: &requestLog{}}
	browser := startBrowser(t, execPath, s.emulatorSPKI(t))

	t.Run("signed out, /flow leads back to /flow after sign-in; logout says so", func(t *testing.T) {
		b := newTab(t, browser, s.Base, phoneShots(t, "return-to"))
		b.run(returnToJourney(s, s.Users[1]))
	})
	t.Run("every page at phone width", func(t *testing.T) {
		b := newTab(t, browser, s.Base, phoneShots(t, "phone"))
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile)); err != nil {
			t.Fatalf("phone viewport: %v", err)
		}
		b.run(phoneJourney(s, long))
	})
}

// phoneShots keeps a journey's screenshots in test-output/screenshots/<dir>/, apart from the
// main journeys' numbered ones.
func phoneShots(t *testing.T, dir string) *screenshots {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(root, "test-output", "screenshots", dir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(d, "[0-9][0-9]-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	return &screenshots{dir: d}
}

// returnToJourney: /flow while signed out, sign in, land on /flow; log out, told so.
func returnToJourney(s *stack, u emulator.User) []step {
	return []step{
		{name: "open /flow signed out", shot: "sign-in-to-see-flow", do: func(ctx context.Context, b *tab) error {
			if err := b.open(ctx, "/flow"); err != nil {
				return err
			}
			if err := b.waitFor(ctx, "#sign-in"); err != nil {
				return err
			}
			if err := b.expectAt(ctx, "/login"); err != nil {
				return err
			}
			return b.expectText(ctx, "#sign-in-reason", "Sign in to see your sign-in, step by step")
		}},
		{name: "sign in", do: func(ctx context.Context, b *tab) error {
			return b.click(ctx, "#sign-in", "#signin-form")
		}},
		pickUser(u, ""),
		{name: "accept consent: back on /flow", shot: "landed-on-flow", do: func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#accept", "#flow-steps"); err != nil {
				return err
			}
			return b.expectAt(ctx, "/flow")
		}},
		{name: "/token: the \"ago\" times tick with the countdown", do: func(ctx context.Context, b *tab) error {
			if err := openAndWait("/token", "#token-countdown")(ctx, b); err != nil {
				return err
			}
			read := `[document.getElementById("token-countdown").textContent, ...[...document.querySelectorAll(".ago")].map(e => e.textContent)].join("|")`
			before, err := chromedp.Run(ctx, chromedp.Evaluate[string](read))
			if err != nil {
				return err
			}
			if !strings.Contains(before, " ago") {
				return fmt.Errorf("no \"ago\" time on /token: %q", before)
			}
			time.Sleep(2100 * time.Millisecond)
			after, err := chromedp.Run(ctx, chromedp.Evaluate[string](read))
			if err != nil {
				return err
			}
			b1, a1 := strings.Split(before, "|"), strings.Split(after, "|")
			for i := range b1 {
				if i < len(a1) && b1[i] == a1[i] && b1[i] != "now" {
					return fmt.Errorf("%q did not change in 2 s (all: %q then %q)", b1[i], before, after)
				}
			}
			return nil
		}},
		{name: "log out from the top bar", shot: "signed-out", do: func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#nav-logout", "#sign-in-reason"); err != nil {
				return err
			}
			if err := b.expectAt(ctx, "/login"); err != nil {
				return err
			}
			return b.expectText(ctx, "#sign-in-reason", "You are signed out")
		}},
		{name: "GET /logout signed out", shot: "logout-signed-out", do: func(ctx context.Context, b *tab) error {
			if err := b.open(ctx, "/logout"); err != nil {
				return err
			}
			if err := b.waitFor(ctx, "#signed-out"); err != nil {
				return err
			}
			return b.expectText(ctx, "#signed-out", "You are signed out")
		}},
	}
}

// fitsPhone checks that the page does not scroll sideways at phone width, and names the widest
// elements when it does.
func fitsPhone(ctx context.Context) error {
	js := fmt.Sprintf(`(() => {
		const w = document.documentElement.scrollWidth;
		if (w <= %d) return "";
		const wide = [...document.querySelectorAll("body *")]
			.filter(e => e.getBoundingClientRect().right > %d + 0.5)
			.slice(0, 6)
			.map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().replace(/\s+/g, ".") : "") + " (right " + Math.round(e.getBoundingClientRect().right) + ")");
		return "the page is " + w + " px wide at a %d px viewport, so it scrolls sideways: " + wide.join(", ");
	})()`, phoneWidth, phoneWidth, phoneWidth)
	problem, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return fmt.Errorf("measuring the page width: %w", err)
	}
	if problem != "" {
		return fmt.Errorf("%s", problem)
	}
	return nil
}

// phoneStep opens path (or does do) and checks the page fits the phone.
func phoneStep(name, shot string, do func(ctx context.Context, b *tab) error) step {
	return step{name: name, shot: shot, do: func(ctx context.Context, b *tab) error {
		if err := do(ctx, b); err != nil {
			return err
		}
		return fitsPhone(ctx)
	}}
}

func openAndWait(path, sel string) func(ctx context.Context, b *tab) error {
	return func(ctx context.Context, b *tab) error {
		if err := b.open(ctx, path); err != nil {
			return err
		}
		return b.waitFor(ctx, sel)
	}
}

// phoneJourney visits every page at phone width: sign-in (the app's and the emulator's), the
// welcome page with a long e-mail address, MSAL Demo, /flow, /token, the Notes pages, sign-out
// and an error page.
func phoneJourney(s *stack, u emulator.User) []step {
	return []step{
		phoneStep("sign-in page", "login", openAndWait("/msal-demo", "#sign-in")),
		phoneStep("emulator sign-in page", "emulator-signin", func(ctx context.Context, b *tab) error {
			return b.click(ctx, "#sign-in", "#signin-form")
		}),
		phoneStep("emulator consent page", "emulator-consent", func(ctx context.Context, b *tab) error {
			return b.click(ctx, `button[data-upn="`+u.UserPrincipalName+`"]`, "#consent-form")
		}),
		phoneStep("MSAL Demo", "msal-demo", func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#accept", "#graph-result"); err != nil {
				return err
			}
			return b.expectAt(ctx, "/msal-demo")
		}),
		phoneStep("welcome, with a long e-mail address", "welcome", func(ctx context.Context, b *tab) error {
			if err := openAndWait("/", "#welcome")(ctx, b); err != nil {
				return err
			}
			return b.expectText(ctx, "body", u.UserPrincipalName)
		}),
		phoneStep("your sign-in, step by step", "flow", openAndWait("/flow", "#flow-steps")),
		phoneStep("your tokens", "token", openAndWait("/token", "#token-countdown")),
		phoneStep("Notes asks for OneNote access", "notes-consent", func(ctx context.Context, b *tab) error {
			if err := openAndWait("/", "#notes-link")(ctx, b); err != nil {
				return err
			}
			return b.click(ctx, "#notes-link", "#allow-notes")
		}),
		phoneStep("the emulator asks to consent to Notes.Read", "notes-emulator-consent", func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#allow-notes", "#signin-form, #consent-form"); err != nil {
				return err
			}
			if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector("#signin-form")`)); ok {
				return b.click(ctx, `button[data-upn="`+u.UserPrincipalName+`"]`, "#consent-form")
			}
			return nil
		}),
		phoneStep("Notes", "notes", func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, "#accept", "#notebooks"); err != nil {
				return err
			}
			return b.waitFor(ctx, ".section-link")
		}),
		phoneStep("a section", "notes-section", func(ctx context.Context, b *tab) error {
			if err := b.click(ctx, ".section-link", "#pages"); err != nil {
				return err
			}
			return b.waitFor(ctx, ".page-link")
		}),
		phoneStep("a page", "notes-page", func(ctx context.Context, b *tab) error {
			return b.click(ctx, ".page-link", "#page-frame")
		}),
		phoneStep("a page's HTML", "notes-view-html", func(ctx context.Context, b *tab) error {
			return b.click(ctx, "#view-html summary", "#page-html")
		}),
		phoneStep("sign out?", "logout", openAndWait("/logout", "#logout")),
		phoneStep("an error page", "not-found", func(ctx context.Context, b *tab) error {
			if err := openAndWait("/no-such-page", "#error")(ctx, b); err != nil {
				return err
			}
			if loc := b.location(ctx); !strings.HasSuffix(loc, "/no-such-page") {
				return fmt.Errorf("at %s", loc)
			}
			return nil
		}),
		phoneStep("signed out", "signed-out", func(ctx context.Context, b *tab) error {
			if err := openAndWait("/", "#nav-logout")(ctx, b); err != nil {
				return err
			}
			return b.click(ctx, "#nav-logout", "#sign-in-reason")
		}),
	}
}
