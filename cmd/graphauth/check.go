package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/config"
	"github.com/graphauth/graphauth/internal/explain"
	"github.com/graphauth/graphauth/internal/httpclient"
)

// errCheckFailed makes `graphauth check` exit 1.
var errCheckFailed = errors.New("check failed")

// `graphauth check` smoke-tests the configured app registration without a browser, for a person
// or a CI job, in five steps:
//
//  1. offline: every variable present and well-formed (config.Check), the certificate not expired;
//  2. metadata: the authority's OpenID configuration is reachable and its issuer matches;
//  3. redirect: a silent authorize request (prompt=none) is redirected back to REDIRECT_URI, which
//     the identity platform does only for a registered one (check_redirect.go);
//  4. credential: a client-credentials token request for Graph's .default scope succeeds, which
//     proves the client ID, the tenant and the secret or certificate together;
//  5. graph: the Graph endpoint answers over TLS.
//
// Each step prints ok, FAIL (with what it means and what to do) or skipped (with why). It never
// prints a secret or a token. The exit code is 0 only when every step passed. What only a person
// signing in can show (consent, Conditional Access) is listed as not checked.

// checkStep is one step's outcome; with --json the report is printed as it is.
type checkStep struct {
	Step          int            `json:"step"`
	Name          string         `json:"name"`
	Status        string         `json:"status"` // ok, fail, skipped
	Summary       string         `json:"summary"`
	Problems      []checkProblem `json:"problems,omitempty"` // step 1: one per bad variable
	Code          string         `json:"code,omitempty"`     // AADSTSnnnnn or the OAuth error
	Meaning       string         `json:"meaning,omitempty"`
	Fix           string         `json:"fix,omitempty"`
	TraceID       string         `json:"trace_id,omitempty"`
	CorrelationID string         `json:"correlation_id,omitempty"`
	Duration      time.Duration  `json:"-"`
	DurationMS    float64        `json:"duration_ms"`
}

type checkProblem struct {
	Var     string `json:"var"`
	Message string `json:"message"`
}

type checkReport struct {
	OK        bool          `json:"ok"`
	ClientID  string        `json:"client_id,omitempty"`
	Authority string        `json:"authority,omitempty"`
	Steps     []checkStep   `json:"steps"`
	cfg       config.Config // for the list of what was not checked
	// NotChecked is what no step can check without a person signing in.
	NotChecked []string `json:"not_checked"`
}

const (
	statusOK      = "ok"
	statusFail    = "fail"
	statusSkipped = "skipped"
)

func check(ctx context.Context, load func() (config.Config, error), args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("graphauth check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the result as one JSON document")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: check takes no arguments, got %q", errUsage, fs.Args())
	}

	rep := runChecks(ctx, load, time.Now)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		printReport(stdout, rep)
	}
	if !rep.OK {
		return errCheckFailed
	}
	return nil
}

// runChecks runs the five steps; a step that cannot run for want of an earlier one is skipped.
func runChecks(ctx context.Context, load func() (config.Config, error), now func() time.Time) checkReport {
	var rep checkReport
	add := func(s checkStep, start time.Time) {
		s.Step = len(rep.Steps) + 1
		s.Duration = time.Since(start)
		s.DurationMS = float64(s.Duration.Microseconds()) / 1000
		rep.Steps = append(rep.Steps, s)
	}
	skipAll := func(names []string, why string) {
		for _, n := range names {
			add(checkStep{Name: n, Status: statusSkipped, Summary: why}, time.Now())
		}
	}

	// 1. Offline.
	start := time.Now()
	cfg, offline := checkOffline(load, now())
	add(offline, start)
	rep.ClientID, rep.Authority, rep.cfg = cfg.ClientID, cfg.Authority, cfg
	if offline.Status != statusOK {
		skipAll([]string{"metadata", "redirect", "credential", "graph"}, "needs a valid configuration (step 1)")
		return finish(rep)
	}
	xc := explain.Context{RedirectURI: cfg.RedirectURI, ClientID: cfg.ClientID, Authority: cfg.Authority, Scopes: cfg.Scopes}

	hc, err := httpclient.New(cfg.ExtraCAFile)
	if err != nil {
		add(checkStep{Name: "metadata", Status: statusFail, Summary: err.Error(),
			Fix: "Set EXTRA_CA_FILE to a readable PEM file of CA certificates, or unset it."}, time.Now())
		skipAll([]string{"redirect", "credential", "graph"}, "needs an HTTP client (step 2)")
		return finish(rep)
	}

	// 2. The authority's OpenID metadata.
	start = time.Now()
	md := checkMetadata(ctx, cfg, hc, xc)
	add(md, start)

	// 3. The redirect URI, with a silent authorize request; 4. the credential, with the
	// client-credentials grant.
	if md.Status != statusOK {
		skipAll([]string{"redirect", "credential"}, "needs the authority's metadata (step 2)")
	} else {
		start = time.Now()
		add(checkRedirect(ctx, cfg, hc, xc), start)
		start = time.Now()
		add(checkCredential(ctx, cfg, hc, xc), start)
	}

	// 5. Graph over TLS.
	start = time.Now()
	add(checkGraph(ctx, cfg, hc), start)
	return finish(rep)
}

