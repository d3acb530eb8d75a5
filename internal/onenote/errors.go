package onenote

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// codeKinds maps Graph's OneNote error codes onto the sentinels. A code decides before the
// HTTP status does, because Graph sends some codes with several statuses (20166 comes as 429,
// 400 or 503). Source: concepts/onenote-error-codes.md in microsoftgraph/microsoft-graph-docs-contrib.
var codeKinds = map[string]error{
	"20102": ErrNotFound, // the resource does not exist
	"20112": ErrNotFound, // an id that names no notebook, section group, section or page
	"20113": ErrNotFound, // the resource was deleted

	"20166": ErrThrottled, // too many requests for this user and app in a short time
	"10003": ErrThrottled, // the account has too many active requests: repeat it later

	"20266": ErrTooManySections, // too many sections for a user-wide list

	"40001": ErrUnauthenticated, // no valid OAuth token
	"40004": ErrScope,           // the token lacks the scope for the action
	"40006": ErrScope,           // the token lacks the (edit) scope

	// The user has no OneNote to read: the account is suspended (30104); the personal
	// OneDrive for Business site that holds notebooks is not provisioned (30105: Graph starts
	// provisioning it, which takes minutes) or is being provisioned (30106); it could not be
	// retrieved, typically not provisioned or no OneDrive licence (30108). Not retried: they
	// last minutes or need an administrator. 30101 (OneDrive quota exceeded) is left out on
	// purpose: a full OneDrive can still be read.
	"30104": ErrNoOneNote,
	"30105": ErrNoOneNote,
	"30106": ErrNoOneNote,
	"30108": ErrNoOneNote,

	// The service says "try again later".
	"10002": ErrUnavailable, // service not available
	"10007": ErrUnavailable, // server too busy
	"10014": ErrUnavailable, // Azure Key Vault too busy
	"10015": ErrUnavailable, // SharePoint unavailable
}

// kind is the sentinel that e stands for, or nil.
func (e *Error) kind() error {
	if k, ok := codeKinds[e.Code]; ok {
		return k
	}
	switch s := e.Status; {
	case s == 0:
		return ErrUnavailable // unreachable, reset, timed out
	case s == http.StatusNotFound:
		return ErrNotFound
	case s == http.StatusTooManyRequests:
		return ErrThrottled
	case s == http.StatusUnauthorized:
		return ErrUnauthenticated
	case s == http.StatusForbidden:
		return ErrScope
	case s >= 500:
		return ErrUnavailable
	}
	return nil
}

// retryable reports whether another attempt may succeed. Bare 400s are not retried although
// transient ones are reported: a real bad request would then cost the user's budget six times.
func (e *Error) retryable() bool {
	switch e.Status {
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	k := e.kind()
	return k == ErrThrottled || k == ErrUnavailable
}

// maxMessage bounds Error.Message, so a proxy's error page cannot flood a log line.
const maxMessage = 300

// graphError reads Graph's error answer: {"error":{"code":..,"message":..,"innerError":{"request-id":..}}}.
func graphError(resp *http.Response, body []byte) *Error {
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("request-id")}
	var ge struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &ge); err == nil {
		e.Code = shorten(ge.Error.Code, 40)
		e.Message = shorten(ge.Error.Message, maxMessage)
		if e.RequestID == "" {
			e.RequestID = ge.Error.InnerError.RequestID
		}
	} else {
		// Not Graph's JSON (a gateway's page, say): keep its start as the message.
		e.Message = shorten(string(body), maxMessage)
	}
	e.RequestID = shorten(e.RequestID, 100)
	return e
}

// shorten returns s on one line with control characters replaced, cut to at most n bytes on
// a rune boundary ("…" marks a cut).
func shorten(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// invalidID is the error for an id refused before any request. It quotes at most a short
// prefix of the id: the id may be anything a client sent.
func invalidID(what, id string) error {
	return fmt.Errorf("onenote: %s id %q: %w", what, shorten(id, 60), ErrInvalidID)
}

var (
	errAttemptTimeout = errors.New("no answer in time")
	errBodyTooLarge   = errors.New("answer too large")
)
