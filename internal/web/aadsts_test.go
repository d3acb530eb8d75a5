package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/graphauth/graphauth/internal/emulator"
	"github.com/graphauth/graphauth/internal/explain"
	"github.com/graphauth/graphauth/internal/stacktest"
)

// atAuthorize are the codes Entra reports on the authorize endpoint, i.e. back at the callback
// as ?error=...&error_description=AADSTSnnnnn: ...; every other code is injected at the token
// endpoint while the callback redeems the code. The OAuth error is the one Entra pairs with it.
var atAuthorize = map[int]string{
	50011: "invalid_request", 65004: "access_denied", 65001: "consent_required", 90094: "consent_required",
	50076: "interaction_required", 50079: "interaction_required", 50074: "interaction_required",
	50020: "access_denied", 50194: "invalid_request", 50034: "access_denied", 50057: "access_denied",
	50055: "access_denied", 50126: "access_denied", 50105: "access_denied", 53003: "access_denied",
	50053: "access_denied", 50097: "interaction_required", 50128: "invalid_request", 90072: "access_denied",
	50058: "login_required", 70011: "invalid_scope", 28000: "invalid_scope", 650057: "invalid_client",
	9002326: "invalid_request", 90019: "invalid_request", 700054: "unsupported_response_type",
	900971: "invalid_request", 7000112: "unauthorized_client", 90002: "invalid_request",
}

// Every code of the error table, through the real flow: injected by the emulator, landing on the
// error page with the code, what it means for this app and the concrete fix.
func TestEveryAADSTSCodeExplainedOnTheErrorPage(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	xc := explain.Context{RedirectURI: h.Cfg.RedirectURI, ClientID: h.Cfg.ClientID, Authority: h.Cfg.Authority, Scopes: h.Cfg.Scopes}
	for _, code := range explain.KnownAADSTS() {
		endpoint := "token"
		oauthErr, ok := atAuthorize[code]
		if ok {
			endpoint = "authorize"
		}
		t.Run(fmt.Sprintf("AADSTS%d at %s", code, endpoint), func(t *testing.T) {
			c := h.Browser()
			authz := h.AuthorizeURL(c)
			h.Emu.FailNext(emulator.Fault{Endpoint: endpoint, Code: code, Error: oauthErr})
			p := h.Get(c, authz)
			if p.URL.Path != "/getAToken" || p.Status < 400 {
				t.Fatalf("ended at %s with %d, want the callback's error page", p.URL, p.Status)
			}
			x := explain.Entra(code, "", xc)
			stacktest.MustContain(t, p, `id="error-code"`, x.Code, x.Meaning, x.Fix, "Sign in again")
			if home := h.Get(c, "/"); home.URL.Path != "/login" {
				t.Errorf("signed in despite AADSTS%d", code)
			}
		})
	}
}

// The fixes a user most needs, spelled out on the page itself (not only via the table).
func TestErrorPageFixesAreConcrete(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	cases := []struct {
		fault emulator.Fault
		want  []string
	}{
		{emulator.Fault{Endpoint: "authorize", Code: 50011, Error: "invalid_request"},
			[]string{"AADSTS50011", "add exactly " + h.Base + "/getAToken"}},
		{emulator.Fault{Endpoint: "token", Code: 7000215},
			[]string{"AADSTS7000215", "secret's ID (a GUID) was pasted instead of its Value", "copy its Value column"}},
		{emulator.Fault{Endpoint: "token", Code: 700016},
			[]string{"AADSTS700016", "Check CLIENT_ID (" + emulator.DemoClientID + ")", "AUTHORITY (" + h.Emu.Authority() + ")"}},
		{emulator.Fault{Endpoint: "authorize", Code: 65001, Error: "consent_required"},
			[]string{"AADSTS65001", "Grant admin consent", "User.ReadBasic.All"}},
		{emulator.Fault{Endpoint: "authorize", Code: 65004, Error: "access_denied"},
			[]string{"AADSTS65004", "declined", "Accept"}},
		{emulator.Fault{Endpoint: "token", Code: 54005}, []string{"AADSTS54005", "Do not reload the /getAToken page"}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("AADSTS%d", tc.fault.Code), func(t *testing.T) {
			c := h.Browser()
			authz := h.AuthorizeURL(c)
			h.Emu.FailNext(tc.fault)
			p := h.Get(c, authz)
			if p.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", p.Status)
			}
			stacktest.MustContain(t, p, tc.want...)
		})
	}
}

