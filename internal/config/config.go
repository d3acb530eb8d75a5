// Package config loads graphauth's settings from the environment and an optional .env file,
// validates them, and hands the rest of the app one immutable value.
//
// It mirrors the tutorial's app_config.py (CLIENT_ID, CLIENT_SECRET, AUTHORITY, SCOPE,
// SESSION_TYPE) and adds what a real deployment needs. Nothing here is a global: main builds a
// Config and passes it down.
package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/joho/godotenv"
)

// Config is the validated configuration of one graphauth process.
type Config struct {
	ClientID     string
	ClientSecret string // never logged or rendered
	// ClientCertificateFile is a PEM file holding a certificate and its RSA key. When set it is
	// used instead of ClientSecret (certificates are what Microsoft recommends in production).
	ClientCertificateFile string
	Authority             string   // https://login.microsoftonline.com/<tenant>
	Scopes                []string // delegated Graph scopes, e.g. User.ReadBasic.All

	SessionType        string // filesystem, memory, redis, postgres
	SessionDir         string // for filesystem sessions
	RedisURL           string // for SESSION_TYPE=redis
	DatabaseURL        string // for SESSION_TYPE=postgres
	SessionIdleTimeout time.Duration
	SessionLifetime    time.Duration
	// SessionKeys seal every stored session (AES-256-GCM): the first seals, all open
	// (SESSION_KEY or SESSION_KEY_FILE, 64 hex characters each, comma separated). Empty only on a
	// loopback host, where the app makes a key for the process. Never logged.
	SessionKeys [][]byte
	// SessionStoreInsecure allows a Redis or PostgreSQL on another host without TLS
	// (SESSION_STORE_INSECURE_TRANSPORT=1).
	SessionStoreInsecure bool
	// SessionSweepInterval is how often expired sessions are deleted from the file store or
	// PostgreSQL in the background (Redis expires them itself).
	SessionSweepInterval time.Duration

	GraphEndpoint string // https://graph.microsoft.com/v1.0/me

	// NotesScopes are asked for incrementally, on the first visit to /notes (not at sign-in).
	NotesScopes []string
	// OneNoteRequestsPerMinute and OneNoteConcurrency are Graph's OneNote budget per user and
	// app; every OneNote call the app makes for a user (pages and exports) shares it.
	OneNoteRequestsPerMinute int
	OneNoteConcurrency       int
	Host                     string // interface to listen on
	Port                     int
	RedirectURI              string // the registered redirect URI; decides the public origin of the app

	// Exports of whole sections and notebooks: ExportDir is where a running export stages its
	// zip (a 0700 directory of this user's), ExportRetention how long a finished zip is kept,
	// ExportMaxBytes the largest zip an export may make.
	ExportDir       string
	ExportRetention time.Duration
	ExportMaxBytes  int64

	InstanceDiscovery bool   // false for a custom authority host (the local emulator, ADFS-like hosts)
	ExtraCAFile       string // PEM CA certificates trusted in addition to the system's
	OutboundTimeout   time.Duration

	TLSCertFile    string // optional: serve HTTPS directly
	TLSKeyFile     string
	TrustedProxies []*net.IPNet // peers whose X-Forwarded-Proto/Host are believed
	AllowedTenants []string     // for multi-tenant authorities: tenant IDs allowed to sign in

	LogFormat string // text or json
	LogLevel  string // debug, info, warn, error
}

// Defaults for the optional variables.
const (
	DefaultScope           = "User.ReadBasic.All"
	DefaultSessionType     = "filesystem"
	DefaultSessionDir      = "flask_session" // the tutorial's Flask-Session folder name
	DefaultGraphEndpoint   = "https://graph.microsoft.com/v1.0/me"
	DefaultHost            = "localhost"
	DefaultPort            = 5000
	DefaultIdleTimeout     = time.Hour
	DefaultSessionLifetime = 24 * time.Hour
	DefaultSweepInterval   = 5 * time.Minute
	DefaultOutboundTimeout = 10 * time.Second
	DefaultNotesScope      = "Notes.Read"
	DefaultOneNoteRPM      = 120 // Graph: 120 OneNote requests a minute per user and app
	DefaultOneNoteAtOnce   = 5   // Graph: 5 concurrent OneNote requests per user and app

	DefaultExportRetention = time.Hour // a finished export's zip is kept this long
	DefaultExportMaxBytes  = 2 << 30   // 2 GiB
)

// Problem is one bad or missing variable, with what to do about it.
type Problem struct {
	Var string
	Msg string
}

