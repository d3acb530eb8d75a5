package notemd

import (
	"os"
	"strings"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	f.Add([]byte(`<p data-tag="to-do">x</p><ul><li><span data-tag="to-do:completed">y</span></li></ul>`))
	f.Add([]byte(`<object data="https://graph.microsoft.com/v1.0/me/onenote/resources/0-a/$value" data-attachment="a.pdf"/><svg onload=alert(1)>`))
	f.Add([]byte(`<table><tr><td><table><tr><td>a</td></tr></table><ul><li>b</li></ul></td></tr></table>`))
	if page, err := os.ReadFile("testdata/trip-plan.html"); err == nil {
		f.Add(page)
	}
}

// FuzzSanitize: no panic, and nothing active in the output whatever the page.
func FuzzSanitize(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, page []byte) {
		out, err := Sanitize(page, resourceURL)
		if err != nil {
			return
		}
		checkSafe(t, out)
	})
}

// FuzzMarkdown: no panic; no link to a script; the output's shape holds.
func FuzzMarkdown(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, page []byte) {
		out, err := Markdown(page, assetLink())
		if err != nil {
			return
		}
		lower := strings.ToLower(out)
		for _, bad := range []string{"](javascript:", "](data:", "](vbscript:"} {
			if strings.Contains(lower, bad) {
				t.Errorf("output links to %s: %q", bad, out)
			}
		}
		checkMarkdownShape(t, out)
	})
}
