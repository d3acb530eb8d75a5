package deploy_test

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// What one signed-in user costs in the file store, after sign-in and after a token refresh:
// the MSAL token cache, the whole session record and the file on disk. The cookie stays a
// session ID whatever the session holds. `go test -v -run TestSessionSize ./internal/deploy`
// prints the numbers (the README quotes them).
func TestSessionSize(t *testing.T) {
	t.Parallel()
	s := fileStore(t)
	d := deploy(t, deployOpts{env: s.env})
	d.emu.SetLifetimes(2*time.Minute, time.Hour) // every /msal-demo refreshes
	in := d.insts[0]
	dir := in.cfg.SessionDir
	br := d.browser()
	br.signIn(in.url)

	measure := func(when string) int {
		t.Helper()
		recs := signedInRecords(t, s)
		if len(recs) != 1 {
			t.Fatalf("%s: %d signed-in sessions, want 1", when, len(recs))
		}
		values := sessionValues(t, recs[0])
		cache := values["token_cache"].([]byte)
		d.secrets.add(tokenSecrets(t, cache)...)
		file := 0
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && bytes.HasSuffix(b, recs[0]) {
				file = len(b)
			}
		}
		t.Logf("%s: token cache %s; session record %s (file %s); values: %s", when,
			fmtBytes(len(cache)), fmtBytes(len(recs[0])), fmtBytes(file), breakdown(values))
		if len(cache) > 8<<10 {
			t.Errorf("%s: the token cache is %d bytes: it should hold one account's tokens (a few KiB)", when, len(cache))
		}
		c := br.sessionCookie(in.url)
		if c == nil || len(c.Value) != 43 {
			t.Errorf("%s: session cookie %v: want a 43-character session ID", when, c)
		}
		return len(cache)
	}
	afterSignIn := measure("after sign-in")

	refreshes := d.emu.Counters()["token:refresh_token"]
	for range 3 {
		if p := br.get(in.url + "/msal-demo"); p.status != 200 {
			t.Fatalf("/msal-demo: %d", p.status)
		}
	}
	if got := d.emu.Counters()["token:refresh_token"]; got != refreshes+3 {
		t.Fatalf("refresh_token grants = %d, want %d", got, refreshes+3)
	}
	afterRefresh := measure("after 3 refreshes")
	// Refreshing replaces the tokens; it must not pile them up.
	if afterRefresh > afterSignIn+afterSignIn/2 {
		t.Errorf("the token cache grew from %d to %d bytes over three refreshes", afterSignIn, afterRefresh)
	}
}

// breakdown lists each session value's approximate encoded size, largest first.
func breakdown(values map[string]any) string {
	type kv struct {
		k string
		n int
	}
	var all []kv
	for k, v := range values {
		n := 0
		switch x := v.(type) {
		case []byte:
			n = len(x)
		case string:
			n = len(x)
		default:
			var buf bytes.Buffer
			if gob.NewEncoder(&buf).Encode(v) == nil {
				n = buf.Len()
			}
		}
		all = append(all, kv{k, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n })
	parts := make([]string, len(all))
	for i, x := range all {
		parts[i] = fmt.Sprintf("%s %d", x.k, x.n)
	}
	return strings.Join(parts, ", ")
}
