package emulator

import (
	"net/http"
	"strings"
	"testing"
)

// A browser asks every site for /favicon.ico; the emulator answers with its own icon (a 404
// would be logged in the browser's console on every sign-in page).
func TestFavicon(t *testing.T) {
	e := newTestEnv(t, nil)
	for _, p := range []string{"/favicon.ico", "/_static/favicon.svg"} {
		status, h, body := e.get(e.url(p))
		if status != http.StatusOK || h.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
			t.Errorf("GET %s: %d %q %.40q", p, status, h.Get("Content-Type"), body)
		}
	}
	if _, _, body := e.get(e.url("/")); !strings.Contains(body, `rel="icon" href="/_static/favicon.svg"`) {
		t.Error("the emulator's pages do not link their icon")
	}
}
