// Package logging builds the service's structured logger: log/slog with a
// JSON handler. Records carry claim ids, beneficiary references (keyed hashes)
// and reason codes, never a NIR.
package logging

import (
	"io"
	"log/slog"
)

// New returns a JSON logger writing to w at level ("debug", "info", "warn",
// "error"; anything else means info).
func New(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch level {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
