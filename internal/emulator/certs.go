package emulator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files kept in the state directory. Everything is generated locally, so nothing here is a
// secret anyone else shares, but the keys are still written 0600 in a 0700 directory.
const (
	caCertFile     = "ca.pem"          // the CA a client must trust (EXTRA_CA_FILE)
	caKeyFile      = "ca-key.pem"      // CA private key
	serverCertFile = "server.pem"      // TLS certificate for localhost, 127.0.0.1, ::1
	serverKeyFile  = "server-key.pem"  // its private key
	signingKeyFile = "signing-key.pem" // RSA key that signs ID and access tokens
)

const (
	caLifetime     = 365 * 24 * time.Hour
	serverLifetime = 90 * 24 * time.Hour
	renewBefore    = 24 * time.Hour // regenerate what expires sooner than this
)

// state is what New loads from, or creates in, the state directory.
type state struct {
	dir     string
	caFile  string
	tlsCert tls.Certificate
	signer  *signingKey
}

// loadOrCreateState reuses the CA, server certificate and signing key in dir when they are
// valid, and creates whatever is missing or about to expire.
func loadOrCreateState(dir string, logger *slog.Logger) (*state, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("emulator state dir is readable by others; it holds private keys", "dir", dir, "mode", fi.Mode().Perm().String())
	}
	unlock, err := lockStateDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := time.Now()

	ca, caKey, err := loadCA(dir, now)
	newCA := false
	if err != nil {
		logger.Info("creating emulator CA", "dir", dir, "reason", err.Error())
		if ca, caKey, err = createCA(dir, now); err != nil {
			return nil, err
		}
		newCA = true
	}

	var tlsCert tls.Certificate
	if !newCA {
		tlsCert, err = loadServerCert(dir, ca, now)
	}
	if newCA || err != nil {
		if err != nil {
			logger.Info("creating emulator server certificate", "reason", err.Error())
		}
		if tlsCert, err = createServerCert(dir, ca, caKey, now); err != nil {
			return nil, err
		}
	}

	signer, err := loadSigningKey(dir)
	if err != nil {
		logger.Info("creating emulator token-signing key", "reason", err.Error())
		if signer, err = createSigningKey(dir); err != nil {
			return nil, err
		}
	}
	return &state{dir: dir, caFile: filepath.Join(dir, caCertFile), tlsCert: tlsCert, signer: signer}, nil
}

// lockStateDir keeps two emulators starting at once (say, `-print-env` and a server) from
// writing a key and a certificate that do not match. Generating takes well under a second,
// so a lock older than 10 s was left by a killed start.
func lockStateDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, ".lock")
	deadline := time.Now().Add(15 * time.Second)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("lock state dir: %w", err)
		}
		if fi, statErr := os.Stat(path); statErr == nil && time.Since(fi.ModTime()) > 10*time.Second {
			os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("state dir %s is locked by another emulator (remove %s if none is starting)", dir, path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func loadCA(dir string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	cert, key, err := loadPair(filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile))
	if err != nil {
		return nil, nil, err
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, nil, errors.New("ca.pem is not a CA certificate")
	}
	if now.Before(cert.NotBefore) || now.Add(renewBefore).After(cert.NotAfter) {
		return nil, nil, errors.New("CA certificate expired or expires soon")
	}
	return cert, key, nil
}

func loadServerCert(dir string, ca *x509.Certificate, now time.Time) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile)
	cert, _, err := loadPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	if now.Add(renewBefore).After(cert.NotAfter) {
		return tls.Certificate{}, errors.New("server certificate expired or expires soon")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: now}); err != nil {
			return tls.Certificate{}, fmt.Errorf("server certificate not valid for %s: %w", name, err)
		}
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	return pair, nil
}

// loadPair reads a PEM certificate and its PKCS#8 private key and checks that they match.
func loadPair(certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	certs, err := parseCertificates(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Base(certPath), err)
	}
	key, err := readPKCS8(keyPath)
	if err != nil {
		return nil, nil, err
	}
	if !publicKeysEqual(certs[0].PublicKey, key.Public()) {
		return nil, nil, fmt.Errorf("%s does not match %s", filepath.Base(keyPath), filepath.Base(certPath))
	}
	return certs[0], key, nil
}

func readPKCS8(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: no PKCS#8 PRIVATE KEY block", filepath.Base(path))
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported key type %T", filepath.Base(path), k)
	}
	return signer, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	ea, ok := a.(equaler)
	return ok && ea.Equal(b)
}

func createCA(dir string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	_, loopback4, _ := net.ParseCIDR("127.0.0.0/8")
	_, loopback6, _ := net.ParseCIDR("::1/128")
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			Organization: []string{"graphauth local emulator (NOT Microsoft)"},
			CommonName:   "graphauth emulator local CA " + now.UTC().Format("2006-01-02"),
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		// Name constraints: even a client that trusts this CA only trusts it for loopback names.
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         []string{"localhost"},
		PermittedIPRanges:           []*net.IPNet{loopback4, loopback6},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(filepath.Join(dir, caKeyFile), key); err != nil {
		return nil, nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, caCertFile), pemBytes("CERTIFICATE", der)); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func createServerCert(dir string, ca *x509.Certificate, caKey crypto.Signer, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{Organization: []string{"graphauth local emulator (NOT Microsoft)"}, CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create server certificate: %w", err)
	}
	keyPath, certPath := filepath.Join(dir, serverKeyFile), filepath.Join(dir, serverCertFile)
	if err := writeKey(keyPath, key); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certPath, pemBytes("CERTIFICATE", der)); err != nil {
		return tls.Certificate{}, err
	}
	return tls.LoadX509KeyPair(certPath, keyPath)
}

// signingKey signs the emulator's tokens (RS256, as Entra ID does).
type signingKey struct {
	key *rsa.PrivateKey
	kid string
}

func loadSigningKey(dir string) (*signingKey, error) {
	k, err := readPKCS8(filepath.Join(dir, signingKeyFile))
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() < 2048 {
		return nil, errors.New("signing key is not an RSA key of at least 2048 bits")
	}
	return newSigningKey(rk)
}

func createSigningKey(dir string) (*signingKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if err := writeKey(filepath.Join(dir, signingKeyFile), k); err != nil {
		return nil, err
	}
	return newSigningKey(k)
}

// newSigningKey derives a stable key ID from the public key, so tokens issued before a restart
// still verify afterwards.
func newSigningKey(k *rsa.PrivateKey) (*signingKey, error) {
	spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(spki)
	return &signingKey{key: k, kid: base64.RawURLEncoding.EncodeToString(sum[:20])}, nil
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, pemBytes("PRIVATE KEY", der))
}

// writeFileAtomic writes data with mode 0600 through a temporary file and a rename, so that a
// concurrent reader never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func pemBytes(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

// parseCertificates parses every CERTIFICATE block in data and ignores other blocks (so a PEM
// holding a certificate and its private key also works). It fails if there is none.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return certs, nil
}
