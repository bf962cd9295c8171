package main

import (
	"context"
	"errors"
	"log/slog"
)

// logShutdown logs why the daemon stops: the signal that cancelled ctx (as
// signal.NotifyContext records it, "terminated signal received"), or the
// error that ended it. err is what the daemon's run returned.
func logShutdown(log *slog.Logger, ctx context.Context, err error) {
	switch {
	case err != nil && !errors.Is(err, context.Canceled):
		log.Error("shutting down", "reason", err.Error())
	case context.Cause(ctx) != nil:
		log.Info("shutting down", "reason", context.Cause(ctx).Error())
	default:
		log.Info("shutting down", "reason", "every part stopped")
	}
}
