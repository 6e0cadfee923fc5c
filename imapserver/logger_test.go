package imapserver

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

// panicLogger fails the test when go-imap logs a recovered panic.
func panicLogger(t testing.TB) *slog.Logger {
	return slog.New(&panicHandler{t: t})
}

type panicHandler struct{ t testing.TB }

func (h *panicHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *panicHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		h.t.Errorf("server: %s", r.Message)
	}
	return nil
}
func (h *panicHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *panicHandler) WithGroup(string) slog.Handler      { return h }