// ValidationError lists every problem found, so a user fixes them all in one go.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("configuration is not valid:")
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Var, p.Msg)
	}
	return b.String()
}

// Getenv reads one variable; "" means unset.
type Getenv func(string) string

// Load reads the variables from getenv, falling back to envFile (a .env file; missing is fine),
// applies defaults and validates. The environment always wins over the file.
func Load(getenv Getenv, envFile string) (Config, error) {
	fileVals := map[string]string{}
	if envFile != "" {
		vals, err := godotenv.Read(envFile)
		switch {
		case err == nil:
			fileVals = vals
		case errors.Is(err, os.ErrNotExist):
		default:
			return Config{}, fmt.Errorf("read %s: %w", envFile, err)
		}
	}
	get := func(k string) string {
		if v := getenv(k); v != "" {
			return strings.TrimSpace(v)
		}
		return strings.TrimSpace(fileVals[k])
	}
	return Parse(get)
}

// Parse builds and validates a Config from already-merged variables.
func Parse(get Getenv) (Config, error) {
	var probs []Problem
	bad := func(v, format string, args ...any) { probs = append(probs, Problem{v, fmt.Sprintf(format, args...)}) }

	c := Config{
		ClientID:    get("CLIENT_ID"),
		Authority:   strings.TrimRight(get("AUTHORITY"), "/"),
		SessionType: strings.ToLower(or(get("SESSION_TYPE"), DefaultSessionType)),
		SessionDir:  or(get("SESSION_DIR"), DefaultSessionDir),
		RedisURL:    get("REDIS_URL"),
		DatabaseURL: get("DATABASE_URL"),

		GraphEndpoint: or(get("GRAPH_ENDPOINT"), DefaultGraphEndpoint),
		Host:          or(get("HOST"), DefaultHost),
		ExtraCAFile:   get("EXTRA_CA_FILE"),
		TLSCertFile:   get("TLS_CERT_FILE"),
		TLSKeyFile:    get("TLS_KEY_FILE"),
		LogFormat:     strings.ToLower(or(get("LOG_FORMAT"), "text")),
		LogLevel:      strings.ToLower(or(get("LOG_LEVEL"), "info")),
	}

	// Secrets may come from a file (container secrets): CLIENT_SECRET_FILE, and so on.
	var err error
	if c.ClientSecret, err = valueOrFile(get, "CLIENT_SECRET"); err != nil {
		bad("CLIENT_SECRET_FILE", "%v", err)
	}
	c.ClientCertificateFile = get("CLIENT_CERTIFICATE_FILE")
	if c.RedisURL == "" {
		if c.RedisURL, err = valueOrFile(get, "REDIS_URL"); err != nil {
			bad("REDIS_URL_FILE", "%v", err)
		}
	}
	if c.DatabaseURL == "" {
		if c.DatabaseURL, err = valueOrFile(get, "DATABASE_URL"); err != nil {
			bad("DATABASE_URL_FILE", "%v", err)
		}
	}

	if v, err := valueOrFile(get, "SESSION_KEY"); err != nil {
		bad("SESSION_KEY_FILE", "%v", err)
	} else if v != "" {
		keys, msg := parseSessionKeys(v)
		if msg != "" {
			bad("SESSION_KEY", "%s", msg)
		}
		c.SessionKeys = keys
	}
	if v := get(InsecureStoreVar); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(InsecureStoreVar, "%q is not true or false: set it to 1 only to allow a session store on another host without TLS", v)
		}
		c.SessionStoreInsecure = b
	}

	c.Scopes = SplitList(or(get("SCOPE"), DefaultScope))
	c.NotesScopes = SplitList(or(get("NOTES_SCOPE"), DefaultNotesScope))
	c.OneNoteRequestsPerMinute = positiveInt(get, "ONENOTE_REQUESTS_PER_MINUTE", DefaultOneNoteRPM, bad)
	c.OneNoteConcurrency = positiveInt(get, "ONENOTE_CONCURRENCY", DefaultOneNoteAtOnce, bad)
	c.ExportDir = or(get("EXPORT_DIR"), filepath.Join(os.TempDir(), "graphauth-exports"))
	c.ExportMaxBytes = DefaultExportMaxBytes
	if v := get("EXPORT_MAX_BYTES"); v != "" {
		n, ok := parseBytes(v)
		if !ok || n < 1<<20 {
			bad("EXPORT_MAX_BYTES", "%q is not a size of at least 1MiB: write it like 2GiB, 500MiB or 1073741824", v)
		} else {
			c.ExportMaxBytes = n
		}
	}

	c.Port = DefaultPort
	if v := get("PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			bad("PORT", "%q is not a port number: use a number from 1 to 65535, e.g. PORT=5000", v)
		} else {
			c.Port = p
		}
	}
	c.RedirectURI = get("REDIRECT_URI")
	if c.RedirectURI == "" {
		c.RedirectURI = "http://" + net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) + "/getAToken"
	}

	c.InstanceDiscovery = true
	if v := get("INSTANCE_DISCOVERY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("INSTANCE_DISCOVERY", "%q is not true or false: use false for a custom authority host such as the local emulator", v)
		}
		c.InstanceDiscovery = b
	}

	durations := []struct {
		name string
		dst  *time.Duration
		def  time.Duration
	}{
		{"SESSION_IDLE_TIMEOUT", &c.SessionIdleTimeout, DefaultIdleTimeout},
		{"SESSION_LIFETIME", &c.SessionLifetime, DefaultSessionLifetime},
		{"SESSION_SWEEP_INTERVAL", &c.SessionSweepInterval, DefaultSweepInterval},
		{"OUTBOUND_TIMEOUT", &c.OutboundTimeout, DefaultOutboundTimeout},
		{"EXPORT_RETENTION", &c.ExportRetention, DefaultExportRetention},
	}
	for _, d := range durations {
		*d.dst = d.def
		if v := get(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				bad(d.name, "%q is not a positive duration: write it like 30m, 1h or 10s", v)
				continue
			}
			*d.dst = x
		}
	}

	for _, s := range SplitList(get("TRUSTED_PROXIES")) {
		if !strings.Contains(s, "/") {
			if ip := net.ParseIP(s); ip != nil && ip.To4() != nil {
				s += "/32"
			} else {
				s += "/128"
			}
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			bad("TRUSTED_PROXIES", "%q is not an IP address or CIDR range (e.g. 127.0.0.1 or 10.0.0.0/8)", s)
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}
	for _, t := range SplitList(get("ALLOWED_TENANTS")) {
		if !IsGUID(t) {
			bad("ALLOWED_TENANTS", "%q is not a tenant ID: list Directory (tenant) IDs, GUIDs like 00000000-0000-0000-0000-000000000000", t)
			continue
		}
		c.AllowedTenants = append(c.AllowedTenants, strings.ToLower(t)) // compared case-insensitively
	}

	probs = append(probs, c.Check()...)
	if len(probs) > 0 {
		return Config{}, &ValidationError{Problems: probs}
	}
	return c, nil
}

