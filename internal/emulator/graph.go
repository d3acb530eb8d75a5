package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// graphError is Microsoft Graph's error body.
type graphError struct {
	status  int
	code    string
	message string
}

// handleMe serves GET /v1.0/me: the signed-in user's profile, for a delegated token with a
// scope that allows it.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	s.count("graph:me")
	if f, ok := s.takeFault("graph"); ok {
		if !s.sleep(r, f.Delay) {
			return
		}
		if !f.delayOnly() {
			s.writeGraphError(w, r, f.graphError(), f.RetryAfter)
			return
		}
	}
	claims, gerr := s.graphAuth(r)
	if gerr != nil {
		s.writeGraphError(w, r, gerr, 0)
		return
	}
	if claims.str(claims.claims, "idtyp") == "app" || claims.str(claims.claims, "scp") == "" {
		s.writeGraphError(w, r, &graphError{http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow."}, 0)
		return
	}
	if !scopeAllows(claims.str(claims.claims, "scp"), meScopes) {
		s.writeGraphError(w, r, &graphError{http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}, 0)
		return
	}
	oid := claims.str(claims.claims, "oid")
	user, ok := s.findUser(oid)
	if !ok || !strings.EqualFold(user.ID, oid) {
		s.writeGraphError(w, r, &graphError{http.StatusNotFound, "Request_ResourceNotFound", "Resource '" + oid + "' does not exist or one of its queried reference-property objects are not present."}, 0)
		return
	}
	body, gerr := meJSON(user, r.URL.Query())
	if gerr != nil {
		s.writeGraphError(w, r, gerr, 0)
		return
	}
	s.graphHeaders(w, r)
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// handleUserInfo serves GET /oidc/userinfo, the OpenID Connect UserInfo endpoint that Entra ID
// hosts on Graph. It needs a token with the openid scope.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	s.count("graph:userinfo")
	claims, gerr := s.graphAuth(r)
	if gerr != nil {
		s.writeGraphError(w, r, gerr, 0)
		return
	}
	if !scopeAllows(claims.str(claims.claims, "scp"), map[string]string{"openid": "openid"}) {
		s.writeGraphError(w, r, &graphError{http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}, 0)
		return
	}
	user, ok := s.findUser(claims.str(claims.claims, "oid"))
	if !ok {
		s.writeGraphError(w, r, &graphError{http.StatusNotFound, "Request_ResourceNotFound", "The user does not exist."}, 0)
		return
	}
	info := map[string]string{
		"sub":         claims.str(claims.claims, "sub"),
		"name":        user.DisplayName,
		"family_name": user.Surname,
		"given_name":  user.GivenName,
	}
	if user.Mail != "" {
		info["email"] = user.Mail
	}
	s.graphHeaders(w, r)
	writeJSON(w, http.StatusOK, info)
}

// graphAuth checks the bearer token as Graph does: signature, lifetime, audience, issuer.
func (s *Server) graphAuth(r *http.Request) (*jws, *graphError) {
	invalid := func(msg string) *graphError {
		return &graphError{http.StatusUnauthorized, "InvalidAuthenticationToken", msg}
	}
	authz := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(authz, " ")
	token = strings.TrimSpace(token)
	if authz == "" || token == "" || !strings.EqualFold(scheme, "Bearer") {
		return nil, invalid("Access token is empty.")
	}
	if strings.Count(token, ".") != 2 {
		return nil, invalid("IDX14100: JWT is not well formed, there are no dots (.).")
	}
	t, err := parseJWS(token)
	if err != nil {
		return nil, invalid("Invalid JWT token. The token is malformed.")
	}
	if t.str(t.header, "kid") != s.st.signer.kid || t.verifyRSA(&s.st.signer.key.PublicKey, "RS256") != nil {
		return nil, invalid("Access token validation failure.")
	}
	now := time.Now()
	exp, ok := t.num(t.claims, "exp")
	if !ok || !now.Before(time.Unix(exp, 0)) {
		return nil, invalid("Lifetime validation failed, the token is expired.")
	}
	if nbf, ok := t.num(t.claims, "nbf"); ok && now.Add(5*time.Minute).Before(time.Unix(nbf, 0)) {
		return nil, invalid("Lifetime validation failed, the token is not yet valid.")
	}
	audOK := false
	for _, aud := range t.strs(t.claims, "aud") {
		a := strings.TrimSuffix(strings.ToLower(aud), "/")
		audOK = audOK || a == graphResource || a == graphAppID
	}
	if !audOK {
		return nil, invalid("Access token validation failure. Invalid audience.")
	}
	iss, err := url.Parse(t.str(t.claims, "iss"))
	if err != nil || !isLoopbackHost(iss.Hostname()) || !strings.EqualFold(iss.Path, "/"+s.tenant+"/v2.0") ||
		!strings.EqualFold(t.str(t.claims, "tid"), s.tenant) {
		return nil, invalid("Access token validation failure. Invalid issuer.")
	}
	return t, nil
}

// scopeAllows reports whether the space-separated scp holds one of allowed (by lower-case name).
func scopeAllows(scp string, allowed map[string]string) bool {
	for _, sc := range strings.Fields(scp) {
		if _, ok := allowed[strings.ToLower(sc)]; ok {
			return true
		}
	}
	return false
}

// meFields are /me's default properties, in Graph's order.
var meFields = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

// meJSON renders the user as Graph does: ordered properties, null for unset ones, and
// $select support.
func meJSON(u User, q url.Values) ([]byte, *graphError) {
	values := map[string]any{
		"businessPhones":    u.BusinessPhones,
		"displayName":       nullable(u.DisplayName),
		"givenName":         nullable(u.GivenName),
		"jobTitle":          nullable(u.JobTitle),
		"mail":              nullable(u.Mail),
		"mobilePhone":       nullable(u.MobilePhone),
		"officeLocation":    nullable(u.OfficeLocation),
		"preferredLanguage": nullable(u.PreferredLanguage),
		"surname":           nullable(u.Surname),
		"userPrincipalName": u.UserPrincipalName,
		"id":                u.ID,
	}
	fields := meFields
	context := "https://graph.microsoft.com/v1.0/$metadata#users/$entity"
	if sel := q.Get("$select"); sel != "" {
		fields = nil
		for _, f := range strings.Split(sel, ",") {
			f = strings.TrimSpace(f)
			canonical := ""
			for _, known := range meFields {
				if strings.EqualFold(known, f) {
					canonical = known
				}
			}
			if canonical == "" {
				return nil, &graphError{http.StatusBadRequest, "BadRequest", "Could not find a property named '" + f + "' on type 'microsoft.graph.user'."}
			}
			fields = append(fields, canonical)
		}
		context = "https://graph.microsoft.com/v1.0/$metadata#users(" + strings.Join(fields, ",") + ")/$entity"
	}
	var buf bytes.Buffer
	buf.WriteString(`{"@odata.context":`)
	ctx, _ := json.Marshal(context)
	buf.Write(ctx)
	for _, f := range fields {
		v, err := json.Marshal(values[f])
		if err != nil {
			return nil, &graphError{http.StatusInternalServerError, "generalException", "An unspecified error has occurred."}
		}
		buf.WriteString(`,"` + f + `":`)
		buf.Write(v)
	}
	buf.WriteString("}")
	return buf.Bytes(), nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// graphHeaders sets the headers Graph puts on every response.
func (s *Server) graphHeaders(w http.ResponseWriter, r *http.Request) (requestID, clientRequestID string) {
	requestID = newGUID()
	clientRequestID = r.Header.Get("client-request-id")
	if clientRequestID == "" {
		clientRequestID = requestID
	}
	h := w.Header()
	h.Set("request-id", requestID)
	h.Set("client-request-id", clientRequestID)
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Local emulator","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"emulator"}}`)
	h.Set("Cache-Control", "no-cache")
	return requestID, clientRequestID
}

// writeGraphError writes Graph's error shape; a 401 carries WWW-Authenticate.
func (s *Server) writeGraphError(w http.ResponseWriter, r *http.Request, e *graphError, retryAfter int) {
	requestID, clientRequestID := s.graphHeaders(w, r)
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+s.base(r)+`/common/oauth2/authorize", client_id="`+graphAppID+`"`)
	}
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	s.log.Info("emulator graph error", "path", r.URL.Path, "status", e.status, "code", e.code)
	body := map[string]any{"error": map[string]any{
		"code":    e.code,
		"message": e.message,
		"innerError": map[string]string{
			"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        requestID,
			"client-request-id": clientRequestID,
		},
	}}
	writeJSON(w, e.status, body)
}

