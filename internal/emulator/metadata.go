package emulator

import (
	"math/big"
	"net/http"
	"strings"
)

// openIDConfiguration is the v2.0 OpenID Provider metadata, in Entra ID's shape.
type openIDConfiguration struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	UserInfoEndpoint                  string   `json:"userinfo_endpoint"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
}

// handleMetadata serves GET /{tenant}/v2.0/.well-known/openid-configuration.
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	s.count("metadata")
	if s.injectJSONFault(w, r, "metadata") {
		return
	}
	tenant := strings.ToLower(r.PathValue("tenant"))
	if !s.knownTenant(tenant) {
		e := aad(90002, "tenant", r.PathValue("tenant"))
		e.Err = "invalid_tenant" // the metadata endpoint's name for it
		s.writeEntraError(w, r, e)
		return
	}
	base := s.base(r)
	issuer := base + "/" + s.tenant + "/v2.0"
	if tenant == "common" || tenant == "organizations" {
		// Multi-tenant metadata has a template issuer; a client substitutes the user's tenant.
		issuer = base + "/{tenantid}/v2.0"
	}
	endpoint := base + "/" + tenant + "/oauth2/v2.0"
	md := openIDConfiguration{
		TokenEndpoint:                     endpoint + "/token",
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		JWKSURI:                           base + "/" + tenant + "/discovery/v2.0/keys",
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ResponseTypesSupported:            []string{"code"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		Issuer:                            issuer,
		RequestURIParameterSupported:      false,
		UserInfoEndpoint:                  base + "/oidc/userinfo",
		AuthorizationEndpoint:             endpoint + "/authorize",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                endpoint + "/logout",
		ClaimsSupported: []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
			"cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce",
			"preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
		CodeChallengeMethodsSupported: []string{"S256"},
		CloudInstanceName:             "emulator.localhost",
		CloudGraphHostName:            "graph.emulator.localhost",
		MSGraphHost:                   strings.TrimPrefix(base, "https://"),
	}
	w.Header().Set("Cache-Control", "max-age=86400, private")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, md)
}

type jwk struct {
	Kty    string `json:"kty"`
	Use    string `json:"use"`
	Kid    string `json:"kid"`
	Alg    string `json:"alg"`
	N      string `json:"n"`
	E      string `json:"e"`
	Issuer string `json:"issuer"`
}

// handleKeys serves GET /{tenant}/discovery/v2.0/keys: the RS256 key that signs ID and
// access tokens.
func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request) {
	s.count("keys")
	if s.injectJSONFault(w, r, "keys") {
		return
	}
	if !s.knownTenant(r.PathValue("tenant")) {
		e := aad(90002, "tenant", r.PathValue("tenant"))
		e.Err = "invalid_tenant"
		s.writeEntraError(w, r, e)
		return
	}
	pub := s.st.signer.key.PublicKey
	key := jwk{
		Kty:    "RSA",
		Use:    "sig",
		Kid:    s.st.signer.kid,
		Alg:    "RS256",
		N:      b64url(pub.N.Bytes()),
		E:      b64url(big.NewInt(int64(pub.E)).Bytes()),
		Issuer: s.issuer(r),
	}
	w.Header().Set("Cache-Control", "max-age=86400, private")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, map[string][]jwk{"keys": {key}})
}
