package pps

import (
	"slices"
	"testing"
	"time"
)

func TestPairerReconfigure(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Device = "/dev/pps0"
	p := NewPairer(cfg, nil)
	for _, tt := range []struct {
		name    string
		edit    func(*Config)
		restart []string
		ok      bool
	}{
		{"cable delay", func(c *Config) { c.CableDelayNs = 150 }, nil, true},
		{"offsets and windows", func(c *Config) {
			c.OffsetNs, c.IntervalTolerance, c.NearestWithin = -2000, 5*time.Millisecond, 300*time.Millisecond
		}, nil, true},
		{"device", func(c *Config) { c.Device = "/dev/pps1" }, []string{"device"}, true},
		{"backend and polarity", func(c *Config) { c.Backend, c.Polarity = "gpio-cdev", "falling" }, []string{"backend", "polarity"}, true},
		{"bad device", func(c *Config) { c.Device = "pps0" }, nil, false},
	} {
		next := cfg
		tt.edit(&next)
		before := p.cfg
		restart, err := p.Reconfigure(next)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want ok=%v", tt.name, err, tt.ok)
			continue
		}
		if !tt.ok {
			if p.cfg != before {
				t.Errorf("%s: a refused section changed the pairer", tt.name)
			}
			continue
		}
		if !slices.Equal(restart, tt.restart) {
			t.Errorf("%s: restart %q, want %q", tt.name, restart, tt.restart)
		}
		if p.cfg.delay() != next.delay() || p.cfg.tolerance() != next.tolerance() || p.cfg.nearestWithin() != next.nearestWithin() {
			t.Errorf("%s: pairer has %+v, want the pulse settings of %+v", tt.name, p.cfg, next)
		}
		if p.cfg.Device != cfg.Device || p.cfg.Backend != cfg.Backend || p.cfg.Polarity != cfg.Polarity {
			t.Errorf("%s: the device settings changed: %+v", tt.name, p.cfg)
		}
	}
}