func finish(rep checkReport) checkReport {
	rep.NotChecked = notChecked(rep.cfg)
	rep.OK = true
	for _, s := range rep.Steps {
		if s.Status != statusOK {
			rep.OK = false
		}
	}
	return rep
}

// checkOffline loads and validates the configuration (config.Check via config.Load) and adds
// what only a smoke test looks at: the certificate's validity period.
func checkOffline(load func() (config.Config, error), now time.Time) (config.Config, checkStep) {
	s := checkStep{Name: "offline"}
	cfg, err := load()
	var ve *config.ValidationError
	switch {
	case errors.As(err, &ve):
		s.Status = statusFail
		for _, p := range ve.Problems {
			s.Problems = append(s.Problems, checkProblem{Var: p.Var, Message: p.Msg})
		}
		s.Summary = fmt.Sprintf("%d configuration problem(s)", len(ve.Problems))
		s.Fix = "Set these in the environment or in .env (see config.example.env)."
		return cfg, s
	case err != nil:
		s.Status, s.Summary = statusFail, err.Error()
		s.Fix = "Check the -env-file path and its syntax (KEY=VALUE lines)."
		return cfg, s
	}
	for _, p := range cfg.Check() { // already clean after Load; kept for configs built elsewhere
		s.Problems = append(s.Problems, checkProblem{Var: p.Var, Message: p.Msg})
	}
	cred := "the client secret"
	if cfg.ClientCertificateFile != "" {
		summary, probs := checkCertificate(cfg.ClientCertificateFile, now)
		cred = summary
		s.Problems = append(s.Problems, probs...)
	}
	if len(s.Problems) > 0 {
		s.Status = statusFail
		s.Summary = fmt.Sprintf("%d configuration problem(s)", len(s.Problems))
		s.Fix = "Fix the variables above in the environment or in .env (see config.example.env)."
		return cfg, s
	}
	s.Status = statusOK
	s.Summary = fmt.Sprintf("CLIENT_ID, AUTHORITY, REDIRECT_URI, SCOPE (%s) and %s are well-formed",
		strings.Join(cfg.Scopes, " "), cred)
	return cfg, s
}

// checkCertificate reads the certificate credential as the app will, and checks its dates.
func checkCertificate(path string, now time.Time) (string, []checkProblem) {
	const v = "CLIENT_CERTIFICATE_FILE"
	pem, err := os.ReadFile(path)
	if err != nil {
		return "", []checkProblem{{v, fmt.Sprintf("cannot read %s: give the path of a PEM file holding the certificate and its RSA private key", path)}}
	}
	certs, _, err := confidential.CertFromPEM(pem, "")
	if err != nil || len(certs) == 0 {
		return "", []checkProblem{{v, fmt.Sprintf("%s does not hold a certificate and an unencrypted RSA private key in PEM form (%v)", path, err)}}
	}
	c := certs[0]
	switch {
	case now.After(c.NotAfter):
		return "", []checkProblem{{v, fmt.Sprintf("the certificate in %s expired on %s: create a new one, upload it under Certificates & secrets > Certificates, and point CLIENT_CERTIFICATE_FILE at it",
			path, c.NotAfter.UTC().Format(time.DateOnly))}}
	case now.Before(c.NotBefore):
		return "", []checkProblem{{v, fmt.Sprintf("the certificate in %s is not valid before %s: check the clock, or use a certificate valid now",
			path, c.NotBefore.UTC().Format(time.RFC3339))}}
	}
	days := int(c.NotAfter.Sub(now).Hours() / 24)
	msg := fmt.Sprintf("the certificate (valid until %s, %d days)", c.NotAfter.UTC().Format(time.DateOnly), days)
	if days < 30 {
		msg += ", renew it soon,"
	}
	return msg, nil
}

