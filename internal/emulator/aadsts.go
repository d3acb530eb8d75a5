package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// entraError is an error as Entra ID's token and authorize endpoints report it.
type entraError struct {
	Status   int    // HTTP status at the token endpoint
	Err      string // OAuth error, e.g. "invalid_grant"
	Code     int    // AADSTS number; 0 for an emulator-only error
	Message  string // text after "AADSTSnnnnn: "
	Suberror string // e.g. "consent_required"
	// RetryAfter, in seconds, sets Retry-After (injected faults only).
	RetryAfter int
}

func (e *entraError) Error() string { return fmt.Sprintf("%s: AADSTS%d: %s", e.Err, e.Code, e.Message) }

// aadstsInfo is one row of the catalogue below: the error Entra pairs with a code, the status
// the token endpoint answers with, and the message. {name} placeholders are filled by aad().
type aadstsInfo struct {
	err      string
	status   int
	message  string
	suberror string
}

// aadstsCatalog holds the AADSTS codes the emulator produces, with Entra ID's wording.
var aadstsCatalog = map[int]aadstsInfo{
	28000:   {"invalid_scope", 400, "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {scope} is not valid.", ""},
	50011:   {"invalid_request", 400, "The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for the application '{app}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.", ""},
	50058:   {"login_required", 400, "A silent sign-in request was sent but no user is signed in.", ""},
	50076:   {"interaction_required", 400, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{resource}'.", "basic_action"},
	50079:   {"interaction_required", 400, "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '{resource}'.", "basic_action"},
	50126:   {"invalid_grant", 400, "Error validating credentials due to invalid username or password.", ""},
	50173:   {"invalid_grant", 400, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '{issued}' and the TokensValidFrom date (before which tokens are not valid) for this user is '{validfrom}'.", "bad_token"},
	53003:   {"access_denied", 400, "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.", ""},
	54005:   {"invalid_grant", 400, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.", ""},
	65001:   {"invalid_grant", 400, "The user or administrator has not consented to use the application with ID '{app}' named '{appname}'. Send an interactive authorization request for this user and resource.", "consent_required"},
	65004:   {"access_denied", 400, "User declined to consent to access the app.", ""},
	70000:   {"invalid_grant", 400, "Provided grant is invalid or malformed.", ""},
	70003:   {"unsupported_grant_type", 400, "The app requested an unsupported grant type '{grant}'.", ""},
	70008:   {"invalid_grant", 400, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.", "bad_token"},
	70011:   {"invalid_scope", 400, "The provided value for the input parameter 'scope' is not valid. The scope '{scope}' is not valid.", ""},
	90002:   {"invalid_request", 400, "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", ""},
	90033:   {"temporarily_unavailable", 503, "A transient error has occurred. Please try again.", ""},
	500011:  {"invalid_resource", 400, "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", ""},
	500112:  {"invalid_client", 401, "The reply address '{uri}' does not match the reply address '{expected}' provided when requesting Authorization code.", ""},
	501481:  {"invalid_grant", 400, "The Code_Verifier does not match the code_challenge supplied in the authorization request.", ""},
	501491:  {"invalid_request", 400, "Invalid size of Code_Challenge parameter.", ""},
	700016:  {"unauthorized_client", 400, "Application with identifier '{app}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", ""},
	700024:  {"invalid_client", 401, "Client assertion is not within its valid time range. Current time: {now}, assertion valid from {nbf}, expiry time of assertion {exp}.", ""},
	700025:  {"invalid_client", 401, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.", ""},
	700027:  {"invalid_client", 401, "{detail}", ""},
	700054:  {"unsupported_response_type", 400, "response_type '{value}' is not enabled for the application.", ""},
	700082:  {"invalid_grant", 400, "The refresh token has expired due to inactivity. The token was issued on {issued} and was inactive for {inactive}.", "bad_token"},
	900144:  {"invalid_request", 400, "The request body must contain the following parameter: '{param}'.", ""},
	900561:  {"invalid_request", 400, "The endpoint only accepts POST requests. Received a {method} request.", ""},
	900971:  {"invalid_request", 400, "No reply address provided.", ""},
	1002012: {"invalid_scope", 400, "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", ""},
	7000215: {"invalid_client", 401, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app}'.", ""},
	7000218: {"invalid_client", 401, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", ""},
	7000222: {"invalid_client", 401, "The provided client secret keys for app '{app}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", ""},
	9002313: {"invalid_grant", 400, "Invalid request. Request is malformed or invalid.", ""},
}

var placeholder = regexp.MustCompile(`\{[a-z]+\}`)

// aad builds the catalogue's error for code, filling placeholders from key/value pairs.
// Placeholders left unfilled read "(unknown)".
func aad(code int, kv ...string) *entraError {
	info, ok := aadstsCatalog[code]
	if !ok {
		info = aadstsInfo{err: "invalid_request", status: 400, message: "An error occurred."}
	}
	msg := info.message
	for i := 0; i+1 < len(kv); i += 2 {
		msg = strings.ReplaceAll(msg, "{"+kv[i]+"}", kv[i+1])
	}
	msg = placeholder.ReplaceAllString(msg, "(unknown)")
	return &entraError{Status: info.status, Err: info.err, Code: code, Message: msg, Suberror: info.suberror}
}

// emuError is an error the real service has no AADSTS code for (for example, a refusal the
// emulator makes to keep tests strict). Its description says so.
func emuError(status int, oauthErr, msg string) *entraError {
	return &entraError{Status: status, Err: oauthErr, Message: "Emulator: " + msg}
}

// errorContext carries the IDs Entra puts in every error.
type errorContext struct {
	traceID, correlationID string
	timestamp              time.Time
}

func newErrorContext(r *http.Request) errorContext {
	corr := r.Header.Get("client-request-id")
	if !isGUID(corr) {
		corr = newGUID()
	}
	return errorContext{traceID: newGUID(), correlationID: strings.ToLower(corr), timestamp: time.Now().UTC()}
}

// description renders error_description as Entra does, with CRLF-separated trailers.
func (e *entraError) description(ec errorContext) string {
	head := e.Message
	if e.Code != 0 {
		head = "AADSTS" + strconv.Itoa(e.Code) + ": " + e.Message
	}
	return head + "\r\nTrace ID: " + ec.traceID + "\r\nCorrelation ID: " + ec.correlationID +
		"\r\nTimestamp: " + ec.timestamp.Format("2006-01-02 15:04:05Z")
}

// tokenErrorBody is the JSON body of an error from the token (or metadata) endpoint.
type tokenErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes,omitempty"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	ErrorURI      string `json:"error_uri,omitempty"`
	Suberror      string `json:"suberror,omitempty"`
}

func (e *entraError) body(ec errorContext) tokenErrorBody {
	b := tokenErrorBody{
		Error:         e.Err,
		Description:   e.description(ec),
		Timestamp:     ec.timestamp.Format("2006-01-02 15:04:05Z"),
		TraceID:       ec.traceID,
		CorrelationID: ec.correlationID,
		Suberror:      e.Suberror,
	}
	if e.Code != 0 {
		b.ErrorCodes = []int{e.Code}
		// Entra links its own error lookup page; the explanation there is the real one.
		b.ErrorURI = "https://login.microsoftonline.com/error?code=" + strconv.Itoa(e.Code)
	}
	return b
}

// writeEntraError writes e as a JSON error response of the token or metadata endpoint.
func (s *Server) writeEntraError(w http.ResponseWriter, r *http.Request, e *entraError) {
	ec := newErrorContext(r)
	h := w.Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("x-ms-request-id", ec.traceID)
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	s.log.Info("emulator error response", "path", r.URL.Path, "status", status, "error", e.Err, "code", e.Code)
	writeJSON(w, status, e.body(ec))
}

// newGUID returns a random version-4 GUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
