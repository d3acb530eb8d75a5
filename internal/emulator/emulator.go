// Package emulator is a local stand-in for the Microsoft identity platform (v2.0 endpoints)
// and for Microsoft Graph's GET /v1.0/me, for tests and demos.
//
// It serves, over HTTPS on a loopback address, what a confidential web app using MSAL Go
// talks to: OpenID metadata, signing keys, an authorize endpoint with real (plain HTML)
// sign-in and consent pages, a token endpoint for the authorization_code, refresh_token and
// client_credentials grants, a logout endpoint and Graph's /me. Errors have Entra ID's shape
// and AADSTS codes, so an app's error handling can be tested without a tenant.
//
// It is a test tool: its users, apps, secrets and keys are fake, and it refuses to listen on
// anything but a loopback address. It shares no code with the app it tests: a bug in a shared
// JWT or PKCE helper would otherwise pass every test.
//
// # Driving the pages
//
// GET /{tenant}/oauth2/v2.0/authorize answers with the sign-in page: a form (id "signin-form")
// posting to /{tenant}/login, with a hidden field "request" (id "request") and one submit
// button per user, name "user", value the user's object ID, id "user-1", "user-2", ... in
// Config.Users order. Posting user=<UPN> works too. When consent is needed the answer is the
// consent page: a form (id "consent-form") posting to /{tenant}/consent with "request" and
// two buttons named "action", with value and id "accept" or "cancel". Otherwise, and after
// accept, the answer is a 302 to redirect_uri?code=…&state=…&session_state=…. Consent is
// remembered per app and user (prompt=consent asks again). With App.AutoApproveUser (or
// SetAutoApprove) the authorize request itself answers with that 302.
//
// # Control API
//
// Loopback clients can drive a running emulator over HTTPS, with the same effects as the
// methods: GET /_emulator/counters, POST /_emulator/reset-counters, POST /_emulator/faults
// ({"endpoint","count","status","retry_after","error","code","description","delay_ms"} or
// "delay":"1.5s"), POST /_emulator/lifetimes ({"access_token_seconds","refresh_token_seconds",
// "code_seconds"}, 0 keeps a value), GET /_emulator/users, PUT /_emulator/users/{id} (a User
// in Graph's JSON shape), POST /_emulator/revoke ({"user"}) and POST /_emulator/auto-approve
// ({"client_id","user"}). Bodies must be application/json; other clients get 403.
//
// # OneNote
//
// Graph's OneNote read API (onenote*.go) is served under /v1.0/me/onenote/ and
// /v1.0/users/{id or UPN}/onenote/ for the signed-in user, with a delegated token holding
// Notes.Read, Notes.ReadWrite, Notes.Read.All or Notes.ReadWrite.All (else 403, code 40004):
// notebooks, sectionGroups, sections, pages, their children, pages/{id}/content (output HTML)
// and resources/{id}/$value. Every user gets demo notebooks on first use, except
// Config.OneNote.NoOneNoteUsers (404, code 30108). Requests are throttled per app and user as
// OneNote does (Config.OneNote; 429, code 20166, no Retry-After). Control API:
// POST /_emulator/onenote/clock ({"speed"}), /fault-rates ({"p429","p503"}), /settings
// ({"requestsPerMinute","concurrency","clockSpeed","tooManySectionsThreshold"}), /sections
// ({"userID","notebook","section","pages","imagesPerPage"} -> {"id"}), /user ({"userID",
// "clear","available"}), /reset-stats, and GET /_emulator/onenote/stats.
package emulator

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// DefaultTenant is the emulator's tenant ID. It is a made-up GUID, not a real tenant.
const DefaultTenant = "00000000-0000-4000-8000-0000000e0001"

// DemoClientID and DemoClientSecret identify the demo app of DefaultConfig. Both are fake:
// the secret is printed on purpose so that `make demo` needs no real credentials.
const (
	DemoClientID     = "00000000-0000-4000-8000-00000000c11e"
	DemoClientSecret = "emulator-demo-secret-0123456789"
)

// Demo redirect URIs, matching the Flask tutorial's defaults.
const (
	DemoRedirectURI           = "http://localhost:5000/getAToken"
	DemoPostLogoutRedirectURI = "http://localhost:5000/"
)

// User is a test user: the directory object Graph returns for /me.
type User struct {
	ID                string   `json:"id"` // object id (oid), a GUID
	UserPrincipalName string   `json:"userPrincipalName"`
	DisplayName       string   `json:"displayName"`
	GivenName         string   `json:"givenName"`
	Surname           string   `json:"surname"`
	Mail              string   `json:"mail"`
	JobTitle          string   `json:"jobTitle"`
	OfficeLocation    string   `json:"officeLocation"`
	PreferredLanguage string   `json:"preferredLanguage"`
	MobilePhone       string   `json:"mobilePhone"`
	BusinessPhones    []string `json:"businessPhones"`
}

