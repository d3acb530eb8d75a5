package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/graphauth/graphauth/internal/auth"
)

// claimRow is one claim on /token, with what it means (as jwt.ms explains them).
type claimRow struct {
	Name, Value, Meaning string
	When                 *moment // for a time claim (exp, iat, nbf, auth_time)
}

type tokenView struct {
	IDClaims []claimRow // the ID token from sign-in

	// The access token the app would use for Graph right now (only its claims, never itself).
	Decoded    bool // false for an opaque (encrypted) token
	Audience   string
	Scopes     []string
	Granted    []string // the scopes MSAL reports
	ExpiresISO string   // for the countdown script
	ExpiresAt  string
	ExpiresIn  string // at the time the page was made: readable without JavaScript
	IssuedAt   *moment
	ATClaims   []claimRow
	Source     string // "cache" or "refresh": how this request got it
	Origin     string // "code redemption" or "refresh": how the cached token was obtained
	OriginAt   string
	OriginCall *exchangeView
	Refreshed  *refreshResult
	RefreshAt  string // when MSAL will refresh it on its own
}

// refreshResult is what "Refresh now" did, shown once after the redirect.
type refreshResult struct {
	OldExpiry time.Time     `json:"old"`
	NewExpiry time.Time     `json:"new"`
	Took      time.Duration `json:"took"`
}

// token shows the session's tokens as claims (never the tokens themselves): the ID token's
// claims with what each means, and the access token's audience, scopes and expiry.
func (a *App) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if _, ok := a.currentUser(ctx); !ok {
		http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusFound) // back here after sign-in
		return
	}
	rec := &auth.Recorder{}
	tc := a.tokenCache(ctx)
	tok, err := a.auth.Token(auth.WithRecorder(ctx, rec), a.sessions.GetString(ctx, keyAccount), tc)
	if errors.Is(err, auth.ErrInteractionRequired) {
		a.grantEnded(w, r, http.StatusFound)
		return
	}
	if err != nil {
		a.fail(w, r, a.problemFor(err, "getting an access token"))
		return
	}
	a.saveTokenCache(ctx, tc)
	if tok.Source == "refresh" {
		a.recordRefresh(ctx, rec)
	}
	v := a.tokenView(r, tok)
	var res refreshResult
	if b := a.sessions.PopBytes(ctx, keyTokenFlash); json.Unmarshal(b, &res) == nil && !res.NewExpiry.IsZero() {
		v.Refreshed = &res
	}
	a.render(w, r, http.StatusOK, "token.html", "Your tokens", v)
}

// refreshToken is "Refresh now": a silent refresh on demand, with the refresh token from the
// session's cache. Then back to /token (a redirect, so reloading the page does not refresh again).
func (a *App) refreshToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if _, ok := a.currentUser(ctx); !ok {
		http.Redirect(w, r, loginURL("/token"), http.StatusSeeOther)
		return
	}
	account := a.sessions.GetString(ctx, keyAccount)
	tc := a.tokenCache(ctx)
	before, err := a.auth.Token(ctx, account, tc)
	if err == nil {
		a.saveTokenCache(ctx, tc)
		tc = a.tokenCache(ctx)
		rec := &auth.Recorder{}
		start := time.Now()
		var after auth.Token
		if after, err = a.auth.Refresh(auth.WithRecorder(ctx, rec), account, tc); err == nil {
			a.saveTokenCache(ctx, tc)
			a.recordRefresh(ctx, rec)
			b, _ := json.Marshal(refreshResult{OldExpiry: before.ExpiresOn, NewExpiry: after.ExpiresOn, Took: time.Since(start).Round(time.Millisecond)})
			a.sessions.Put(ctx, keyTokenFlash, b)
		}
	}
	if errors.Is(err, auth.ErrInteractionRequired) {
		a.grantEnded(w, r, http.StatusSeeOther)
		return
	}
	if err != nil {
		a.fail(w, r, a.problemFor(err, "refreshing the access token"))
		return
	}
	a.log.Info("token refreshed on request", "request_id", requestID(r))
	http.Redirect(w, r, "/token", http.StatusSeeOther)
}