// Check validates the fields offline and returns every problem; `graphauth check` reuses it.
func (c Config) Check() []Problem {
	var probs []Problem
	bad := func(v, format string, args ...any) { probs = append(probs, Problem{v, fmt.Sprintf(format, args...)}) }

	switch {
	case c.ClientID == "":
		bad("CLIENT_ID", "missing: copy the Application (client) ID from the app registration's Overview page")
	case looksLikePlaceholder(c.ClientID):
		bad("CLIENT_ID", "still the placeholder from the example: copy the Application (client) ID from the app registration's Overview page")
	case !IsGUID(c.ClientID):
		bad("CLIENT_ID", "%q is not a GUID: the Application (client) ID looks like 00000000-0000-0000-0000-000000000000", c.ClientID)
	}

	if c.ClientCertificateFile != "" {
		if _, err := os.Stat(c.ClientCertificateFile); err != nil {
			bad("CLIENT_CERTIFICATE_FILE", "cannot read %s: give the path of a PEM file holding the certificate and its RSA private key", c.ClientCertificateFile)
		}
	} else {
		switch {
		case c.ClientSecret == "":
			bad("CLIENT_SECRET", "missing: create one under Certificates & secrets and copy its Value (or set CLIENT_CERTIFICATE_FILE)")
		case looksLikePlaceholder(c.ClientSecret):
			bad("CLIENT_SECRET", "still the placeholder from the example: create a client secret under Certificates & secrets and copy its Value")
		case IsGUID(c.ClientSecret):
			bad("CLIENT_SECRET", "this is a GUID, which is the secret's ID, not the secret: copy the Value column instead (shown only once, when the secret is created)")
		}
	}

	if msg := checkAuthority(c.Authority); msg != "" {
		bad("AUTHORITY", "%s", msg)
	}
	if len(c.Scopes) == 0 {
		bad("SCOPE", "no scope given: use a delegated Graph permission such as User.ReadBasic.All")
	}

	switch c.SessionType {
	case "filesystem":
		if c.SessionDir == "" {
			bad("SESSION_DIR", "empty: give a folder for session files")
		}
	case "memory":
	case "redis":
		if c.RedisURL == "" {
			bad("REDIS_URL", "required with SESSION_TYPE=redis, e.g. redis://127.0.0.1:6379/0")
		}
	case "postgres":
		if c.DatabaseURL == "" {
			bad("DATABASE_URL", "required with SESSION_TYPE=postgres, e.g. postgres://user:pass@127.0.0.1:5432/graphauth")
		}
	default:
		bad("SESSION_TYPE", "%q is not supported: use filesystem (the default), memory, redis or postgres", c.SessionType)
	}

	if len(c.SessionKeys) == 0 && !c.Loopback() {
		bad("SESSION_KEY", "missing: sessions hold users' tokens and are sealed with this key; make one with `openssl rand -hex 32` and give every instance the same (or SESSION_KEY_FILE with its path)")
	}
	if msg := c.checkStoreTransport(); msg != "" {
		bad(InsecureStoreVar, "%s", msg)
	}
	if msg := checkRedirectURI(c.RedirectURI); msg != "" {
		bad("REDIRECT_URI", "%s", msg)
	}
	if u, err := url.Parse(c.GraphEndpoint); err != nil || u.Scheme != "https" || u.Host == "" {
		bad("GRAPH_ENDPOINT", "%q is not an https URL: use https://graph.microsoft.com/v1.0/me (or your national cloud's Graph host)", c.GraphEndpoint)
	}
	if c.ExtraCAFile != "" {
		if data, err := os.ReadFile(c.ExtraCAFile); err != nil {
			bad("EXTRA_CA_FILE", "cannot read %s: %v", c.ExtraCAFile, unwrapPath(err))
		} else if !strings.Contains(string(data), "-----BEGIN CERTIFICATE-----") {
			bad("EXTRA_CA_FILE", "%s holds no PEM certificate", c.ExtraCAFile)
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("TLS_CERT_FILE", "set both TLS_CERT_FILE and TLS_KEY_FILE to serve HTTPS, or neither")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("LOG_FORMAT", "%q: use text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "%q: use debug, info, warn or error", c.LogLevel)
	}
	return probs
}

// InsecureStoreVar names the override that allows a non-loopback Redis or PostgreSQL without TLS.
const InsecureStoreVar = "SESSION_STORE_INSECURE_TRANSPORT"

// Loopback reports whether the app is only reachable from this machine: HOST and REDIRECT_URI's
// host are both loopback. Only then may it run without SESSION_KEY (making one per process).
func (c Config) Loopback() bool {
	u, err := url.Parse(c.RedirectURI)
	return err == nil && IsLoopbackHost(c.Host) && IsLoopbackHost(u.Hostname())
}

// Warnings are settings that work but deserve a line in the log at start-up.
func (c Config) Warnings() []string {
	var w []string
	if u, err := url.Parse(c.Authority); err == nil && len(c.AllowedTenants) == 0 {
		switch strings.ToLower(strings.Trim(u.Path, "/")) {
		case "common", "organizations", "consumers":
			w = append(w, "AUTHORITY is multi-tenant ("+strings.Trim(u.Path, "/")+") and ALLOWED_TENANTS is empty: "+
				"any tenant's users can sign in; list the tenant IDs allowed in ALLOWED_TENANTS")
		}
	}
	return w
}

// checkStoreTransport requires TLS to a Redis or PostgreSQL that is not on this machine: the
// sessions are sealed, but the store's password and the session IDs' hashes travel too.
func (c Config) checkStoreTransport() string {
	if c.SessionStoreInsecure {
		return ""
	}
	switch c.SessionType {
	case "redis":
		u, err := url.Parse(c.RedisURL)
		if err != nil || IsLoopbackHost(u.Hostname()) {
			return "" // a bad URL is reported by the store with its own fix
		}
		if u.Scheme != "rediss" && u.Scheme != "valkeys" {
			return "REDIS_URL points at another host without TLS: use rediss://, or set " + InsecureStoreVar + "=1 if the network is private and you accept that"
		}
	case "postgres":
		pc, err := pgx.ParseConfig(c.DatabaseURL)
		if err != nil {
			return ""
		}
		if strings.HasPrefix(pc.Host, "/") || IsLoopbackHost(pc.Host) {
			return ""
		}
		verified := pc.TLSConfig != nil && !pc.TLSConfig.InsecureSkipVerify
		for _, f := range pc.Fallbacks {
			verified = verified && f.TLSConfig != nil && !f.TLSConfig.InsecureSkipVerify
		}
		if !verified {
			return "DATABASE_URL points at another host without a verified TLS connection: add sslmode=verify-full, or set " + InsecureStoreVar + "=1 if the network is private and you accept that"
		}
	}
	return ""
}

// parseSessionKeys reads comma-separated 64-hex-character keys; the message never quotes one.
func parseSessionKeys(v string) ([][]byte, string) {
	var keys [][]byte
	for i, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k, err := hex.DecodeString(f)
		if err != nil || len(k) != 32 {
			return nil, fmt.Sprintf("key %d is not 64 hex characters (32 random bytes): make one with `openssl rand -hex 32` (the value is not shown)", i+1)
		}
		keys = append(keys, k)
	}
	return keys, ""
}

// PublicOrigin is the scheme://host[:port] users reach the app at, taken from REDIRECT_URI.
func (c Config) PublicOrigin() string {
	u, err := url.Parse(c.RedirectURI)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// HTTPS reports whether the app is reached over HTTPS (Secure cookies, HSTS).
func (c Config) HTTPS() bool { return strings.HasPrefix(c.RedirectURI, "https://") }

// Addr is the listen address.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

func checkAuthority(a string) string {
	if a == "" {
		return "missing: set it to https://login.microsoftonline.com/<your tenant ID> (the Directory (tenant) ID from the app registration's Overview page)"
	}
	if looksLikePlaceholder(a) {
		return "still the placeholder from the example: put your Directory (tenant) ID after https://login.microsoftonline.com/"
	}
	u, err := url.Parse(a)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Sprintf("%q is not an https URL: use https://login.microsoftonline.com/<tenant>", a)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Sprintf("%q has a query or fragment: use just https://host/<tenant>", a)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) != 1 || segs[0] == "" {
		return fmt.Sprintf("%q must end in exactly one tenant segment: https://%s/<tenant ID, common, organizations or consumers>", a, u.Host)
	}
	return ""
}

func checkRedirectURI(r string) string {
	u, err := url.Parse(r)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Sprintf("%q is not an absolute URL: use the redirect URI registered for the app, e.g. http://localhost:5000/getAToken", r)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return fmt.Sprintf("%q uses http on a host that is not loopback: Entra ID accepts http only for localhost; use https", r)
		}
	default:
		return fmt.Sprintf("%q must be http (loopback only) or https", r)
	}
	if u.Path != "/getAToken" {
		return fmt.Sprintf("%q must end in /getAToken, the app's callback path (register that exact URL in Azure)", r)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Sprintf("%q must not have a query or fragment", r)
	}
	return ""
}

