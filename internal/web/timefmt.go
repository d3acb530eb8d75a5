package web

import "time"

// The app writes every time one way, in UTC: date, then time of day. The notes pages show
// minutes (day, "2006-01-02 15:04 UTC"); /token and /flow show seconds, which matter for a
// token's expiry and a sign-in's steps (stamp, "2006-01-02 15:04:05 UTC").
const stampLayout = "2006-01-02 15:04:05 UTC"

// stamp formats t for /token and /flow.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(stampLayout)
}

// moment is a time shown with how far it is from when the page was made ("in 59m 30s",
// "3m 02s ago"); static/token.js keeps that part ticking from ISO.
type moment struct {
	Stamp, ISO, Rel string
}

// when is t as a moment seen at now.
func when(t, now time.Time) *moment {
	m := &moment{Stamp: stamp(t), ISO: t.UTC().Format(time.RFC3339)}
	switch d := t.Sub(now).Round(time.Second); {
	case d > 0:
		m.Rel = "in " + left(d)
	case d < 0:
		m.Rel = left(-d) + " ago"
	default:
		m.Rel = "now"
	}
	return m
}
