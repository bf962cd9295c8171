package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"stratum1/sim"
)

// TestSimConfigFile: --config takes the sections the sim does not simulate
// from the file (here: rate limiting off, as the benchmark needs), while the
// receiver, the discipline and the addresses stay the sim's own.
func TestSimConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stratum1.toml")
	file := `
[server]
listen = ["0.0.0.0:123"]
workers = 3

[gps]
device = "/dev/ttyAMA0"
baud = "9600"

[http]
listen = ":80"

[access.rate_limit]
disabled = true

[log]
level = "debug"
`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	s := sim.DefaultSettings()
	def, err := simConfig(s, "")
	if err != nil {
		t.Fatalf("no file: %v", err)
	}
	if def.Access.RateLimit.Disabled {
		t.Fatal("without a file the sim does not rate limit; want the daemon's default (limited)")
	}
	cfg, err := simConfig(s, path)
	if err != nil {
		t.Fatalf("with %s: %v", path, err)
	}
	if !cfg.Access.RateLimit.Disabled || cfg.Server.Workers != 3 || cfg.Log.Level != "debug" {
		t.Errorf("file's sections not taken: rate limit disabled %v, workers %d, log level %q",
			cfg.Access.RateLimit.Disabled, cfg.Server.Workers, cfg.Log.Level)
	}
	if !slices.Equal(cfg.Server.Listen, []string{s.Listen}) || cfg.HTTP.Listen != s.HTTP {
		t.Errorf("addresses %v and %q, want the sim's %q and %q", cfg.Server.Listen, cfg.HTTP.Listen, s.Listen, s.HTTP)
	}
	if cfg.GPS != def.GPS || cfg.Discipline != def.Discipline {
		t.Errorf("receiver or discipline from the file: gps %+v, want the sim's %+v", cfg.GPS, def.GPS)
	}
}

func TestSimConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[access.rate_limit]\ndisabled = \"yes\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.toml")} {
		_, err := simConfig(sim.DefaultSettings(), path)
		if err == nil || !strings.Contains(err.Error(), filepath.Base(path)) {
			t.Errorf("simConfig(%s) = %v, want an error naming the file", path, err)
		}
	}
}
