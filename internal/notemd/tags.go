package notemd

import (
	"strings"
)

// noteTag is one of OneNote's built-in note tags (Graph's data-tag values, see
// https://learn.microsoft.com/graph/onenote-note-tags).
type noteTag struct {
	emoji string
	label string // shown after the emoji, "" when the emoji says it all
	title string // the tag's name in OneNote, for tooltips
	check bool   // a check-box tag (it may carry ":completed")
}

var noteTags = map[string]noteTag{
	"to-do":                 {"", "", "To Do", true},
	"important":             {"⭐", "", "Important", false},
	"question":              {"❓", "", "Question", false},
	"critical":              {"❗", "", "Critical", false},
	"idea":                  {"💡", "", "Idea", false},
	"definition":            {"📖", "Definition", "Definition", false},
	"highlight":             {"🖍️", "Highlight", "Highlight", false},
	"remember-for-later":    {"🔖", "Remember for later", "Remember for later", false},
	"contact":               {"👤", "Contact", "Contact", false},
	"address":               {"🏠", "Address", "Address", false},
	"phone-number":          {"📞", "Phone number", "Phone number", false},
	"web-site-to-visit":     {"🌐", "Website to visit", "Website to visit", false},
	"password":              {"🔑", "Password", "Password", false},
	"project-a":             {"📁", "Project A", "Project A", false},
	"project-b":             {"📁", "Project B", "Project B", false},
	"movie-to-see":          {"🎬", "Movie to see", "Movie to see", false},
	"book-to-read":          {"📚", "Book to read", "Book to read", false},
	"music-to-listen-to":    {"🎵", "Music to listen to", "Music to listen to", false},
	"source-for-article":    {"📰", "Source for article", "Source for article", false},
	"remember-for-blog":     {"✍️", "Remember for blog", "Remember for blog", false},
	"discuss-with-person-a": {"💬", "Discuss with person A", "Discuss with person A", true},
	"discuss-with-person-b": {"💬", "Discuss with person B", "Discuss with person B", true},
	"discuss-with-manager":  {"💬", "Discuss with manager", "Discuss with manager", true},
	"send-in-email":         {"✉️", "Send in email", "Send in email", false},
	"schedule-meeting":      {"📅", "Schedule meeting", "Schedule meeting", true},
	"call-back":             {"📞", "Call back", "Call back", true},
	"to-do-priority-1":      {"", "Priority 1", "To Do priority 1", true},
	"to-do-priority-2":      {"", "Priority 2", "To Do priority 2", true},
	"client-request":        {"💼", "Client request", "Client request", true},
}

// tagSet is the parsed data-tag attribute of one element.
type tagSet struct {
	check  bool // at least one check-box tag
	done   bool // ... and it is completed
	prefix string
	titles []string // only from parseTagsTitles
}

// parseTags reads a data-tag value ("to-do", "to-do:completed", "idea, send-in-email") into
// what is shown: a check box (when any tag is one) and a visible prefix made of the other
// tags' emoji, then their labels ("💡 ✉️ Send in email: "). Unknown tags are kept as
// "🏷️ name: " so nothing the author marked disappears.
//
// The tags' names (titles) are left out: the Markdown has no tooltips (parseTagsTitles).
func parseTags(v string) (ts tagSet, ok bool) { return readTags(v, false) }

// parseTagsTitles is parseTags with the tags' names in OneNote (titles), for tooltips.
func parseTagsTitles(v string) (ts tagSet, ok bool) { return readTags(v, true) }

func readTags(v string, titles bool) (ts tagSet, ok bool) {
	var emoji, labels []string
	for part := range strings.SplitSeq(v, ",") {
		name, status, _ := strings.Cut(strings.ToLower(strings.TrimSpace(part)), ":")
		if name == "" {
			continue
		}
		ok = true
		t, known := noteTags[name]
		if !known {
			name = collapseSpace(strings.Map(func(r rune) rune {
				if r == '-' || r == '_' {
					return ' '
				}
				return r
			}, name))
			t = noteTag{emoji: "🏷️", label: name, title: name}
		}
		if titles {
			ts.titles = append(ts.titles, t.title)
		}
		if t.check && !ts.check {
			ts.check, ts.done = true, status == "completed"
		}
		if t.emoji != "" {
			emoji = append(emoji, t.emoji)
		}
		if t.label != "" {
			labels = append(labels, t.label)
		}
	}
	if len(emoji) > 0 {
		ts.prefix = strings.Join(emoji, " ") + " "
	}
	if len(labels) > 0 {
		ts.prefix += strings.Join(labels, ", ") + ": "
	}
	return ts, ok
}

// box is the check box as text, for places where Markdown has no task syntax.
func (ts tagSet) box() string {
	switch {
	case !ts.check:
		return ""
	case ts.done:
		return "☑ "
	default:
		return "☐ "
	}
}
