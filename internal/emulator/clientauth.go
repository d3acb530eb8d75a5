package emulator

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const jwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Client authentication class, as Entra puts it in appidacr/azpacr.
const (
	acrPublic = "0"
	acrSecret = "1"
	acrCert   = "2"
)

// assertionSkew is the clock skew allowed on a client assertion's exp and nbf.
const assertionSkew = 5 * time.Minute

// authenticateClient identifies the app of a token request and checks its credential: a
// client_secret (in the body or HTTP Basic), a client_assertion signed with one of the app's
// certificates, or none for a public client.
func (s *Server) authenticateClient(r *http.Request, form url.Values, tenantPath string) (App, string, *entraError) {
	clientID := form.Get("client_id")
	secret := form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		bu, err1 := url.QueryUnescape(u)
		bp, err2 := url.QueryUnescape(p)
		if err1 != nil || err2 != nil {
			return App{}, "", aad(9002313)
		}
		if clientID != "" && !strings.EqualFold(clientID, bu) {
			return App{}, "", emuError(400, "invalid_request", "client_id in the body differs from the one in the Authorization header")
		}
		clientID, secret = bu, bp
	}
	assertion := form.Get("client_assertion")
	if clientID == "" && assertion != "" {
		// RFC 7523: client_id may be omitted when the assertion names the client.
		if t, err := parseJWS(assertion); err == nil {
			clientID = t.str(t.claims, "sub")
		}
	}
	if clientID == "" {
		return App{}, "", aad(900144, "param", "client_id")
	}
	app, ok := s.findApp(clientID)
	if !ok {
		return App{}, "", aad(700016, "app", clientID, "tenant", s.tenant)
	}
	if app.Secret == "" && len(app.CertificatePEM) == 0 {
		if secret != "" || assertion != "" {
			return App{}, "", aad(700025)
		}
		return app, acrPublic, nil
	}
	switch {
	case assertion != "":
		if form.Get("client_assertion_type") == "" {
			return App{}, "", aad(900144, "param", "client_assertion_type")
		}
		if form.Get("client_assertion_type") != jwtBearerAssertionType {
			return App{}, "", aad(700027, "detail", "Client assertion type '"+form.Get("client_assertion_type")+"' is not supported; use '"+jwtBearerAssertionType+"'.")
		}
		if e := s.verifyClientAssertion(r, app, assertion, tenantPath); e != nil {
			return App{}, "", e
		}
		return app, acrCert, nil
	case secret != "":
		if app.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
			return App{}, "", aad(7000215, "app", app.ClientID)
		}
		return app, acrSecret, nil
	default:
		return App{}, "", aad(7000218)
	}
}

// verifyClientAssertion checks a certificate-signed client assertion as Entra ID does: the
// header's x5t#S256 (or x5t) names one of the app's certificates, the signature verifies with
// it (PS256 or RS256), aud is the token endpoint, iss and sub are the client ID, and the
// assertion is within its validity period.
func (s *Server) verifyClientAssertion(r *http.Request, app App, assertion, tenantPath string) *entraError {
	fail := func(detail string) *entraError { return aad(700027, "detail", detail) }
	t, err := parseJWS(assertion)
	if err != nil {
		return emuError(400, "invalid_request", "the client assertion is not a well-formed JWT")
	}
	var certs []*certInfo
	if len(app.CertificatePEM) > 0 {
		parsed, err := parseCertificates(app.CertificatePEM)
		if err != nil {
			return fail("Client assertion failed signature validation. [Reason - The app's certificate could not be read.]")
		}
		for _, c := range parsed {
			certs = append(certs, newCertInfo(c))
		}
	}
	var match *certInfo
	used := ""
	if v := t.str(t.header, "x5t#S256"); v != "" {
		sum, ok := decodeThumbprint(v)
		used = strings.ToUpper(hex.EncodeToString(sum))
		for _, c := range certs {
			if ok && subtle.ConstantTimeCompare(sum, c.sha256[:]) == 1 {
				match = c
			}
		}
	} else if v := t.str(t.header, "x5t"); v != "" {
		sum, ok := decodeThumbprint(v)
		used = strings.ToUpper(hex.EncodeToString(sum))
		for _, c := range certs {
			if ok && subtle.ConstantTimeCompare(sum, c.sha1[:]) == 1 {
				match = c
			}
		}
	}
	if match == nil {
		return fail("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '" +
			used + "', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '" + app.ClientID + "'.]")
	}
	now := time.Now()
	if now.After(match.cert.NotAfter) || now.Before(match.cert.NotBefore) {
		return fail("Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '" + used + "']")
	}
	pub, ok := match.cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fail("Client assertion failed signature validation. [Reason - The certificate's key is not an RSA key.]")
	}
	if err := t.verifyRSA(pub, "PS256", "RS256"); err != nil {
		return fail("Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '" + used + "']")
	}
	if iss, sub := t.str(t.claims, "iss"), t.str(t.claims, "sub"); !strings.EqualFold(iss, app.ClientID) || !strings.EqualFold(sub, app.ClientID) {
		return fail("Client assertion failed validation: its iss and sub claims must both be the client ID '" + app.ClientID + "'.")
	}
	if !s.validAssertionAudience(r, t.strs(t.claims, "aud"), tenantPath) {
		return fail("Client assertion failed validation: its aud claim must be the token endpoint '" + s.base(r) + "/" + tenantPath + "/oauth2/v2.0/token'.")
	}
	exp, hasExp := t.num(t.claims, "exp")
	nbf, hasNbf := t.num(t.claims, "nbf")
	if !hasExp || now.Add(-assertionSkew).After(time.Unix(exp, 0)) || (hasNbf && now.Add(assertionSkew).Before(time.Unix(nbf, 0))) {
		return aad(700024, "now", now.UTC().Format(time.RFC3339), "nbf", time.Unix(nbf, 0).UTC().Format(time.RFC3339), "exp", time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// validAssertionAudience accepts this tenant's token endpoint (through the tenant segment the
// client used or the tenant ID) on a loopback host of this server, or the v2.0 issuer.
func (s *Server) validAssertionAudience(r *http.Request, auds []string, tenantPath string) bool {
	_, wantPort, _ := net.SplitHostPort(r.Host)
	for _, aud := range auds {
		u, err := url.Parse(aud)
		if err != nil || u.Scheme != "https" || !isLoopbackHost(u.Hostname()) || u.Port() != wantPort {
			continue
		}
		p := strings.ToLower(strings.TrimSuffix(u.Path, "/"))
		for _, seg := range []string{strings.ToLower(tenantPath), s.tenant} {
			if p == "/"+seg+"/oauth2/v2.0/token" || p == "/"+seg+"/v2.0" {
				return true
			}
		}
	}
	return false
}

// certInfo is a registered certificate with its thumbprints.
type certInfo struct {
	cert   *x509.Certificate
	sha256 [32]byte
	sha1   [20]byte
}

func newCertInfo(c *x509.Certificate) *certInfo {
	return &certInfo{cert: c, sha256: sha256.Sum256(c.Raw), sha1: sha1.Sum(c.Raw)} // #nosec: x5t is SHA-1 by definition
}

// decodeThumbprint decodes an x5t or x5t#S256 value. RFC 7515 says base64url, MSAL Go sends
// standard base64 with padding: accept both.
func decodeThumbprint(v string) ([]byte, bool) {
	v = strings.TrimRight(v, "=")
	if b, err := base64.RawURLEncoding.DecodeString(v); err == nil {
		return b, true
	}
	if b, err := base64.RawStdEncoding.DecodeString(v); err == nil {
		return b, true
	}
	return nil, false
}
