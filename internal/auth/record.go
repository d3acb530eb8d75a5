package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Recording lets the app show a learner the calls it made on their behalf (the /flow and /token
// pages): the exact token request and response, the Graph call, with their timings. It works
// at the HTTP level, under MSAL, because MSAL does not expose what it sends.
//
// Nothing secret is ever kept: the transport below redacts credentials, verifiers, codes and
// refresh tokens, and replaces every token by its decoded claims, before anything is stored.
// Only calls made with a Recorder in their context are recorded; all others pass untouched.

// Field is one name/value pair of a recorded request or response, already made safe to show.
type Field struct {
	Name  string `json:"n"`
	Value string `json:"v"`
	// Claims are a token's decoded payload, shown instead of the token itself.
	Claims []Field `json:"c,omitempty"`
}

// Exchange is one HTTP call as it went over the wire, minus every secret.
type Exchange struct {
	Kind       string        `json:"kind"` // "token", "graph", "metadata" or "other"
	At         time.Time     `json:"at"`
	Method     string        `json:"method"`
	URL        string        `json:"url"`
	ReqHeaders []Field       `json:"req_headers,omitempty"`
	Form       []Field       `json:"form,omitempty"` // the form body (token requests)
	Status     int           `json:"status,omitempty"`
	Duration   time.Duration `json:"duration"`
	Headers    []Field       `json:"headers,omitempty"` // selected response headers
	Response   []Field       `json:"response,omitempty"`
	Err        string        `json:"err,omitempty"` // the call failed before an answer
}

// Field returns the value of the named form or response field ("" when absent).
func (e Exchange) Field(name string) string {
	for _, f := range append(slices.Clip(e.Form), e.Response...) {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// Recorder collects the exchanges of one request. The zero value is ready to use.
type Recorder struct {
	mu sync.Mutex
	ex []Exchange
}

// maxExchanges bounds a recorder: one request makes a handful of calls at most.
const maxExchanges = 8

func (r *Recorder) add(e Exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ex) < maxExchanges {
		r.ex = append(r.ex, e)
	}
}

// Exchanges returns what was recorded so far, oldest first.
func (r *Recorder) Exchanges() []Exchange {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ex)
}

// Last returns the most recent exchange of the given kind.
func (r *Recorder) Last(kind string) (Exchange, bool) {
	ex := r.Exchanges()
	for i := len(ex) - 1; i >= 0; i-- {
		if ex[i].Kind == kind {
			return ex[i], true
		}
	}
	return Exchange{}, false
}

type recorderKey struct{}

// WithRecorder makes the outbound calls made with ctx recorded into rec.
func WithRecorder(ctx context.Context, rec *Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, rec)
}

// RecordingTransport wraps next so that calls whose context carries a Recorder are recorded.
func RecordingTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return recordingTransport{next: next}
}

type recordingTransport struct{ next http.RoundTripper }

// maxRecordedBody bounds how much of a body is read for the record; the caller still gets all.
const maxRecordedBody = 64 << 10

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, _ := req.Context().Value(recorderKey{}).(*Recorder)
	if rec == nil {
		return t.next.RoundTrip(req)
	}
	e := Exchange{At: time.Now().UTC(), Method: req.Method, URL: safeURL(req.URL)}
	e.ReqHeaders = pickHeaders(req.Header, requestHeaders)
	if req.Body != nil && req.GetBody != nil && isForm(req.Header.Get("Content-Type")) {
		if body, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(io.LimitReader(body, maxRecordedBody))
			body.Close()
			if form, err := url.ParseQuery(string(b)); err == nil {
				e.Form = safeForm(form)
			}
		}
	}
	e.Kind = kindOf(req, e.Form)

	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		e.Duration = time.Since(start)
		e.Err = shorten(err.Error(), 200)
		rec.add(e)
		return resp, err
	}
	// Read (a bounded part of) the answer for the record, then hand the caller all of it.
	buf, rerr := io.ReadAll(io.LimitReader(resp.Body, maxRecordedBody))
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(buf), resp.Body), resp.Body}
	e.Duration = time.Since(start)
	e.Status = resp.StatusCode
	e.Headers = pickHeaders(resp.Header, responseHeaders)
	if rerr == nil && len(buf) < maxRecordedBody && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		e.Response = safeJSON(buf, e.Kind)
	}
	rec.add(e)
	return resp, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

func isForm(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/x-www-form-urlencoded"
}

func kindOf(req *http.Request, form []Field) string {
	switch {
	case strings.HasSuffix(req.URL.Path, "/openid-configuration"):
		return "metadata"
	case req.Method == http.MethodPost && slices.ContainsFunc(form, func(f Field) bool { return f.Name == "grant_type" }):
		return "token"
	case strings.HasPrefix(req.Header.Get("Authorization"), "Bearer "):
		return "graph"
	}
	return "other"
}

