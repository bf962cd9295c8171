package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"stratum1/internal/setting"
)

// Error is what is wrong with a configuration, and where: the line and
// column of the key (or of the syntax error) when the file is known, and
// the full key, such as "access.rate_limit.interval" or
// "peers.server[1].minpoll".
type Error struct {
	Line, Column int    // 1-based; 0 when not known
	Key          string // "" for a syntax error
	Err          error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// sectionError turns a section's Validate error into an *Error with the
// full key: the setting.Error's key under the section, else the section.
func sectionError(section string, err error) *Error {
	var se *setting.Error
	if errors.As(err, &se) {
		return &Error{Key: section + "." + se.Key, Err: se.Err}
	}
	return &Error{Key: section, Err: err}
}

// locate fills in the line and column of e's key, or of the nearest
// enclosing table the file writes.
func (e *Error) locate(pos positions) {
	if e.Line > 0 || e.Key == "" {
		return
	}
	if at, ok := pos.lookup(e.Key); ok {
		e.Line, e.Column = at.line, at.col
	}
}

// syntaxError converts the TOML decoder's error. Its line can be one past
// the error (an unclosed "[access" is seen at the newline that ends it), so
// the line and column are counted again from the byte offset.
func syntaxError(data []byte, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{Err: err}
	}
	e := &Error{Line: pe.Position.Line, Column: pe.Position.Col, Err: errors.New(pe.Message)}
	if start := pe.Position.Start; start >= 0 && start <= len(data) {
		e.Line = 1 + bytes.Count(data[:start], []byte("\n"))
		e.Column = start - (bytes.LastIndexByte(data[:start], '\n') + 1) + 1
	}
	return e
}
