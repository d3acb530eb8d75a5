package web

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/graphauth/graphauth/internal/auth"
)

// flowLog is this session's sign-in as it happened, for the /flow page: what the app sent and
// received at each of the tutorial's six steps. It holds no secret and no token (auth's recording
// transport removes them before anything is kept), it is bounded (maxFlowLogBytes), and it lives
// in the server-side session, so logging out deletes it with everything else.
type flowLog struct {
	// State ties a callback to the login that started it: several tabs may sign in at once.
	State string `json:"state"`

	// Steps 1 and 2: GET /login started the sign-in and built the authorize URL.
	LoginAt      time.Time    `json:"login_at"`
	AuthorizeURL string       `json:"authorize_url"`
	Authorize    []auth.Field `json:"authorize"`

	// Step 4: the browser came back to the redirect URI with a code.
	CallbackAt    time.Time    `json:"callback_at,omitzero"`
	CallbackQuery []auth.Field `json:"callback_query,omitempty"`
	// Step 5: the code redemption, as it went over the wire.
	Redeem *auth.Exchange `json:"redeem,omitempty"`
	// Step 6: the first Graph call, and where its access token came from.
	Graph       *auth.Exchange `json:"graph,omitempty"`
	GraphSource string         `json:"graph_source,omitempty"`

	// Origin is where the session's current access token came from, for /token.
	Origin tokenOrigin `json:"origin"`
}

type tokenOrigin struct {
	Source string         `json:"source"` // "code redemption" or "refresh"
	At     time.Time      `json:"at"`
	Call   *auth.Exchange `json:"call,omitempty"` // the refresh request (the redemption is Redeem)
}

// maxFlowLogBytes bounds the recording kept in the session (JSON).
const maxFlowLogBytes = 8 << 10

// loginLog is /flow's record of steps 1 and 2 of a sign-in just started; it travels with the
// flow in the sign-in cookie until the callback completes it.
func loginLog(f auth.Flow, authURL string) flowLog {
	l := flowLog{State: f.State, LoginAt: f.Started.UTC(), AuthorizeURL: shortURL(authURL)}
	if u, err := url.Parse(authURL); err == nil {
		l.Authorize = orderedFields(u.Query(), authorizeOrder)
	}
	return l
}

// recordCallback completes the record of the sign-in that just succeeded: the callback's query
// (step 4) and the token request and response (step 5) that rec captured.
func (a *App) recordCallback(ctx context.Context, f auth.Flow, l flowLog, q url.Values, rec *auth.Recorder) {
	if !f.Incremental() {
		a.sessions.Remove(ctx, keyFlowGraphDone) // a new sign-in: its step 6 is still to come
	}
	if l.State != f.State { // the record did not fit in the cookie: keep what is known
		l = flowLog{State: f.State, LoginAt: f.Started.UTC()}
	}
	l.CallbackAt = a.now().UTC()
	l.CallbackQuery = orderedFields(q, callbackOrder)
	if ex, ok := rec.Last("token"); ok {
		l.Redeem = &ex
		// The callback arrived just before the app redeemed its code.
		l.CallbackAt = ex.At
	}
	l.Origin = tokenOrigin{Source: "code redemption", At: l.CallbackAt}
	if f.Incremental() {
		// A later authorization for more scopes: /flow shows it as its own steps, after the
		// sign-in's record, which stays as it was.
		a.saveFlowLogAs(ctx, keyFlowLogConsent, l)
		return
	}
	a.saveFlowLog(ctx, l)
}

// recordGraphCall keeps step 6: the first Graph call after sign-in (or the first that
// succeeded), and where its token came from. Later calls that change nothing are not recorded,
// so /msal-demo does not rewrite the session on every visit.
func (a *App) recordGraphCall(ctx context.Context, tok auth.Token, rec *auth.Recorder) {
	// The common case, a later visit with a cached token, must not pay for decoding the record.
	if tok.Source != "refresh" && a.sessions.GetBool(ctx, keyFlowGraphDone) {
		return
	}
	l, ok := a.flowLog(ctx)
	ex, called := rec.Last("graph")
	if !ok || !called {
		return
	}
	firstOK := l.Graph == nil || l.Graph.Status != http.StatusOK
	if !firstOK && tok.Source != "refresh" {
		return
	}
	if firstOK {
		ex.Response = dropClaims(ex.Response)
		l.Graph, l.GraphSource = &ex, tok.Source
	}
	if tok.Source == "refresh" {
		l.Origin = refreshOrigin(rec, a.now())
	}
	a.saveFlowLog(ctx, l)
	if l.Graph != nil && l.Graph.Status == http.StatusOK && !a.sessions.GetBool(ctx, keyFlowGraphDone) {
		a.sessions.Put(ctx, keyFlowGraphDone, true)
	}
}

