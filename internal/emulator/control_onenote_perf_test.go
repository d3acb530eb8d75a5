package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestOneNotePagesControl adds a page of more than the control API's usual 1 MiB through
// POST /_emulator/onenote/pages and reads its content back through Graph.
func TestOneNotePagesControl(t *testing.T) {
	e := newOneNoteEnv(t, nil)
	tok := e.notesToken(alex.ID, "Notes.Read")
	post := func(path string, body any) (int, map[string]string) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, e.url(path), strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		status, _, out := e.do(req)
		var m map[string]string
		_ = json.Unmarshal([]byte(out), &m)
		return status, m
	}
	st, sec := post("/_emulator/onenote/sections", map[string]any{"userID": alex.UserPrincipalName, "notebook": "Perf", "section": "Sizes"})
	if st != http.StatusCreated {
		t.Fatalf("sections: %d %v", st, sec)
	}
	html := "<html><head><title>Big</title></head><body><p>" + strings.Repeat("x", 3<<19) + "</p></body></html>"
	st, pg := post("/_emulator/onenote/pages", map[string]any{"userID": alex.UserPrincipalName, "sectionID": sec["id"], "title": "Big", "html": html})
	if st != http.StatusCreated || pg["id"] == "" {
		t.Fatalf("pages: %d %v", st, pg)
	}
	if status, _, body := e.graphGet(tok, me+"pages/"+pg["id"]+"/content"); status != http.StatusOK || body != html {
		t.Errorf("content: %d, %d bytes (want %d)", status, len(body), len(html))
	}
	if st, _ := post("/_emulator/onenote/pages", map[string]any{"userID": "nobody@x.example", "sectionID": sec["id"], "html": "x"}); st != http.StatusNotFound {
		t.Errorf("unknown user: %d", st)
	}
	if st, _ := post("/_emulator/onenote/pages", map[string]any{"userID": alex.UserPrincipalName, "sectionID": "nope", "html": "x"}); st != http.StatusBadRequest {
		t.Errorf("unknown section: %d", st)
	}
}
