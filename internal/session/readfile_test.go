package session

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// readFileInto returns a file whole, across its first buffer's size, and says when there is none.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 16<<10 - 1, 16 << 10, 16<<10 + 1, 300 << 10} {
		want := bytes.Repeat([]byte{byte(size)}, size)
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readFileInto(p, make([]byte, 0, 16<<10))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("size %d: got %d bytes, %v", size, len(got), err)
		}
	}
	if _, err := readFileInto(filepath.Join(dir, "missing"), nil); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want not-exist", err)
	}
}
