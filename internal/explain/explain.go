// Package explain turns identity-platform and Graph failures into a sentence on what happened and
// the concrete fix. One table serves the error page and `graphauth check`.
package explain

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Context is what a fix may need to name exactly (never a secret).
type Context struct {
	RedirectURI string
	ClientID    string
	Authority   string
	Scopes      []string
}

// Explanation is shown on the error page and printed by `graphauth check`.
type Explanation struct {
	Code    string // "AADSTS50011", "access_denied", "Graph 403 Authorization_RequestDenied"
	Meaning string // what it means for this app
	Fix     string // what to do
}

type entry struct {
	meaning string
	fix     func(Context) string
}

func fixed(s string) func(Context) string { return func(Context) string { return s } }

// entra is every AADSTS code the app explains. The first block is the table in
// docs/msal-go-notes.md; the rest are the ones users of this kind of app meet most.
var entra = map[int]entry{
	50011: {"The redirect URI the app sent is not registered for this application, so Microsoft will not send the browser back.",
		func(c Context) string {
			return fmt.Sprintf("In the Azure portal, open the app registration > Authentication > Web > Redirect URIs and add exactly %s (scheme, host, port and path must match; behind a TLS proxy set REDIRECT_URI to the https URL).", c.RedirectURI)
		}},
	65004: {"The user declined to give the app the permissions it asked for.",
		fixed("Sign in again and choose Accept on the consent screen, or ask an administrator to grant admin consent for the app's permissions.")},
	65001: {"Nobody has consented to the permissions this app requests, and the user cannot consent on their own.",
		func(c Context) string {
			return fmt.Sprintf("Ask an administrator to grant consent for %s (app registration > API permissions > Grant admin consent), then sign in again.", strings.Join(c.Scopes, ", "))
		}},
	7000215: {"The client secret the app sent is wrong. Most often the secret's ID (a GUID) was pasted instead of its Value.",
		fixed("In Certificates & secrets, create a new client secret and copy its Value column (shown once) into CLIENT_SECRET.")},
	7000222: {"The app's client secret has expired.",
		fixed("Create a new client secret under Certificates & secrets, put its Value in CLIENT_SECRET, and delete the expired one.")},
	700016: {"There is no application with this client ID in the tenant.",
		func(c Context) string {
			return fmt.Sprintf("Check CLIENT_ID (%s) against the app registration's Application (client) ID, and that AUTHORITY (%s) names the tenant the app is registered in.", c.ClientID, c.Authority)
		}},
	90002: {"The tenant in AUTHORITY does not exist.",
		func(c Context) string {
			return fmt.Sprintf("Check AUTHORITY (%s): it must end with your Directory (tenant) ID from the app registration's Overview page, or common/organizations for a multi-tenant app.", c.Authority)
		}},
	54005: {"This authorization code has already been redeemed. Codes are single-use; reloading or going back to the callback page replays one.",
		fixed("Do not reload the /getAToken page: start again from the sign-in page.")},
	70008: {"The authorization code or refresh token has expired.",
		fixed("Sign in again.")},
	50076: {"The tenant requires multi-factor authentication for this sign-in.",
		fixed("Sign in again interactively and complete the MFA prompt.")},
	50079: {"The user must register for multi-factor authentication.",
		fixed("Sign in again interactively and complete the MFA registration.")},

	501481: {"The PKCE code_verifier sent with the code does not match the code_challenge sent at sign-in.",
		fixed("Start the sign-in again from the sign-in page of the same browser; a code cannot be redeemed by another sign-in.")},
	50148: {"The PKCE code_verifier does not match the code_challenge sent at sign-in.",
		fixed("Start the sign-in again from the sign-in page of the same browser.")},
	700027: {"The client assertion (certificate credential) failed validation: the certificate is not the one uploaded to the app registration, or its signature is wrong.",
		fixed("Upload the certificate in CLIENT_CERTIFICATE_FILE under Certificates & secrets > Certificates, or point CLIENT_CERTIFICATE_FILE at the certificate that is uploaded.")},
	7000218: {"The token request carried no client credential.",
		fixed("Set CLIENT_SECRET (the secret's Value) or CLIENT_CERTIFICATE_FILE.")},
	700025: {"The app is registered as a public client, which must not send a client secret.",
		fixed("Register the redirect URI under the Web platform (not Mobile/desktop or SPA) and keep the app confidential.")},
	9002326: {"The redirect URI is registered as a single-page application; a server-side app must use the Web platform.",
		fixed("In Authentication, move the redirect URI from Single-page application to Web.")},
	500112: {"The redirect URI sent with the code differs from the one sent at sign-in.",
		fixed("Make REDIRECT_URI the same public URL for every instance of the app, and sign in again.")},
	50173: {"The refresh token was revoked (for example after a password change or a sign-out everywhere).",
		fixed("Sign in again.")},
	700082: {"The refresh token expired because it was not used for too long.",
		fixed("Sign in again.")},
	50020: {"The user's account is from a tenant this app does not accept.",
		fixed("Sign in with an account of the app's tenant, or make the app multi-tenant (Supported account types) and use AUTHORITY .../organizations.")},
	50194: {"The app is single-tenant but AUTHORITY uses /common.",
		fixed("Put your tenant ID in AUTHORITY instead of common, or make the app registration multi-tenant.")},
	50034: {"The user account does not exist in this tenant.", fixed("Sign in with an account of the tenant, or invite the user as a guest.")},
	50057: {"The user account is disabled.", fixed("Ask an administrator to enable the account.")},
	50055: {"The user's password has expired.", fixed("Reset the password, then sign in again.")},
	50126: {"The user name or password is wrong.", fixed("Sign in again with the right credentials.")},
	50105: {"The user is not assigned to this application, which requires assignment.",
		fixed("Ask an administrator to assign the user to the app (Enterprise applications > Users and groups).")},
	53003: {"A Conditional Access policy blocked the sign-in.", fixed("Ask an administrator which policy applies, or sign in from a compliant device or location.")},
	50058: {"A silent sign-in was attempted but no user is signed in.", fixed("Sign in interactively.")},
	70011: {"A requested scope is not valid.",
		fixed("Set SCOPE to delegated Microsoft Graph permissions such as User.ReadBasic.All (space or comma separated).")},
	650057: {"The app asks for a permission that is not listed in its registration.",
		fixed("Add the permission under API permissions (Microsoft Graph > Delegated > User.ReadBasic.All) and grant consent.")},
	90014:   {"A required field is missing from the request.", fixed("This is a bug in the app or the proxy in front of it: report it with the correlation ID.")},
	900144:  {"A required parameter is missing from the token request.", fixed("This is a bug in the app or the proxy in front of it: report it with the correlation ID.")},
	9002313: {"The request was malformed.", fixed("Start the sign-in again; if it persists, report it with the correlation ID.")},
	90019:   {"No tenant could be determined for the sign-in.", fixed("Use an AUTHORITY with a tenant ID or organizations instead of common for work accounts.")},

	// More codes met in practice (several are what the local emulator answers with too).
	28000: {"The scope asks for permissions of more than one API in one request.",
		fixed("Set SCOPE to Microsoft Graph permissions only, such as User.ReadBasic.All; a token is for one API at a time.")},
	70000: {"The authorization code or refresh token is invalid or malformed.", fixed("Sign in again.")},
	70003: {"The app used a grant type its registration does not allow.",
		fixed("This app only uses authorization_code and refresh_token (and client_credentials in graphauth check): report it with the correlation ID.")},
	90033: {"The identity platform had a transient error.", fixed("Wait a moment and try again.")},
	500011: {"The API the token is for was not found in the tenant: the tenant has no such resource, or AUTHORITY names the wrong tenant or cloud.",
		func(c Context) string {
			return fmt.Sprintf("Check that SCOPE (%s) names Microsoft Graph permissions and that AUTHORITY (%s) is your tenant, in the same cloud as GRAPH_ENDPOINT.", strings.Join(c.Scopes, " "), c.Authority)
		}},
	501491: {"The PKCE code_challenge sent at sign-in has the wrong size.",
		fixed("This is a bug in the app: report it with the correlation ID.")},
	700024: {"The client assertion (certificate credential) is outside its valid time range: this machine's clock is probably wrong.",
		fixed("Synchronise this machine's clock (NTP) and try again.")},
	700054: {"The app asked for a response type that is not enabled for it (for example an ID token straight from the authorize endpoint).",
		fixed("This app asks only for response_type=code. If you changed that, enable ID tokens under Authentication, or change it back.")},
	900561: {"The token endpoint was called with GET; it accepts only POST.",
		fixed("This is a bug in the app or a proxy in front of it: report it with the correlation ID.")},
	900971: {"The sign-in request carried no redirect URI.",
		func(c Context) string {
			return fmt.Sprintf("Set REDIRECT_URI (now %q) to the app's /getAToken URL and register it under Authentication > Web.", c.RedirectURI)
		}},
	1002012: {"A client-credentials request must ask for an API's .default scope, such as https://graph.microsoft.com/.default.",
		fixed("graphauth check asks for Graph's .default scope; elsewhere, ask for <API>/.default with the client-credentials grant.")},
	7000112: {"The application is disabled in this tenant.",
		fixed("Ask an administrator to enable it: Enterprise applications > the app > Properties > Enabled for users to sign in.")},
	50053: {"The account is locked: too many failed sign-ins, or sign-ins from a blocked IP address.",
		fixed("Wait a while and try again, or ask an administrator to unlock the account.")},
	50074: {"Strong authentication (multi-factor) is required.", fixed("Sign in again and complete the multi-factor prompt.")},
	50097: {"The sign-in requires a registered or compliant device.", fixed("Sign in from a device your organisation manages, or ask an administrator about the device policy.")},
	50128: {"No tenant was found for the domain of the account (or the domain in AUTHORITY).",
		func(c Context) string {
			return fmt.Sprintf("Check the account's domain and AUTHORITY (%s): use the Directory (tenant) ID rather than a domain name.", c.Authority)
		}},
	90072: {"The account is from another tenant and is not a guest in this one.",
		fixed("Sign in with an account of the app's tenant, invite the user as a guest, or make the app multi-tenant with AUTHORITY .../organizations.")},
	90094: {"The app asks for permissions that only an administrator can grant.",
		func(c Context) string {
			return fmt.Sprintf("Ask an administrator to grant admin consent for %s (app registration > API permissions > Grant admin consent), then sign in again.", strings.Join(c.Scopes, ", "))
		}},
}

