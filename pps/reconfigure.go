package pps

import "fmt"

// Reconfigure applies the parts of a new [pps] section that describe the
// pulse rather than the device: cable_delay_ns, offset_ns,
// interval_tolerance and nearest_within, from the next edge on. The
// device, pin, backend and polarity are the capture's, opened at start;
// restart names those that differ, for the caller to report. Like the
// Pairer's other methods it is not safe for concurrent use.
func (p *Pairer) Reconfigure(cfg Config) (restart []string, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pps: %w", err)
	}
	for _, k := range []struct {
		key       string
		old, next string
	}{
		{"device", p.cfg.Device, cfg.Device},
		{"pin", p.cfg.Pin, cfg.Pin},
		{"backend", p.cfg.Backend, cfg.Backend},
		{"polarity", p.cfg.Polarity, cfg.Polarity},
	} {
		if k.old != k.next {
			restart = append(restart, k.key)
		}
	}
	p.cfg.CableDelayNs, p.cfg.OffsetNs = cfg.CableDelayNs, cfg.OffsetNs
	p.cfg.IntervalTolerance, p.cfg.NearestWithin = cfg.IntervalTolerance, cfg.NearestWithin
	return restart, nil
}
