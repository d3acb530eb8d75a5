package web

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/graphauth/graphauth/internal/auth"
	"github.com/graphauth/graphauth/internal/session"
)

func sampleValues() map[string]any {
	return map[string]any{
		keyTokenCache:     []byte(`{"AccessToken":{}}`),
		keyAccount:        "uid.utid",
		keyAbsoluteExpiry: int64(1795474623),
		"__rememberMe":    true,
		keyUser:           auth.Identity{Name: "Ada <img>", Username: "ada@example.test", OID: "o", TID: "t"},
		"flows":           []auth.Flow{{State: "s", Nonce: "n", Verifier: "v", RedirectURI: "http://localhost/getAToken", Started: time.Unix(1700000000, 0).UTC()}},
		keyClaims:         []byte{},
	}
}

func TestSessionCodecRoundTrip(t *testing.T) {
	deadline := time.Unix(0, 1795474623123456789)
	b, err := SessionCodec{}.Encode(deadline, sampleValues())
	if err != nil {
		t.Fatal(err)
	}
	gotDeadline, got, err := SessionCodec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !gotDeadline.Equal(deadline) {
		t.Errorf("deadline = %v, want %v", gotDeadline, deadline)
	}
	if want := sampleValues(); !reflect.DeepEqual(got, want) {
		t.Errorf("values = %#v\nwant %#v", got, want)
	}
}

func TestSessionCodecRefusesUnknownTypes(t *testing.T) {
	if _, err := (SessionCodec{}).Encode(time.Now(), map[string]any{"x": 3.5}); err == nil {
		t.Fatal("a float64 was stored without error")
	}
}

// Sessions written by scs's gob codec (before this codec) still load after an upgrade.
func TestSessionCodecReadsGobSessions(t *testing.T) {
	deadline := time.Now().Add(time.Hour).Round(0)
	b, err := scs.GobCodec{}.Encode(deadline, sampleValues())
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := SessionCodec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := got[keyUser].(auth.Identity); id.OID != "o" {
		t.Errorf("gob session decoded to %#v", got)
	}
}

func TestSessionCodecRejectsDamage(t *testing.T) {
	good, err := SessionCodec{}.Encode(time.Now(), sampleValues())
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{
		codecMagic,
		good[:len(good)-1],
		append(append([]byte{}, good...), 0),
		append(append([]byte{}, codecMagic...), 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f),
	} {
		if _, _, err := (SessionCodec{}).Decode(bad); err == nil {
			t.Errorf("damaged data %q decoded without error", bad)
		}
	}
}

func FuzzSessionCodecDecode(f *testing.F) {
	good, _ := SessionCodec{}.Encode(time.Unix(1, 0), sampleValues())
	f.Add(good)
	f.Add(codecMagic)
	f.Add([]byte("GAS\x01\x00\x00\x00\x00\x00\x00\x00\x01\x01\x01ku\x02{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		deadline, values, err := SessionCodec{}.Decode(b)
		if err != nil || !bytes.HasPrefix(b, codecMagic) {
			return // no panic is all that is asked of damaged data and of the gob fallback
		}
		// Whatever decodes re-encodes to something that decodes to the same.
		again, err := SessionCodec{}.Encode(deadline, values)
		if err != nil {
			t.Fatalf("decoded values do not re-encode: %v", err)
		}
		_, values2, err := SessionCodec{}.Decode(again)
		if err != nil || !reflect.DeepEqual(values, values2) {
			t.Fatalf("round trip changed the values: %v", err)
		}
	})
}

// The codec's cache hands each load a map of its own, decoded from exactly the bytes given: a
// change scs makes to one load's map (Put, Remove) or to a flow in it never shows in the next,
// and two records never share an entry.
func TestSessionCodecCache(t *testing.T) {
	for _, immutable := range []bool{false, true} {
		t.Run(fmt.Sprintf("immutable=%v", immutable), func(t *testing.T) { testSessionCodecCache(t, immutable) })
	}
}

