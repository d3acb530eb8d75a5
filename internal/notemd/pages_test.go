package notemd

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// knownPages are the pages the package's tests know: testdata/*.html and the inputs of
// testdata/fuzz, by file name.
func knownPages(t testing.TB) map[string][]byte {
	t.Helper()
	pages := fuzzSeedPages(t)
	files, _ := filepath.Glob("testdata/*.html")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pages[f] = b
	}
	return pages
}

// fuzzSeedPages are the inputs of testdata/fuzz (the "go test fuzz v1" files).
func fuzzSeedPages(t testing.TB) map[string][]byte {
	t.Helper()
	files, _ := filepath.Glob("testdata/fuzz/*/*")
	pages := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if pages[f], err = fuzzSeed(b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return pages
}

// fuzzSeed reads a corpus file of go test's fuzz format: one []byte("...") value.
func fuzzSeed(b []byte) ([]byte, error) {
	s := strings.TrimSpace(string(b))
	s, ok := strings.CutPrefix(s, "go test fuzz v1\n[]byte(")
	if !ok || !strings.HasSuffix(s, ")") {
		return nil, errors.New("not a fuzz corpus file")
	}
	v, err := strconv.Unquote(strings.TrimSuffix(s, ")"))
	return []byte(v), err
}
