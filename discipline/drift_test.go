package discipline

import (
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// driftRun drives a discipline and its drift saver second by second,
// with a pulse each second while pulses is set.
type driftRun struct {
	d     *Discipline
	saver *DriftSaver
	clk   *simClock
	rng   *rand.Rand
}

func newDriftRun(t *testing.T, clk *simClock, path string) *driftRun {
	t.Helper()
	cfg := testConfig()
	cfg.DriftFile, cfg.DriftInterval = path, time.Minute
	d, err := New(cfg, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &driftRun{d: d, saver: NewDriftSaver(d, nil), clk: clk, rng: rand.New(rand.NewPCG(5, 6))}
}

func (r *driftRun) run(dur time.Duration, pulses bool) {
	for el := time.Duration(0); el < dur; el += time.Second {
		r.clk.advance(time.Second)
		if pulses {
			r.d.Sample(r.clk.sample(PPS, 0, time.Microsecond, r.rng))
		}
		r.d.Tick(r.clk.Now())
		r.saver.Tick(r.clk.Now())
	}
}

// The saver writes the drift file once the loop locks, then every
// interval while it stays locked, and at Close even in holdover; the
// discipline itself writes nothing.
func TestDriftSaver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "drift")
	r := newDriftRun(t, &simClock{now: t0, errPPM: 12}, path)
	// savedAfter runs until the file is rewritten and returns how long that took.
	savedAfter := func() time.Duration {
		os.WriteFile(path, []byte("1 1\n"), 0o644)
		for el := time.Second; el < 5*time.Minute; el += time.Second {
			r.run(time.Second, true)
			if f, _, _ := ReadDriftFile(path, 500); f != 1 {
				return el
			}
		}
		t.Fatal("drift file not saved within 5 min")
		return 0
	}
	first := savedAfter()
	if r.d.State() != Locked || first > 20*time.Second {
		t.Fatalf("first saved after %v in state %v, want at lock", first, r.d.State())
	}
	// Saved at lock, seconds in: a fraction of a ppm off yet.
	freq, _, err := ReadDriftFile(path, 500)
	if err != nil || math.Abs(freq+12) > 1 {
		t.Fatalf("drift file after lock: %v ppm, %v; want about -12", freq, err)
	}
	// The interval is on the clock, whose seconds the loop is still
	// adjusting: one tick late is on time.
	if next := savedAfter(); next < time.Minute || next > time.Minute+time.Second {
		t.Errorf("saved again after %v, want the interval, 1m", next)
	}
	if freq, _, _ := ReadDriftFile(path, 500); math.Abs(freq+12) > 0.1 {
		t.Errorf("drift file a minute after lock: %v ppm, want -12", freq)
	}
	// In holdover the periodic save stops; Close still saves.
	os.WriteFile(path, []byte("1 1\n"), 0o644)
	r.run(3*time.Minute, false)
	if r.d.State() != Holdover {
		t.Fatalf("state %v without pulses", r.d.State())
	}
	if f, _, _ := ReadDriftFile(path, 500); f != 1 {
		t.Errorf("drift file rewritten in holdover")
	}
	if err := r.saver.Close(); err != nil {
		t.Fatal(err)
	}
	if f, _, err := ReadDriftFile(path, 500); err != nil || math.Abs(f+12) > 0.1 {
		t.Errorf("drift file after Close: %v ppm, %v; want about -12", f, err)
	}
}

// Observing only, the kernel's frequency is not the loop's: the drift
// file is never written.
func TestDriftSaverObserving(t *testing.T) {
	path := filepath.Join(t.TempDir(), "drift")
	r := newDriftRun(t, &simClock{now: t0, errPPM: 12, refuse: true}, path)
	r.run(3*time.Minute, true)
	if err := r.saver.Close(); err != nil {
		t.Fatal(err)
	}
	if !r.d.Stats().ObserveOnly {
		t.Fatal("not observing with a clock that refuses adjustments")
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("drift file written while observing only: %v", err)
	}
}