// oauth explains the OAuth error words, for answers without an AADSTS code.
var oauth = map[string]entry{
	"access_denied":           {"Sign-in was cancelled or the user declined to give consent.", fixed("Sign in again and accept the requested permissions.")},
	"invalid_client":          {"The identity platform did not accept the app's credential.", fixed("Check CLIENT_SECRET (the secret's Value, not its ID) or CLIENT_CERTIFICATE_FILE.")},
	"unauthorized_client":     {"This application is not allowed to use this flow, or is unknown to the tenant.", fixed("Check CLIENT_ID and AUTHORITY against the app registration.")},
	"invalid_grant":           {"The code or refresh token is invalid, expired or already used.", fixed("Sign in again.")},
	"invalid_request":         {"The request to the identity platform was malformed.", fixed("Start again from the sign-in page.")},
	"invalid_scope":           {"A requested scope is not valid.", fixed("Set SCOPE to delegated Graph permissions such as User.ReadBasic.All.")},
	"interaction_required":    {"The user must sign in interactively.", fixed("Sign in again.")},
	"consent_required":        {"Consent is needed for the requested permissions.", fixed("Sign in again and accept, or ask an administrator to grant consent.")},
	"login_required":          {"The user must sign in.", fixed("Sign in again.")},
	"server_error":            {"The identity platform had an internal error.", fixed("Wait a moment and try again.")},
	"temporarily_unavailable": {"The identity platform is temporarily unavailable.", fixed("Wait a moment and try again.")},
}

