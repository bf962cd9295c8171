package gps

import (
	"errors"
	"fmt"
)

// errReconfigured ends a connection so that the new configuration is used.
var errReconfigured = errors.New("reconfigured")

// Reconfigure gives the reader a new [gps] section, safely while Run runs
// (a configuration reload). When the device or the baud rate changed, the
// connection in hand is closed and the new device opened at once, as after
// a failure; the backoff cap and the rollover reference apply without a
// reopen. It reports whether the reader reopens. A configuration without a
// device is refused: going without a receiver needs a restart.
func (r *Reader) Reconfigure(cfg Config) (reopens bool, err error) {
	if cfg.Device == "" {
		return false, errors.New("gps: no device")
	}
	if cfg.ReconnectMax == 0 {
		cfg.ReconnectMax = DefaultConfig().ReconnectMax
	}
	if err := cfg.Validate(); err != nil {
		return false, fmt.Errorf("gps: %w", err)
	}
	r.SetRefDate(cfg.rolloverRef())
	r.mu.Lock()
	cur := r.cfg
	if r.next != nil {
		cur = *r.next
	}
	if cur == cfg {
		r.mu.Unlock()
		return false, nil
	}
	reopens = cur.Device != cfg.Device || cur.Baud != cfg.Baud
	r.next = &cfg
	r.mu.Unlock()
	if reopens {
		r.reopen.Store(true)
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	return reopens, nil
}

// takeConfig puts a configuration from Reconfigure in place; only Run's
// goroutine calls it, between connections. It reports whether one was
// taken.
func (r *Reader) takeConfig() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next == nil {
		return false
	}
	cfg := *r.next
	r.next = nil
	r.reopen.Store(false)
	if cfg.Device != r.cfg.Device {
		r.log = r.opt.Logger.With("device", cfg.Device)
		r.log.Info("gps receiver: switching device", "from", r.cfg.Device)
		r.st.Device = cfg.Device
	}
	r.cfg = cfg
	r.baud, _ = cfg.BaudRate()
	r.st.Baud = r.baud
	return true
}