// The headers worth showing; everything else (cookies, proxies' additions) is left out.
var (
	requestHeaders  = []string{"Authorization", "Content-Type", "Accept", "client-request-id", "x-client-sku", "x-client-ver", "x-client-os"}
	responseHeaders = []string{"Content-Type", "request-id", "x-ms-request-id", "client-request-id", "Retry-After", "WWW-Authenticate"}
)

func pickHeaders(h http.Header, names []string) []Field {
	var out []Field
	for _, n := range names {
		v := h.Get(n)
		if v == "" {
			continue
		}
		if strings.EqualFold(n, "Authorization") {
			scheme, _, _ := strings.Cut(v, " ")
			v = scheme + " " + redacted("the access token")
		}
		out = append(out, Field{Name: n, Value: shorten(v, 120)})
	}
	return out
}

// secretFields are never shown, not even in part.
var secretFields = map[string]string{
	"client_secret":    "the client secret",
	"client_assertion": "a JWT signed with the app's certificate",
	"code_verifier":    "the PKCE verifier",
	"refresh_token":    "the refresh token",
	"assertion":        "an assertion",
	"password":         "a password",
}

// tokenFields are JWTs shown as their decoded claims.
var tokenFields = map[string]bool{"access_token": true, "id_token": true}

func redacted(what string) string { return "(" + what + ": redacted)" }

// TruncateCode shows the start of an authorization code and its length, never all of it.
func TruncateCode(code string) string {
	if len(code) <= 8 {
		return fmt.Sprintf("… (%d characters)", len(code))
	}
	return fmt.Sprintf("%s… (%d characters, truncated)", code[:6], len(code))
}

func safeForm(form url.Values) []Field {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Field
	for _, k := range keys {
		out = append(out, SafeField(k, form.Get(k)))
	}
	return out
}

func safeURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			if sensitive(k, q.Get(k)) {
				q.Set(k, "REDACTED")
			}
		}
		c.RawQuery = q.Encode()
	}
	return shorten(c.String(), 300)
}

// SafeField makes one name/value pair safe to show: secrets redacted, an authorization code
// truncated, tokens replaced by their decoded claims, long values shortened.
func SafeField(name, v string) Field {
	lname := strings.ToLower(name)
	switch {
	case v == "":
		return Field{Name: name, Value: ""}
	case secretFields[lname] != "":
		return Field{Name: name, Value: redacted(secretFields[lname])}
	case lname == "code":
		return Field{Name: name, Value: TruncateCode(v)}
	case tokenFields[lname] || looksLikeJWT(v):
		claims, err := DecodeJWTPayload(v)
		if err != nil {
			return Field{Name: name, Value: fmt.Sprintf("(opaque token, %d characters: not shown)", len(v))}
		}
		return Field{Name: name, Value: fmt.Sprintf("(a JWT of %d characters: not shown; its decoded claims:)", len(v)), Claims: ClaimFields(claims)}
	case strings.Contains(lname, "secret") || strings.Contains(lname, "password") || strings.HasSuffix(lname, "_token"):
		return Field{Name: name, Value: redacted(name)}
	case lname == "client_info":
		if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "=")); err == nil && json.Valid(b) {
			return Field{Name: name, Value: shorten(string(b), 200) + " (decoded from base64url)"}
		}
	}
	return Field{Name: name, Value: shorten(v, maxValue)}
}

// maxValue is the longest value kept; the record must stay a few KB.
const maxValue = 160

// maxClaims bounds the claims kept of one token.
const maxClaims = 40

// ClaimFields turns decoded claims into fields, sorted by name, values shortened.
func ClaimFields(claims map[string]any) []Field {
	keys := make([]string, 0, len(claims))
	for k := range claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Field
	for _, k := range keys {
		if len(out) == maxClaims {
			out = append(out, Field{Name: "…", Value: fmt.Sprintf("%d more claims not kept", len(keys)-maxClaims)})
			break
		}
		out = append(out, Field{Name: k, Value: shorten(ClaimString(claims[k]), 120)})
	}
	return out
}

// ClaimString formats one claim value: strings as they are, the rest as compact JSON.
func ClaimString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func safeJSON(body []byte, kind string) []Field {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	limit := 24
	if kind == "graph" {
		limit = 12 // the profile is shown in full on /msal-demo
	}
	var out []Field
	for _, k := range keys {
		if len(out) == limit {
			out = append(out, Field{Name: "…", Value: fmt.Sprintf("%d more fields not kept", len(keys)-limit)})
			break
		}
		if k == "@odata.context" {
			continue
		}
		out = append(out, SafeField(k, ClaimString(obj[k])))
	}
	return out
}

// sensitive reports whether a field must not be shown as it is.
func sensitive(name, v string) bool {
	l := strings.ToLower(name)
	return secretFields[l] != "" || l == "code" || tokenFields[l] || looksLikeJWT(v) ||
		strings.Contains(l, "secret") || strings.Contains(l, "password") || strings.HasSuffix(l, "_token")
}

func looksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2 && !strings.ContainsAny(s, " \n")
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
