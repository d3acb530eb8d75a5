package notemd

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFileName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Trip plan", "Trip plan"},
		{"a/b:c?..", "a-b-c"},
		{`<>:"/\|?*`, "Untitled"},
		{"", "Untitled"},
		{"   ", "Untitled"},
		{"...", "Untitled"},
		{"CON", "CON_"},
		{"con.txt", "con_.txt"},
		{"Nul", "Nul_"},
		{"COM1", "COM1_"},
		{"lpt9.md", "lpt9_.md"},
		{"COM¹", "COM¹_"},
		{"COM10", "COM10"},
		{"CONSOLE", "CONSOLE"},
		{"name. ", "name"},
		{"trailing dots...", "trailing dots"},
		{"-rf", "rf"},
		{".hidden", "hidden"},
		{"tab\tand\nnewline", "tab and newline"},
		{"bell\x07char", "bell-char"},
		{"gpj\u202Eexe.png", "gpjexe.png"},
		{"Cafe\u0301", "Café"}, // NFD in, NFC out
		{"emoji 😀 ok", "emoji 😀 ok"},
		{"Q1: plan | review", "Q1- plan - review"},
	} {
		if got := FileName(tc.in); got != tc.want {
			t.Errorf("FileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := FileName(strings.Repeat("é", 80)) // 160 bytes
	if len(long) > maxNameBytes || !utf8.ValidString(long) {
		t.Errorf("long name: %d bytes, valid %v", len(long), utf8.ValidString(long))
	}
	if got := FileName(strings.Repeat("a", 99) + " .b"); strings.HasSuffix(got, " ") || strings.HasSuffix(got, ".") {
		t.Errorf("truncation left %q", got)
	}
}

func TestNamesUnique(t *testing.T) {
	var n Names
	for _, tc := range []struct{ in, want string }{
		{"Notes.md", "Notes.md"},
		{"notes.md", "notes (2).md"},
		{"NOTES.md", "NOTES (3).md"},
		{"Notes (2).md", "Notes (2) (2).md"},
		{"Café.md", "Café.md"},
		{"Cafe\u0301.md", "Cafe\u0301 (2).md"}, // same name on macOS once normalised
		{"CAFÉ.md", "CAFÉ (3).md"},
		{"straße", "straße"},
		{"STRASSE", "STRASSE (2)"}, // case folding, as Windows and macOS compare
		{"assets", "assets"},
		{"Assets", "Assets (2)"},
	} {
		if got := n.Unique(tc.in); got != tc.want {
			t.Errorf("Unique(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAssetName(t *testing.T) {
	for _, tc := range []struct {
		r    Resource
		want string
	}{
		{Resource{Kind: "image", Type: "image/png", Name: "map"}, "map.png"},
		{Resource{Kind: "image", Type: "image/jpeg"}, "image.jpg"},
		{Resource{Kind: "image", Type: "image/gif", Name: "a/b"}, "a-b.gif"},
		{Resource{Kind: "image", Type: "image/webp", Name: "x"}, "x.webp"},
		{Resource{Kind: "image", Type: "image/bmp"}, "image.bmp"},
		{Resource{Kind: "image", Type: "image/svg+xml"}, "image.svg"},
		{Resource{Kind: "image", Type: "application/octet-stream"}, "image.bin"},
		{Resource{Kind: "image", Type: "image/png", Name: "Machine generated alternative text: File Edit View"}, "image.png"},
		{Resource{Kind: "image", Type: "image/png", Name: "CON"}, "CON_.png"},
		{Resource{Kind: "attachment", Type: "application/pdf", Name: "report.pdf"}, "report.pdf"},
		{Resource{Kind: "attachment", Type: "application/pdf", Name: "report.txt"}, "report.pdf"},
		{Resource{Kind: "attachment", Type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Name: "letter.docx"}, "letter.docx"},
		{Resource{Kind: "attachment", Type: "", Name: "data"}, "data.bin"},
		{Resource{Kind: "attachment", Type: "image/jpeg", Name: "photo.JPEG"}, "photo.jpeg"},
		{Resource{Kind: "attachment", Type: "application/pdf"}, "attachment.pdf"},
		{Resource{Kind: "attachment", Type: "application/pdf", Name: "../../etc/passwd"}, "etc-passwd.pdf"},
	} {
		if got := AssetName(tc.r); got != tc.want {
			t.Errorf("AssetName(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}
