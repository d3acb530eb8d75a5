package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/config"
	"github.com/graphauth/graphauth/internal/graph"
	"github.com/graphauth/graphauth/internal/httpclient"
	"github.com/graphauth/graphauth/internal/onenote"
	"github.com/graphauth/graphauth/internal/session"
)

// Build wires an App from the config: HTTP client, session store, the flow client and Graph.
// The returned close function releases the session store. main and the tests both use it, so
// they run the same code path.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...OneNoteOption) (*App, func() error, error) {
	hc, err := httpclient.New(cfg.ExtraCAFile)
	if err != nil {
		return nil, nil, err
	}
	// Records a call only when its request asks to (for /flow and /token); secrets never kept.
	hc.Transport = auth.RecordingTransport(hc.Transport)
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	keys, err := sessionKeys(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	store, err := session.Open(ctx, session.Options{Type: cfg.SessionType, Dir: cfg.SessionDir,
		RedisURL: cfg.RedisURL, DatabaseURL: cfg.DatabaseURL,
		SweepInterval: cfg.SessionSweepInterval, Logger: log, Keys: keys})
	if err != nil {
		return nil, nil, err
	}
	ac, err := auth.New(auth.Settings{
		Authority: cfg.Authority, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		ClientCertificateFile: cfg.ClientCertificateFile, RedirectURI: cfg.RedirectURI, Scopes: cfg.Scopes,
		InstanceDiscovery: cfg.InstanceDiscovery, AllowedTenants: cfg.AllowedTenants,
		Timeout: cfg.OutboundTimeout,
	}, hc)
	if err != nil {
		_ = store.Close()
		return nil, nil, err
	}
	ready := func(r *http.Request) error {
		ctx, cancel := context.WithTimeout(r.Context(), cfg.OutboundTimeout)
		defer cancel()
		var errs []error
		if err := store.Ping(ctx); err != nil {
			errs = append(errs, fmt.Errorf("session store: %w", err))
		}
		if _, err := ac.Metadata(ctx); err != nil {
			errs = append(errs, fmt.Errorf("authority metadata: %w", err))
		}
		return errors.Join(errs...)
	}
	exports, err := newExports(cfg, store.Store, log)
	if err != nil {
		_ = store.Close()
		return nil, nil, err
	}
	closeAll := func() error { _ = exports.Close(); return store.Close() } // exports first: they write to the store
	app, err := New(cfg, Deps{
		Logger: log, Store: store.Store, Auth: ac, Keys: keys,
		Graph: &graph.Client{HTTP: hc, Endpoint: cfg.GraphEndpoint, Timeout: cfg.OutboundTimeout},
		OneNote: onenote.New(applyOneNote(opts, onenote.Options{HTTP: streaming(hc), BaseURL: cfg.GraphBase(),
			RequestsPerMinute: cfg.OneNoteRequestsPerMinute, Concurrency: cfg.OneNoteConcurrency,
			Timeout: cfg.OutboundTimeout})),
		Ready: ready, Exports: exports,
	})
	if err != nil {
		_ = closeAll()
		return nil, nil, err
	}
	return app, closeAll, nil
}

// sessionKeys is the key ring that seals stored sessions: SESSION_KEY's, or on a loopback host
// without one, a key made for this process (config refuses a missing key anywhere else).
func sessionKeys(cfg config.Config, log *slog.Logger) (*session.Keys, error) {
	if len(cfg.SessionKeys) > 0 {
		return session.NewKeys(cfg.SessionKeys...)
	}
	log.Warn("SESSION_KEY is not set: sealing sessions with a key made for this process; " +
		"sessions will not survive a restart, and instances sharing a store cannot read each other's " +
		"(set SESSION_KEY, made with `openssl rand -hex 32`, to keep them)")
	return session.RandomKeys(), nil
}

// streaming is hc without its overall time limit, for responses that stream (a large attachment
// takes as long as it takes); the transport's header time-out and each call's context still apply.
func streaming(hc *http.Client) *http.Client {
	c := *hc
	c.Timeout = 0
	return &c
}

// OneNoteOption adjusts the OneNote client Build makes: the export benchmark runs its pacer on
// a clock sped up as much as the emulator's throttle (cmd/exportbench).
type OneNoteOption func(*onenote.Options)

func applyOneNote(opts []OneNoteOption, o onenote.Options) onenote.Options {
	for _, f := range opts {
		f(&o)
	}
	return o
}
