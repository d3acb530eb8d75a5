package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/explain"
)

type consentView struct {
	AuthURL   string
	Scopes    string // what is asked for now, e.g. Notes.Read
	SignIn    string // what sign-in asked for, e.g. User.ReadBasic.All
	Authority string
}

// notesConsent is incremental consent: a second trip to the authorize endpoint, asking only for
// what OneNote needs (NOTES_SCOPE), made the first time the user opens their notes. The sign-in
// asked for the least the app needed then; an app asks for more when it first needs it, so a
// user who never opens OneNote never grants it.
//
// The steps are the sign-in's (login.go, callback.go) with two differences: the flow names its
// own scopes and the page to return to, and the account is pre-selected with login_hint.
func (a *App) notesConsent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if _, ok := a.currentUser(ctx); !ok {
		http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusFound)
		return
	}
	flow := auth.NewFlow(a.cfg.RedirectURI, a.now())
	flow.Scopes = a.cfg.NotesScopes
	flow.ReturnTo = returnPath(r.URL.Query().Get("next"))
	if !strings.HasPrefix(flow.ReturnTo, "/notes") {
		flow.ReturnTo = "/notes"
	}
	if u, _ := a.claims(ctx)["preferred_username"].(string); u != "" {
		flow.LoginHint = u
	}
	authURL, err := a.auth.AuthCodeURL(ctx, flow)
	if err != nil {
		a.fail(w, r, a.problemFor(err, "preparing the request for OneNote access"))
		return
	}
	a.startSignIn(w, r, flow, loginLog(flow, authURL)) // /flow shows this authorization as its own steps
	a.render(w, r, http.StatusOK, "notes_consent.html", "Allow access to your OneNote notebooks", consentView{
		AuthURL: authURL, Scopes: strings.Join(flow.Scopes, " "), SignIn: strings.Join(a.cfg.Scopes, " "), Authority: a.cfg.Authority})
}

// incrementalDeclined is the page for a declined (or failed) request for more scopes: the
// user is still signed in and every other page still works.
func (a *App) incrementalDeclined(flow auth.Flow, x explain.Explanation, oauthErr string) problem {
	p := problem{Status: http.StatusForbidden, Title: "OneNote access not granted",
		What: "You did not allow this app to read your OneNote notebooks (" + strings.Join(flow.Scopes, " ") +
			"). You are still signed in: everything else in the app works as before.",
		Code: x.Code, Meaning: x.Meaning,
		Fix:    "To browse your notes, open Notes again and accept on the consent page. If your organisation requires an administrator's approval, ask them to grant " + strings.Join(flow.Scopes, " ") + " to this app.",
		Action: "/", ActionText: "Back Home", logErr: errors.New("incremental authorization: " + oauthErr)}
	if oauthErr != "access_denied" {
		p.What = "The Microsoft identity platform did not grant OneNote access (" + strings.Join(flow.Scopes, " ") +
			"). You are still signed in: everything else in the app works as before."
		p.Status = http.StatusBadRequest
	}
	return p
}