func checkMetadata(ctx context.Context, cfg config.Config, hc *http.Client, xc explain.Context) checkStep {
	s := checkStep{Name: "metadata"}
	ctx, cancel := context.WithTimeout(ctx, cfg.OutboundTimeout)
	defer cancel()
	mdURL := auth.MetadataURL(cfg.Authority)
	md, err := auth.FetchMetadata(ctx, hc, cfg.Authority)
	if err != nil {
		s.Status = statusFail
		var ee *auth.EntraError
		switch {
		case errors.As(err, &ee):
			x := explain.Entra(ee.AADSTS, ee.Code, xc)
			s.Summary = fmt.Sprintf("%s answered %d", mdURL, ee.Status)
			s.Code, s.Meaning, s.Fix, s.TraceID, s.CorrelationID = x.Code, x.Meaning, x.Fix, ee.TraceID, ee.CorrelationID
			if x.Code == "" && ee.Status == http.StatusNotFound {
				s.Meaning = "There is no OpenID configuration at this address: AUTHORITY is not an identity platform authority."
				s.Fix = fmt.Sprintf("AUTHORITY is %s: set it to https://login.microsoftonline.com/<your tenant ID> (or your national cloud's login host).", cfg.Authority)
			}
		case errors.Is(err, auth.ErrUnreachable):
			s.Summary = "could not reach " + mdURL
			s.Meaning = unreachableMeaning(err)
			s.Fix = fmt.Sprintf("Check AUTHORITY (%s): its host must be the identity platform's (login.microsoftonline.com, or your national cloud's), reachable from here (network, proxy, firewall). A private CA needs EXTRA_CA_FILE.", cfg.Authority)
		default:
			s.Summary = fmt.Sprintf("%s: %v", mdURL, err)
			s.Fix = fmt.Sprintf("Check that AUTHORITY (%s) is an identity platform authority such as https://login.microsoftonline.com/<tenant ID>.", cfg.Authority)
		}
		return s
	}
	if msg := issuerProblem(cfg.Authority, md.Issuer); msg != "" {
		s.Status, s.Summary = statusFail, msg
		s.Fix = fmt.Sprintf("AUTHORITY is %s: set it to the identity platform's host for your cloud followed by your Directory (tenant) ID, e.g. https://login.microsoftonline.com/<tenant ID>.", cfg.Authority)
		return s
	}
	s.Status = statusOK
	s.Summary = "issuer matches AUTHORITY: " + md.Issuer
	return s
}

// issuerProblem checks the metadata's issuer against AUTHORITY: same host (MSAL refuses
// metadata whose issuer has another host), and the same tenant when AUTHORITY names one by ID.
func issuerProblem(authority, issuer string) string {
	a, err1 := url.Parse(authority)
	i, err2 := url.Parse(issuer)
	if err1 != nil || err2 != nil || i.Host == "" {
		return fmt.Sprintf("the metadata's issuer %q is not a URL", issuer)
	}
	if !strings.EqualFold(a.Host, i.Host) {
		return fmt.Sprintf("the metadata's issuer %s is on another host than AUTHORITY (%s)", issuer, a.Host)
	}
	tenant := strings.Trim(a.Path, "/")
	if config.IsGUID(tenant) && !strings.Contains(strings.ToLower(i.Path), strings.ToLower(tenant)) {
		return fmt.Sprintf("the metadata's issuer %s does not name the tenant %s of AUTHORITY", issuer, tenant)
	}
	return ""
}

// nationalGraphHosts are Microsoft Graph in the national clouds, whose tokens are asked for by
// their own resource. Any other GRAPH_ENDPOINT host stands in for graph.microsoft.com.
var nationalGraphHosts = map[string]bool{
	"graph.microsoft.us":              true, // US Government L4
	"dod-graph.microsoft.us":          true, // US Government L5 (DoD)
	"microsoftgraph.chinacloudapi.cn": true, // China, operated by 21Vianet
}

