package discipline

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DriftSaver keeps a discipline's frequency estimate in its drift file
// (Config.DriftFile), outside the loop: every Config.DriftInterval while
// the loop is locked, and at Close. Call Tick after the discipline's. Not
// safe for concurrent use.
type DriftSaver struct {
	d     *Discipline
	path  string
	every time.Duration
	log   *slog.Logger
	saved time.Time
}

// NewDriftSaver returns the saver of d's drift file; with no drift file
// configured its methods do nothing.
func NewDriftSaver(d *Discipline, log *slog.Logger) *DriftSaver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DriftSaver{d: d, path: d.cfg.DriftFile, every: d.cfg.DriftInterval, log: log}
}

// Tick saves the estimate when due: at the first tick locked, then every
// interval while locked. A failure is logged and retried at the next
// interval.
func (s *DriftSaver) Tick(now time.Time) {
	if s.path == "" || now.Sub(s.saved) < s.every {
		return
	}
	st := s.d.Stats()
	if st.State != Locked || st.ObserveOnly {
		return
	}
	s.saved = now
	if err := s.write(st); err != nil {
		s.log.Warn("cannot save drift file", "err", err)
	}
}

// Close saves the estimate once the loop has had enough updates to have
// one, locked or not (in holdover it is the one held).
func (s *DriftSaver) Close() error {
	if s.path == "" {
		return nil
	}
	if st := s.d.Stats(); st.Updates >= 16 && !st.ObserveOnly {
		return s.write(st)
	}
	return nil
}

// write saves the frequency that cancels the oscillator's error. Observing
// only, the kernel's frequency may be someone else's to change: a file
// written from it would mislead the next run, so the callers never write
// then.
func (s *DriftSaver) write(st Stats) error {
	return WriteDriftState(s.path, st.FrequencyPPM-st.FreqErrorPPM, max(st.SkewPPM, 0.001), s.d.tempModel())
}

// ReadDriftFile reads a drift file: the frequency correction and its
// uncertainty (skew) in ppm, as chrony writes them. A file that does not
// parse or holds absurd values (beyond maxPPM, a skew that is not positive)
// is an error.
func ReadDriftFile(path string, maxPPM float64) (freqPPM, skewPPM float64, err error) {
	freqPPM, skewPPM, _, err = ReadDriftState(path, maxPPM)
	return freqPPM, skewPPM, err
}

// ReadDriftState reads a drift file with the temperature model that may
// follow the frequency on a second line (nil when there is none). A model
// line that does not parse is reported with the model nil and err nil
// when the frequency itself is good: the frequency is the file's main
// content, and chrony's format, which ignores any further line.
func ReadDriftState(path string, maxPPM float64) (freqPPM, skewPPM float64, model *TempModel, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("read drift file: %w", err)
	}
	if len(b) > 1024 {
		return 0, 0, nil, fmt.Errorf("drift file %s: too long", path)
	}
	first, rest, _ := strings.Cut(string(b), "\n")
	freqPPM, skewPPM, err = parseDrift(path, first, maxPPM)
	if err != nil {
		return 0, 0, nil, err
	}
	if line := strings.TrimSpace(rest); line != "" {
		if m, err := unmarshalTempModel(line); err == nil {
			model = &m
		}
	}
	return freqPPM, skewPPM, model, nil
}

// parseDrift parses the drift file's first line.
func parseDrift(path, line string, maxPPM float64) (freqPPM, skewPPM float64, err error) {
	b := []byte(line)
	f := strings.Fields(line)
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
	return WriteDriftState(path, freqPPM, skewPPM, nil)
}

// WriteDriftState is WriteDriftFile with the temperature model, when not
// nil, on a second line (which chrony and older builds' first line ignore).
func WriteDriftState(path string, freqPPM, skewPPM float64, model *TempModel) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write drift file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = fmt.Fprintf(tmp, "%.6f %.6f\n", freqPPM, skewPPM)
	if err == nil && model != nil && model.N > 0 {
		_, err = fmt.Fprintln(tmp, model.marshal())
	}
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
