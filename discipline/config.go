package discipline

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config is the [discipline] section of the configuration file.
type Config struct {
	// DriftFile keeps the frequency estimate across restarts; "" disables it.
	DriftFile string `toml:"drift_file"`
	// DriftInterval is how often the drift file is rewritten while running.
	DriftInterval time.Duration `toml:"drift_interval"`
	// LeapFile is an IERS/IETF leap-seconds.list; "" disables it.
	LeapFile string `toml:"leap_file"`
	// StepThreshold: offsets larger than this are stepped rather than
	// slewed, during the first StepLimit clock updates (like chrony's
	// makestep). StepLimit < 0 allows steps at any time.
	StepThreshold time.Duration `toml:"step_threshold"`
	StepLimit     int           `toml:"step_limit"`
	// NMEALatency is subtracted from the arrival time of the sentences
	// when disciplining to NMEA alone; NMEAError is its uncertainty.
	NMEALatency time.Duration `toml:"nmea_latency"`
	NMEAError   time.Duration `toml:"nmea_error"`
	// PPSError is the pulse timestamp uncertainty assumed when a sample
	// does not say.
	PPSError time.Duration `toml:"pps_error"`
	// HoldoverLimit is how long the clock free-runs on its last frequency
	// after the pulses stop before the source is declared unusable.
	HoldoverLimit time.Duration `toml:"holdover_limit"`
	// MaxFrequency bounds the frequency correction, in ppm.
	MaxFrequency float64 `toml:"max_frequency_ppm"`
	// Wander is the oscillator's assumed random-walk frequency noise in
	// ppm per square root of a second, until enough history is measured.
	Wander float64 `toml:"wander_ppm"`
	// MaxClockError bounds, in ppm, the frequency changes that no estimate
	// foresees (a change of temperature): the root dispersion grows by it,
	// and by the frequency's uncertainty, every second after the last
	// measurement, as chrony's maxclockerror (default 1 ppm).
	MaxClockError float64 `toml:"max_clock_error_ppm"`
	// HoldoverMissedPulses is how many pulses in a row (GPS samples, one a
	// second) may be missing before the loop holds over: fewer are missed
	// samples, counted, not a change of state.
	HoldoverMissedPulses int `toml:"holdover_missed_pulses"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		DriftFile:     "/var/lib/stratum1/drift",
		DriftInterval: time.Hour,
		LeapFile:      "/usr/share/zoneinfo/leap-seconds.list",
		StepThreshold: 128 * time.Millisecond,
		StepLimit:     3,
		NMEALatency:   0,
		NMEAError:     20 * time.Millisecond,
		PPSError:      time.Microsecond,
		HoldoverLimit: 2 * time.Hour,
		MaxFrequency:  500,
		Wander:        0.0002,
		MaxClockError: 1,
		// A loaded Pi's capture can skip a few seconds' pulses.
		HoldoverMissedPulses: 5,
	}
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	switch {
	case c.DriftInterval < time.Second:
		return fmt.Errorf("drift_interval %v: must be at least 1s", c.DriftInterval)
	case c.StepThreshold <= 0:
		return errors.New("step_threshold: must be positive")
	case c.NMEALatency < 0 || c.NMEALatency >= time.Second:
		return fmt.Errorf("nmea_latency %v: must be in [0, 1s)", c.NMEALatency)
	case c.NMEAError <= 0 || c.NMEAError > time.Second:
		return fmt.Errorf("nmea_error %v: must be in (0, 1s]", c.NMEAError)
	case c.PPSError <= 0 || c.PPSError > 100*time.Millisecond:
		return fmt.Errorf("pps_error %v: must be in (0, 100ms]", c.PPSError)
	case c.HoldoverLimit < 0:
		return fmt.Errorf("holdover_limit %v: must not be negative", c.HoldoverLimit)
	case !(c.MaxFrequency > 0 && c.MaxFrequency <= 10000):
		return fmt.Errorf("max_frequency_ppm %v: must be in (0, 10000]", c.MaxFrequency)
	case math.IsNaN(c.Wander) || c.Wander < 0 || c.Wander > 1:
		return fmt.Errorf("wander_ppm %v: must be in [0, 1]", c.Wander)
	case math.IsNaN(c.MaxClockError) || c.MaxClockError < 0 || c.MaxClockError > 500:
		return fmt.Errorf("max_clock_error_ppm %v: must be in [0, 500]", c.MaxClockError)
	case c.HoldoverMissedPulses < 1 || c.HoldoverMissedPulses > 300:
		return fmt.Errorf("holdover_missed_pulses %d: must be in [1, 300]", c.HoldoverMissedPulses)
	}
	return nil
}