// graphDefaultScope is the .default scope of the Graph that GRAPH_ENDPOINT points at.
func graphDefaultScope(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && nationalGraphHosts[strings.ToLower(u.Hostname())] {
		return "https://" + strings.ToLower(u.Hostname()) + "/.default"
	}
	return "https://graph.microsoft.com/.default"
}

func checkCredential(ctx context.Context, cfg config.Config, hc *http.Client, xc explain.Context) checkStep {
	s := checkStep{Name: "credential"}
	scope := graphDefaultScope(cfg.GraphEndpoint)
	ac, err := auth.New(auth.Settings{Authority: cfg.Authority, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		ClientCertificateFile: cfg.ClientCertificateFile, InstanceDiscovery: cfg.InstanceDiscovery,
		Timeout: cfg.OutboundTimeout, PoolSize: 1}, hc)
	if err != nil {
		s.Status, s.Summary = statusFail, err.Error()
		s.Fix = "Check CLIENT_SECRET or CLIENT_CERTIFICATE_FILE and AUTHORITY."
		return s
	}
	credName := "client secret"
	if cfg.ClientCertificateFile != "" {
		credName = "certificate"
	}
	tok, err := ac.AppToken(ctx, scope)
	if err != nil {
		s.Status = statusFail
		var ee *auth.EntraError
		switch {
		case errors.As(err, &ee):
			x := explain.Entra(ee.AADSTS, ee.Code, xc)
			s.Summary = fmt.Sprintf("the identity platform refused a client-credentials token for %s with the %s (%d %s)", scope, credName, ee.Status, ee.Code)
			s.Code, s.Meaning, s.Fix, s.TraceID, s.CorrelationID = x.Code, x.Meaning, x.Fix, ee.TraceID, ee.CorrelationID
		case errors.Is(err, auth.ErrUnreachable):
			s.Summary = "the token endpoint could not be reached"
			s.Meaning = unreachableMeaning(err)
			s.Fix = fmt.Sprintf("Check the network and AUTHORITY (%s); try again.", cfg.Authority)
		default:
			s.Summary = err.Error()
			s.Fix = fmt.Sprintf("Check CLIENT_ID (%s), the credential and AUTHORITY (%s).", cfg.ClientID, cfg.Authority)
		}
		return s
	}
	s.Status = statusOK
	perms := ""
	// The token itself is never printed; its application permissions are worth knowing.
	if claims, err := auth.DecodeJWTPayload(tok.AccessToken); err == nil {
		if roles, ok := claims["roles"].([]any); ok && len(roles) > 0 {
			names := make([]string, 0, len(roles))
			for _, r := range roles {
				names = append(names, auth.ClaimString(r))
			}
			perms = "; application permissions: " + strings.Join(names, ", ")
		} else {
			perms = "; no application permissions, which is fine: the app uses delegated ones"
		}
	}
	s.Summary = fmt.Sprintf("got an app-only token for %s with the %s (valid %d min%s)", scope, credName,
		int(time.Until(tok.ExpiresOn).Round(time.Minute).Minutes()), perms)
	return s
}

