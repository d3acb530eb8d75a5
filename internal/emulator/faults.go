package emulator

import (
	"fmt"
	"net/http"
	"strings"
)

// faultEndpoints are the endpoints FailNext accepts.
var faultEndpoints = map[string]bool{
	"token": true, "graph": true, "authorize": true, "metadata": true, "keys": true, "logout": true,
	"onenote": true, "onenote:content": true, "onenote:resource": true,
}

// FailNext makes the next f.Count calls (default 1) to f.Endpoint fail as f describes.
// Faults queue per endpoint. A Fault with only a Delay (no Status, Error or Code) delays a
// normal answer instead. An unknown endpoint is logged and ignored.
func (s *Server) FailNext(f Fault) {
	if err := s.failNext(f); err != nil {
		s.log.Warn("emulator: FailNext ignored", "err", err)
	}
}

func (s *Server) failNext(f Fault) error {
	f.Endpoint = strings.ToLower(strings.TrimSpace(f.Endpoint))
	if !faultEndpoints[f.Endpoint] {
		return fmt.Errorf("unknown fault endpoint %q (want token, graph, authorize, metadata, keys, logout, onenote, onenote:content or onenote:resource)", f.Endpoint)
	}
	if f.Count <= 0 {
		f.Count = 1
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("fault status %d is not an error status", f.Status)
	}
	if f.RetryAfter < 0 || f.Delay < 0 {
		return fmt.Errorf("fault retry-after and delay must not be negative")
	}
	s.mu.Lock()
	s.faults[f.Endpoint] = append(s.faults[f.Endpoint], f)
	s.mu.Unlock()
	return nil
}

// takeFault consumes one call of the first fault queued for endpoint.
func (s *Server) takeFault(endpoint string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[endpoint]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	q[0].Count--
	if q[0].Count <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(s.faults, endpoint)
	} else {
		s.faults[endpoint] = q
	}
	return f, true
}

// delayOnly reports whether f only delays the answer.
func (f Fault) delayOnly() bool { return f.Status == 0 && f.Error == "" && f.Code == 0 }

// defaultCodeForError gives an injected OAuth error a plausible AADSTS code.
var defaultCodeForError = map[string]int{
	"invalid_client":          7000215,
	"unauthorized_client":     700016,
	"invalid_grant":           70008,
	"interaction_required":    50076,
	"consent_required":        65001,
	"invalid_request":         900144,
	"invalid_scope":           70011,
	"invalid_resource":        500011,
	"access_denied":           65004,
	"login_required":          50058,
	"temporarily_unavailable": 90033,
	"server_error":            90033,
}

// entraError turns an injected fault into Entra's error for it.
func (f Fault) entraError(vars ...string) *entraError {
	errName := f.Error
	if errName == "" && f.Code != 0 {
		if info, ok := aadstsCatalog[f.Code]; ok {
			errName = info.err
		}
	}
	if errName == "" {
		switch {
		case f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable:
			errName = "temporarily_unavailable"
		case f.Status == http.StatusUnauthorized:
			errName = "invalid_client"
		case f.Status >= 400 && f.Status < 500:
			errName = "invalid_request"
		default:
			errName = "server_error"
		}
	}
	code := f.Code
	if code == 0 {
		code = defaultCodeForError[errName]
	}
	var e *entraError
	if _, known := aadstsCatalog[code]; known {
		e = aad(code, vars...)
	} else {
		e = &entraError{Code: code, Message: "Emulated failure."}
	}
	e.Err = errName
	switch {
	case f.Status != 0:
		e.Status = f.Status
	case errName == "server_error":
		e.Status = http.StatusInternalServerError
	case errName == "temporarily_unavailable":
		e.Status = http.StatusServiceUnavailable
	case errName == "invalid_client":
		e.Status = http.StatusUnauthorized
	case e.Status == 0:
		e.Status = http.StatusBadRequest
	}
	if f.Description != "" {
		e.Message = f.Description
	}
	e.RetryAfter = f.RetryAfter
	return e
}

// injectJSONFault applies a queued fault for an endpoint that answers with Entra's JSON
// errors (token, metadata, keys). It reports whether the response has been written (or the
// request abandoned).
func (s *Server) injectJSONFault(w http.ResponseWriter, r *http.Request, endpoint string, vars ...string) bool {
	f, ok := s.takeFault(endpoint)
	if !ok {
		return false
	}
	if !s.sleep(r, f.Delay) {
		return true // the client gave up or the server is closing: nobody reads an answer
	}
	if f.delayOnly() {
		return false
	}
	s.writeEntraError(w, r, f.entraError(vars...))
	return true
}

// ResetFaults drops every queued fault, so a test can end one fault's scene cleanly.
func (s *Server) ResetFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}
