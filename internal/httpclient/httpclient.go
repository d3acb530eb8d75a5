// Package httpclient builds the one *http.Client the app uses for the identity platform and Graph.
package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

// New returns a client that trusts the system's CAs plus those in extraCAFile (optional). Go reads
// SSL_CERT_FILE on Linux only; adding the CA to the pool here works on every OS, which is how the
// app trusts a private CA (such as the local emulator's) without any code path of its own for it.
func New(extraCAFile string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if extraCAFile != "" {
		pem, err := os.ReadFile(extraCAFile)
		if err != nil {
			return nil, fmt.Errorf("extra CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("extra CA file %s: no PEM certificate in it", extraCAFile)
		}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	t.MaxIdleConnsPerHost = 32
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{
		Transport: t,
		// A hard ceiling; every call also carries its own, shorter context deadline.
		Timeout: 60 * time.Second,
		// Token and Graph calls never follow redirects.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}