// Entra explains an identity-platform error by AADSTS code, then by OAuth error word.
func Entra(code int, oauthErr string, c Context) Explanation {
	if e, ok := entra[code]; ok {
		return Explanation{Code: fmt.Sprintf("AADSTS%d", code), Meaning: e.meaning, Fix: e.fix(c)}
	}
	label := oauthErr
	if code != 0 {
		label = fmt.Sprintf("AADSTS%d", code)
	}
	if e, ok := oauth[oauthErr]; ok {
		return Explanation{Code: label, Meaning: e.meaning, Fix: e.fix(c)}
	}
	fix := "Report it with the correlation ID below."
	if code != 0 {
		fix = fmt.Sprintf("Look the code up at https://login.microsoftonline.com/error?code=%d, or report it with the correlation ID below.", code)
	}
	return Explanation{Code: label, Meaning: "The identity platform refused the request.", Fix: fix}
}

// KnownAADSTS lists the codes the table explains, in ascending order (for tests and docs).
func KnownAADSTS() []int {
	out := make([]int, 0, len(entra))
	for k := range entra {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Graph explains an error answer from Microsoft Graph.
func Graph(status int, code string, retryAfter time.Duration, c Context) Explanation {
	label := fmt.Sprintf("Graph %d", status)
	if code != "" {
		label += " " + code
	}
	x := Explanation{Code: label}
	switch {
	case status == http.StatusUnauthorized:
		x.Meaning = "Graph did not accept the access token (expired, revoked, or for another audience)."
		x.Fix = "Go back and try again: the app gets a fresh token; if it keeps failing, sign out and in again."
	case status == http.StatusForbidden:
		x.Meaning = "The signed-in user or the app lacks the permission Graph needs for this call."
		x.Fix = fmt.Sprintf("Add the delegated Microsoft Graph permission %s under API permissions, grant consent, then sign in again.", strings.Join(c.Scopes, ", "))
	case status == http.StatusBadRequest:
		x.Meaning = "Graph refused the request as malformed (an app-only token for /me, or a wrong GRAPH_ENDPOINT)."
		x.Fix = "Check GRAPH_ENDPOINT (https://graph.microsoft.com/v1.0/me) and sign in again."
	case status == http.StatusNotFound:
		x.Meaning = "Graph has no such resource: GRAPH_ENDPOINT may point at the wrong path."
		x.Fix = "Set GRAPH_ENDPOINT to https://graph.microsoft.com/v1.0/me (or your national cloud's Graph host)."
	case status == http.StatusTooManyRequests:
		x.Meaning = "Graph is throttling this app or user: too many requests."
		x.Fix = "Wait and try again" + retryText(retryAfter) + "."
	case status >= 500:
		x.Meaning = "Graph had a problem of its own or is unavailable."
		x.Fix = "Wait and try again" + retryText(retryAfter) + "; your session is kept."
	default:
		x.Meaning = "Graph answered with an unexpected status."
		x.Fix = "Try again; if it persists, report it with the request ID."
	}
	return x
}

func retryText(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf(" in %s (Graph's Retry-After)", d.Round(time.Second))
}