// graphError turns an injected fault into Graph's error for it.
func (f Fault) graphError() *graphError {
	byCode := map[string]int{
		"toomanyrequests": 429, "activitylimitreached": 429,
		"servicenotavailable": 503, "serviceunavailable": 503,
		"gatewaytimeout": 504, "invalidauthenticationtoken": 401,
		"authorization_requestdenied": 403, "accessdenied": 403, "forbidden": 403,
		"request_resourcenotfound": 404, "itemnotfound": 404, "badrequest": 400,
	}
	byStatus := map[int]string{
		429: "TooManyRequests", 503: "serviceNotAvailable", 504: "gatewayTimeout", 401: "InvalidAuthenticationToken",
		403: "Authorization_RequestDenied", 404: "Request_ResourceNotFound", 400: "BadRequest",
	}
	messages := map[int]string{
		429: "Too many requests.", 503: "The service is temporarily unavailable. Please retry later.",
		504: "The request timed out.", 401: "Access token validation failure.",
		403: "Insufficient privileges to complete the operation.", 404: "The resource could not be found.",
		400: "The request is not valid.",
	}
	status, code := f.Status, f.Error
	if status == 0 {
		if status = byCode[strings.ToLower(code)]; status == 0 {
			status = http.StatusInternalServerError
		}
	}
	if code == "" {
		if code = byStatus[status]; code == "" {
			code = "generalException"
		}
	}
	msg := f.Description
	if msg == "" {
		if msg = messages[status]; msg == "" {
			msg = "An unspecified error has occurred."
		}
	}
	return &graphError{status: status, code: code, message: msg}
}
