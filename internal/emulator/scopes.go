package emulator

import (
	"sort"
	"strings"
)

// Microsoft Graph, the only resource the emulator knows.
const (
	graphAppID    = "00000003-0000-0000-c000-000000000000"
	graphResource = "https://graph.microsoft.com"
)

// graphDelegatedScopes are Graph permissions a user can consent to here, by lower-case name.
var graphDelegatedScopes = canonicalMap(
	"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All",
	"Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All",
	"Mail.Read", "Mail.ReadWrite", "Mail.Send", "Calendars.Read", "Calendars.ReadWrite",
	"Contacts.Read", "Files.Read", "Files.ReadWrite", "Files.Read.All", "Files.ReadWrite.All",
	"Sites.Read.All", "Group.Read.All", "GroupMember.Read.All", "People.Read", "Presence.Read",
	"Tasks.ReadWrite", "Notes.Read", "Notes.ReadWrite", "Notes.Read.All", "Notes.ReadWrite.All", "Notes.Create",
	"Chat.Read", "Team.ReadBasic.All",
)

// meScopes are the delegated permissions that allow GET /me.
var meScopes = canonicalMap(
	"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All",
	"Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All",
)

// defaultDelegated is what "<graph>/.default" grants a user-facing app here: the permission
// an app registration gets by default.
var defaultDelegated = []string{"User.Read"}

// appRoles are the application permissions put in app-only tokens.
var appRoles = []string{"User.Read.All"}

// scopeDescriptions are shown on the consent page.
var scopeDescriptions = map[string]string{
	"openid":              "Sign you in",
	"profile":             "View your basic profile",
	"email":               "View your email address",
	"offline_access":      "Maintain access to data you have given it access to",
	"user.read":           "Sign you in and read your profile",
	"user.readwrite":      "Read and update your profile",
	"user.readbasic.all":  "Read all users' basic profiles",
	"user.read.all":       "Read all users' full profiles",
	"notes.read":          "Read your OneNote notebooks",
	"notes.readwrite":     "Read and write to your OneNote notebooks",
	"notes.read.all":      "Read all OneNote notebooks that you can access",
	"notes.readwrite.all": "Read and write all OneNote notebooks that you can access",
	"notes.create":        "Create your OneNote notebooks",
}

func canonicalMap(names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = n
	}
	return m
}

// scopeRequest is a parsed `scope` parameter.
type scopeRequest struct {
	raw        []string        // as sent, without duplicates
	oidc       map[string]bool // openid, profile, email, offline_access
	graph      []string        // canonical Graph scope names, e.g. "User.Read"
	dotDefault bool            // "<graph>/.default" was requested
}

var oidcScopes = map[string]bool{"openid": true, "profile": true, "email": true, "offline_access": true}

// parseScopes parses a delegated scope parameter. Bare names ("User.Read") mean Graph, as
// they do for Entra ID; "https://graph.microsoft.com/X" and "00000003-.../X" too. Other
// resources are unknown here.
func parseScopes(param, tenant string) (scopeRequest, *entraError) {
	sr := scopeRequest{oidc: map[string]bool{}}
	seen := map[string]bool{}
	for _, s := range strings.Fields(param) {
		lower := strings.ToLower(s)
		if seen[lower] {
			continue
		}
		seen[lower] = true
		sr.raw = append(sr.raw, s)
		if oidcScopes[lower] {
			sr.oidc[lower] = true
			continue
		}
		resource, name := splitScope(s)
		if !isGraphResource(resource) {
			return sr, aad(500011, "resource", resource, "tenant", tenant)
		}
		if name == ".default" {
			sr.dotDefault = true
			continue
		}
		canonical, ok := graphDelegatedScopes[strings.ToLower(name)]
		if !ok {
			return sr, aad(70011, "scope", s)
		}
		if !containsFold(sr.graph, canonical) {
			sr.graph = append(sr.graph, canonical)
		}
	}
	if sr.dotDefault && len(sr.graph) > 0 {
		// Entra refuses to mix the static .default scope with dynamic scopes.
		return sr, aad(70011, "scope", param)
	}
	return sr, nil
}

// splitScope splits "resource/name" at the last slash; a bare name belongs to Graph.
func splitScope(s string) (resource, name string) {
	i := strings.LastIndex(s, "/")
	if i < 0 {
		return graphResource, s
	}
	return s[:i], s[i+1:]
}

func isGraphResource(resource string) bool {
	r := strings.TrimSuffix(strings.ToLower(resource), "/")
	return r == graphResource || r == graphAppID
}

// grantedGraph returns the canonical Graph scopes the request asks for, .default expanded.
func (sr scopeRequest) grantedGraph() []string {
	if sr.dotDefault {
		return append([]string(nil), defaultDelegated...)
	}
	return append([]string(nil), sr.graph...)
}

// responseScope is the `scope` of a token response. Like Entra ID it never lists
// offline_access, adds email when openid was asked for, and includes the user's other
// consented Graph scopes. Every other requested scope is echoed as sent, so MSAL, which
// compares requested and returned scopes as strings, reports no declined scope. (An app
// that passes offline_access to MSAL Go gets a "declined scopes" error, as with Entra ID.)
func responseScope(sr scopeRequest, consented []string) string {
	var out []string
	have := map[string]bool{}
	add := func(s string) {
		if !have[strings.ToLower(s)] {
			have[strings.ToLower(s)] = true
			out = append(out, s)
		}
	}
	for _, s := range sr.raw {
		if strings.ToLower(s) == "offline_access" {
			continue
		}
		add(s)
		if _, name := splitScope(s); !oidcScopes[strings.ToLower(s)] {
			have[strings.ToLower(name)] = true // "https://graph.microsoft.com/User.Read" covers User.Read
		}
	}
	for _, c := range consented {
		add(c)
	}
	if sr.oidc["openid"] {
		add("profile")
		add("openid")
		add("email")
	}
	return strings.Join(out, " ")
}

// scpClaim is the access token's scp: the consented Graph scopes plus the OpenID ones.
func scpClaim(sr scopeRequest, consented []string) string {
	out := append([]string(nil), consented...)
	sort.Strings(out)
	if sr.oidc["openid"] {
		out = append([]string{"email", "openid", "profile"}, out...)
	}
	return strings.Join(out, " ")
}

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}