// The same table on the /msal-demo path, when a silent refresh fails: a refused credential is
// explained; a grant the user must redo sends them to sign in again, not to an error page.
func TestRefreshFailuresOnTheDemoPath(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	h.Emu.SetLifetimes(2*time.Minute, time.Hour) // MSAL refreshes a token this short on every call
	xc := explain.Context{RedirectURI: h.Cfg.RedirectURI, ClientID: h.Cfg.ClientID, Authority: h.Cfg.Authority, Scopes: h.Cfg.Scopes}
	for _, tc := range []struct {
		code       int
		wantStatus int
	}{
		{7000215, http.StatusBadRequest},
		{7000222, http.StatusBadRequest},
		{700016, http.StatusBadRequest},
		{90033, http.StatusBadGateway},
	} {
		t.Run(fmt.Sprintf("AADSTS%d explained", tc.code), func(t *testing.T) {
			c := h.Browser()
			h.SignIn(c)
			h.Emu.FailNext(emulator.Fault{Endpoint: "token", Code: tc.code})
			p := h.Get(c, "/msal-demo")
			if p.Status != tc.wantStatus {
				t.Fatalf("status %d, want %d\n%s", p.Status, tc.wantStatus, p.Body)
			}
			x := explain.Entra(tc.code, "", xc)
			stacktest.MustContain(t, p, x.Code, x.Meaning, x.Fix)
		})
	}
	for _, code := range []int{70008, 50173, 700082, 54005} {
		t.Run(fmt.Sprintf("AADSTS%d signs in again", code), func(t *testing.T) {
			c := h.Browser()
			h.SignIn(c)
			h.Emu.FailNext(emulator.Fault{Endpoint: "token", Code: code, Error: "invalid_grant"})
			if p := h.Get(c, "/msal-demo"); p.URL.Path != "/login" || p.Status != http.StatusOK {
				t.Fatalf("ended at %s (%d), want the sign-in page", p.URL, p.Status)
			}
		})
	}
}

// Graph's error statuses not covered by flow_test.go.
func TestMoreGraphErrorsExplained(t *testing.T) {
	h := stacktest.Start(t, stacktest.Options{})
	c := h.Browser()
	h.SignIn(c)
	for _, tc := range []struct {
		fault emulator.Fault
		want  []string
	}{
		{emulator.Fault{Endpoint: "graph", Status: 400, Error: "BadRequest"}, []string{"Graph 400 BadRequest", "GRAPH_ENDPOINT"}},
		{emulator.Fault{Endpoint: "graph", Status: 404, Error: "Request_ResourceNotFound"}, []string{"Graph 404", "GRAPH_ENDPOINT"}},
		{emulator.Fault{Endpoint: "graph", Status: 500, Error: "InternalServerError"}, []string{"Graph 500", "Wait and try again"}},
	} {
		t.Run(tc.fault.Error, func(t *testing.T) {
			h.Emu.FailNext(tc.fault)
			p := h.Get(c, "/msal-demo")
			if p.Status < 500 {
				t.Fatalf("status %d\n%s", p.Status, p.Body)
			}
			stacktest.MustContain(t, p, append(tc.want, "still signed in")...)
			if !strings.Contains(p.Body, `id="error-fix"`) {
				t.Error("no fix on the page")
			}
		})
	}
}
