package explain

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

var ctx = Context{
	RedirectURI: "https://app.example.com/getAToken",
	ClientID:    "7d2e9c1a-5b6f-4e3d-9a8b-0c1d2e3f4a5b",
	Authority:   "https://login.microsoftonline.com/9b2c4d6e-1f3a-4b5c-8d7e-0a1b2c3d4e5f",
	Scopes:      []string{"User.ReadBasic.All"},
}

// The codes of docs/msal-go-notes.md's table must all be explained.
func TestNotesTableCovered(t *testing.T) {
	known := map[int]bool{}
	for _, c := range KnownAADSTS() {
		known[c] = true
	}
	for _, c := range []int{50011, 65004, 7000215, 7000222, 700016, 90002, 54005, 70008, 50076, 50079, 65001} {
		if !known[c] {
			t.Errorf("AADSTS%d is not in the table", c)
		}
	}
}

func TestEveryCodeHasMeaningAndFix(t *testing.T) {
	codes := KnownAADSTS()
	for i, c := range codes {
		x := Entra(c, "", ctx)
		if x.Code != fmt.Sprintf("AADSTS%d", c) || len(x.Meaning) < 20 || len(x.Fix) < 10 {
			t.Errorf("AADSTS%d: %+v", c, x)
		}
		if strings.Contains(x.Fix, "%!") || strings.Contains(x.Meaning, "%!") {
			t.Errorf("AADSTS%d: formatting error: %+v", c, x)
		}
		if i > 0 && codes[i-1] >= c {
			t.Errorf("KnownAADSTS is not sorted: %v", codes)
		}
	}
}

// The fixes that depend on the configuration name its exact values.
func TestFixesNameTheConfiguration(t *testing.T) {
	cases := map[int][]string{
		50011:   {ctx.RedirectURI, "Redirect URIs"},
		700016:  {"CLIENT_ID (" + ctx.ClientID + ")", ctx.Authority},
		90002:   {"AUTHORITY (" + ctx.Authority + ")"},
		65001:   {"User.ReadBasic.All", "admin consent"},
		90094:   {"User.ReadBasic.All", "admin consent"},
		7000215: {"Value", "CLIENT_SECRET"},
		54005:   {"reload", "/getAToken"},
		65004:   {"Accept", "admin"},
		900971:  {ctx.RedirectURI},
	}
	for code, wants := range cases {
		x := Entra(code, "", ctx)
		for _, w := range wants {
			if !strings.Contains(x.Fix, w) {
				t.Errorf("AADSTS%d fix %q lacks %q", code, x.Fix, w)
			}
		}
	}
}

func TestUnknownCodesFallBack(t *testing.T) {
	x := Entra(123456, "invalid_client", ctx)
	if x.Code != "AADSTS123456" || !strings.Contains(x.Meaning, "credential") {
		t.Errorf("unknown code with a known OAuth error: %+v", x)
	}
	x = Entra(123456, "", ctx)
	if !strings.Contains(x.Fix, "error?code=123456") {
		t.Errorf("unknown code: %+v", x)
	}
	x = Entra(0, "access_denied", ctx)
	if x.Code != "access_denied" || !strings.Contains(x.Meaning, "declined") {
		t.Errorf("access_denied: %+v", x)
	}
	if x := Entra(0, "", ctx); strings.Contains(x.Fix, "<number>") || x.Fix == "" {
		t.Errorf("no code at all: %+v", x)
	}
}

func TestGraphStatuses(t *testing.T) {
	cases := []struct {
		status int
		code   string
		retry  time.Duration
		want   []string
	}{
		{401, "InvalidAuthenticationToken", 0, []string{"Graph 401 InvalidAuthenticationToken", "did not accept the access token"}},
		{403, "Authorization_RequestDenied", 0, []string{"Graph 403", "User.ReadBasic.All", "API permissions"}},
		{400, "BadRequest", 0, []string{"GRAPH_ENDPOINT"}},
		{404, "Request_ResourceNotFound", 0, []string{"GRAPH_ENDPOINT"}},
		{429, "TooManyRequests", 7 * time.Second, []string{"throttling", "in 7s"}},
		{503, "", 0, []string{"Graph 503", "Wait and try again"}},
		{418, "", 0, []string{"unexpected status"}},
	}
	for _, tc := range cases {
		x := Graph(tc.status, tc.code, tc.retry, ctx)
		all := x.Code + " " + x.Meaning + " " + x.Fix
		for _, w := range tc.want {
			if !strings.Contains(all, w) {
				t.Errorf("Graph %d: %q lacks %q", tc.status, all, w)
			}
		}
	}
	if x := Graph(http.StatusForbidden, "", 0, ctx); x.Code != "Graph 403" {
		t.Errorf("label without a code: %q", x.Code)
	}
}
