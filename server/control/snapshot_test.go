package control

import (
	"net/netip"
	"time"

	"stratum1/status"
)

var (
	loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	snapTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
)

// fakeSnapshot is a locked stratum-1 server steered by PPS, with its GPS
// and two upstream peers, one of them IPv6 and half unreachable.
func fakeSnapshot() status.Snapshot { return fakeSnapshotAt(snapTime) }

func fakeSnapshotAt(now time.Time) status.Snapshot {
	return status.Snapshot{
		Time:    now,
		Version: "test",
		Uptime:  3 * time.Hour,
		State:   "LOCKED",
		Source:  "PPS",
		System: status.System{
			Stratum:        1,
			RefID:          "PPS",
			Leap:           "none",
			Precision:      -20,
			RootDelay:      0,
			RootDispersion: 1500 * time.Microsecond,
			RefTime:        now.Add(-3 * time.Second),
			Offset:         -1200 * time.Nanosecond,
			Residual:       800 * time.Nanosecond,
			FrequencyPPM:   -12.345,
			SkewPPM:        0.012,
			TimeConstant:   16 * time.Second,
		},
		Kernel: &status.Kernel{FrequencyPPM: -12.345, MaxError: 16 * time.Millisecond, EstError: 2 * time.Microsecond,
			Status: 0x2001, TimeConstant: 4, Precision: time.Microsecond, TolerancePPM: 500, PPSInterval: 4 * time.Second},
		GPS: status.GPS{Device: "/dev/ttyAMA0", State: "3D", SatsUsed: 9, HDOP: 0.9, Epochs: 1000},
		PPS: status.PPS{Device: "/dev/pps0", State: "locked", Pulses: 1000, Jitter: 700 * time.Nanosecond},
		Peers: []status.Peer{
			// Reference clocks as the appliance lists them: no leap of
			// their own.
			{Name: "PPS", Tally: "*", RefID: "PPS", Stratum: 0, Type: "l", When: time.Second, Poll: 16 * time.Second,
				Reach: 0377, Offset: 2 * time.Microsecond, Jitter: time.Microsecond},
			{Name: "GPS", Tally: "+", RefID: "GPS", Stratum: 0, Type: "l", When: time.Second, Poll: 16 * time.Second,
				Reach: 0377, Offset: 35 * time.Millisecond, Jitter: 3 * time.Millisecond},
			{Name: "192.0.2.10", Tally: "-", RefID: "GPS", Stratum: 1, Type: "u", When: 20 * time.Second, Poll: 64 * time.Second,
				Reach: 0377, Delay: 12500 * time.Microsecond, Offset: 1234567 * time.Nanosecond, Jitter: 400 * time.Microsecond,
				Leap: "none", RootDist: 8 * time.Millisecond},
			{Name: "[2001:db8::5]:123", Tally: "x", RefID: "192.0.2.77", Stratum: 2, Type: "u", When: 100 * time.Second,
				Poll: 128 * time.Second, Reach: 0x0f, Delay: 30 * time.Millisecond, Offset: -4500 * time.Microsecond,
				Jitter: 2 * time.Millisecond, Leap: "none", Note: "falseticker"},
		},
	}
}