// recordRefresh notes that the session's access token now comes from a refresh.
func (a *App) recordRefresh(ctx context.Context, rec *auth.Recorder) {
	l, ok := a.flowLog(ctx)
	if !ok {
		l = flowLog{}
	}
	l.Origin = refreshOrigin(rec, a.now())
	a.saveFlowLog(ctx, l)
}

func refreshOrigin(rec *auth.Recorder, now time.Time) tokenOrigin {
	o := tokenOrigin{Source: "refresh", At: now.UTC()}
	if ex, ok := rec.Last("token"); ok {
		ex.Response = dropClaims(ex.Response) // /token shows the current token's claims itself
		o.Call = &ex
	}
	return o
}

func (a *App) flowLog(ctx context.Context) (flowLog, bool) { return a.flowLogAt(ctx, keyFlowLog) }

func (a *App) flowLogAt(ctx context.Context, key string) (flowLog, bool) {
	var l flowLog
	b, err := unpackFlowLog(a.sessions.GetBytes(ctx, key))
	if err != nil || len(b) == 0 || json.Unmarshal(b, &l) != nil {
		return flowLog{}, false
	}
	return l, true
}

// The records are kept deflated: every request of a signed-in user reads (and decrypts and
// decodes) the whole session, and the records are most of it, while only /flow and /token read
// them. JSON deflates to about a quarter; the mark byte tells a deflated record from a plain one
// (an older session's), which starts with '{'.
const deflatedMark = 0x01

func packFlowLog(b []byte) []byte {
	var buf bytes.Buffer
	buf.WriteByte(deflatedMark)
	zw, _ := flate.NewWriter(&buf, flate.BestSpeed) // a valid level: no error
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func unpackFlowLog(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0] != deflatedMark {
		return b, nil
	}
	zr := flate.NewReader(bytes.NewReader(b[1:]))
	defer zr.Close()
	return io.ReadAll(io.LimitReader(zr, 4*maxFlowLogBytes))
}

// saveFlowLog stores l, trimmed until it fits maxFlowLogBytes: the session stays small whatever
// the identity platform sends.
func (a *App) saveFlowLog(ctx context.Context, l flowLog) { a.saveFlowLogAs(ctx, keyFlowLog, l) }

func (a *App) saveFlowLogAs(ctx context.Context, key string, l flowLog) {
	b, _ := json.Marshal(l)
	for _, trim := range []func(*flowLog){
		func(l *flowLog) { l.Origin.Call = nil },
		func(l *flowLog) {
			if l.Graph != nil {
				l.Graph.Response = nil
			}
		},
		func(l *flowLog) {
			if l.Redeem != nil {
				l.Redeem.Response = dropClaimsOf(l.Redeem.Response, "access_token")
			}
		},
		func(l *flowLog) {
			if l.Redeem != nil {
				l.Redeem.Response = dropClaims(l.Redeem.Response)
			}
		},
		func(l *flowLog) { l.AuthorizeURL = "" },
		func(l *flowLog) { l.Redeem, l.Graph = nil, nil },
	} {
		if len(b) <= maxFlowLogBytes {
			break
		}
		trim(&l)
		b, _ = json.Marshal(l)
	}
	a.sessions.Put(ctx, key, packFlowLog(b))
}

func dropClaims(fs []auth.Field) []auth.Field { return dropClaimsOf(fs, "") }

// dropClaimsOf removes the decoded claims of the named field ("" = of every field).
func dropClaimsOf(fs []auth.Field, name string) []auth.Field {
	out := make([]auth.Field, len(fs))
	for i, f := range fs {
		if f.Claims != nil && (name == "" || f.Name == name) {
			f.Value = strings.TrimSuffix(f.Value, "; its decoded claims:)") + ")"
			f.Claims = nil
		}
		out[i] = f
	}
	return out
}

