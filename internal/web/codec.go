package web

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/graphauth/graphauth/internal/auth"
)

// SessionCodec encodes a session's values for the store. It replaces scs's gob codec, which
// carries and recompiles type descriptors on every load: that was half of a signed-in page's own
// cost (see README "Performance"). It knows exactly the value types the app stores; storing any
// other type is an error at once rather than a surprise later.
//
// Format: "GAS\x01", deadline (int64 Unix nanoseconds), number of values (uvarint), then per
// value: key length (uvarint), key, type byte, payload length (uvarint), payload.
//
// With a cache (NewSessionCodec), Decode remembers what recent session records decoded to, keyed
// by their exact bytes: a signed-in page loads an unchanged session again and again, and decoding
// it (copying the token cache, parsing the identity) was a fifth of GET /'s cost. Identical bytes
// decode to identical values, so the cache can never hand one session's values to another.
type SessionCodec struct {
	cache *decodedCache // nil: decode every time
}

// NewSessionCodec is the codec with a cache of about limit bytes of session records.
//
// immutable says the store's records are never modified once Find has returned them, by the
// store or anyone (ImmutableRecords): the cache then also recognises a record by its array, an
// unchanged session coming back as the very same one, without hashing and comparing its 10 KB
// (a twentieth of a signed-in page's cost under load).
func NewSessionCodec(limit int, immutable bool) SessionCodec {
	c := &decodedCache{m: map[string]decoded{}, limit: limit}
	if immutable {
		c.arrays = map[*byte]arrayEntry{}
	}
	return SessionCodec{cache: c}
}

// ImmutableRecords reports whether store promises that a record Find returned is never modified
// afterwards (session.Sealed does).
func ImmutableRecords(store scs.Store) bool {
	s, ok := store.(interface{ ImmutableRecords() bool })
	return ok && s.ImmutableRecords()
}

var codecMagic = []byte("GAS\x01")

const (
	tBytes    = 'b'
	tString   = 's'
	tInt64    = 'i'
	tBool     = 't'
	tIdentity = 'u' // auth.Identity as JSON
	tFlows    = 'f' // []auth.Flow as JSON
)

func (SessionCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, codecMagic...)
	b = binary.BigEndian.AppendUint64(b, uint64(deadline.UnixNano()))
	b = binary.AppendUvarint(b, uint64(len(values)))
	for k, v := range values {
		var typ byte
		var payload []byte
		switch x := v.(type) {
		case []byte:
			typ, payload = tBytes, x
		case string:
			typ, payload = tString, []byte(x)
		case int64:
			typ, payload = tInt64, binary.BigEndian.AppendUint64(nil, uint64(x))
		case bool:
			typ, payload = tBool, []byte{0}
			if x {
				payload[0] = 1
			}
		case auth.Identity:
			j, err := json.Marshal(x)
			if err != nil {
				return nil, fmt.Errorf("session codec: %s: %w", k, err)
			}
			typ, payload = tIdentity, j
		case []auth.Flow:
			j, err := json.Marshal(x)
			if err != nil {
				return nil, fmt.Errorf("session codec: %s: %w", k, err)
			}
			typ, payload = tFlows, j
		default:
			return nil, fmt.Errorf("session codec: %s: cannot store a %T", k, v)
		}
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = append(b, typ)
		b = binary.AppendUvarint(b, uint64(len(payload)))
		b = append(b, payload...)
	}
	return b, nil
}

var errCorrupt = errors.New("session codec: damaged session data")

// Decode returns a map of its own each time; the values in it may be shared with other loads of
// the same record, and the app never modifies a value in place (it Puts a new one).
func (c SessionCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	if c.cache == nil {
		return decodeRecord(b)
	}
	if d, ok := c.cache.get(b); ok {
		return d.deadline, d.copyValues(), nil
	}
	deadline, values, err := decodeRecord(b)
	if err != nil {
		return deadline, values, err
	}
	d := decoded{deadline: deadline, values: values}
	c.cache.put(b, d)
	return deadline, d.copyValues(), nil
}