func (a *App) tokenView(r *http.Request, tok auth.Token) tokenView {
	ctx := r.Context()
	now := a.now()
	v := tokenView{Source: tok.Source, Granted: tok.Scopes}
	v.IDClaims = claimRows(a.claims(ctx), now, idTokenChecks)

	exp := tok.ExpiresOn
	if claims, err := auth.DecodeJWTPayload(tok.AccessToken); err == nil {
		v.Decoded = true
		v.ATClaims = claimRows(claims, now, nil)
		v.Audience = auth.ClaimString(claims["aud"])
		v.Scopes = strings.Fields(auth.ClaimString(claims["scp"]))
		if iat, ok := unixClaim(claims["iat"]); ok {
			v.IssuedAt = when(iat, now)
		}
	}
	if len(v.Scopes) == 0 {
		v.Scopes = tok.Scopes
	}
	v.ExpiresISO = exp.UTC().Format(time.RFC3339)
	v.ExpiresAt = stamp(exp)
	v.ExpiresIn = left(exp.Sub(now))
	v.RefreshAt = stamp(exp.Add(-5 * time.Minute))

	v.Origin = "unknown (this session signed in before the app recorded it)"
	if l, ok := a.flowLog(ctx); ok && l.Origin.Source != "" {
		v.Origin, v.OriginAt = l.Origin.Source, clock(l.Origin.At)
		if l.Origin.Call != nil {
			v.OriginCall = exchange(*l.Origin.Call, time.Time{})
		}
	}
	return v
}

// left formats a remaining duration for people: "59m 58s", or "expired".
func left(d time.Duration) string {
	if d <= 0 {
		return "expired"
	}
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%dh %02dm %02ds", h, m, s)
	}
	return fmt.Sprintf("%dm %02ds", m, s)
}

// claimRows lists the claims with what each means; extra adds, per claim, what the app did with it.
func claimRows(claims map[string]any, now time.Time, extra map[string]string) []claimRow {
	keys := make([]string, 0, len(claims))
	for k := range claims {
		keys = append(keys, k)
	}
	// The claims a reader looks for first, then the rest by name.
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := claimRank(keys[i]), claimRank(keys[j])
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	out := make([]claimRow, 0, len(keys))
	for _, k := range keys {
		row := claimRow{Name: k, Value: shorten(auth.ClaimString(claims[k]), 300), Meaning: claimMeaning(k)}
		if x := extra[k]; x != "" {
			row.Meaning += " " + x
		}
		if timeClaims[k] {
			if t, ok := unixClaim(claims[k]); ok {
				row.When = when(t, now)
			}
		}
		out = append(out, row)
	}
	return out
}

var claimOrder = []string{"aud", "iss", "iat", "nbf", "exp", "name", "preferred_username", "oid", "tid", "sub", "nonce", "scp", "roles"}

func claimRank(k string) int {
	for i, c := range claimOrder {
		if c == k {
			return i
		}
	}
	return len(claimOrder)
}

// idTokenChecks says what the app checked in the ID token before trusting it (auth.VerifyIDToken).
var idTokenChecks = map[string]string{
	"aud":   "The app checked it is its own client ID.",
	"iss":   "The app checked it equals the issuer in the authority's OpenID metadata.",
	"exp":   "The app refuses an expired ID token (with 5 minutes' clock skew).",
	"nonce": "The app checked it matches, so this ID token belongs to your sign-in and is not replayed.",
	"oid":   "The app keeps tid + oid in your session as who you are.",
}

var timeClaims = map[string]bool{"iat": true, "nbf": true, "exp": true, "auth_time": true, "pwd_exp": true, "xms_tcdt": true}

func unixClaim(v any) (time.Time, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return time.Unix(i, 0), err == nil
	case float64:
		return time.Unix(int64(n), 0), true
	}
	return time.Time{}, false
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func claimMeaning(k string) string {
	if m, ok := claimMeanings[k]; ok {
		return m
	}
	if strings.HasPrefix(k, "xms_") {
		return "A Microsoft-internal claim; apps should not depend on it."
	}
	return "Not one of the standard Microsoft identity platform claims."
}

