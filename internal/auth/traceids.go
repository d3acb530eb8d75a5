package auth

import (
	"regexp"
	"strings"
)

// guidAfter finds the GUID that follows a label within a short distance, across the punctuation
// or markup between them: "Trace ID: <guid>" in an error_description, "<dt>Request Id</dt><dd>
// <guid>" on an error page.
func guidAfter(label string) *regexp.Regexp {
	return regexp.MustCompile(`(?is)` + label + `.{0,40}?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`)
}

var (
	traceIDRE       = guidAfter(`(?:trace|request)[ _-]?id`)
	correlationIDRE = guidAfter(`correlation[ _-]?id`)
)

// TraceIDs finds the trace (request) ID and the correlation ID that the identity platform puts in
// an error_description sent to the redirect URI ("...\r\nTrace ID: ...\r\nCorrelation ID: ...")
// or on its error page: the two IDs Microsoft support asks for. Either may be "".
func TraceIDs(text string) (traceID, correlationID string) {
	if m := traceIDRE.FindStringSubmatch(text); m != nil {
		traceID = strings.ToLower(m[1])
	}
	if m := correlationIDRE.FindStringSubmatch(text); m != nil {
		correlationID = strings.ToLower(m[1])
	}
	return traceID, correlationID
}
