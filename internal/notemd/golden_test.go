package notemd

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// assetLink is how the exporter names assets in these tests: assets/<AssetName>, made unique.
func assetLink() func(Resource) string {
	var names Names
	seen := map[string]string{}
	return func(r Resource) string {
		if p, ok := seen[r.ID]; ok {
			return p
		}
		p := "assets/" + names.Unique(AssetName(r))
		seen[r.ID] = p
		return p
	}
}

func resourceURL(r Resource) string { return "/resources/" + r.ID }

// TestGolden converts every testdata/*.html page to Markdown (<name>.md) and sanitized HTML
// (<name>.safe.html) and compares with the golden files; go test -update rewrites them.
func TestGolden(t *testing.T) {
	pages, err := filepath.Glob("testdata/*.html")
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, p := range pages {
		if !strings.HasSuffix(p, ".safe.html") {
			inputs = append(inputs, p)
		}
	}
	if len(inputs) == 0 {
		t.Fatal("no pages in testdata")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".html")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			md, err := Markdown(src, assetLink())
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".md"), md)
			safe, err := Sanitize(src, resourceURL)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".safe.html"), string(safe)+"\n")
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got ---\n%s", path, got)
	}
}
