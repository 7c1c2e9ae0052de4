package telemetry

import (
	"log/slog"
	"os"
)

// Logger returns a JSON logger on stderr at level (debug, info, warn, error).
func Logger(service, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})).With("service", service)
}
