package pps

import (
	"strings"
	"time"

	"stratum1/internal/setting"
)

// Backend names, as Source.Backend and the status report them.
const (
	BackendAuto      = "auto"
	BackendPPSAPI    = "pps-api"          // RFC 2783 /dev/ppsN
	BackendGPIOCdev  = "gpio-cdev"        // GPIO character device, kernel timestamps
	BackendPeriph    = "periph-userspace" // periph.io edge wait, user-space timestamps
	BackendSimulated = "simulated"
)

// Polarity names which edge of the pulse marks the second.
const (
	PolarityRising  = "rising"  // the PPS API's assert edge
	PolarityFalling = "falling" // the PPS API's clear edge
	PolarityAuto    = "auto"    // capture both; the edge that starts the short pulse marks the second
)

// Config is the [pps] section of the configuration file.
type Config struct {
	Device  string `toml:"device"`  // /dev/ppsN for the PPS API backend, or "" to use Pin only (both "": no PPS)
	Pin     string `toml:"pin"`     // GPIO line name such as GPIO18, for the GPIO backends
	Backend string `toml:"backend"` // auto, pps-api, gpio-cdev, periph-userspace

	// Polarity is the edge that marks the second: rising, falling or auto.
	Polarity string `toml:"polarity"`

	// CableDelayNs is the propagation delay of the antenna cable and
	// receiver front end: the edge arrives this much after the second.
	CableDelayNs int64 `toml:"cable_delay_ns"`
	// OffsetNs is any further constant lateness of the edge (a receiver's
	// documented PPS offset, a level shifter), positive when the edge is late.
	OffsetNs int64 `toml:"offset_ns"`

	// IntervalTolerance is how far from a whole number of seconds the
	// interval between two pulses may be before the later one is rejected.
	// It must cover the local clock's frequency error as well as jitter.
	IntervalTolerance time.Duration `toml:"interval_tolerance"`

	// NearestWithin is how close the local clock must be to UTC before an
	// edge is labelled with its nearest second rather than by the NMEA epoch.
	NearestWithin time.Duration `toml:"nearest_within"`
}

// DefaultConfig fits a Raspberry Pi with the usual GPS hat: the pps-gpio
// overlay on GPIO18, falling back to the GPIO character device on the same pin.
func DefaultConfig() Config {
	return Config{
		Device:            "/dev/pps0",
		Pin:               "GPIO18",
		Backend:           BackendAuto,
		Polarity:          PolarityRising,
		IntervalTolerance: 5 * time.Millisecond,
		NearestWithin:     300 * time.Millisecond,
	}
}

// Bounds of the settings.
const (
	maxCableDelayNs      = 100_000 // 100 µs: 20 km of cable
	maxOffsetNs          = 100_000_000 - 1
	minIntervalTolerance = 50 * time.Microsecond
	maxIntervalTolerance = 100 * time.Millisecond
	minNearestWithin     = time.Millisecond
	maxNearestWithin     = 450 * time.Millisecond
)

// Validate reports the first invalid setting. Device and Pin both empty
// means no PPS input: the box disciplines to NMEA alone.
func (c Config) Validate() error {
	if c.Device != "" && !strings.HasPrefix(c.Device, "/") {
		return setting.Errorf("device", "%q is not a device path such as /dev/pps0", c.Device)
	}
	switch c.Backend {
	case "", BackendAuto, BackendPPSAPI, BackendGPIOCdev, BackendPeriph:
	default:
		return setting.Errorf("backend", "%q is not one of auto, %s, %s, %s", c.Backend, BackendPPSAPI, BackendGPIOCdev, BackendPeriph)
	}
	switch c.Polarity {
	case "", PolarityRising, PolarityFalling, PolarityAuto:
	default:
		return setting.Errorf("polarity", "%q is not one of rising, falling, auto", c.Polarity)
	}
	if c.Backend == BackendPPSAPI && c.Device == "" {
		return setting.Errorf("device", "the pps-api backend needs a device")
	}
	if (c.Backend == BackendGPIOCdev || c.Backend == BackendPeriph) && c.Pin == "" {
		return setting.Errorf("pin", "the %s backend needs a pin", c.Backend)
	}
	return setting.First(
		setting.Int("cable_delay_ns", c.CableDelayNs, 0, maxCableDelayNs),
		setting.Int("offset_ns", c.OffsetNs, -maxOffsetNs, maxOffsetNs),
		setting.Duration("interval_tolerance", c.IntervalTolerance, minIntervalTolerance, maxIntervalTolerance),
		setting.Duration("nearest_within", c.NearestWithin, minNearestWithin, maxNearestWithin),
	)
}

// Enabled reports whether the configuration names a PPS input at all.
func (c Config) Enabled() bool { return c.Device != "" || c.Pin != "" }

// delay is the total lateness of the edge behind the second it marks.
func (c Config) delay() time.Duration {
	return time.Duration(c.CableDelayNs + c.OffsetNs)
}

func (c Config) tolerance() time.Duration {
	if c.IntervalTolerance <= 0 {
		return DefaultConfig().IntervalTolerance
	}
	return c.IntervalTolerance
}

func (c Config) nearestWithin() time.Duration {
	if c.NearestWithin <= 0 {
		return DefaultConfig().NearestWithin
	}
	return c.NearestWithin
}

func (c Config) polarity() string {
	if c.Polarity == "" {
		return PolarityRising
	}
	return c.Polarity
}