// App is an app registration.
type App struct {
	ClientID string
	// Secret is the client secret; optional. An app with neither Secret nor CertificatePEM is
	// a public client: its token requests must carry no client credential.
	Secret string
	// CertificatePEM holds PEM public certificate(s) accepted for client_assertion; optional.
	CertificatePEM         []byte
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// AutoApproveUser (UPN or ID): when set, /authorize skips the pages and signs that user
	// in with consent.
	AutoApproveUser string
	// DisplayName is shown on the consent page; optional.
	DisplayName string
}

// Config configures a Server. The zero value of each field means its default.
type Config struct {
	Tenant               string // default DefaultTenant
	Apps                 []App
	Users                []User
	AccessTokenLifetime  time.Duration // default 1h
	RefreshTokenLifetime time.Duration // default 24h
	CodeLifetime         time.Duration // default 5m
	// StrictRefreshRotation makes a refresh token stop working once redeemed. Entra ID keeps a
	// replaced refresh token valid until it expires or is revoked, which is the default here
	// too; the strict mode exists to show what an app that loses a rotated token would do.
	StrictRefreshRotation bool
	// StateDir keeps the CA, the server certificate and the token-signing key across starts.
	// "" means a temporary directory removed by Close.
	StateDir string
	Logger   *slog.Logger // nil discards logs
	// OneNote configures the emulated OneNote API: throttling, the 20266 threshold, users
	// without OneNote, demo data.
	OneNote OneNoteSettings
}

// Fault makes the next Count calls to an endpoint fail (see Server.FailNext).
type Fault struct {
	// "token", "graph", "authorize", "metadata" (also "keys", "logout"), "onenote" (any OneNote
	// request), "onenote:content" (page content) or "onenote:resource" (images, files). For
	// OneNote, Error (or Code as a number) is OneNote's error code, e.g. "20166".
	Endpoint string
	Count    int // next N calls (default 1)
	// Status is the HTTP status for token, graph, metadata and keys. For authorize the error is
	// sent back as a redirect to redirect_uri with error and error_description.
	Status     int
	RetryAfter int    // seconds; sets Retry-After
	Error      string // OAuth error (e.g. "invalid_client") or, for graph, Graph's error code
	// Code is an AADSTS number, e.g. 7000215: it goes into error_description
	// ("AADSTS7000215: ...") and error_codes.
	Code        int
	Description string        // optional text
	Delay       time.Duration // sleep before answering; a cancelled request ends the sleep
}

// DefaultConfig is the demo: one confidential app (DemoClientID, DemoClientSecret) redirecting
// to the Flask tutorial's http://localhost:5000/getAToken, and three fictional users.
func DefaultConfig() Config {
	return Config{
		Tenant: DefaultTenant,
		Apps: []App{{
			ClientID:               DemoClientID,
			Secret:                 DemoClientSecret,
			RedirectURIs:           []string{DemoRedirectURI},
			PostLogoutRedirectURIs: []string{DemoPostLogoutRedirectURI},
			DisplayName:            "graphauth demo",
		}},
		Users: DemoUsers(),
		// The last demo user has no OneDrive for Business, hence no OneNote (error 30108).
		OneNote: OneNoteSettings{NoOneNoteUsers: []string{DemoUsers()[2].ID}},
	}
}

// DemoUsers returns the three fictional users of DefaultConfig. Their IDs are made-up GUIDs and
// their domain is under the reserved .example TLD.
func DemoUsers() []User {
	return []User{
		{
			ID:                "00000000-0000-4000-8000-00000000a001",
			UserPrincipalName: "alex.rivera@graphauth.example",
			DisplayName:       "Alex Rivera",
			GivenName:         "Alex",
			Surname:           "Rivera",
			Mail:              "alex.rivera@graphauth.example",
			JobTitle:          "Software Engineer",
			OfficeLocation:    "Building 1, Room 101",
			PreferredLanguage: "en-US",
			MobilePhone:       "+1 555 0100",
			BusinessPhones:    []string{"+1 555 0101"},
		},
		{
			ID:                "00000000-0000-4000-8000-00000000a002",
			UserPrincipalName: "priya.natarajan@graphauth.example",
			DisplayName:       "Priya Natarajan",
			GivenName:         "Priya",
			Surname:           "Natarajan",
			Mail:              "priya.natarajan@graphauth.example",
			JobTitle:          "Product Manager",
			OfficeLocation:    "Building 2, Room 204",
			PreferredLanguage: "en-GB",
			BusinessPhones:    []string{},
		},
		{
			// Non-ASCII name and no mail or job title: the app must tolerate empty fields.
			ID:                "00000000-0000-4000-8000-00000000a003",
			UserPrincipalName: "zoe.lindqvist@graphauth.example",
			DisplayName:       "Zoë Lindqvist",
			GivenName:         "Zoë",
			Surname:           "Lindqvist",
			PreferredLanguage: "sv-SE",
			BusinessPhones:    []string{},
		},
	}
}

