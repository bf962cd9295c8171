package sim

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// The appliance's state machine, cross-check and served state, driven by
// the core in virtual time against simulated upstream peers: hours of a
// box's life in a second or two each.

// firstIn returns the time of the first change to state, or -1.
func firstIn(sum Summary, state string) float64 {
	for _, c := range sum.StateChanges {
		if c.State == state {
			return c.AtS
		}
	}
	return -1
}

func runBox(t *testing.T, s Settings) Summary {
	t.Helper()
	sum, _, err := RunVirtual(context.Background(), s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("states %+v; served %d s, %d s of them wrong", sum.StateChanges, sum.ServedS, sum.ServedWrongS)
	return sum
}

func TestBoxLife(t *testing.T) {
	tests := []struct {
		name  string
		set   func(*Settings)
		check func(t *testing.T, sum Summary)
	}{
		{
			// A receiver a second off from the start: the peers say so
			// before the GPS may step the clock; the box serves the
			// peers' time (stratum 2) and goes to GPS once it agrees.
			name: "wrong second from the start, caught by the peers",
			set: func(s *Settings) {
				s.Duration, s.Peers = time.Hour, 3
				s.WrongSecond = []Window{{At: 0, Length: 30 * time.Minute}}
			},
			check: func(t *testing.T, sum Summary) {
				if sum.ServedWrongS != 0 {
					t.Errorf("served the wrong second for %d s", sum.ServedWrongS)
				}
				if p, l := firstIn(sum, "PEERS"), firstIn(sum, "LOCKED"); p < 0 || l < 1800 {
					t.Errorf("PEERS at %gs, LOCKED at %gs: want peers first, GPS after the wrong second ends (1800 s)", p, l)
				}
				if sum.ServedS < 3000 || sum.BoxState != "LOCKED" {
					t.Errorf("served %d s of 3600, ends %s", sum.ServedS, sum.BoxState)
				}
			},
		},
		{
			// Without peers nothing can tell: the same receiver is served.
			// This is what the cross-check is for (and shows that the
			// served_wrong_s figure sees it).
			name: "wrong second from the start without peers",
			set: func(s *Settings) {
				s.Duration = 10 * time.Minute
				s.WrongSecond = []Window{{At: 0, Length: time.Hour}}
			},
			check: func(t *testing.T, sum Summary) {
				if sum.ServedWrongS < 500 {
					t.Errorf("served the wrong second for only %d s", sum.ServedWrongS)
				}
			},
		},
		{
			// A receiver that starts naming the wrong second while the
			// clock is disciplined: the pairer names the pulses by their
			// nearest second and refuses the NMEA's label.
			name: "wrong second while locked",
			set: func(s *Settings) {
				s.Duration, s.Peers = 2*time.Hour, 3
				s.WrongSecond = []Window{{At: time.Hour, Length: 10 * time.Minute}}
			},
			check: func(t *testing.T, sum Summary) {
				if sum.ServedWrongS != 0 || sum.BoxState != "LOCKED" || firstIn(sum, "PEERS") > 60 {
					t.Errorf("served wrong %d s, ends %s, PEERS at %gs", sum.ServedWrongS, sum.BoxState, firstIn(sum, "PEERS"))
				}
				if sum.PPSRejected["wrong-second"] == 0 {
					t.Errorf("no pulse refused for the wrong second: %v", sum.PPSRejected)
				}
			},
		},
		{
			// Peers configured but unreachable: GPS waits a minute for
			// their verdict, then serves without it.
			name: "awaiting peers that never answer",
			set: func(s *Settings) {
				s.Duration, s.Peers = 10*time.Minute, 3
				s.PeersDown = []Window{{At: 0, Length: time.Hour}}
			},
			check: func(t *testing.T, sum Summary) {
				if a := firstIn(sum, "ACQUIRING"); a < 60 || a > 70 {
					t.Errorf("ACQUIRING at %gs, want just after the minute's wait", a)
				}
				if firstIn(sum, "LOCKED") < 60 || sum.ServedS > 600-60 || sum.BoxState != "LOCKED" {
					t.Errorf("LOCKED at %gs, served %d s, ends %s", firstIn(sum, "LOCKED"), sum.ServedS, sum.BoxState)
				}
			},
		},
		{
			// Answering peers judge the GPS within seconds: no wait.
			name: "peers that answer",
			set: func(s *Settings) {
				s.Duration, s.Peers = 10*time.Minute, 3
			},
			check: func(t *testing.T, sum Summary) {
				if l := firstIn(sum, "LOCKED"); l < 0 || l > 30 {
					t.Errorf("LOCKED at %gs", l)
				}
			},
		},
		{
			// Pulses and NMEA gone for 2.5 h: holdover for the 2 h limit,
			// then the peers; back to GPS once it has been healthy for
			// gps_recover_after (5 min).
			name: "fallback to peers past the holdover limit",
			set: func(s *Settings) {
				s.Duration, s.Peers = 5*time.Hour, 3
				gone := Window{At: time.Hour, Length: 150 * time.Minute}
				s.Outages, s.Unplugged = []Window{gone}, []Window{gone}
			},
			check: func(t *testing.T, sum Summary) {
				h, p := firstIn(sum, "HOLDOVER"), lastIn(sum, "PEERS")
				if h < 3600 || h > 3610 || p < h+7200-5 || p > h+7200+5 {
					t.Errorf("HOLDOVER at %gs, PEERS at %gs: want 3600 and 2 h later", h, p)
				}
				if l := lastIn(sum, "LOCKED"); l < 3600+9000+300 || l > 3600+9000+330 {
					t.Errorf("back to LOCKED at %gs, want 5 min after the GPS returned (12600 s)", l)
				}
				if sum.ServedWrongS != 0 || sum.BoxState != "LOCKED" {
					t.Errorf("served wrong %d s, ends %s", sum.ServedWrongS, sum.BoxState)
				}
			},
		},
		{
			// The same loss without peers: UNSYNCHRONISED after the limit.
			name: "holdover limit without peers",
			set: func(s *Settings) {
				s.Duration = 200 * time.Minute
				gone := Window{At: time.Hour, Length: 150 * time.Minute}
				s.Outages, s.Unplugged = []Window{gone}, []Window{gone}
			},
			check: func(t *testing.T, sum Summary) {
				if u := firstIn(sum, "UNSYNCHRONISED"); u < 3600+7200-5 || u > 3600+7200+5 {
					t.Errorf("UNSYNCHRONISED at %gs", u)
				}
				if sum.BoxState != "UNSYNCHRONISED" {
					t.Errorf("ends %s while the GPS is still gone", sum.BoxState)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSettings()
			s.Seed = 7
			tt.set(&s)
			tt.check(t, runBox(t, s))
		})
	}
}

func lastIn(sum Summary, state string) float64 {
	at := -1.0
	for _, c := range sum.StateChanges {
		if c.State == state {
			at = c.AtS
		}
	}
	return at
}
