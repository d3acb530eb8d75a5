// Command perfbaseline is make perf's bare baseline: the least a server can do to answer the
// requests graphauth answers, with the standard library only. Signed-in GET / writes the same
// page bytes (and headers) the app sent; /msal-demo makes the same Graph call (GET /me with a
// bearer token, over a keep-alive TLS client), decodes its JSON, and writes the app's demo page
// bytes; /notes/pages/{id} makes the app's two OneNote calls (the page with its section, then its
// content) and writes the content as it came. No session, no MSAL, no templates, no logging.
//
// It serves on a loopback address only. cmd/perf starts it; it is not a tool for anything else.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "perfbaseline:", err)
		os.Exit(1)
	}
}

type baseline struct {
	index, demo []byte      // page bytes for GET / and /msal-demo
	header      http.Header // the app's response headers for GET /, replayed
	graphMe     string      // Graph's /me URL
	graphBase   string      // Graph's versioned root (for OneNote)
	tokens      []string    // users' access tokens (User.Read and Notes.Read), used in turn
	next        atomic.Uint64
	client      *http.Client
}

func run(args []string) error {
	fs := flag.NewFlagSet("perfbaseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:5100", "loopback `host:port` to listen on")
	indexFile := fs.String("index", "", "`file` with the body to answer signed-in GET / with")
	headerFile := fs.String("headers", "", "`file` of \"Name: value\" lines to send with GET /")
	demoFile := fs.String("demo", "", "`file` with the body to answer /msal-demo with")
	graphMe := fs.String("graph", "", "Graph /me `URL`")
	caFile := fs.String("ca", "", "extra CA `file` to trust (the emulator's)")
	tokenFile := fs.String("token-file", "", "`file` holding the access tokens to call Graph with, one a line: requests use them in turn, as the app's many users' requests carry theirs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: must be a loopback IP and port", *addr)
	}
	b := &baseline{graphMe: *graphMe, graphBase: strings.TrimSuffix(*graphMe, "/me"), header: http.Header{}}
	read := func(name string) ([]byte, error) {
		if name == "" {
			return nil, nil
		}
		return os.ReadFile(name)
	}
	if b.index, err = read(*indexFile); err != nil {
		return err
	}
	if b.demo, err = read(*demoFile); err != nil {
		return err
	}
	tok, err := read(*tokenFile)
	if err != nil {
		return err
	}
	b.tokens = strings.Fields(string(tok))
	if len(b.tokens) == 0 {
		b.tokens = []string{""}
	}
	if h, err := read(*headerFile); err != nil {
		return err
	} else {
		sc := bufio.NewScanner(strings.NewReader(string(h)))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
				b.header.Add(k, v)
			}
		}
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		if !roots.AppendCertsFromPEM(pem) {
			return errors.New("-ca: no certificates in " + *caFile)
		}
	}
	// The app's outbound client (internal/httpclient) in the same shape: keep-alive, HTTP/2 when
	// the server offers it, 32 idle connections per host.
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	t.MaxIdleConnsPerHost = 32
	b.client = &http.Client{Timeout: 30 * time.Second, Transport: t}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /{$}", b.serveIndex)
	mux.HandleFunc("GET /msal-demo", b.serveDemo)
	mux.HandleFunc("GET /notes/pages/{id}", b.servePage)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan os.Signal, 1)
	signal.Notify(done, os.Interrupt, syscall.SIGTERM)
	go func() { <-done; _ = srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (b *baseline) serveIndex(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	_, _ = w.Write(b.index)
}

// graphGet calls Graph with the token and returns the body of a 200 answer.
func (b *baseline) graphGet(r *http.Request, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.tokens[b.next.Add(1)%uint64(len(b.tokens))])
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("graph answered %s", resp.Status)
	}
	return body, nil
}

func (b *baseline) serveDemo(w http.ResponseWriter, r *http.Request) {
	body, err := b.graphGet(r, b.graphMe)
	var me map[string]any
	if err == nil {
		err = json.Unmarshal(body, &me)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.demo)
}

func (b *baseline) servePage(w http.ResponseWriter, r *http.Request) {
	id := url.PathEscape(r.PathValue("id"))
	meta, err := b.graphGet(r, b.graphBase+"/me/onenote/pages/"+id+"?pagelevel=true&$expand=parentSection")
	var page map[string]any
	if err == nil {
		err = json.Unmarshal(meta, &page)
	}
	var content []byte
	if err == nil {
		content, err = b.graphGet(r, b.graphBase+"/me/onenote/pages/"+id+"/content")
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(content)
}