// IsLoopbackHost reports whether host is localhost or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsGUID reports whether s has the 8-4-4-4-12 hex form.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// SplitList splits a space- or comma-separated list, dropping empties and duplicates.
func SplitList(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

func looksLikePlaceholder(s string) bool {
	l := strings.ToLower(s)
	for _, p := range []string{"enter_the", "enter here", "<enter", "your-", "<tenant", "<your", "changeme", "xxxxxxxx"} {
		if strings.Contains(l, p) {
			return true
		}
	}
	return false
}

// valueOrFile reads NAME, or else the contents of the file named by NAME_FILE.
func valueOrFile(get Getenv, name string) (string, error) {
	if v := get(name); v != "" {
		return v, nil
	}
	path := get(name + "_FILE")
	if path == "" {
		return "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %v", path, unwrapPath(err))
	}
	return strings.TrimSpace(string(data)), nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// positiveInt reads a whole number >= 1, or def when unset.
func positiveInt(get Getenv, name string, def int, bad func(v, format string, args ...any)) int {
	v := get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		bad(name, "%q is not a whole number of at least 1: e.g. %s=%d", v, name, def)
		return def
	}
	return n
}

// GraphBase is Graph's versioned root derived from GRAPH_ENDPOINT (its /me removed), e.g.
// https://graph.microsoft.com/v1.0: the OneNote API lives under it.
func (c Config) GraphBase() string {
	return strings.TrimSuffix(strings.TrimRight(c.GraphEndpoint, "/"), "/me")
}

// parseBytes reads a size in bytes, with an optional binary suffix: 1048576, 500MiB, 2GiB.
func parseBytes(v string) (int64, bool) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}