// The order a reader meets the parameters in; others follow alphabetically.
var (
	authorizeOrder = []string{"client_id", "response_type", "redirect_uri", "scope", "state", "nonce",
		"code_challenge", "code_challenge_method", "response_mode"}
	callbackOrder = []string{"code", "state", "session_state", "error", "error_description"}
)

func orderedFields(q url.Values, first []string) []auth.Field {
	rank := map[string]int{}
	for i, k := range first {
		rank[k] = i + 1
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank[keys[i]], rank[keys[j]]
		switch {
		case ri != 0 && rj != 0:
			return ri < rj
		case ri != 0 || rj != 0:
			return ri != 0
		}
		return keys[i] < keys[j]
	})
	var out []auth.Field
	for _, k := range keys {
		if len(out) == 24 {
			break
		}
		out = append(out, auth.SafeField(k, q.Get(k)))
	}
	return out
}

func shortURL(s string) string {
	if len(s) > 1500 {
		return s[:1500] + "…"
	}
	return s
}

// ---- GET /flow ----

// paramRow is one parameter on /flow with what it is for.
type paramRow struct {
	Name, Value, Note string
	Claims            []auth.Field
}

type exchangeView struct {
	At, Since    string
	Method, URL  string
	ReqHeaders   []auth.Field
	Form         []paramRow
	Status       int
	StatusText   string
	Duration     string
	Headers      []auth.Field
	Response     []paramRow
	Err          string
	GrantType    string
	FailedAnswer bool
}

type flowView struct {
	Recorded bool

	LoginAt      string
	AuthorizeURL string
	Authority    string // host of the authorize endpoint
	Authorize    []paramRow
	SentState    string
	SentNonce    string
	SentScope    string

	AtIdentityPlatform string // step 3: time between the redirect and the callback

	CallbackAt    string
	CallbackSince string
	Callback      []paramRow
	StateMatches  bool

	Redeem        *exchangeView
	NonceInToken  string
	NonceMatches  bool
	RedirectURI   string
	ClientID      string
	SessionCookie string // its name, never its value

	Graph       *exchangeView
	GraphSource string

	// Consent is a later authorization for more scopes (incremental consent), if any.
	Consent *laterView
}

// laterView is an incremental authorization's steps 2 to 5, shown after the sign-in's.
type laterView struct {
	LoginAt, CallbackAt string
	AuthorizeURL        string
	Authorize           []paramRow
	SentScope           string
	Callback            []paramRow
	StateMatches        bool
	Redeem              *exchangeView
	NonceMatches        bool
}

// flow shows the six steps of this session's sign-in, as recorded when they happened.
func (a *App) flow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if _, ok := a.currentUser(ctx); !ok {
		http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusFound) // back here after sign-in
		return
	}
	v := flowView{RedirectURI: a.cfg.RedirectURI, ClientID: a.cfg.ClientID, SessionCookie: a.sessions.Cookie.Name}
	l, ok := a.flowLog(ctx)
	if ok && !l.LoginAt.IsZero() {
		v.Recorded = true
		v.LoginAt = clock(l.LoginAt)
		v.AuthorizeURL = l.AuthorizeURL
		if u, err := url.Parse(l.AuthorizeURL); err == nil {
			v.Authority = u.Host
		}
		v.Authorize = rows(l.Authorize, authorizeNotes)
		v.SentState, v.SentNonce, v.SentScope = value(l.Authorize, "state"), value(l.Authorize, "nonce"), value(l.Authorize, "scope")
		if !l.CallbackAt.IsZero() {
			v.AtIdentityPlatform = l.CallbackAt.Sub(l.LoginAt).Round(time.Millisecond).String()
			v.CallbackAt, v.CallbackSince = clock(l.CallbackAt), since(l.LoginAt, l.CallbackAt)
		}
		v.Callback = rows(l.CallbackQuery, callbackNotes)
		v.StateMatches = v.SentState != "" && value(l.CallbackQuery, "state") == v.SentState
		if l.Redeem != nil {
			v.Redeem = exchange(*l.Redeem, l.LoginAt)
			for _, f := range l.Redeem.Response {
				if f.Name == "id_token" {
					v.NonceInToken = value(f.Claims, "nonce")
				}
			}
			v.NonceMatches = v.NonceInToken != "" && v.NonceInToken == v.SentNonce
		}
		if l.Graph != nil {
			v.Graph = exchange(*l.Graph, l.LoginAt)
			v.GraphSource = l.GraphSource
		}
	}
	if c, ok := a.flowLogAt(ctx, keyFlowLogConsent); ok && !c.LoginAt.IsZero() {
		lv := &laterView{LoginAt: clock(c.LoginAt), CallbackAt: clock(c.CallbackAt), AuthorizeURL: c.AuthorizeURL,
			Authorize: rows(c.Authorize, authorizeNotes), SentScope: value(c.Authorize, "scope"),
			Callback: rows(c.CallbackQuery, callbackNotes)}
		lv.StateMatches = value(c.Authorize, "state") != "" && value(c.CallbackQuery, "state") == value(c.Authorize, "state")
		if c.Redeem != nil {
			lv.Redeem = exchange(*c.Redeem, c.LoginAt)
			for _, f := range c.Redeem.Response {
				if f.Name == "id_token" {
					lv.NonceMatches = value(f.Claims, "nonce") != "" && value(f.Claims, "nonce") == value(c.Authorize, "nonce")
				}
			}
		}
		v.Consent = lv
	}
	a.render(w, r, http.StatusOK, "flow.html", "Your sign-in, step by step", v)
}