func decodeRecord(b []byte) (time.Time, map[string]any, error) {
	if !bytes.HasPrefix(b, codecMagic) {
		// Written before this codec existed: read it the old way, so an upgrade signs nobody out.
		return scs.GobCodec{}.Decode(b)
	}
	r := b[len(codecMagic):]
	if len(r) < 8 {
		return time.Time{}, nil, errCorrupt
	}
	deadline := time.Unix(0, int64(binary.BigEndian.Uint64(r)))
	r = r[8:]
	n, r, ok := uvarint(r)
	if !ok || n > uint64(len(r)) { // each value takes at least one byte
		return time.Time{}, nil, errCorrupt
	}
	values := make(map[string]any, n)
	for range n {
		var key, payload []byte
		if key, r, ok = chunk(r); !ok || len(r) < 1 {
			return time.Time{}, nil, errCorrupt
		}
		typ := r[0]
		if payload, r, ok = chunk(r[1:]); !ok {
			return time.Time{}, nil, errCorrupt
		}
		v, err := decodeValue(typ, payload)
		if err != nil {
			return time.Time{}, nil, err
		}
		values[string(key)] = v
	}
	if len(r) != 0 {
		return time.Time{}, nil, errCorrupt
	}
	return deadline, values, nil
}

func decodeValue(typ byte, p []byte) (any, error) {
	switch typ {
	case tBytes:
		return bytes.Clone(p), nil
	case tString:
		return string(p), nil
	case tInt64:
		if len(p) != 8 {
			return nil, errCorrupt
		}
		return int64(binary.BigEndian.Uint64(p)), nil
	case tBool:
		if len(p) != 1 {
			return nil, errCorrupt
		}
		return p[0] == 1, nil
	case tIdentity:
		var id auth.Identity
		if err := json.Unmarshal(p, &id); err != nil {
			return nil, errCorrupt
		}
		return id, nil
	case tFlows:
		var f []auth.Flow
		if err := json.Unmarshal(p, &f); err != nil {
			return nil, errCorrupt
		}
		return f, nil
	}
	return nil, errCorrupt
}

func uvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

// chunk reads a uvarint length and that many bytes.
func chunk(b []byte) ([]byte, []byte, bool) {
	n, r, ok := uvarint(b)
	if !ok || n > uint64(len(r)) {
		return nil, nil, false
	}
	return r[:n], r[n:], true
}

// decodedCache maps session records (their exact bytes) to what they decode to, up to limit
// bytes of records; random eviction.
type decodedCache struct {
	mu    sync.Mutex
	m     map[string]decoded
	size  int
	limit int

	// arrays, for an immutable store's records only: by the address of the record's array. An
	// entry holds the record, so its array stays alive and its address is not reused while the
	// entry exists; the store never changes it, so the same array and length are the same bytes.
	arrays    map[*byte]arrayEntry
	arraySize int
}

type arrayEntry struct {
	record []byte
	d      decoded
}

type decoded struct {
	deadline time.Time
	values   map[string]any
}

// copyValues is a map the caller may change (scs adds and removes keys in it). []auth.Flow is
// copied too: it is a slice of structs the flow code edits.
func (d decoded) copyValues() map[string]any {
	m := maps.Clone(d.values)
	for k, v := range m {
		if f, ok := v.([]auth.Flow); ok {
			m[k] = slices.Clone(f)
		}
	}
	return m
}

func (c *decodedCache) get(b []byte) (decoded, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.arrays != nil && len(b) > 0 {
		if e, ok := c.arrays[&b[0]]; ok && len(e.record) == len(b) {
			return e.d, true
		}
	}
	d, ok := c.m[string(b)] // no copy: Go looks a []byte up in a string-keyed map as it is
	if ok {
		c.rememberArrayLocked(b, d)
	}
	return d, ok
}

func (c *decodedCache) put(b []byte, d decoded) {
	if len(b) > c.limit/16 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rememberArrayLocked(b, d)
	if _, ok := c.m[string(b)]; ok {
		return
	}
	for c.size+len(b) > c.limit && len(c.m) > 0 {
		for k := range c.m {
			c.size -= len(k)
			delete(c.m, k)
			break
		}
	}
	c.m[string(b)] = d
	c.size += len(b)
}

// rememberArrayLocked files d under b's array, when the store's records are immutable. Full, it
// starts again: the next load of each session refills it.
func (c *decodedCache) rememberArrayLocked(b []byte, d decoded) {
	if c.arrays == nil || len(b) == 0 || len(b) > c.limit/16 {
		return
	}
	if c.arraySize+len(b) > c.limit {
		clear(c.arrays)
		c.arraySize = 0
	}
	if old, ok := c.arrays[&b[0]]; ok {
		c.arraySize -= len(old.record)
	}
	c.arrays[&b[0]] = arrayEntry{record: b, d: d}
	c.arraySize += len(b)
}
