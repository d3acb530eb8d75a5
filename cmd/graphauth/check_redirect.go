package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/config"
	"github.com/graphauth/graphauth/internal/explain"
)

// silentOutcomes are the errors a silent authorize request (prompt=none) gets when nobody is
// signed in: they come back on the redirect URI, which is what proves it registered.
var silentOutcomes = map[string]bool{
	"login_required":             true,
	"interaction_required":       true,
	"consent_required":           true,
	"account_selection_required": true,
}

// checkRedirect proves, with no browser, that REDIRECT_URI is registered for the app: it sends
// the authorize request exactly as the app does (state, nonce, PKCE challenge) with prompt=none,
// and reads the first answer without following it. The identity platform redirects only to a
// registered URI; for any other it shows an error page (AADSTS50011) and never redirects. An
// unknown client ID (AADSTS700016) is caught here too.
func checkRedirect(ctx context.Context, cfg config.Config, hc *http.Client, xc explain.Context) checkStep {
	s := checkStep{Name: "redirect"}
	ctx, cancel := context.WithTimeout(ctx, cfg.OutboundTimeout)
	defer cancel()
	ac, err := auth.New(auth.Settings{Authority: cfg.Authority, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		ClientCertificateFile: cfg.ClientCertificateFile, RedirectURI: cfg.RedirectURI, Scopes: cfg.Scopes,
		InstanceDiscovery: cfg.InstanceDiscovery, Timeout: cfg.OutboundTimeout, PoolSize: 1}, hc)
	if err != nil {
		s.Status, s.Summary = statusFail, err.Error()
		s.Fix = fmt.Sprintf("Check CLIENT_ID (%s), the credential and AUTHORITY (%s).", cfg.ClientID, cfg.Authority)
		return s
	}
	authURL, err := ac.AuthCodeURL(ctx, auth.NewFlow(cfg.RedirectURI, time.Now()))
	if err != nil {
		s.Status, s.Summary = statusFail, "could not build the authorize request: "+err.Error()
		s.Fix = fmt.Sprintf("Check AUTHORITY (%s).", cfg.Authority)
		return s
	}
	u, err := url.Parse(authURL)
	if err != nil {
		s.Status, s.Summary = statusFail, "the authorize URL does not parse: "+err.Error()
		return s
	}
	q := u.Query()
	q.Set("prompt", "none") // never a sign-in page: an answer now, redirect or error page
	u.RawQuery = q.Encode()
	endpoint := u.Scheme + "://" + u.Host + u.Path

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		s.Status, s.Summary = statusFail, err.Error()
		return s
	}
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		s.Status = statusFail
		s.Summary = "no answer from " + endpoint
		s.Meaning = unreachableMeaning(err)
		s.Fix = fmt.Sprintf("Check the network and AUTHORITY (%s).", cfg.Authority)
		return s
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512<<10))
	resp.Body.Close()

	loc := resp.Header.Get("Location")
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		return redirectOutcome(s, cfg, xc, loc)
	}
	// No redirect: an error page. Its AADSTS code says why.
	s.Status = statusFail
	code := auth.AADSTSFromText(string(body))
	x := explain.Entra(code, "", xc)
	s.Code, s.Meaning, s.Fix = x.Code, x.Meaning, x.Fix
	s.TraceID, s.CorrelationID = auth.TraceIDs(string(body))
	switch code {
	case 50011:
		s.Summary = fmt.Sprintf("REDIRECT_URI %s is not registered for this app: the identity platform showed an error page instead of redirecting to it", cfg.RedirectURI)
	case 700016:
		s.Summary = fmt.Sprintf("the identity platform does not know CLIENT_ID %s in this tenant, so it cannot check the redirect URI", cfg.ClientID)
	case 0:
		s.Summary = fmt.Sprintf("%s answered %d without a redirect or an error code, so this step cannot tell whether REDIRECT_URI %s is registered", endpoint, resp.StatusCode, cfg.RedirectURI)
		s.Fix = fmt.Sprintf("Check in the app registration > Authentication that %s is listed under Web > Redirect URIs.", cfg.RedirectURI)
	default:
		s.Summary = fmt.Sprintf("the identity platform refused the authorize request with an error page (%d)", resp.StatusCode)
	}
	return s
}

// redirectOutcome judges a redirect answer: to REDIRECT_URI is the proof; with an error other
// than "nobody is signed in", the request itself has a problem (a scope, for example).
func redirectOutcome(s checkStep, cfg config.Config, xc explain.Context, loc string) checkStep {
	to, err := url.Parse(loc)
	want, _ := url.Parse(cfg.RedirectURI)
	if err != nil || want == nil || to.Scheme != want.Scheme || !strings.EqualFold(to.Host, want.Host) || to.Path != want.Path {
		s.Status = statusFail
		s.Summary = fmt.Sprintf("the identity platform redirected elsewhere than REDIRECT_URI %s", cfg.RedirectURI)
		s.Fix = fmt.Sprintf("Check AUTHORITY (%s): it must be the identity platform's authorize endpoint for your tenant.", cfg.Authority)
		return s
	}
	back := to.Query()
	if back.Get("code") != "" {
		s.Status = statusOK
		s.Summary = fmt.Sprintf("the identity platform redirected to REDIRECT_URI %s with a code: it is registered", cfg.RedirectURI)
		return s
	}
	e, desc := back.Get("error"), back.Get("error_description")
	if silentOutcomes[e] {
		s.Status = statusOK
		s.Summary = fmt.Sprintf("the identity platform redirected to REDIRECT_URI %s (%s, as expected with nobody signed in): it is registered", cfg.RedirectURI, e)
		return s
	}
	// Registered, but the request was refused for another reason, which sign-in would meet too.
	x := explain.Entra(auth.AADSTSFromText(desc), e, xc)
	s.Status = statusFail
	s.Summary = fmt.Sprintf("REDIRECT_URI %s is registered, but the authorize request was refused (%s)", cfg.RedirectURI, e)
	s.Code, s.Meaning, s.Fix = x.Code, x.Meaning, x.Fix
	s.TraceID, s.CorrelationID = auth.TraceIDs(desc)
	return s
}
