package discipline

import (
	"time"

	"stratum1/internal/setting"
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
	// makestep). StepLimit -1 allows steps at any time.
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

	// TemperatureFile is read once a second for the SoC's temperature
	// in millidegrees Celsius (a Pi's /sys/class/thermal/thermal_zone0/temp),
	// from which the loop learns and compensates the crystal's
	// temperature curve; "" disables the compensation, and a file that
	// cannot be read leaves it off (counted, logged once).
	TemperatureFile string `toml:"temperature_file"`
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
		// A Pi's SoC sensor; elsewhere it is missing, which is logged
		// once and leaves the compensation off.
		TemperatureFile: "/sys/class/thermal/thermal_zone0/temp",
	}
}

// Validate reports the first invalid setting. The bounds are what a
// disciplined clock can sensibly use: a drift file written at most once a
// minute (an SD card wears), steps no larger than ntpd -x's 600 s slew
// limit, and a holdover of at most two days, past which the oscillator's
// wander makes a stratum 1 claim a fiction.
func (c Config) Validate() error {
	return setting.First(
		setting.Duration("drift_interval", c.DriftInterval, time.Minute, 24*time.Hour),
		setting.Duration("step_threshold", c.StepThreshold, time.Millisecond, 600*time.Second),
		setting.Int("step_limit", c.StepLimit, -1, 1000),
		setting.Duration("nmea_latency", c.NMEALatency, 0, 999*time.Millisecond),
		setting.Duration("nmea_error", c.NMEAError, time.Microsecond, time.Second),
		setting.Duration("pps_error", c.PPSError, time.Nanosecond, 100*time.Millisecond),
		setting.Duration("holdover_limit", c.HoldoverLimit, time.Minute, 48*time.Hour),
		setting.Float("max_frequency_ppm", c.MaxFrequency, 1, 10000),
		setting.Float("wander_ppm", c.Wander, 0, 1),
		setting.Float("max_clock_error_ppm", c.MaxClockError, 0, 500),
		setting.Int("holdover_missed_pulses", c.HoldoverMissedPulses, 1, 300),
	)
}
