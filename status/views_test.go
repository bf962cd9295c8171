package status

import (
	"testing"
	"time"

	"stratum1/discipline"
	"stratum1/gps"
	"stratum1/pps"
)

func TestGPSView(t *testing.T) {
	at := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	e := gps.Epoch{Time: at, Mode: 3, Valid: true, SatsUsed: 8, SatsInView: 9, HasPosition: true, AltM: 112.4,
		Satellites: []gps.Satellite{{System: "GP", PRN: 3, Elevation: 40, Used: true}}}
	tests := []struct {
		name  string
		in    gps.Status
		check func(GPS) bool
	}{
		{"fix", gps.Status{State: gps.State3D, Device: "/dev/serial0", Baud: 9600, Sentences: 5, Reconnects: 2, LastEpoch: e, HaveEpoch: true},
			func(g GPS) bool {
				return g.Device == "/dev/serial0" && g.State == "3D" && g.Mode == 3 && g.Baud == 9600 && g.Sentences == 5 &&
					g.Reconnects == 2 && g.SatsUsed == 8 && len(g.Satellites) == 1 && g.Time.Equal(at) && g.AltitudeM == 112.4
			}},
		{"no device claims no fix", gps.Status{State: gps.StateNoDevice, LastEpoch: e, HaveEpoch: true},
			func(g GPS) bool { return g.Mode == 1 && len(g.Satellites) == 0 && g.Time.Equal(at) }},
		{"no data claims no fix", gps.Status{State: gps.StateNoData, LastEpoch: e, HaveEpoch: true},
			func(g GPS) bool { return g.Mode == 1 && len(g.Satellites) == 0 }},
		{"no epoch yet", gps.Status{State: gps.StateNoData}, func(g GPS) bool { return g.Mode == 1 && g.Time.IsZero() }},
	}
	for _, tt := range tests {
		if g := GPSView(tt.in); !tt.check(g) {
			t.Errorf("%s: %+v", tt.name, g)
		}
	}
}

func TestPPSView(t *testing.T) {
	in := pps.Status{Device: "/dev/pps0", Backend: pps.BackendPeriph, State: pps.StateLocked, Precision: time.Microsecond,
		Counters: pps.Counters{Pulses: 10, Samples: 9, Rejected: map[string]uint64{pps.ReasonGlitch: 1}}, LabelOffset: 1, LabelVerified: true}
	p := PPSView(in)
	if p.Device != "/dev/pps0" || !p.LowPrecision || p.State != "locked" || p.Pulses != 10 || p.Samples != 9 ||
		p.Rejected[pps.ReasonGlitch] != 1 || p.LabelOffset != 1 || !p.LabelVerified || p.Precision != time.Microsecond {
		t.Errorf("%+v", p)
	}
	in.Counters.Rejected[pps.ReasonGlitch] = 5
	if p.Rejected[pps.ReasonGlitch] != 1 {
		t.Error("the view shares the pairer's map")
	}
}

func TestSystemView(t *testing.T) {
	leap := time.Date(2026, 12, 31, 23, 59, 60, 0, time.UTC)
	s := SystemView(discipline.Stats{Offset: -143, FrequencyPPM: -12.5, EstError: 300, Steps: 1, LeapAt: leap})
	if s.Offset != -143 || s.FrequencyPPM != -12.5 || s.EstError != 300 || s.Steps != 1 || s.LeapPending != leap.Format(time.RFC3339) {
		t.Errorf("%+v", s)
	}
	if s := SystemView(discipline.Stats{}); s.LeapPending != "" {
		t.Errorf("no leap pending: %q", s.LeapPending)
	}
}
