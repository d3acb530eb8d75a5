package web

import (
	"io"
	"log/slog"

	"github.com/graphauth/graphauth/internal/config"
)

// NewLogger is the app's logger: LOG_FORMAT (text or json) at LOG_LEVEL, written to w.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
