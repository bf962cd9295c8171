package discipline

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"stratum1/ntp"
)

// The system clock is only ever read here: modes 0. Every method that
// would change it is exercised under NoAdjust, which must refuse before
// any system call.
func TestSystemClockReadOnly(t *testing.T) {
	c := &SystemClock{NoAdjust: true}
	k, err := c.ReadKernel()
	if err != nil {
		t.Fatal(err)
	}
	if k.FreqPPM < -512 || k.FreqPPM > 512 {
		t.Errorf("kernel frequency %v ppm out of range", k.FreqPPM)
	}
	if k.State < unix.TIME_OK || k.State > unix.TIME_ERROR {
		t.Errorf("clock state %d", k.State)
	}
	f, err := c.Frequency()
	if err != nil || f != k.FreqPPM {
		t.Errorf("Frequency() = %v, %v; want %v", f, err, k.FreqPPM)
	}
	if d := time.Since(c.Now()); d < -time.Second || d > time.Second {
		t.Errorf("Now is %v off time.Now", d)
	}
	for name, fn := range map[string]func() error{
		"SetFrequency": func() error { return c.SetFrequency(1) },
		"Step":         func() error { return c.Step(time.Second) },
		"SetLeap":      func() error { return c.SetLeap(ntp.LeapInsert) },
		"SetSync":      func() error { return c.SetSync(true, time.Microsecond, time.Millisecond) },
	} {
		if err := fn(); !errors.Is(err, ErrNoClockAdjust) {
			t.Errorf("%s under NoAdjust = %v, want ErrNoClockAdjust", name, err)
		}
	}
	after, err := c.ReadKernel()
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != k.Status {
		t.Errorf("kernel status changed from %#x to %#x", k.Status, after.Status)
	}
}

// KernelStatus reads what ntpq -c kerninfo shows, with modes 0: the same
// frequency and status as ReadKernel, in ntpd's units.
func TestKernelStatusReadOnly(t *testing.T) {
	c := &SystemClock{NoAdjust: true}
	k, err := c.ReadKernel()
	if err != nil {
		t.Fatal(err)
	}
	ks, err := c.KernelStatus()
	if err != nil {
		t.Fatal(err)
	}
	if ks.FrequencyPPM != k.FreqPPM || int32(ks.Status) != k.Status || ks.MaxError != k.MaxError {
		t.Errorf("KernelStatus %+v disagrees with ReadKernel %+v", ks, k)
	}
	if ks.TolerancePPM < 100 || ks.TolerancePPM > 1000 || ks.Precision <= 0 || ks.PPSInterval < time.Second {
		t.Errorf("kernel tolerance %v ppm, precision %v, PPS interval %v: want Linux's 500 ppm, 1 µs, >= 1 s",
			ks.TolerancePPM, ks.Precision, ks.PPSInterval)
	}
}

// The step request must carry nanoseconds in a normalised timeval.
func TestStepTimex(t *testing.T) {
	for _, tc := range []struct {
		d         time.Duration
		sec, nsec int64
	}{
		{1500 * time.Millisecond, 1, 500_000_000},
		{-300 * time.Millisecond, -1, 700_000_000},
		{-4 * time.Hour, -14400, 0},
		{time.Nanosecond, 0, 1},
	} {
		tx := stepTimex(tc.d)
		if tx.Modes != unix.ADJ_SETOFFSET|unix.ADJ_NANO || int64(tx.Time.Sec) != tc.sec || int64(tx.Time.Usec) != tc.nsec {
			t.Errorf("stepTimex(%v) = modes %#x %d s %d ns", tc.d, tx.Modes, tx.Time.Sec, tx.Time.Usec)
		}
	}
}

// The discipline on the real system clock under NoAdjust (what
// --no-clock-adjust runs): it observes, logs that once, and changes
// nothing in the kernel.
func TestDisciplineOnSystemClockNoAdjust(t *testing.T) {
	c := &SystemClock{NoAdjust: true}
	before, err := c.ReadKernel()
	if err != nil {
		t.Fatal(err)
	}
	rec := &logRecorder{}
	d, err := New(testConfig(), c, slog.New(rec))
	if err != nil {
		t.Fatal(err)
	}
	base := c.Now()
	for k := range 30 {
		local := base.Add(time.Duration(k) * time.Second)
		d.Sample(Sample{Local: local, True: local.Add(-300 * time.Millisecond), Source: PPS})
		d.Tick(local)
	}
	st := d.Stats()
	if !st.ObserveOnly || st.State == Locked || st.Steps != 0 || st.EstError < 300*time.Millisecond {
		t.Errorf("stats %+v: want observing, not locked, no step, the offset in the error", st)
	}
	if n := rec.count(slog.LevelWarn); n != 0 || len(rec.recs) != 1 {
		t.Errorf("%d records, %d warnings: want the one saying the clock is observed", len(rec.recs), n)
	}
	after, err := c.ReadKernel()
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != before.Status {
		t.Errorf("kernel status changed from %#x to %#x", before.Status, after.Status)
	}
}
