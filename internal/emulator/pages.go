package emulator

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed templates/*.html static/*
var assets embed.FS

// pages holds the parsed templates, one set per page, each with the shared layout.
type pages struct {
	byName map[string]*template.Template
}

func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range []string{"signin", "consent", "error", "signedout", "formpost", "index"} {
		t, err := template.ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.byName[name] = t
	}
	return p, nil
}

// pageHead is what the layout needs from every page's view model.
type pageHead struct {
	Title  string
	Tenant string
}

// render executes a page into a buffer first, so a template error never sends half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.byName[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("emulator template", "page", name, "err", err)
		http.Error(w, "emulator template error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	// form-action allows http(s) targets: browsers apply it to the redirect after a form post.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self' http: https:; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type userOption struct {
	N           int // 1-based, for the button's id "user-N"
	ID          string
	UPN         string
	DisplayName string
	Hinted      bool
}

type signInPage struct {
	pageHead
	Action    string
	RequestID string
	AppName   string
	ClientID  string
	Users     []userOption
	Error     string
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, p pendingAuth, problem string) {
	app, _ := s.findApp(p.clientID)
	data := signInPage{
		pageHead:  pageHead{Title: "Sign in", Tenant: s.tenant},
		Action:    "/" + url.PathEscape(p.tenantPath) + "/login",
		RequestID: p.id,
		AppName:   appName(app),
		ClientID:  app.ClientID,
		Error:     problem,
	}
	for i, u := range s.userList() {
		data.Users = append(data.Users, userOption{
			N: i + 1, ID: u.ID, UPN: u.UserPrincipalName, DisplayName: u.DisplayName,
			Hinted: p.loginHint != "" && strings.EqualFold(p.loginHint, u.UserPrincipalName),
		})
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	s.render(w, status, "signin", data)
}

type scopeItem struct {
	Name        string
	Description string
}

type consentPage struct {
	pageHead
	Action      string
	RequestID   string
	AppName     string
	ClientID    string
	RedirectURI string
	UserName    string
	UserUPN     string
	Scopes      []scopeItem
}

func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, p pendingAuth, u User) {
	app, _ := s.findApp(p.clientID)
	data := consentPage{
		pageHead:    pageHead{Title: "Permissions requested", Tenant: s.tenant},
		Action:      "/" + url.PathEscape(p.tenantPath) + "/consent",
		RequestID:   p.id,
		AppName:     appName(app),
		ClientID:    app.ClientID,
		RedirectURI: p.redirectURI,
		UserName:    u.DisplayName,
		UserUPN:     u.UserPrincipalName,
	}
	names := append([]string(nil), p.scopes.raw...)
	if p.scopes.dotDefault {
		names = append(names, defaultDelegated...)
	}
	for _, n := range names {
		_, short := splitScope(n)
		desc, ok := scopeDescriptions[strings.ToLower(short)]
		if strings.HasSuffix(n, "/.default") {
			desc, ok = "The permissions configured for this app", true
		}
		if !ok {
			desc = "Microsoft Graph permission " + short
		}
		data.Scopes = append(data.Scopes, scopeItem{Name: n, Description: desc})
	}
	s.render(w, http.StatusOK, "consent", data)
}

type errorPage struct {
	pageHead
	ErrorName     string
	Code          string // "AADSTS50011", or "" for an emulator-only error
	Message       string
	TraceID       string
	CorrelationID string
	Timestamp     string
}

// renderError shows Entra's "Sorry, but we're having trouble signing you in" page. The
// status is 4xx (Entra answers 200; a real status is easier to test).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, e *entraError) {
	ec := newErrorContext(r)
	data := errorPage{
		pageHead:      pageHead{Title: "Sign-in error", Tenant: s.tenant},
		ErrorName:     e.Err,
		Message:       e.Message,
		TraceID:       ec.traceID,
		CorrelationID: ec.correlationID,
		Timestamp:     ec.timestamp.Format("2006-01-02T15:04:05Z"),
	}
	if e.Code != 0 {
		data.Code = "AADSTS" + strconv.Itoa(e.Code)
	}
	s.log.Info("emulator error page", "path", r.URL.Path, "status", status, "code", e.Code)
	s.render(w, status, "error", data)
}

type formField struct{ Name, Value string }

type formPostPage struct {
	pageHead
	Action string
	Fields []formField
}

// renderFormPost delivers an authorization response with response_mode=form_post: a form
// that a small script (or, without scripts, the user) submits to the redirect URI.
func (s *Server) renderFormPost(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	data := formPostPage{pageHead: pageHead{Title: "Working...", Tenant: s.tenant}, Action: redirectURI}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		data.Fields = append(data.Fields, formField{Name: k, Value: params.Get(k)})
	}
	s.render(w, http.StatusOK, "formpost", data)
}

func (s *Server) renderSignedOut(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "signedout", struct{ pageHead }{pageHead{Title: "Signed out", Tenant: s.tenant}})
}

type indexPage struct {
	pageHead
	Authority  string
	GraphMe    string
	ClientIDs  []string
	Users      []userOption
	CAFileName string
}

// handleIndex serves GET /: what this server is and where its endpoints are.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	data := indexPage{
		pageHead:   pageHead{Title: "Local identity emulator", Tenant: s.tenant},
		Authority:  s.base(r) + "/" + s.tenant,
		GraphMe:    s.base(r) + "/v1.0/me",
		CAFileName: path.Base(s.CAFile()),
	}
	s.mu.Lock()
	for _, k := range s.appOrder {
		data.ClientIDs = append(data.ClientIDs, s.apps[k].ClientID)
	}
	s.mu.Unlock()
	for i, u := range s.userList() {
		data.Users = append(data.Users, userOption{N: i + 1, ID: u.ID, UPN: u.UserPrincipalName, DisplayName: u.DisplayName})
	}
	s.render(w, http.StatusOK, "index", data)
}

// handleStatic serves the stylesheet, the form_post script and the favicon.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := path.Base(r.URL.Path)
	if name == "favicon.ico" {
		name = "favicon.svg"
	}
	data, err := assets.ReadFile("static/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ctype := "text/css; charset=utf-8"
	switch {
	case strings.HasSuffix(name, ".js"):
		ctype = "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".svg"):
		ctype = "image/svg+xml"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(data)
}
