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
		{"reconnect", func(c *Config) { c.ReconnectMax = -time.Second }, "reconnect_max", 0},
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
