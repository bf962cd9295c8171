package pps

import (
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"default", func(*Config) {}, true},
		{"pin only", func(c *Config) { c.Device = "" }, true},
		{"falling", func(c *Config) { c.Polarity = PolarityFalling }, true},
		{"auto polarity", func(c *Config) { c.Polarity = PolarityAuto }, true},
		{"cable delay", func(c *Config) { c.CableDelayNs = 250 }, true},
		{"no PPS: NMEA only", func(c *Config) { c.Device, c.Pin = "", "" }, true},
		{"relative device", func(c *Config) { c.Device = "pps0" }, false},
		{"cable of 100 km", func(c *Config) { c.CableDelayNs = 500_000 }, false},
		{"zero tolerance", func(c *Config) { c.IntervalTolerance = 0 }, false},
		{"tiny tolerance", func(c *Config) { c.IntervalTolerance = time.Microsecond }, false},
		{"zero nearest", func(c *Config) { c.NearestWithin = 0 }, false},
		{"unknown backend", func(c *Config) { c.Backend = "magic" }, false},
		{"pps-api without device", func(c *Config) { c.Backend, c.Device = BackendPPSAPI, "" }, false},
		{"gpio without pin", func(c *Config) { c.Backend, c.Pin = BackendGPIOCdev, "" }, false},
		{"bad polarity", func(c *Config) { c.Polarity = "up" }, false},
		{"negative cable delay", func(c *Config) { c.CableDelayNs = -1 }, false},
		{"offset a second", func(c *Config) { c.OffsetNs = int64(time.Second) }, false},
		{"huge tolerance", func(c *Config) { c.IntervalTolerance = time.Second }, false},
		{"nearest beyond half a second", func(c *Config) { c.NearestWithin = 600 * time.Millisecond }, false},
	}
	for _, tc := range tests {
		c := DefaultConfig()
		tc.mod(&c)
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
	}
}
