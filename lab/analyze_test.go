package lab

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// series builds monitor lines from start to end (exclusive) with the error
// and serving state errAt gives.
func series(start, end int64, errAt func(t int64) (errNs int64, serving bool, rootNs int64)) string {
	var b strings.Builder
	for t := start; t < end; t++ {
		e, serving, root := errAt(t)
		stratum, leap := 16, 3
		if serving {
			stratum, leap = 1, 0
		}
		fmt.Fprintf(&b, "%d %d 80 %t %d %d %d\n", t, e, serving, stratum, leap, root)
	}
	return b.String()
}

func TestAnalyze(t *testing.T) {
	events := "100 start\n130 locked\n250 outage\n310 outage_end\n330 step\n400 restart\n480 end\n"
	locksHoldsRelocks := func(t int64) (int64, bool, int64) {
		switch {
		case t < 112:
			return 300_000_000, false, 0
		case t < 250:
			return []int64{50, -50}[t%2], true, 1000
		case t < 310:
			return 40 * (t - 250), true, 100_000
		case t >= 400 && t < 403:
			return 500, false, 0 // restarted: close, but unsynchronised
		case t >= 403 && t < 405:
			return 20_000, false, 0 // and off
		default:
			return 50, true, 1000
		}
	}
	tests := []struct {
		name    string
		events  string // default: events
		errAt   func(t int64) (int64, bool, int64)
		lockS   float64
		daemonS float64
		rmsNs   float64
		maxNs   float64
		holdNs  float64
		covered float64
		relockS float64
		// restart_rms_ns: from 60 s after the restart (400) to the end (480)
		restartRMSNs float64
	}{
		{
			name:  "locks, holds over, relocks",
			errAt: locksHoldsRelocks,
			lockS: 12, rmsNs: 50, maxNs: 50, holdNs: 2360, covered: 1, relockS: 5, restartRMSNs: 50,
		},
		{
			name:   "lock counts from the daemon's start",
			events: "100 start\n107 daemon\n130 locked\n250 outage\n310 outage_end\n330 step\n400 restart\n480 end\n",
			errAt:  locksHoldsRelocks,
			lockS:  5, daemonS: 7, rmsNs: 50, maxNs: 50, holdNs: 2360, covered: 1, relockS: 5, restartRMSNs: 50,
		},
		{
			name: "never locks, never covered",
			errAt: func(t int64) (int64, bool, int64) {
				return 50_000, true, 1000
			},
			lockS: -1, rmsNs: 0, maxNs: 0, holdNs: 50_000, covered: 0, relockS: -1, restartRMSNs: 50_000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			samples, bad, err := ParseSeries(strings.NewReader("garbage line\n" + series(90, 480, tt.errAt)))
			if err != nil || bad != 1 {
				t.Fatalf("ParseSeries: bad %d, err %v; want 1 bad line", bad, err)
			}
			evs := events
			if tt.events != "" {
				evs = tt.events
			}
			ev, err := ParseEvents(strings.NewReader(evs))
			if err != nil {
				t.Fatal(err)
			}
			r := Analyze("x", samples, ev)
			for _, c := range []struct {
				what      string
				got, want float64
			}{
				{"lock_s", r.LockS, tt.lockS},
				{"daemon_s", r.DaemonS, tt.daemonS},
				{"rms_ns", r.RMSNs, tt.rmsNs},
				{"max_ns", r.MaxNs, tt.maxNs},
				{"holdover_max_ns", r.HoldoverMaxNs, tt.holdNs},
				{"covered", r.Covered, tt.covered},
				{"relock_s", r.RelockS, tt.relockS},
				{"restart_rms_ns", r.RestartRMSNs, tt.restartRMSNs},
			} {
				if math.Abs(c.got-c.want) > 1e-9 {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestAnalyzeNoStart(t *testing.T) {
	r := Analyze("x", nil, map[string]int64{})
	if r.Error == "" || r.LockS != -1 {
		t.Errorf("no start event: got error %q, lock_s %v; want an error and -1", r.Error, r.LockS)
	}
}