// Default lifetimes.
const (
	defaultAccessTokenLifetime  = time.Hour
	defaultRefreshTokenLifetime = 24 * time.Hour
	defaultCodeLifetime         = 5 * time.Minute
)

// withDefaults returns cfg with defaults filled in and deep-copied slices, or an error that
// names the bad field.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Tenant == "" {
		cfg.Tenant = DefaultTenant
	}
	cfg.Tenant = strings.ToLower(cfg.Tenant)
	if !isGUID(cfg.Tenant) {
		return cfg, fmt.Errorf("emulator config: Tenant %q must be a GUID", cfg.Tenant)
	}
	if cfg.AccessTokenLifetime <= 0 {
		cfg.AccessTokenLifetime = defaultAccessTokenLifetime
	}
	if cfg.RefreshTokenLifetime <= 0 {
		cfg.RefreshTokenLifetime = defaultRefreshTokenLifetime
	}
	if cfg.CodeLifetime <= 0 {
		cfg.CodeLifetime = defaultCodeLifetime
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}

	users := make([]User, 0, len(cfg.Users))
	seenID := map[string]bool{}
	seenUPN := map[string]bool{}
	for i, u := range cfg.Users {
		u = u.clone()
		if err := u.validate(); err != nil {
			return cfg, fmt.Errorf("emulator config: Users[%d]: %w", i, err)
		}
		id, upn := strings.ToLower(u.ID), strings.ToLower(u.UserPrincipalName)
		if seenID[id] || seenUPN[upn] {
			return cfg, fmt.Errorf("emulator config: Users[%d]: duplicate id or userPrincipalName", i)
		}
		seenID[id], seenUPN[upn] = true, true
		users = append(users, u)
	}
	cfg.Users = users

	apps := make([]App, 0, len(cfg.Apps))
	seenApp := map[string]bool{}
	for i, a := range cfg.Apps {
		a = a.clone()
		if err := a.validate(); err != nil {
			return cfg, fmt.Errorf("emulator config: Apps[%d]: %w", i, err)
		}
		if seenApp[strings.ToLower(a.ClientID)] {
			return cfg, fmt.Errorf("emulator config: Apps[%d]: duplicate ClientID %q", i, a.ClientID)
		}
		seenApp[strings.ToLower(a.ClientID)] = true
		apps = append(apps, a)
	}
	cfg.Apps = apps
	for i, a := range cfg.Apps {
		if a.AutoApproveUser == "" {
			continue
		}
		found := false
		for _, u := range cfg.Users {
			found = found || strings.EqualFold(u.ID, a.AutoApproveUser) || strings.EqualFold(u.UserPrincipalName, a.AutoApproveUser)
		}
		if !found {
			return cfg, fmt.Errorf("emulator config: Apps[%d]: AutoApproveUser %q is not one of the users", i, a.AutoApproveUser)
		}
	}
	return cfg, nil
}

func (u User) clone() User {
	if u.BusinessPhones == nil {
		u.BusinessPhones = []string{} // Graph returns [] rather than null
	} else {
		u.BusinessPhones = append([]string{}, u.BusinessPhones...)
	}
	return u
}

func (u User) validate() error {
	if !isGUID(u.ID) {
		return fmt.Errorf("ID %q must be a GUID (it is the user's object id)", u.ID)
	}
	if u.UserPrincipalName == "" || !strings.Contains(u.UserPrincipalName, "@") {
		return fmt.Errorf("UserPrincipalName %q must look like name@domain", u.UserPrincipalName)
	}
	return nil
}

func (a App) clone() App {
	a.RedirectURIs = append([]string(nil), a.RedirectURIs...)
	a.PostLogoutRedirectURIs = append([]string(nil), a.PostLogoutRedirectURIs...)
	a.CertificatePEM = append([]byte(nil), a.CertificatePEM...)
	return a
}

func (a App) validate() error {
	if strings.TrimSpace(a.ClientID) == "" {
		return errors.New("ClientID is empty")
	}
	for _, list := range [][]string{a.RedirectURIs, a.PostLogoutRedirectURIs} {
		for _, u := range list {
			p, err := url.Parse(u)
			if err != nil || !p.IsAbs() || p.Host == "" || p.Fragment != "" {
				return fmt.Errorf("URI %q must be an absolute URL without a fragment", u)
			}
		}
	}
	if len(a.CertificatePEM) > 0 {
		if _, err := parseCertificates(a.CertificatePEM); err != nil {
			return fmt.Errorf("CertificatePEM: %w", err)
		}
	}
	return nil
}

// isGUID reports whether s has the 8-4-4-4-12 hex form of a GUID.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c rune) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
