package e2e

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/graphauth/graphauth/internal/stacktest"
)

// stack is the app and the emulator, both on loopback, wired as `make demo` wires them, except
// that the emulator signs nobody in by itself: the browser picks the user and answers consent.
type stack struct {
	*stacktest.Stack
	posts *requestLog // what the browser sent with each POST to the app
}

func startStack(t *testing.T) *stack {
	t.Helper()
	posts := &requestLog{}
	st := stacktest.Start(t, stacktest.Options{
		NoAutoLogin: true, // the browser clicks through the sign-in and consent pages
		Wrap:        posts.record,
		Env:         map[string]string{"OUTBOUND_TIMEOUT": "5s"},
	})
	return &stack{Stack: st, posts: posts}
}

// emulatorSPKI is the base64 SHA-256 of the public key of the certificate the emulator serves,
// the form Chromium's --ignore-certificate-errors-spki-list takes. It is read from a real
// handshake, verified against the emulator's CA, so it is the key the browser will be shown.
func (s *stack) emulatorSPKI(t *testing.T) string {
	t.Helper()
	pem, err := os.ReadFile(s.Emu.CAFile())
	if err != nil {
		t.Fatalf("read emulator CA: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("emulator CA file holds no certificate")
	}
	u, err := url.Parse(s.Emu.URL())
	if err != nil {
		t.Fatalf("emulator URL: %v", err)
	}
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: roots, ServerName: u.Hostname()})
	if err != nil {
		t.Fatalf("TLS handshake with the emulator: %v", err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// seenRequest is what a browser sent with one POST, for the cross-origin protection's inputs.
type seenRequest struct {
	Path, Origin, Referer, SecFetchSite, SecFetchMode, SecFetchDest string
}

func (r seenRequest) String() string {
	return fmt.Sprintf("POST %s: Origin=%q Sec-Fetch-Site=%q Sec-Fetch-Mode=%q Sec-Fetch-Dest=%q Referer=%q",
		r.Path, r.Origin, r.SecFetchSite, r.SecFetchMode, r.SecFetchDest, r.Referer)
}

// requestLog records the headers the cross-origin protection reads, for every POST the app gets,
// and what the app answered to each image or attachment the browser loaded through it.
type requestLog struct {
	mu        sync.Mutex
	seen      []seenRequest
	resources []seenResource
}

// seenResource is one GET /notes/resources/{id} and the app's answer.
type seenResource struct {
	Path        string
	Status      int
	ContentType string
	HadCookie   bool
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// resourcesSeen returns the resource GETs recorded so far.
func (l *requestLog) resourcesSeen() []seenResource {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]seenResource(nil), l.resources...)
}

func (l *requestLog) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			l.mu.Lock()
			l.seen = append(l.seen, seenRequest{
				Path: r.URL.Path, Origin: r.Header.Get("Origin"), Referer: r.Header.Get("Referer"),
				SecFetchSite: r.Header.Get("Sec-Fetch-Site"), SecFetchMode: r.Header.Get("Sec-Fetch-Mode"),
				SecFetchDest: r.Header.Get("Sec-Fetch-Dest"),
			})
			l.mu.Unlock()
		}
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/notes/resources/") {
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			_, err := r.Cookie(cookieName)
			l.mu.Lock()
			l.resources = append(l.resources, seenResource{Path: r.URL.Path, Status: sw.status,
				ContentType: sw.Header().Get("Content-Type"), HadCookie: err == nil})
			l.mu.Unlock()
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cookieName is the app's session cookie on plain HTTP.
const cookieName = "graphauth_session"

// to returns the recorded POSTs to path.
func (l *requestLog) to(path string) []seenRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []seenRequest
	for _, r := range l.seen {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}
