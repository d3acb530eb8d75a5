// Package loadtest drives graphauth the way browsers do: it signs users in through the
// emulator's real sign-in and consent pages, then requests /, /msal-demo (with access tokens
// short-lived enough to be refreshed) and signs out and in again, from many clients at once,
// and reports throughput, latency percentiles, every error, and whether goroutines and file
// descriptors came back to where they started. cmd/loadtest wires it to a command line; the
// crash test and the memory benchmark reuse its browser.
package loadtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Browser is one person's browser: a cookie jar, redirects followed across the app and the
// identity provider, and the identity provider's CA trusted.
type Browser struct {
	HTTP *http.Client
	Base string // the app's base URL, e.g. http://127.0.0.1:5000
}

// NewBrowser returns a browser for the app at base that trusts roots (nil: the system's).
func NewBrowser(base string, roots *x509.CertPool) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{
		Base: strings.TrimRight(base, "/"),
		HTTP: &http.Client{
			Jar:     jar,
			Timeout: 60 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
				MaxIdleConnsPerHost: 4,
				IdleConnTimeout:     30 * time.Second,
			},
		},
	}
}

// Close drops the browser's idle connections.
func (b *Browser) Close() { b.HTTP.CloseIdleConnections() }

// Page is a response after all redirects.
type Page struct {
	Status int
	URL    *url.URL
	Body   string
}

// Text is the body with HTML entities decoded, for matching text the page shows.
func (p Page) Text() string { return html.UnescapeString(p.Body) }

// Title is the page's <title>, for error reports.
func (p Page) Title() string {
	if m := titleRE.FindStringSubmatch(p.Body); m != nil {
		return strings.TrimSpace(html.UnescapeString(m[1]))
	}
	return ""
}

var titleRE = regexp.MustCompile(`(?s)<title>(.*?)</title>`)

func (p Page) String() string {
	u := ""
	if p.URL != nil {
		u = p.URL.Path
	}
	return fmt.Sprintf("%d at %s %q", p.Status, u, p.Title())
}

// Get loads a path of the app ("/msal-demo") or an absolute URL.
func (b *Browser) Get(ctx context.Context, target string) (Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.abs(target), nil)
	if err != nil {
		return Page{}, err
	}
	return b.do(req)
}

// PostForm submits a form to a path of the app or an absolute URL, as a browser does from a
// page of the same origin.
func (b *Browser) PostForm(ctx context.Context, target string, form url.Values) (Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.abs(target), strings.NewReader(form.Encode()))
	if err != nil {
		return Page{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if u, err := url.Parse(req.URL.String()); err == nil {
		req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	}
	return b.do(req)
}

func (b *Browser) abs(target string) string {
	if strings.HasPrefix(target, "/") {
		return b.Base + target
	}
	return target
}

func (b *Browser) do(req *http.Request) (Page, error) {
	resp, err := b.HTTP.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return Page{}, fmt.Errorf("%s %s: reading the body: %w", req.Method, req.URL.Path, err)
	}
	return Page{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(body)}, nil
}

// SessionCookie is the value of the app's session cookie in the jar ("" if none).
func (b *Browser) SessionCookie() string {
	u, err := url.Parse(b.Base)
	if err != nil {
		return ""
	}
	for _, c := range b.HTTP.Jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "graphauth_session") {
			return c.Value
		}
	}
	return ""
}

var (
	signInHrefRE    = regexp.MustCompile(`id="sign-in" href="([^"]+)"`)
	signInFormRE    = regexp.MustCompile(`action="([^"]+)" id="signin-form"`)
	consentFormRE   = regexp.MustCompile(`action="([^"]+)" id="consent-form"`)
	requestFieldRE  = regexp.MustCompile(`name="request" id="request" value="([^"]+)"`)
	errUnexpectedPg = errors.New("unexpected page")
)

// SignIn runs the whole sign-in as a person does: the app's sign-in page, the identity
// provider's account picker (choosing userID), its consent page when it asks, and back through
// the app's callback to the welcome page, which it returns.
func (b *Browser) SignIn(ctx context.Context, userID string) (Page, error) {
	p, err := b.Get(ctx, "/login")
	if err != nil {
		return p, fmt.Errorf("GET /login: %w", err)
	}
	m := signInHrefRE.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		return p, fmt.Errorf("%w: /login answered %s without a sign-in link", errUnexpectedPg, p)
	}
	p, err = b.Get(ctx, html.UnescapeString(m[1]))
	if err != nil {
		return p, fmt.Errorf("authorize: %w", err)
	}
	for step := 0; step < 3; step++ {
		switch {
		case signInFormRE.MatchString(p.Body):
			p, err = b.submit(ctx, p, signInFormRE, url.Values{"user": {userID}})
		case consentFormRE.MatchString(p.Body):
			p, err = b.submit(ctx, p, consentFormRE, url.Values{"action": {"accept"}})
		default:
			return p, b.checkWelcome(p)
		}
		if err != nil {
			return p, err
		}
	}
	return p, b.checkWelcome(p)
}

func (b *Browser) submit(ctx context.Context, p Page, form *regexp.Regexp, values url.Values) (Page, error) {
	action := html.UnescapeString(form.FindStringSubmatch(p.Body)[1])
	req := requestFieldRE.FindStringSubmatch(p.Body)
	if req == nil {
		return p, fmt.Errorf("%w: the identity provider's form has no request field", errUnexpectedPg)
	}
	target, err := p.URL.Parse(action)
	if err != nil {
		return p, fmt.Errorf("form action %q: %w", action, err)
	}
	values.Set("request", html.UnescapeString(req[1]))
	next, err := b.PostForm(ctx, target.String(), values)
	if err != nil {
		return next, fmt.Errorf("POST %s: %w", target.Path, err)
	}
	return next, nil
}

func (b *Browser) checkWelcome(p Page) error {
	if p.Status != http.StatusOK || p.URL == nil || !strings.HasPrefix(p.URL.String(), b.Base+"/") ||
		p.URL.Path != "/" || !strings.Contains(p.Body, `id="welcome"`) {
		return fmt.Errorf("%w: sign-in ended with %s", errUnexpectedPg, p)
	}
	return nil
}

// SignOut posts the app's sign-out form and follows the identity provider back to the app,
// which shows its sign-in page.
func (b *Browser) SignOut(ctx context.Context) (Page, error) {
	p, err := b.PostForm(ctx, "/logout", url.Values{})
	if err != nil {
		return p, fmt.Errorf("POST /logout: %w", err)
	}
	if p.Status != http.StatusOK || p.URL.Path != "/login" || !strings.HasPrefix(p.URL.String(), b.Base) {
		return p, fmt.Errorf("%w: sign-out ended with %s", errUnexpectedPg, p)
	}
	return p, nil
}
