package discipline

import (
	"testing"
	"time"
)

// A clock trusted at start (the kernel still synchronised after a restart)
// is not stepped by whole seconds on the GPS's first word: the offset must
// persist for trustPersist, and the loop stays unsynchronised meanwhile.
// A start that agrees with it, or a sub-second offset, goes as ever.
func TestTrustClockHoldsWholeSecondStart(t *testing.T) {
	for _, tc := range []struct {
		name      string
		trust     time.Duration
		off       func(k int) time.Duration
		until     int // seconds fed
		wantSteps []time.Duration
		stepAfter int // the step may come no earlier than this second
	}{
		{"untrusted steps at once", 0, func(int) time.Duration { return time.Second }, 10, []time.Duration{-time.Second}, 0},
		{"transient wrong second", time.Millisecond, func(k int) time.Duration {
			if k < 8 {
				return -2 * time.Second
			}
			return 3 * time.Microsecond
		}, 40, nil, 0},
		{"persisting wrong second", time.Millisecond, func(int) time.Duration { return time.Second }, 90, []time.Duration{-time.Second}, int(trustPersist / time.Second)},
		{"sub-second offset", time.Millisecond, func(int) time.Duration { return 300 * time.Millisecond }, 10, []time.Duration{-300 * time.Millisecond}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{}
			d, err := New(testConfig(), clk, nil)
			if err != nil {
				t.Fatal(err)
			}
			d.TrustClock(tc.trust)
			stepAt := -1
			for k := range tc.until {
				off := tc.off(k)
				if len(clk.steps) > 0 {
					off += clk.steps[0]
				}
				d.Sample(pps(k, off))
				if stepAt < 0 && len(clk.steps) > 0 {
					stepAt = k
				}
				if len(clk.steps) == 0 && tc.wantSteps != nil && tc.trust > 0 && d.ServerState().Synchronised() {
					t.Fatalf("second %d: synchronised before stepping to the source", k)
				}
			}
			if len(clk.steps) != len(tc.wantSteps) || (len(clk.steps) > 0 && clk.steps[0] != tc.wantSteps[0]) {
				t.Fatalf("steps %v, want %v", clk.steps, tc.wantSteps)
			}
			if stepAt >= 0 && stepAt < tc.stepAfter {
				t.Errorf("stepped at second %d, want not before %d", stepAt, tc.stepAfter)
			}
			if tc.wantSteps == nil && d.State() != Locked {
				t.Errorf("state %v after the wrong second passed, want LOCKED", d.State())
			}
		})
	}
}

// Acquiring, after a start on the wrong second (stale labels at start), a
// whole-second disagreement that persists for trustPersist is stepped to,
// past the step limit; locked, it is refused for good.
func TestWholeSecondJumpWhileAcquiring(t *testing.T) {
	clk := &fakeClock{}
	d, err := New(testConfig(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Started one second off, the clock stepped to it.
	for k := range 3 {
		d.Sample(pps(k, 300*time.Millisecond+time.Second))
	}
	if len(clk.steps) != 1 {
		t.Fatalf("steps %v, want the initial one", clk.steps)
	}
	// The labels come right: the clock is now a second slow.
	k := 3
	for ; k < 3+int(trustPersist/time.Second)-5; k++ {
		d.Sample(pps(k, -time.Second))
	}
	if len(clk.steps) != 1 || d.ServerState().Synchronised() {
		t.Fatalf("second %d: steps %v, synchronised %v; want the jump held and unsynchronised", k, clk.steps, d.ServerState().Synchronised())
	}
	for ; k < 3+int(trustPersist/time.Second)+20; k++ {
		off := -time.Second
		if len(clk.steps) > 1 {
			off = 0
		}
		d.Sample(pps(k, off))
	}
	if len(clk.steps) != 2 || clk.steps[1] != time.Second {
		t.Fatalf("steps %v, want a second one of +1s", clk.steps)
	}
	if d.State() != Locked {
		t.Errorf("state %v, want LOCKED after the step", d.State())
	}
}