func checkGraph(ctx context.Context, cfg config.Config, hc *http.Client) checkStep {
	s := checkStep{Name: "graph"}
	ctx, cancel := context.WithTimeout(ctx, cfg.OutboundTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.GraphEndpoint, nil)
	if err != nil {
		s.Status, s.Summary = statusFail, err.Error()
		s.Fix = fmt.Sprintf("GRAPH_ENDPOINT (%s) is not a URL: set it to https://graph.microsoft.com/v1.0/me.", cfg.GraphEndpoint)
		return s
	}
	resp, err := hc.Do(req)
	if err != nil {
		s.Status = statusFail
		s.Summary = "no answer over TLS from " + cfg.GraphEndpoint
		s.Meaning = unreachableMeaning(err)
		s.Fix = fmt.Sprintf("Check GRAPH_ENDPOINT (%s): Microsoft Graph is https://graph.microsoft.com/v1.0/me, or your national cloud's Graph host; it must be reachable from here. A private CA needs EXTRA_CA_FILE.", cfg.GraphEndpoint)
		return s
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	tlsVersion := "TLS"
	if resp.TLS != nil {
		tlsVersion = tls.VersionName(resp.TLS.Version)
	}
	s.Status = statusOK
	s.Summary = fmt.Sprintf("%s answered %d over %s", cfg.GraphEndpoint, resp.StatusCode, tlsVersion)
	if resp.StatusCode == http.StatusUnauthorized {
		s.Summary += " (expected: the check sends no token)"
	}
	return s
}

// unreachableMeaning says in plain words why a call got no answer.
func unreachableMeaning(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "certificate"):
		return "The server's TLS certificate is not trusted here (" + lastPart(msg) + "). A private or test CA must be listed in EXTRA_CA_FILE."
	case strings.Contains(msg, "no such host"):
		return "The host name does not resolve (" + lastPart(msg) + ")."
	case strings.Contains(msg, "connection refused"):
		return "Nothing listens at that address (connection refused)."
	case strings.Contains(msg, "deadline exceeded") || strings.Contains(msg, "timeout"):
		return "No answer before OUTBOUND_TIMEOUT."
	}
	return "The call failed: " + lastPart(msg) + "."
}

func lastPart(msg string) string {
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		return msg[i+2:]
	}
	return msg
}

// printReport writes the human-readable report: one line per step, then the detail of a failure.
func printReport(w io.Writer, rep checkReport) {
	if rep.ClientID != "" {
		fmt.Fprintf(w, "graphauth check: app %s at %s\n", rep.ClientID, rep.Authority)
	} else {
		fmt.Fprintln(w, "graphauth check")
	}
	passed, failed, skipped := 0, 0, 0
	for _, s := range rep.Steps {
		label := s.Status
		switch s.Status {
		case statusOK:
			passed++
		case statusFail:
			label = "FAIL"
			failed++
		default:
			skipped++
		}
		timing := fmt.Sprintf("%8.1f ms", s.DurationMS)
		if s.Status == statusSkipped {
			timing = strings.Repeat(" ", len(timing))
		}
		fmt.Fprintf(w, "%d/%d %-10s %-7s %s  %s\n", s.Step, len(rep.Steps), s.Name, label, timing, s.Summary)
		const indent = "      "
		for _, p := range s.Problems {
			fmt.Fprintf(w, "%s%s: %s\n", indent, p.Var, p.Message)
		}
		if s.Code != "" {
			fmt.Fprintf(w, "%serror:         %s\n", indent, s.Code)
		}
		if s.Meaning != "" {
			fmt.Fprintf(w, "%swhat it means: %s\n", indent, s.Meaning)
		}
		if s.Fix != "" && s.Status == statusFail {
			fmt.Fprintf(w, "%swhat to do:    %s\n", indent, s.Fix)
		}
		if s.TraceID != "" || s.CorrelationID != "" {
			fmt.Fprintf(w, "%strace ID %s, correlation ID %s\n", indent, s.TraceID, s.CorrelationID)
		}
	}
	if len(rep.NotChecked) > 0 {
		fmt.Fprintln(w, "not checked (no step can, without a person signing in):")
		for _, n := range rep.NotChecked {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	result := "ok"
	if failed > 0 || skipped > 0 {
		result = "FAIL"
	}
	fmt.Fprintf(w, "result: %s (%d ok, %d failed, %d skipped)\n", result, passed, failed, skipped)
}

// notChecked says plainly what no step can check: it happens only when a person signs in.
func notChecked(cfg config.Config) []string {
	scopes := strings.Join(cfg.Scopes, " ")
	if scopes == "" {
		scopes = config.DefaultScope
	}
	notes := strings.Join(cfg.NotesScopes, " ")
	if notes == "" {
		notes = config.DefaultNotesScope
	}
	return []string{
		fmt.Sprintf("whether users will consent to the delegated permissions (SCOPE: %s), or an administrator must grant consent for them", scopes),
		"Conditional Access and MFA policies, which apply only when a person signs in",
		fmt.Sprintf("whether %s is granted for the Notes pages: the app asks for it later, on the first visit to /notes (incremental consent)", notes),
		"whether a signed-in user's own Graph calls succeed (their licences, and OneNote being set up for them)",
	}
}
