package emulator

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The emulator's own compact-JWS code. It deliberately shares nothing with the app's.

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sign returns claims as an RS256 JWT signed with k, with k's key ID in the header.
func (k *signingKey) sign(claims map[string]any) (string, error) {
	header := map[string]any{"typ": "JWT", "alg": "RS256", "kid": k.kid}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64url(h) + "." + b64url(c)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64url(sig), nil
}

// jws is a parsed, not yet verified, compact JWS.
type jws struct {
	header    map[string]any
	claims    map[string]any
	input     []byte // header.payload, the signed bytes
	signature []byte
}

var errMalformedJWT = errors.New("JWT is not well formed")

// parseJWS splits and decodes a compact JWS. It checks nothing but the encoding.
func parseJWS(token string) (*jws, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errMalformedJWT
	}
	var t jws
	for i, dst := range []*map[string]any{&t.header, &t.claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, errMalformedJWT
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil || *dst == nil {
			return nil, errMalformedJWT
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) == 0 {
		return nil, errMalformedJWT
	}
	t.input = []byte(parts[0] + "." + parts[1])
	t.signature = sig
	return &t, nil
}

// verifyRSA checks the signature with pub for the header's alg, which must be one of algs
// (RS256 or PS256).
func (t *jws) verifyRSA(pub *rsa.PublicKey, algs ...string) error {
	alg := t.str(t.header, "alg")
	allowed := false
	for _, a := range algs {
		allowed = allowed || a == alg
	}
	if !allowed {
		return fmt.Errorf("unsupported alg %q", alg)
	}
	digest := sha256.Sum256(t.input)
	switch alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], t.signature)
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, digest[:], t.signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	return fmt.Errorf("unsupported alg %q", alg)
}

// str returns m[name] if it is a string, else "".
func (t *jws) str(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}

// num returns m[name] as an integer and whether it was a number.
func (t *jws) num(m map[string]any, name string) (int64, bool) {
	n, ok := m[name].(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	return int64(f), err == nil
}

// strs returns m[name] as a list of strings: a string is a list of one.
func (t *jws) strs(m map[string]any, name string) []string {
	switch v := m[name].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