func testSessionCodecCache(t *testing.T, immutable bool) {
	c := NewSessionCodec(1<<20, immutable)
	deadline := time.Unix(0, 1795474623123456789)
	b, err := c.Encode(deadline, sampleValues())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the first load fills the cache, the second comes from it
		_, got, err := c.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		got[keyAccount] = "changed"
		delete(got, keyUser)
		got["flows"].([]auth.Flow)[0].State = "changed"
	}

	gotDeadline, again, err := c.Decode(bytes.Clone(b))
	if err != nil {
		t.Fatal(err)
	}
	if !gotDeadline.Equal(deadline) || !reflect.DeepEqual(again, sampleValues()) {
		t.Errorf("second load = %v %#v\nwant the record's own values %#v", gotDeadline, again, sampleValues())
	}

	other := sampleValues()
	other[keyUser] = auth.Identity{Name: "Bob", OID: "o2", TID: "t"}
	ob, err := c.Encode(deadline, other)
	if err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.Decode(ob); err != nil || got[keyUser].(auth.Identity).Name != "Bob" {
		t.Errorf("another record decoded to %#v, %v", got[keyUser], err)
	}
	if _, _, err := c.Decode(append(bytes.Clone(b), 0)); err == nil {
		t.Error("a damaged copy of a cached record decoded")
	}
}

// With an immutable store, a record the cache has seen is recognised by its array. With any
// other store it is not: a store may rewrite a buffer it returned, and the same array must then
// decode to what it now holds.
func TestSessionCodecArrays(t *testing.T) {
	deadline := time.Unix(0, 1795474623123456789)
	alice, bob := sampleValues(), sampleValues()
	bob[keyUser] = auth.Identity{Name: "Bob", OID: "o1", TID: "t"}
	alice[keyUser] = auth.Identity{Name: "Ann", OID: "o1", TID: "t"}
	enc := func(v map[string]any) []byte {
		b, err := SessionCodec{}.Encode(deadline, v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	name := func(c SessionCodec, b []byte) string {
		_, got, err := c.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		return got[keyUser].(auth.Identity).Name
	}

	imm := NewSessionCodec(1<<20, true)
	b := enc(alice)
	for range 2 {
		if got := name(imm, b); got != "Ann" {
			t.Fatalf("decoded %q", got)
		}
	}
	if e, ok := imm.cache.arrays[&b[0]]; !ok || len(e.record) != len(b) {
		t.Fatal("an immutable store's record is not known by its array")
	}
	if got := name(imm, enc(bob)); got != "Bob" {
		t.Errorf("another record decoded to %q", got)
	}

	mut := NewSessionCodec(1<<20, false)
	b = enc(alice)
	if got := name(mut, b); got != "Ann" {
		t.Fatalf("decoded %q", got)
	}
	nb := enc(bob)
	if len(nb) != len(b) {
		t.Fatalf("test records of %d and %d bytes", len(b), len(nb))
	}
	copy(b, nb) // the store rewrote its buffer
	if got := name(mut, b); got != "Bob" {
		t.Errorf("a rewritten buffer decoded to %q, want Bob", got)
	}

	if !ImmutableRecords(session.Sealed(session.NewMemoryStore(), session.RandomKeys())) {
		t.Error("a sealed store's records are not taken as immutable")
	}
	if ImmutableRecords(session.NewMemoryStore()) {
		t.Error("a memory store's records are taken as immutable")
	}
}

func BenchmarkSessionCodecDecode(b *testing.B) {
	values := sampleValues()
	values[keyTokenCache] = bytes.Repeat([]byte("t"), 5<<10)
	values[keyFlowLog] = bytes.Repeat([]byte("f"), 4<<10)
	rec, err := SessionCodec{}.Encode(time.Now(), values)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		codec SessionCodec
	}{{"uncached", SessionCodec{}}, {"cached", NewSessionCodec(1<<20, false)}, {"cached, immutable store", NewSessionCodec(1<<20, true)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.codec.Decode(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
