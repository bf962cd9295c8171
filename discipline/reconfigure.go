package discipline

import (
	"fmt"

	"stratum1/ntp"
)

// Reconfigure applies the plain parameters of a new [discipline] section
// on the loop's goroutine (a configuration reload): step threshold and limit,
// NMEA latency and error, PPS error, holdover limit, frequency bound and
// wander. They take effect from the next sample or tick. The files
// (drift_file, drift_interval, leap_file, temperature_file) are opened at start and are not
// changed here; restart names the ones that differ, for the caller to
// report.
func (d *Discipline) Reconfigure(cfg Config) (restart []string, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("discipline: %w", err)
	}
	if cfg.DriftFile != d.cfg.DriftFile {
		restart = append(restart, "drift_file")
	}
	if cfg.DriftInterval != d.cfg.DriftInterval {
		restart = append(restart, "drift_interval")
	}
	if cfg.LeapFile != d.cfg.LeapFile {
		restart = append(restart, "leap_file")
	}
	if cfg.TemperatureFile != d.cfg.TemperatureFile {
		restart = append(restart, "temperature_file")
	}
	cfg.DriftFile, cfg.DriftInterval, cfg.LeapFile = d.cfg.DriftFile, d.cfg.DriftInterval, d.cfg.LeapFile
	cfg.TemperatureFile = d.cfg.TemperatureFile
	d.cfg = cfg
	d.precision = ntp.PrecisionOf(cfg.PPSError)
	return restart, nil
}
