package discipline

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadDriftFile reads a drift file: the frequency correction and its
// uncertainty (skew) in ppm, as chrony writes them. A file that does not
// parse or holds absurd values (beyond maxPPM, a skew that is not positive)
// is an error.
func ReadDriftFile(path string, maxPPM float64) (freqPPM, skewPPM float64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read drift file: %w", err)
	}
	if len(b) > 256 {
		return 0, 0, fmt.Errorf("drift file %s: too long", path)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("drift file %s: want 2 fields, have %d", path, len(f))
	}
	freqPPM, err1 := strconv.ParseFloat(f[0], 64)
	skewPPM, err2 := strconv.ParseFloat(f[1], 64)
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("drift file %s: not numbers: %q", path, strings.TrimSpace(string(b)))
	case math.IsNaN(freqPPM) || math.Abs(freqPPM) > maxPPM:
		return 0, 0, fmt.Errorf("drift file %s: absurd frequency %v ppm", path, freqPPM)
	case !(skewPPM > 0 && skewPPM <= 100):
		return 0, 0, fmt.Errorf("drift file %s: absurd skew %v ppm", path, skewPPM)
	}
	return freqPPM, skewPPM, nil
}

// WriteDriftFile replaces the drift file atomically: a crash leaves either
// the old file or the new one, never a torn one.
func WriteDriftFile(path string, freqPPM, skewPPM float64) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write drift file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = fmt.Fprintf(tmp, "%.6f %.6f\n", freqPPM, skewPPM)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write drift file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable; not all filesystems support it
		d.Close()
	}
	return nil
}