// claimMeanings explains the claims of Microsoft identity platform ID and access tokens.
var claimMeanings = map[string]string{
	"aud":                 "Audience: who the token is for. In the ID token, your CLIENT_ID; in the access token, Microsoft Graph. Whoever a token is not addressed to must refuse it.",
	"iss":                 "Issuer: the authority that issued it, https://<host>/<tenant ID>/v2.0.",
	"iat":                 "Issued at: when the token was made (Unix time).",
	"nbf":                 "Not before: the token is not valid before this time.",
	"exp":                 "Expires: the token is not valid after this time.",
	"name":                "Your display name, for showing only. Never use it to identify you: it can change.",
	"preferred_username":  "Your sign-in name (often an e-mail address or UPN). It can change and can be reused: for display only, never as a key.",
	"oid":                 "Object ID: your immutable ID in the tenant. With tid it is how the app identifies you.",
	"tid":                 "Tenant ID: the directory you signed in from.",
	"sub":                 "Subject: your ID for this one app (pairwise: another app sees a different sub). Stable, never reused.",
	"nonce":               "The random value the app sent with the sign-in request (step 2 of /flow), copied back by the identity platform.",
	"acct":                "Your account's status in the tenant: 0 a member, 1 a guest.",
	"ver":                 "Token format version: 2.0 for the v2.0 endpoint.",
	"aio":                 "An opaque value Microsoft uses internally. Ignore it.",
	"rh":                  "An opaque value Microsoft uses to re-validate tokens. Ignore it.",
	"uti":                 "A unique token ID; Microsoft uses it internally to revoke tokens.",
	"sid":                 "Your session at the identity platform, used for sign-out.",
	"auth_time":           "When you last entered your credentials.",
	"idp":                 "The identity provider that authenticated you, when it is not the tenant itself (for example a guest's home tenant or a Microsoft account).",
	"email":               "Your e-mail address, when you have one and the email scope was asked for. Not verified by default: never a key.",
	"login_hint":          "An opaque hint the app can send back for sign-out or re-authentication without an account picker.",
	"at_hash":             "Hash of the access token issued with this ID token, so the pair can be checked together.",
	"c_hash":              "Hash of the authorization code issued with this ID token.",
	"acr":                 "Authentication context class: how strongly you authenticated (v1 tokens).",
	"acrs":                "Authentication context IDs you satisfied (Conditional Access).",
	"amr":                 "How you authenticated (pwd, mfa, ...).",
	"azp":                 "Authorized party: the client ID of the app that asked for this token.",
	"azpacr":              "How that app authenticated: 0 public client, 1 client secret, 2 certificate.",
	"appid":               "The client ID of the app that asked for the token (v1 access tokens).",
	"appidacr":            "How that app authenticated: 0 public client, 1 client secret, 2 certificate.",
	"app_displayname":     "The display name of the app that asked for the token.",
	"scp":                 "Scopes: the delegated permissions this token carries. Graph allows exactly these.",
	"roles":               "Application roles (app permissions) granted to the caller.",
	"wids":                "Directory roles of the user (role template IDs).",
	"groups":              "Group object IDs of the user, when the app registration asks for them.",
	"hasgroups":           "You are in too many groups to list in the token; ask Graph instead.",
	"unique_name":         "A human-readable name of the user (v1 tokens); for display only.",
	"upn":                 "User principal name; for display only.",
	"given_name":          "First name.",
	"family_name":         "Last name.",
	"ipaddr":              "The IP address you signed in from.",
	"onprem_sid":          "Your security identifier in an on-premises Active Directory.",
	"pwd_exp":             "When your password expires.",
	"pwd_url":             "Where to change your password.",
	"idtyp":               "The token's type: user for delegated tokens, app for app-only tokens.",
	"platf":               "The device platform.",
	"tenant_region_scope": "The region of the tenant.",
	"signin_state":        "Sign-in state details (for example kmsi: stay signed in).",
	"xms_cc":              "Client capabilities the app declared.",
	"xms_ftd":             "A Microsoft-internal claim; apps should not depend on it.",
	"xms_idrel":           "A Microsoft-internal claim; apps should not depend on it.",
	"xms_st":              "A Microsoft-internal claim; apps should not depend on it.",
	"xms_tcdt":            "When the tenant was created.",
}
