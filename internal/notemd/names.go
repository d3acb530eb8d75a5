package notemd

import (
	"mime"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// maxNameBytes bounds FileName's result; extensions and " (n)" come on top, and every
// file system in use allows 255 bytes.
const maxNameBytes = 100

// FileName makes a title into a file or folder name safe on Windows, macOS and Linux (no
// reserved characters or names, no trailing dot or space, at most 100 bytes of UTF-8, never
// empty: "Untitled"). It adds no extension.
//
// Reserved characters (< > : " / \ | ? * and control characters) become "-" (one for a run);
// line breaks and tabs become spaces; bidirectional overrides, which can disguise a name's
// real extension, are removed; leading dots and dashes (hidden files, command-line options)
// and trailing dots, spaces and dashes are trimmed; Windows device names (CON, NUL, COM1,
// LPT1, ... with any extension) get a "_" after the device name. The result is NFC.
func FileName(title string) string {
	return safeName(title, "Untitled")
}

func safeName(title, fallback string) string {
	s := norm.NFC.String(title)
	var b strings.Builder
	b.Grow(len(s))
	lastDash := false // the last rune written is a "-" that replaced a reserved character
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || unicode.IsSpace(r):
			r = ' '
		case isBidiControl(r) || r == '\uFEFF' || r == utf8.RuneError:
			continue
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || strings.ContainsRune(`<>:"/\|?*`, r):
			if !lastDash {
				b.WriteByte('-')
			}
			lastDash = true
			continue
		}
		if r == ' ' && strings.HasSuffix(b.String(), " ") {
			continue // one space for a run of white space
		}
		lastDash = false
		b.WriteRune(r)
	}
	s = trimName(b.String())
	if len(s) > maxNameBytes {
		cut := maxNameBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
		// Do not leave half of an emoji sequence or a lone combining mark's base behind.
		s = strings.TrimRightFunc(s, func(r rune) bool {
			return r == '\u200D' || unicode.Is(unicode.Variation_Selector, r)
		})
		s = trimName(s)
	}
	if s == "" {
		return fallback
	}
	return avoidDeviceName(s)
}

// trimName removes what no platform keeps safely at the ends of a name.
func trimName(s string) string {
	s = strings.TrimLeft(s, " .-")
	return strings.TrimRight(s, " .-")
}

func isBidiControl(r rune) bool {
	return r == '\u200E' || r == '\u200F' || r == '\u061C' ||
		(r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}

// avoidDeviceName appends "_" to a Windows device name: "CON" and "con.txt" name the console
// on Windows whatever the extension.
func avoidDeviceName(s string) string {
	stem, rest, _ := strings.Cut(s, ".")
	base := strings.ToUpper(strings.TrimRight(stem, " "))
	reserved := false
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		reserved = true
	default:
		if len(base) >= 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
			switch base[3:] {
			case "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
				reserved = true
			}
		}
	}
	if !reserved {
		return s
	}
	if strings.Contains(s, ".") {
		return stem + "_." + rest
	}
	return stem + "_"
}

// Names hands out unique names in one folder, compared as Windows and macOS do (case-folded,
// Unicode-normalised): a second "Notes.md" becomes "Notes (2).md". The zero value is ready.
type Names struct{ used map[string]bool }

// Unique returns name, or name with " (n)" before its extension, not handed out before.
func (n *Names) Unique(name string) string {
	if n.used == nil {
		n.used = map[string]bool{}
	}
	candidate := name
	ext := path.Ext(name)
	if ext == name || strings.ContainsAny(ext, " ") {
		ext = "" // ".md" alone or "v1. draft" has no extension
	}
	stem := strings.TrimSuffix(name, ext)
	for i := 2; n.used[nameKey(candidate)]; i++ {
		candidate = stem + " (" + strconv.Itoa(i) + ")" + ext
	}
	n.used[nameKey(candidate)] = true
	return candidate
}

// nameKey is how a case-insensitive file system compares names: case-folded and normalised.
// A Caser is not safe for concurrent use, so each call takes its own.
func nameKey(s string) string {
	return norm.NFC.String(cases.Fold().String(norm.NFD.String(s)))
}

// AssetName is the file name for a resource: the attachment's name, or the image's alt text,
// or "image", made safe with FileName, with an extension matching its content type.
//
// OneNote's machine-generated alt text ("Machine generated alternative text: ...", the text
// read from a screenshot) is not a name, so such images are called "image".
func AssetName(r Resource) string {
	name := strings.TrimSpace(r.Name)
	fallback := "image"
	if r.Kind == "attachment" {
		fallback = "attachment"
	}
	if r.Kind == "image" && strings.HasPrefix(strings.ToLower(name), "machine generated alternative text") {
		name = ""
	}
	ext := typeExt(r.Type)
	if r.Kind == "attachment" {
		if own := ownExt(name); own != "" {
			switch {
			case ext == "":
				ext = own
			case ext == ".jpg" && (own == ".jpeg" || own == ".jpe"), ext == ".svg" && own == ".svgz":
				ext = own
			}
			name = name[:len(name)-len(own)]
		}
	}
	if ext == "" {
		ext = ".bin"
	}
	return safeName(name, fallback) + ext
}

// ownExt is a file name's extension, lower-cased, when it looks like one (".pdf", ".docx").
func ownExt(name string) string {
	ext := path.Ext(name)
	if len(ext) < 2 || len(ext) > 11 || ext == name {
		return ""
	}
	for _, r := range ext[1:] {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return ""
		}
	}
	return strings.ToLower(ext)
}

// typeExt maps the content types OneNote pages carry to an extension ("" when unknown).
func typeExt(contentType string) string {
	t, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	switch t {
	case "image/png":
		return ".png"
	case "image/jpeg", "image/jpg", "image/pjpeg":
		return ".jpg"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	case "image/bmp", "image/x-ms-bmp":
		return ".bmp"
	case "image/svg+xml":
		return ".svg"
	case "image/tiff":
		return ".tiff"
	case "application/pdf":
		return ".pdf"
	}
	return ""
}
