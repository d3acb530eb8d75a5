package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// ErrInteractionRequired means the session has no usable token: no account, no refresh token,
// or one the identity platform refused (expired, revoked, consent withdrawn). The user signs in
// again; this is not an error page.
var ErrInteractionRequired = errors.New("interactive sign-in required")

// ErrConsentRequired means the user has not (yet) consented to a scope the app asked for with a
// refresh token (AADSTS65001): the app sends the user to the authorize endpoint for just that
// scope (incremental consent). It is also an ErrInteractionRequired.
var ErrConsentRequired = errors.New("consent required for the requested scopes")

// ErrUnreachable means the identity platform could not be reached or did not answer in time.
var ErrUnreachable = errors.New("the identity platform could not be reached")

// EntraError is an error answer from the identity platform's token or metadata endpoint, decoded
// from Entra's JSON. It carries no token or secret: only what Entra sent back.
type EntraError struct {
	Status        int
	Code          string // OAuth error, e.g. invalid_client
	Description   string // error_description, starting with AADSTSnnnnn:
	AADSTS        int    // the first error code, 0 when none
	SubError      string
	TraceID       string
	CorrelationID string
	Timestamp     string
}

func (e *EntraError) Error() string {
	if e.AADSTS != 0 {
		return fmt.Sprintf("identity platform answered %d %s (AADSTS%d)", e.Status, e.Code, e.AADSTS)
	}
	return fmt.Sprintf("identity platform answered %d %s", e.Status, e.Code)
}

// Is makes errors.Is(err, ErrInteractionRequired) true for grants the user must redo, and
// errors.Is(err, ErrConsentRequired) true when what is missing is the user's consent.
func (e *EntraError) Is(target error) bool {
	if target == ErrConsentRequired {
		return e.AADSTS == 65001 || e.Code == "consent_required"
	}
	if target != ErrInteractionRequired {
		return false
	}
	return e.Code == "invalid_grant" || e.Code == "interaction_required" || e.Code == "consent_required" ||
		e.Code == "login_required"
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// ParseEntraError decodes an error body from the identity platform. It never fails: an unknown
// body yields an EntraError with just the status.
func ParseEntraError(status int, body []byte) *EntraError {
	var raw struct {
		Error         string `json:"error"`
		Description   string `json:"error_description"`
		Codes         []int  `json:"error_codes"`
		SubError      string `json:"suberror"`
		TraceID       string `json:"trace_id"`
		CorrelationID string `json:"correlation_id"`
		Timestamp     string `json:"timestamp"`
	}
	_ = json.Unmarshal(body, &raw)
	e := &EntraError{Status: status, Code: raw.Error, Description: raw.Description, SubError: raw.SubError,
		TraceID: raw.TraceID, CorrelationID: raw.CorrelationID, Timestamp: raw.Timestamp}
	if len(raw.Codes) > 0 {
		e.AADSTS = raw.Codes[0]
	} else {
		e.AADSTS = AADSTSFromText(raw.Description)
	}
	return e
}

// AADSTSFromText finds the first AADSTSnnnnn code in s (0 when none).
func AADSTSFromText(s string) int {
	m := aadstsRE.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// classify turns MSAL's errors into the app's: an *EntraError for an HTTP error answer,
// ErrInteractionRequired when MSAL has nothing to redeem, ErrUnreachable for network failures.
// MSAL's own error text includes request URLs and bodies; the app never shows it.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrInteractionRequired) {
		return err
	}
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil {
		var body []byte
		if ce.Resp.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(ce.Resp.Body, 64<<10))
		}
		return ParseEntraError(ce.Resp.StatusCode, body)
	}
	if strings.Contains(err.Error(), "no token found") {
		return ErrInteractionRequired
	}
	var ue *url.Error
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ue) || errors.As(err, &ne) {
		return fmt.Errorf("%w: %v", ErrUnreachable, errors.Unwrap(err))
	}
	if strings.Contains(err.Error(), "server response error") || strings.Contains(err.Error(), "http call(") {
		return fmt.Errorf("%w", ErrUnreachable)
	}
	return err
}
