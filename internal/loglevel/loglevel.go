// Package loglevel holds the daemon's log level where a configuration
// reload can change it: a slog.LevelVar behind the handler, set from the
// [log] level names.
package loglevel

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Parse reads a [log] level name: debug, info, warn or error.
func Parse(name string) (slog.Level, error) {
	switch strings.ToLower(name) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q is not one of debug, info, warn, error", name)
}

// Var is a log level that changes at run time.
type Var struct{ v slog.LevelVar }

// NewLogger returns a text logger on w whose level is held by the
// returned Var, starting at name (info when name is not a level).
func NewLogger(w io.Writer, name string) (*slog.Logger, *Var) {
	lv := &Var{}
	if l, err := Parse(name); err == nil {
		lv.v.Set(l)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: &lv.v})), lv
}

// Set changes the level to name and reports whether it changed.
func (lv *Var) Set(name string) (changed bool, err error) {
	l, err := Parse(name)
	if err != nil {
		return false, err
	}
	if lv.v.Level() == l {
		return false, nil
	}
	lv.v.Set(l)
	return true, nil
}

// Level is the current level.
func (lv *Var) Level() slog.Level { return lv.v.Level() }
