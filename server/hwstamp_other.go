//go:build !linux

package server

import (
	"context"
	"log/slog"
)

// hwStamps is Linux's: elsewhere there are no hardware timestamps.
type hwStamps struct{}

func openHW(names []string, log *slog.Logger) *hwStamps {
	if len(names) > 0 {
		log.Warn("hardware timestamps need Linux; software ones are used")
	}
	return nil
}

func (*hwStamps) run(context.Context) {}

func (*hwStamps) close() {}
