package notemd

import (
	"bytes"
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

// TestParsesAsIs: the scan says "nothing to repair" only when the repair indeed changes
// nothing.
func TestParsesAsIs(t *testing.T) {
	cases := map[string]bool{
		`<p>a</p>`:                                  true,
		`<p><img src="x" /></p><meta a="b"/>`:       true,
		`<IMG SRC="x" /><Br/>`:                      true,
		`<p>don't<br/></p>`:                         true,
		`<object data="d" />`:                       false,
		`<object data=x<img/>`:                      false,
		`<object title="a>b"<img/>`:                 false,
		`<object title="a><img/>" data=x/>`:         false,
		`<object title=">" <br/>`:                   false,
		`<!-- <a/> --><p title="x/>">q</p>`:         false,
		`<p>a < b /> c</p>`:                         true,
		`<br/ /><hr/>`:                              true,
		`<p>unterminated <a href="x/>`:              false,
		`<p>unterminated <img href="x/>`:            false,
		`<p>tail <img href=x/><p title="a`:          false,
		`<script>var a = "<b/>"</script><img/>`:     false,
		`<title>a <b/></title><img/>`:               true,
		`<TITLE>a </titlex><b/></TITLE><img/>`:      true,
		`<p>x</p><textarea><object/></textarea>`:    true,
		`<img src=a/><img src='b'/><input value=/>`: true,
		`<p a=/>`:              false,
		`</p/><? x/> ?></ x/>`: true,
	}
	for in, want := range cases {
		got := parsesAsIs([]byte(in))
		if got != want {
			t.Errorf("parsesAsIs(%q) = %v, want %v", in, got, want)
		}
		if exp := expandSelfClosing([]byte(in)); got && string(exp) != in {
			t.Errorf("parsesAsIs(%q) but the repair gives %q", in, exp)
		}
	}
}

// FuzzParsesAsIs: whenever the scan skips the repair, the repair would have changed nothing.
func FuzzParsesAsIs(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte(`<object data=x<img/>`))
	f.Add([]byte(`<title>a <b/></title><img src='b'/><p x=y>`))
	f.Fuzz(func(t *testing.T, src []byte) {
		if parsesAsIs(src) {
			if exp := expandSelfClosing(src); !bytes.Equal(exp, src) {
				t.Fatalf("parsesAsIs(%q) but the repair gives %q", src, exp)
			}
		}
	})
}
