// Package statustest provides realistic status data and a headless-browser
// check of the dashboard, for tests of the status views and of whole
// daemons (a running `stratum1 sim` is checked with the same helper).
package statustest

import (
	"math"
	"sync"
	"time"

	"stratum1/status"
)

// Snapshot returns the status of a healthy appliance at now: locked to PPS
// for two hours, twelve satellites in view, two upstream peers, busy serving.
func Snapshot(now time.Time) status.Snapshot {
	sats := []status.Satellite{
		{System: "GP", PRN: 2, Elevation: 71, Azimuth: 40, SNR: 44, Used: true},
		{System: "GP", PRN: 5, Elevation: 12, Azimuth: 310, SNR: 22, Used: false},
		{System: "GP", PRN: 11, Elevation: 45, Azimuth: 130, SNR: 38, Used: true},
		{System: "GP", PRN: 13, Elevation: 30, Azimuth: 210, SNR: 35, Used: true},
		{System: "GP", PRN: 15, Elevation: 58, Azimuth: 275, SNR: 41, Used: true},
		{System: "GP", PRN: 18, Elevation: 5, Azimuth: 95, SNR: 0, Used: false},
		{System: "GP", PRN: 20, Elevation: 22, Azimuth: 20, SNR: 30, Used: true},
		{System: "GL", PRN: 67, Elevation: 64, Azimuth: 160, SNR: 39, Used: true},
		{System: "GL", PRN: 68, Elevation: 35, Azimuth: 240, SNR: 33, Used: true},
		{System: "GL", PRN: 77, Elevation: 18, Azimuth: 350, SNR: 26, Used: false},
		{System: "GA", PRN: 4, Elevation: 50, Azimuth: 80, SNR: 40, Used: true},
		{System: "GA", PRN: 9, Elevation: 8, Azimuth: 190, SNR: 18, Used: false},
	}
	used := 0
	for _, s := range sats {
		if s.Used {
			used++
		}
	}
	up := 5*time.Hour + 17*time.Minute
	return status.Snapshot{
		Time:       now,
		Version:    "v1.0.0-test",
		Uptime:     up,
		State:      "LOCKED",
		StateSince: now.Add(-2*time.Hour - 3*time.Minute),
		Source:     "PPS",
		System: status.System{
			Stratum:         1,
			RefID:           "PPS",
			Leap:            "none",
			Precision:       -20,
			RootDelay:       0,
			RootDispersion:  12 * time.Microsecond,
			RefTime:         now.Add(-700 * time.Millisecond),
			Offset:          -143 * time.Nanosecond,
			Residual:        412 * time.Nanosecond,
			FrequencyPPM:    -12.482,
			SkewPPM:         0.011,
			TimeConstant:    16 * time.Second,
			EstError:        1500 * time.Nanosecond,
			ClockAdjust:     true,
			Steps:           1,
			MissedPulses:    7,
			HoldoverEntries: 2,
			RejectedSamples: 3,
		},
		GPS: status.GPS{
			Device: "/dev/serial0", Baud: 9600, State: "3D", Mode: 3,
			Time: now.Truncate(time.Second), SatsUsed: used, SatsInView: len(sats),
			HDOP: 0.9, PDOP: 1.6, Latitude: 52.2053, Longitude: 0.1218, AltitudeM: 21.4,
			Satellites: sats, Sentences: 113_402, BadChecksum: 3, Dropped: 1, Epochs: 19_020,
			Reconnects: 0, NMEALatency: 182 * time.Millisecond,
		},
		PPS: status.PPS{
			Device: "/dev/pps0", Backend: "pps-api", State: "locked",
			LastEdge: now.Truncate(time.Second), Jitter: 380 * time.Nanosecond,
			Pulses: 19_015, Missed: 2, Rejected: map[string]uint64{"outlier": 4, "no fix": 1},
		},
		Peers: []status.Peer{
			{Name: "PPS", Tally: "*", RefID: "PPS", Stratum: 0, Type: "l", When: 700 * time.Millisecond, Poll: 16 * time.Second, Reach: 255, Offset: -143 * time.Nanosecond, Jitter: 380 * time.Nanosecond, Leap: "none"},
			{Name: "GPS", Tally: "-", RefID: "GPS", Stratum: 0, Type: "l", When: 700 * time.Millisecond, Poll: 16 * time.Second, Reach: 255, Offset: 2 * time.Millisecond, Jitter: 3 * time.Millisecond, Leap: "none"},
			{Name: "192.0.2.10", Tally: "+", RefID: "PPS", Stratum: 1, Type: "u", When: 31 * time.Second, Poll: 64 * time.Second, Reach: 0o377, Delay: 4210 * time.Microsecond, Offset: 87 * time.Microsecond, Jitter: 150 * time.Microsecond, Leap: "none", RootDist: 2200 * time.Microsecond},
			{Name: "2001:db8::123", Tally: "x", RefID: "GPS", Stratum: 1, Type: "u", When: 12 * time.Second, Poll: 64 * time.Second, Reach: 0o177, Delay: 9 * time.Millisecond, Offset: 41 * time.Millisecond, Jitter: 2 * time.Millisecond, Leap: "none", Note: "falseticker"},
		},
		Server: status.Server{
			Received: 1_204_311,
			Answered: 1_201_977,
			KoD:      map[string]uint64{"RATE": 1890, "DENY": 12},
			Dropped:  map[string]uint64{"rate limit": 410, "malformed": 22},
		},
	}
}

// History returns span worth of samples ending at now, recorded through
// History.Record from snapshots whose offset, jitter, frequency and load
// wander the way a real appliance's do (a diurnal temperature cycle in the
// frequency, a busier evening).
func History(now time.Time, span, interval time.Duration) *status.History {
	h := status.NewHistory(span, interval)
	base := Snapshot(now)
	start := now.Add(-span + interval)
	var received, answered uint64 = 900_000, 898_000
	rng := uint32(1) // a fixed LCG, so the data are the same every run
	noise := func() float64 {
		rng = rng*1664525 + 1013904223
		return float64(rng>>8)/float64(1<<24) - 0.5
	}
	for t := start; !t.After(now); t = t.Add(interval) {
		x := t.Sub(start).Seconds()
		day := 2 * math.Pi * x / 86400
		s := base
		s.Time = t
		s.System.Offset = time.Duration(120*math.Sin(day*3) + 60*math.Sin(x/1700) + 400*noise())
		s.System.FrequencyPPM = -12.5 + 0.35*math.Sin(day)
		s.PPS.Jitter = time.Duration(350 + 120*math.Sin(x/600) + 40*math.Sin(x/7))
		rps := 40 + 25*math.Sin(day-1) + 5*math.Sin(x/300)
		n := uint64(rps * interval.Seconds())
		received += n
		answered += n - n/200
		s.Server.Received, s.Server.Answered = received, answered
		h.Record(s)
	}
	return h
}

// Provider is a status.Provider that returns a fixed snapshot, safe for
// concurrent use.
type Provider struct {
	mu sync.Mutex
	s  status.Snapshot
}

// NewProvider returns a provider of s.
func NewProvider(s status.Snapshot) *Provider { return &Provider{s: s} }

// Snapshot implements status.Provider.
func (p *Provider) Snapshot() status.Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.s
}

// Set replaces the snapshot.
func (p *Provider) Set(s status.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.s = s
}
