package web

import (
	"net/http"
	"slices"
	"testing"
)

// The value a fixed header shares between responses is never changed by what one response does
// with its headers afterwards.
func TestFixedHeadersStayFixed(t *testing.T) {
	f := newFixedHeader("vary", "Cookie")
	if f.name != "Vary" {
		t.Fatalf("name %q, want the canonical Vary", f.name)
	}
	h := http.Header{}
	f.set(h)
	h.Add("Vary", "Accept")
	h2 := http.Header{"Vary": {"Origin"}}
	f.add(h2)
	if !slices.Equal(f.value, []string{"Cookie"}) {
		t.Fatalf("the shared value is now %q", f.value)
	}
	if got := h.Values("Vary"); !slices.Equal(got, []string{"Cookie", "Accept"}) {
		t.Errorf("after set and Add: %q", got)
	}
	if got := h2.Values("Vary"); !slices.Equal(got, []string{"Origin", "Cookie"}) {
		t.Errorf("add to an existing Vary: %q", got)
	}
	h3 := http.Header{}
	f.add(h3)
	if got := h3.Values("Vary"); !slices.Equal(got, []string{"Cookie"}) {
		t.Errorf("add to none: %q", got)
	}
}
