package notemd

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExpandSelfClosing: non-void elements written XML-style are closed, everything else is
// left byte for byte, and the copy-on-first-rewrite path gives what writing every token gives.
func TestExpandSelfClosing(t *testing.T) {
	cases := map[string]string{
		`<p>a</p>`:                          `<p>a</p>`,
		`<IMG SRC="x" /><Br/>`:              `<IMG SRC="x" /><Br/>`,
		`<p>x</p><OBJECT data="d" />tail`:   `<p>x</p><object data="d"></object>tail`,
		`<div/><iframe src="v"/><div/>`:     `<div></div><iframe src="v"></iframe><div/>`, // the tokenizer reads what follows <iframe> as its text
		`<!-- <a/> --><p title="x/>">q</p>`: `<!-- <a/> --><p title="x/>">q</p>`,
		`<script>var a = "<b/>"</script>`:   `<script>var a = "<b/>"</script>`,
		`<p>a < b /> c</p><span/>`:          `<p>a < b /> c</p><span></span>`,
		`<p>unterminated <a href="x/>`:      `<p>unterminated `, // an unfinished tag at the end is no token
	}
	for in, want := range cases {
		if got := string(expandSelfClosing([]byte(in))); got != want {
			t.Errorf("expandSelfClosing(%q) = %q, want %q", in, got, want)
		}
		if got, all := string(expandSelfClosing([]byte(in))), string(expandAll([]byte(in))); got != all {
			t.Errorf("expandSelfClosing(%q) = %q, expandAll gives %q", in, got, all)
		}
	}
	files, _ := filepath.Glob("testdata/*.html")
	seeds, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, f := range append(files, seeds...) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, all := expandSelfClosing(src), expandAll(src); string(got) != string(all) {
			t.Errorf("%s: expandSelfClosing and expandAll differ", f)
		}
	}
}
