package discipline

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r)
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// count returns how many records were logged at level or above.
func (h *logRecorder) count(level slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.recs {
		if r.Level >= level {
			n++
		}
	}
	return n
}

func observeRun(t *testing.T, clk *simClock, src Kind, noise time.Duration, dur time.Duration, check func(*Discipline)) (*Discipline, *logRecorder) {
	t.Helper()
	rec := &logRecorder{}
	d, err := New(testConfig(), clk, slog.New(rec))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range int(dur / time.Second) {
		clk.advance(time.Second)
		d.Sample(clk.sample(src, 0, noise, rng))
		d.Tick(clk.Now())
		if check != nil {
			check(d)
		}
	}
	return d, rec
}

// Observing a clock that is close: locked, and the published dispersion
// covers the offset that nothing corrects.
func TestObserveSmallOffset(t *testing.T) {
	const off = 12 * time.Microsecond
	clk := &simClock{now: t0, off: off, refuse: true}
	d, rec := observeRun(t, clk, PPS, time.Microsecond, 10*time.Minute, nil)
	st := d.Stats()
	ss := d.ServerState()
	t.Logf("observing: state %v offset %v est error %v dispersion %v", st.State, st.Offset, st.EstError, ss.RootDispersion)
	if !st.ObserveOnly || st.State != Locked || !ss.Synchronised() || ss.Stratum != 1 {
		t.Fatalf("observe-only %v, state %v, published %+v: want LOCKED and served", st.ObserveOnly, st.State, ss)
	}
	// 1 µs of noise averaged over minutes: the estimate is within 0.5 µs.
	if ss.RootDispersion < off-500*time.Nanosecond || st.EstError < off-500*time.Nanosecond || ss.RootDispersion < abs(st.Offset)-3*time.Microsecond {
		t.Errorf("dispersion %v, est error %v: want at least the clock's offset %v", ss.RootDispersion, st.EstError, off)
	}
	if clk.off != off || clk.freqPPM != 0 {
		t.Errorf("clock changed: offset %v frequency %v", clk.off, clk.freqPPM)
	}
	if n := rec.count(slog.LevelWarn); n != 0 {
		t.Errorf("%d warnings", n)
	}
	if n := rec.count(slog.LevelInfo); n != 1 {
		t.Errorf("%d info records, want the one that says the clock is observed only", n)
	}

	// The same clock steered: the offset is slewed out, and the
	// dispersion is the estimate's uncertainty alone.
	clk = &simClock{now: t0, off: off}
	d, _ = observeRun(t, clk, PPS, time.Microsecond, 10*time.Minute, nil)
	if ss := d.ServerState(); d.Stats().ObserveOnly || abs(clk.off) > 2*time.Microsecond || ss.RootDispersion > 3*time.Microsecond {
		t.Errorf("steering: observe-only %v, offset %v, dispersion %v", d.Stats().ObserveOnly, clk.off, ss.RootDispersion)
	}
}

// Observing a clock 300 ms off: never locked, never served as
// synchronised, its frequency error measured, and no log line per sample.
func TestObserveLargeOffset(t *testing.T) {
	for _, src := range []Kind{PPS, NMEA, Peer} {
		noise := time.Microsecond
		if src != PPS {
			noise = time.Millisecond
		}
		clk := &simClock{now: t0, off: 300 * time.Millisecond, errPPM: 3, refuse: true}
		d, rec := observeRun(t, clk, src, noise, 20*time.Minute, func(d *Discipline) {
			if d.state == Locked || d.ServerState().Synchronised() {
				t.Fatalf("%v: state %v published %+v with the clock %v off", src, d.state, d.ServerState(), clk.off)
			}
		})
		st := d.Stats()
		if len(clk.steps) != 0 || clk.freqPPM != 0 || !st.ObserveOnly {
			t.Errorf("%v: steps %v frequency %v observe-only %v", src, clk.steps, clk.freqPPM, st.ObserveOnly)
		}
		if st.EstError < 300*time.Millisecond {
			t.Errorf("%v: est error %v with the clock %v off", src, st.EstError, clk.off)
		}
		if math.Abs(st.FreqErrorPPM-3) > 0.1 {
			t.Errorf("%v: measured frequency error %.3f ppm, want 3", src, st.FreqErrorPPM)
		}
		if n := rec.count(slog.LevelWarn); n != 0 {
			t.Errorf("%v: %d warnings", src, n)
		}
		if n := len(rec.recs); n > 3 {
			t.Errorf("%v: %d log records in 20 min, want a handful", src, n)
			for _, r := range rec.recs {
				t.Log(r.Level, r.Message)
			}
		}
	}
}

// A clock that refuses frequency changes for another reason is retried,
// but not logged once a sample.
func TestRefusedFrequencyLoggedOnce(t *testing.T) {
	rec := &logRecorder{}
	clk := &failingClock{}
	d, _ := New(testConfig(), clk, slog.New(rec))
	for k := range 600 {
		d.Sample(pps(k, time.Duration(k)*time.Microsecond))
	}
	if clk.calls < 500 || d.Stats().ObserveOnly {
		t.Errorf("%d attempts, observe-only %v: want a retry each update", clk.calls, d.Stats().ObserveOnly)
	}
	if n := rec.count(slog.LevelWarn); n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}
}

type failingClock struct {
	fakeClock
	calls int
}

func (c *failingClock) SetFrequency(float64) error {
	c.calls++
	return errPermission
}

var errPermission = &permError{}

type permError struct{}

func (*permError) Error() string { return "clock_adjtime frequency: operation not permitted" }
