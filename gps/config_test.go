package gps

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
		baud    int
	}{
		{"default", func(*Config) {}, "", 0},
		{"fixed baud", func(c *Config) { c.Baud = "9600" }, "", 9600},
		{"AUTO", func(c *Config) { c.Baud = "AUTO" }, "", 0},
		{"empty device", func(c *Config) { c.Device = " " }, "device", 0},
		{"bad baud", func(c *Config) { c.Baud = "fast" }, "baud", 0},
		{"tiny baud", func(c *Config) { c.Baud = "12" }, "baud", 0},
		{"rollover ref", func(c *Config) { c.RolloverRef = "2024-02-30" }, "rollover_ref", 0},
		{"no GPS", func(c *Config) { c.Device = "" }, "", 0},
		{"relative device", func(c *Config) { c.Device = "ttyUSB0" }, "device", 0},
		{"huge baud", func(c *Config) { c.Baud = "5000000" }, "baud", 0},
		{"rollover ref before GPS", func(c *Config) { c.RolloverRef = "1970-01-01" }, "rollover_ref", 0},
		{"rollover ref far ahead", func(c *Config) { c.RolloverRef = "2200-01-01" }, "rollover_ref", 0},
		{"reconnect", func(c *Config) { c.ReconnectMax = -time.Second }, "reconnect_max", 0},
		{"reconnect spins", func(c *Config) { c.ReconnectMax = 5 }, "reconnect_max", 0},
		{"reconnect zero", func(c *Config) { c.ReconnectMax = 0 }, "reconnect_max", 0},
		{"reconnect a day", func(c *Config) { c.ReconnectMax = 24 * time.Hour }, "reconnect_max", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := c.BaudRate(); b != tc.baud {
					t.Errorf("baud %d, want %d", b, tc.baud)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one about %s", err, tc.wantErr)
			}
		})
	}
	if _, err := NewReader(Config{Device: "/dev/x", Baud: "nope"}, ReaderOptions{}); err == nil {
		t.Error("NewReader accepted a bad config")
	}
	if _, err := NewReader(Config{Baud: "auto"}, ReaderOptions{}); err == nil {
		t.Error("NewReader accepted no device")
	}
	if r, err := NewReader(Config{Device: "/dev/x"}, ReaderOptions{}); err != nil || r.cfg.ReconnectMax != DefaultConfig().ReconnectMax {
		t.Errorf("NewReader with ReconnectMax unset: %v", err)
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		" 2007-12-23":       "2007-12-23",
		"2017-1-9":          "2017-01-09",
		"2022-11-23T":       "2022-11-23",
		"23 Dec 2007":       "2007-12-23",
		"December 23, 2007": "2007-12-23",
		"sometime":          "",
		"2007-13-01":        "",
	} {
		d, ok := ParseDate(in)
		got := ""
		if ok {
			got = d.Format("2006-01-02")
		}
		if got != want {
			t.Errorf("ParseDate(%q) = %q, want %q", in, got, want)
		}
	}
}
