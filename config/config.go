// Package config owns the daemon's configuration file: one TOML document,
// decoded strictly, with a section per part of the appliance. Each section's
// type, defaults and validation live in the package it configures; its
// Validate reports a bad value as an internal/setting.Error naming the key.
//
// Parsing is strict in one place for every section: before decoding, the
// document is walked beside the Go types, so that an unknown key, a value of
// the wrong type, or a time.Duration written as a bare number (which the
// TOML decoder would take as nanoseconds) is refused. Every error is an
// *Error with the full key and the line and column it is written at.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"stratum1/access"
	"stratum1/discipline"
	"stratum1/gps"
	"stratum1/internal/setting"
	"stratum1/nts"
	"stratum1/peer"
	"stratum1/pps"
	"stratum1/server"
	"stratum1/status"
)

// Config is the whole configuration.
type Config struct {
	Server     server.Config     `toml:"server"`
	GPS        gps.Config        `toml:"gps"`
	PPS        pps.Config        `toml:"pps"`
	Discipline discipline.Config `toml:"discipline"`
	Peers      peer.Config       `toml:"peers"`
	Access     access.Config     `toml:"access"`
	HTTP       status.HTTPConfig `toml:"http"`
	NTS        nts.Config        `toml:"nts"`
	Log        Log               `toml:"log"`
}

// Log is the [log] section.
type Log struct {
	Level string `toml:"level"` // debug, info, warn, error
}

// Default returns the configuration used when a key is not set.
func Default() Config {
	return Config{
		Server:     server.DefaultConfig(),
		GPS:        gps.DefaultConfig(),
		PPS:        pps.DefaultConfig(),
		Discipline: discipline.DefaultConfig(),
		Peers:      peer.DefaultConfig(),
		Access:     access.DefaultConfig(),
		HTTP:       status.DefaultHTTPConfig(),
		NTS:        nts.DefaultConfig(),
		Log:        Log{Level: "info"},
	}
}

// Load reads and validates the file at path.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes data over the defaults and validates the result. Every
// error is an *Error that names the key and, where the file sets it, its
// line and column: a syntax error, an unknown key, a value of the wrong
// type (a duration written as a bare number among them) or a value out of
// range.
func Parse(data []byte) (Config, error) {
	var tree map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&tree); err != nil {
		return Config{}, syntaxError(data, err)
	}
	pos := keyPositions(data)
	if errs := checkTree("", tree, reflect.TypeFor[Config]()); len(errs) > 0 {
		return Config{}, first(errs, pos)
	}
	c := Default()
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		// checkTree has seen the types; what is left is a value the
		// decoder cannot store, such as an integer too big for its field.
		var pe toml.ParseError
		if errors.As(err, &pe) {
			e := &Error{Key: pe.LastKey, Err: errors.New(pe.Message)}
			e.locate(pos)
			return Config{}, e
		}
		return Config{}, &Error{Err: err}
	}
	if und := md.Undecoded(); len(und) > 0 {
		e := &Error{Key: und[0].String(), Err: errors.New("unknown key")}
		e.locate(pos)
		return Config{}, e
	}
	if err := c.validate(); err != nil {
		err.locate(pos)
		return Config{}, err
	}
	return c, nil
}

// first returns the error that comes first in the file.
func first(errs []*Error, pos positions) *Error {
	for _, e := range errs {
		e.locate(pos)
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		if a.Line == 0 || b.Line == 0 { // unknown positions last
			return cmp.Compare(b.Line, a.Line)
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), strings.Compare(a.Key, b.Key))
	})
	return errs[0]
}

// Validate checks every section; the error is an *Error naming the key.
func (c Config) Validate() error {
	if err := c.validate(); err != nil {
		return err
	}
	return nil
}

func (c Config) validate() *Error {
	checks := []struct {
		section string
		err     error
	}{
		{"server", c.Server.Validate()},
		{"gps", c.GPS.Validate()},
		{"pps", c.PPS.Validate()},
		{"discipline", c.Discipline.Validate()},
		{"peers", c.Peers.Validate()},
		{"access", c.Access.Validate()},
		{"http", c.HTTP.Validate()},
		{"log", c.Log.Validate()},
		{"nts", c.NTS.Validate()},
	}
	for _, ch := range checks {
		if ch.err != nil {
			return sectionError(ch.section, ch.err)
		}
	}
	return nil
}

// Validate checks the [log] section.
func (l Log) Validate() error {
	switch l.Level {
	case "debug", "info", "warn", "error":
		return nil
	}
	return setting.Errorf("level", "%q is not one of debug, info, warn, error", l.Level)
}
