//go:build linux && (arm || arm64 || amd64)

package pps

import (
	"errors"
	"fmt"
)

// Open opens the capture backend cfg names, or with backend auto the most
// precise one available: the PPS API on cfg.Device, then the GPIO character
// device on cfg.Pin, then periph.io's user-space edge wait on cfg.Pin. The
// error of an auto open lists why each candidate failed.
func Open(cfg Config) (Source, error) {
	pol := cfg.polarity()
	switch cfg.Backend {
	case BackendPPSAPI:
		return openPPSAPI(cfg.Device, pol)
	case BackendGPIOCdev:
		return openGPIOCdev(cfg.Pin, pol)
	case BackendPeriph:
		return openPeriph(cfg.Pin, pol)
	case "", BackendAuto:
	default:
		return nil, fmt.Errorf("pps: unknown backend %q", cfg.Backend)
	}
	var errs []error
	if cfg.Device != "" {
		s, err := openPPSAPI(cfg.Device, pol)
		if err == nil {
			return s, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", BackendPPSAPI, err))
	}
	if cfg.Pin != "" {
		s, err := openGPIOCdev(cfg.Pin, pol)
		if err == nil {
			return s, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", BackendGPIOCdev, err))
		p, err := openPeriph(cfg.Pin, pol)
		if err == nil {
			return p, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", BackendPeriph, err))
	}
	if len(errs) == 0 {
		return nil, errors.New("pps: no device or pin configured")
	}
	return nil, fmt.Errorf("pps: no capture backend available: %w", errors.Join(errs...))
}
