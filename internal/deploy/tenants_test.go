package deploy_test

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Multi-tenant authorities: the metadata of "organizations" and "common" publishes the issuer
// as https://host/{tenantid}/v2.0, and the app checks the ID token's iss against it with the
// token's own tid filled in. ALLOWED_TENANTS then narrows who may sign in.
func TestMultiTenantAuthorities(t *testing.T) {
	t.Parallel()
	const otherTenant = "11111111-2222-4333-8444-555555555555"
	d := deploy(t, deployOpts{instances: 4})
	emuURL := d.emu.URL()
	tenant := d.emu.Tenant()
	// Restart each instance with its authority (the emulator's URL is known only now).
	cases := []struct {
		name, authority, allowed string
		wantSignIn               bool
	}{
		{"organizations", emuURL + "/organizations", "", true},
		{"common", emuURL + "/common", "", true},
		// Tenant IDs compare case-insensitively.
		{"organizations, tenant allowed", emuURL + "/organizations", otherTenant + "," + strings.ToUpper(tenant), true},
		{"organizations, tenant not allowed", emuURL + "/organizations", otherTenant, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := d.insts[i]
			old.stop()
			vars := instanceVars(old)
			vars["AUTHORITY"], vars["ALLOWED_TENANTS"] = tc.authority, tc.allowed
			in := d.startInstance(old.name, listenOn(t, old.url), vars)
			d.insts[i] = in

			// A multi-tenant authority that lets every tenant in says so at start-up.
			if warned := strings.Contains(in.logs.String(), "ALLOWED_TENANTS is empty"); warned != (tc.allowed == "") {
				t.Errorf("start-up warning about an empty ALLOWED_TENANTS: %v, want %v", warned, tc.allowed == "")
			}

			br := d.browser()
			authorize := br.authorizeURL(in.url)
			if !strings.HasPrefix(authorize, tc.authority+"/oauth2/v2.0/authorize?") {
				t.Fatalf("authorize URL %s is not under %s", authorize, tc.authority)
			}
			p := br.get(authorize)
			if !tc.wantSignIn {
				if p.status != http.StatusBadRequest || p.url.Path != "/getAToken" {
					t.Fatalf("tenant outside ALLOWED_TENANTS: ended at %s with %d\n%s", p.url, p.status, p.body)
				}
				mustContain(t, p, "could not be verified", "ALLOWED_TENANTS")
				if h := br.get(in.url + "/"); strings.Contains(h.body, "Welcome") {
					t.Error("signed in from a tenant outside ALLOWED_TENANTS")
				}
				return
			}
			if p.status != http.StatusOK || !strings.Contains(p.body, "Welcome") {
				t.Fatalf("sign-in through %s: ended at %s with %d\n%s", tc.authority, p.url, p.status, p.body)
			}
			if p := br.get(in.url + "/msal-demo"); p.status != http.StatusOK {
				t.Fatalf("/msal-demo: %d\n%s", p.status, p.body)
			}
			out := br.post(br.noFollow(), in.url+"/logout", nil)
			loc, _ := url.Parse(out.header.Get("Location"))
			if !strings.HasPrefix(loc.String(), tc.authority+"/oauth2/v2.0/logout?") {
				t.Errorf("logout goes to %s, want the %s authority", loc, tc.authority)
			}
		})
	}
}

// listenOn listens again on the address of base (an instance's URL), so that a restarted
// instance keeps the redirect URI the emulator knows.
func listenOn(t *testing.T, base string) net.Listener {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