func exchange(e auth.Exchange, start time.Time) *exchangeView {
	notes := tokenRequestNotes
	respNotes := tokenResponseNotes
	if e.Kind == "graph" {
		notes, respNotes = nil, nil
	}
	v := &exchangeView{At: clock(e.At), Since: since(start, e.At), Method: e.Method, URL: e.URL,
		ReqHeaders: e.ReqHeaders, Form: rows(reorder(e.Form, tokenFormOrder), notes), Status: e.Status, StatusText: http.StatusText(e.Status),
		Duration: ms(e.Duration), Headers: e.Headers, Response: rows(e.Response, respNotes), Err: e.Err,
		GrantType: e.Field("grant_type"), FailedAnswer: e.Status >= 400}
	return v
}

// tokenFormOrder is the order a reader meets a token request's fields in.
var tokenFormOrder = []string{"grant_type", "code", "refresh_token", "redirect_uri", "code_verifier", "client_id",
	"client_secret", "client_assertion_type", "client_assertion", "scope", "client_info"}

// reorder puts the named fields first, in that order, and keeps the rest as they were.
func reorder(fs []auth.Field, first []string) []auth.Field {
	out := make([]auth.Field, 0, len(fs))
	for _, name := range first {
		for _, f := range fs {
			if f.Name == name {
				out = append(out, f)
			}
		}
	}
	for _, f := range fs {
		if !slices.Contains(first, f.Name) {
			out = append(out, f)
		}
	}
	return out
}

func rows(fs []auth.Field, notes map[string]string) []paramRow {
	out := make([]paramRow, 0, len(fs))
	for _, f := range fs {
		out = append(out, paramRow{Name: f.Name, Value: f.Value, Note: notes[f.Name], Claims: f.Claims})
	}
	return out
}

