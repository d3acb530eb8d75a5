package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Keys is a key ring for AES-256-GCM: the first key seals, every key opens (so keys can be
// rotated: put the new key first, keep the old one until the sessions it sealed have expired).
// It seals session records at rest (Sealed) and can seal anything else the app must keep out of
// reach, such as a cookie: Seal and Open take additional data that binds a sealed value to where
// it belongs, so a value copied to another place opens for nobody.
type Keys struct {
	aeads []cipher.AEAD
	ids   [][keyIDSize]byte
}

// KeySize is the length of one key: 32 random bytes, written as 64 hex characters in
// SESSION_KEY (`openssl rand -hex 32`).
const KeySize = 32

const (
	sealVersion = 1
	keyIDSize   = 4 // which key sealed a value, so Open tries one key, not all
	// sealOverhead is what Seal adds to a plaintext: version, key ID, nonce, GCM tag.
	sealOverhead = 1 + keyIDSize + 12 + 16
)

// ErrNotSealed means a value did not open: damaged, planted, moved from another place (its
// additional data differs), or sealed with a key this ring does not hold.
var ErrNotSealed = errors.New("sealed value did not open")

// NewKeys builds a ring from raw 32-byte keys, the sealing one first.
func NewKeys(raw ...[]byte) (*Keys, error) {
	if len(raw) == 0 {
		return nil, errors.New("no key given")
	}
	k := &Keys{}
	for _, r := range raw {
		if len(r) != KeySize {
			return nil, fmt.Errorf("a key must be %d bytes, not %d", KeySize, len(r))
		}
		block, err := aes.NewCipher(r)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(append([]byte("graphauth key id\x00"), r...))
		k.aeads = append(k.aeads, aead)
		k.ids = append(k.ids, [keyIDSize]byte(sum[:keyIDSize]))
	}
	return k, nil
}

// RandomKeys makes a ring with one fresh key, for a process that was given none: what it seals
// opens only in this process.
func RandomKeys() *Keys {
	k, err := NewKeys(randomBytes(KeySize))
	if err != nil {
		panic(err) // unreachable: the key has the right size
	}
	return k
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

// Seal encrypts and authenticates plaintext, bound to ad (which is not stored: Open must be given
// the same). The result is version || key ID || nonce || ciphertext and tag.
func (k *Keys) Seal(plaintext, ad []byte) []byte {
	out := make([]byte, 1+keyIDSize, sealOverhead+len(plaintext))
	out[0] = sealVersion
	copy(out[1:], k.ids[0][:])
	nonce := randomBytes(k.aeads[0].NonceSize())
	out = append(out, nonce...)
	return k.aeads[0].Seal(out, nonce, plaintext, ad)
}

// Open returns the plaintext of a value Seal made with any key of the ring and the same ad, or
// ErrNotSealed.
func (k *Keys) Open(sealed, ad []byte) ([]byte, error) {
	if len(sealed) < sealOverhead || sealed[0] != sealVersion {
		return nil, ErrNotSealed
	}
	id := [keyIDSize]byte(sealed[1 : 1+keyIDSize])
	for i, aead := range k.aeads {
		if k.ids[i] != id {
			continue
		}
		nonce := sealed[1+keyIDSize : 1+keyIDSize+aead.NonceSize()]
		if p, err := aead.Open(nil, nonce, sealed[1+keyIDSize+aead.NonceSize():], ad); err == nil {
			return p, nil
		}
	}
	return nil, ErrNotSealed
}
