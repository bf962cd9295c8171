// Package config owns the daemon's configuration file: one TOML document,
// decoded strictly, with a section per part of the appliance. Each section's
// type, defaults and validation live in the package it configures.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"

	"stratum1/access"
	"stratum1/discipline"
	"stratum1/gps"
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

// Parse decodes data over the defaults. Unknown keys and invalid values are
// errors that name the key (and the line, where the TOML decoder knows it).
func Parse(data []byte) (Config, error) {
	c := Default()
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			if perr.LastKey != "" {
				return Config{}, fmt.Errorf("line %d: key %s: %s", perr.Position.Line, perr.LastKey, perr.Message)
			}
			return Config{}, fmt.Errorf("line %d: %s", perr.Position.Line, perr.Message)
		}
		return Config{}, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks every section.
func (c Config) Validate() error {
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
		{"nts", c.NTS.Validate()},
	}
	for _, ch := range checks {
		if ch.err != nil {
			return fmt.Errorf("[%s]: %w", ch.section, ch.err)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("[log] level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	return nil
}
