package auth

import "testing"

func TestTraceIDs(t *testing.T) {
	const tr, co = "80fd0b76-c552-4d96-86ab-f7588ecabd1f", "c05273ab-ea18-45b4-9a8d-ddcc27736ab2"
	for _, tc := range []struct {
		name, text    string
		trace, correl string
	}{
		{"error_description", "AADSTS65004: User declined to consent.\r\nTrace ID: " + tr + "\r\nCorrelation ID: " + co + "\r\nTimestamp: 2026-11-30 10:00:00Z", tr, co},
		{"error page", "<dt>Request Id</dt><dd>" + tr + "</dd>\n<dt>Correlation Id</dt><dd>" + co + "</dd>", tr, co},
		{"JSON keys", `{"trace_id":"` + tr + `","correlation_id":"` + co + `"}`, tr, co},
		{"upper case", "Trace ID: " + "80FD0B76-C552-4D96-86AB-F7588ECABD1F", tr, ""},
		{"none", "AADSTS50011: The redirect URI does not match.", "", ""},
		{"label without a GUID", "Trace ID: not-a-guid", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotT, gotC := TraceIDs(tc.text)
			if gotT != tc.trace || gotC != tc.correl {
				t.Errorf("TraceIDs = %q, %q; want %q, %q", gotT, gotC, tc.trace, tc.correl)
			}
		})
	}
}
