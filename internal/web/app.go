// Package web is graphauth's HTTP side: the tutorial's pages (index, login, the /getAToken
// callback, logout, msal-demo) as methods of one App that owns every dependency.
package web

import (
	"encoding/gob"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"
	"golang.org/x/sync/semaphore"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/config"
	"github.com/graphauth/graphauth/internal/explain"
	"github.com/graphauth/graphauth/internal/export"
	"github.com/graphauth/graphauth/internal/graph"
	"github.com/graphauth/graphauth/internal/onenote"
	"github.com/graphauth/graphauth/internal/session"
)

func init() {
	// scs encodes session values with gob; these are the app's own types stored there.
	gob.Register([]auth.Flow{})
	gob.Register(auth.Identity{})
}

// Deps are the app's collaborators, built by main (or a test) from the config.
type Deps struct {
	Logger *slog.Logger
	Store  scs.Store     // where sessions live (file, memory, redis, postgres)
	Auth   *auth.Client  // the flow on top of MSAL
	Graph  *graph.Client // GET /me
	// OneNote reads the user's notebooks (pages and exports share its per-user pacing).
	OneNote *onenote.Client
	// Exports runs whole-notebook and section exports (nil: the export buttons answer 503).
	Exports *export.Manager
	// Keys seal what the app keeps outside the store: the sign-in in progress cookie (nil: a
	// key ring made for this process).
	Keys *session.Keys
	// Ready reports whether the dependencies are usable, for /readyz (nil = always ready).
	Ready func(*http.Request) error
	Now   func() time.Time // nil = time.Now
}

// App owns everything a request needs.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	sessions *scs.SessionManager
	auth     *auth.Client
	graph    *graph.Client
	onenote  *onenote.Client
	exports  *export.Manager
	keys     *session.Keys
	pages    map[string]*template.Template
	ready    func(*http.Request) error
	now      func() time.Time
	idp      *idpGate            // one identity-platform call at a time per session (limit.go)
	memo     pageMemo            // rendered pages that depend only on their key (render.go)
	pageWork *semaphore.Weighted // OneNote page HTML processed at once (notes_work.go)
	security []fixedHeader       // securityHeaders's headers, made once
	notice   string              // shown on every page when the authority is on this machine
	explainC explain.Context
}

// New builds the App. It makes no network call.
func New(cfg config.Config, d Deps) (*App, error) {
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	if d.Keys == nil {
		d.Keys = session.RandomKeys()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	sm := scs.New()
	sm.Store = d.Store
	sm.Codec = NewSessionCodec(4<<20, ImmutableRecords(d.Store))
	// The idle timeout is enforced by touchSession, not scs: scs's IdleTimeout rewrites the
	// session on every request, even one that changes nothing.
	sm.Lifetime = cfg.SessionLifetime
	sm.HashTokenInStore = true // a leaked store does not leak usable session IDs
	sm.Cookie.Name = "graphauth_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode // the callback is a top-level GET: Lax cookies come along
	sm.Cookie.Path = "/"
	if cfg.HTTPS() {
		sm.Cookie.Secure = true
		sm.Cookie.Name = "__Host-graphauth_session"
	}
	a := &App{
		cfg:      cfg,
		log:      d.Logger,
		sessions: sm,
		auth:     d.Auth,
		graph:    d.Graph,
		onenote:  d.OneNote,
		exports:  d.Exports,
		pages:    pages,
		keys:     d.Keys,
		ready:    d.Ready,
		now:      d.Now,
		idp:      newIDPGate(),
		memo:     pageMemo{m: map[pageKey][]byte{}},
		pageWork: newPageWork(),
		security: securityHeaderSet(contentSecurityPolicy(cfg.Authority), cfg.HTTPS()),
		explainC: explain.Context{RedirectURI: cfg.RedirectURI, ClientID: cfg.ClientID, Authority: cfg.Authority, Scopes: cfg.Scopes},
	}
	if u, err := url.Parse(cfg.Authority); err == nil && config.IsLoopbackHost(u.Hostname()) {
		a.notice = "This app signs in against an identity provider on this machine (" + u.Host +
			"), not Microsoft: the users, tokens and profiles are test data."
	}
	return a, nil
}

// CookieName is the session cookie's name (it gets the __Host- prefix on HTTPS).
func (a *App) CookieName() string { return a.sessions.Cookie.Name }