func value(fs []auth.Field, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// clock is when a step happened, written as every time on /token and /flow (timefmt.go).
func clock(t time.Time) string { return stamp(t) }

func since(start, t time.Time) string {
	if start.IsZero() || t.IsZero() {
		return ""
	}
	return "+" + t.Sub(start).Round(time.Millisecond).String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// The notes beside each parameter: what it is for, and what would go wrong without it.
var authorizeNotes = map[string]string{
	"client_id":     "Which app registration is asking: your CLIENT_ID. The identity platform looks up the app's redirect URIs and permissions by it.",
	"response_type": "code: send back an authorization code, not tokens. Tokens are fetched server to server in step 5, so they never pass through the browser's address bar or history.",
	"redirect_uri":  "Where to send the browser back (step 4). It must match a redirect URI registered for the app exactly (scheme, host, port, path), or the identity platform stops with AADSTS50011.",
	"scope":         "The permissions asked for: your SCOPE. MSAL adds openid, profile and offline_access to the token request of step 5: an ID token, your name in it, and a refresh token.",
	"state":         "A random value the app keeps sealed in a short-lived cookie your browser cannot read or change. The callback must bring it back unchanged: that proves the answer belongs to a sign-in this browser started. Without it an attacker could make your browser finish their sign-in (login CSRF) and you would use the app as them.",
	"nonce":         "A random value the identity platform copies into the ID token. The app compares them in step 5, so an ID token from another sign-in, or a replayed one, is refused.",
	"code_challenge": "PKCE: the SHA-256 (base64url) of a random code_verifier that stays on the server. In step 5 the app sends the verifier and the identity platform checks that it hashes to this. " +
		"Someone who steals the code on its way back (a log, a proxy, a browser extension) cannot redeem it without the verifier.",
	"code_challenge_method": "S256: the challenge is a SHA-256 hash. The other method, plain, would send the verifier itself and protect nothing.",
	"response_mode":         "query: the code comes back in the URL of an ordinary GET, so your session cookie (SameSite=Lax) comes with it and the app can find the state it stored.",
	"client_info":           "Asks for client_info in the token response: MSAL keys your account in its token cache by it.",
	"prompt":                "How much the identity platform must ask: select_account, login or consent.",
	"login_hint":            "Pre-fills the account to sign in with.",
	"domain_hint":           "Skips the account picker for a known tenant.",
	"claims":                "Extra claims asked for (for example by Conditional Access).",
	"x-client-SKU":          "MSAL's name, for Microsoft's telemetry.",
	"x-client-VER":          "MSAL's version, for Microsoft's telemetry.",
	"x-client-OS":           "The operating system, for Microsoft's telemetry.",
	"x-client-CPU":          "The CPU architecture, for Microsoft's telemetry.",
}

var callbackNotes = map[string]string{
	"code": "The authorization code: single-use, valid for a few minutes, and worthless without the app's credential and the PKCE verifier. Shown truncated. " +
		"The app sends no Referer header (Referrer-Policy: no-referrer), so this URL does not leak to other sites.",
	"state":             "Must equal the state sent in step 2. The app compares them in constant time, then removes the flow from the sign-in cookie, so this callback cannot be replayed.",
	"session_state":     "The identity platform's own session ID, for front-channel sign-out. This app does not use it.",
	"client_info":       "The account's uid and utid, encoded.",
	"error":             "The identity platform sent an error instead of a code.",
	"error_description": "Its explanation, starting with the AADSTS code.",
}

var tokenRequestNotes = map[string]string{
	"grant_type":            "What is being redeemed: authorization_code here (refresh_token when a token is renewed later).",
	"code":                  "The code from step 4, truncated here. It can be redeemed once.",
	"redirect_uri":          "The same redirect URI as in step 2: the identity platform checks that they match (AADSTS500112 otherwise).",
	"client_id":             "Your CLIENT_ID.",
	"client_secret":         "The app's credential. It proves the request comes from the app, not from whoever intercepted the code. Never shown, never logged.",
	"client_assertion":      "The certificate credential: a short-lived JWT signed with the app's private key, sent instead of a secret. Redacted.",
	"client_assertion_type": "Says the credential is a signed JWT (jwt-bearer).",
	"code_verifier":         "The PKCE verifier, redacted. Its SHA-256 must equal step 2's code_challenge, which proves that whoever redeems the code is whoever started the sign-in.",
	"scope":                 "The permissions asked for, as in step 2.",
	"client_info":           "1: asks for client_info, MSAL's key for your account in its cache.",
	"refresh_token":         "The refresh token being redeemed. Redacted.",
}

var tokenResponseNotes = map[string]string{
	"token_type":        "Bearer: whoever holds the access token can use it. That is why it stays on the server, in the session's token cache.",
	"scope":             "The permissions actually granted; they can be fewer than asked for.",
	"expires_in":        "Seconds until the access token expires. MSAL refreshes it 5 minutes early.",
	"ext_expires_in":    "A longer lifetime that Microsoft services honour while the identity platform itself is down.",
	"access_token":      "For Microsoft Graph, not for this app: its audience (aud) is Graph, which validates it. Only its claims are shown; some Microsoft tokens are encrypted and have none to show.",
	"id_token":          "Who signed in, addressed to this app (aud is your client ID). The app checked nonce, iss, aud and exp before trusting it. The welcome page's name comes from here.",
	"refresh_token":     "Lets the app get new access tokens later without sending you back to sign in. Long-lived, so redacted.",
	"client_info":       "uid.utid: MSAL's key for your account in the token cache; the session keeps it to find your tokens.",
	"error":             "The OAuth error.",
	"error_description": "Entra's explanation, starting with the AADSTS code.",
	"error_codes":       "The AADSTS code(s). The error page explains them.",
	"trace_id":          "Quote it (with the correlation ID) when asking Microsoft for help.",
	"correlation_id":    "The client-request-id MSAL sent, echoed back.",
}
