package status_test

import (
	"strings"
	"testing"
	"time"

	"stratum1/status"
	"stratum1/status/statustest"
)

func TestWriteTracking(t *testing.T) {
	var b strings.Builder
	status.WriteTracking(&b, statustest.Snapshot(testNow))
	got := b.String()
	for _, want := range []string{
		"Reference ID    : PPS\n",
		"Stratum         : 1\n",
		"Ref time (UTC)  : Sat Mar 14 15:09:25.300 2026\n",
		"System time     : 0.000000143 seconds slow of PPS\n",
		"Last offset     : -0.000000143 seconds\n",
		"RMS offset      : 0.000000412 seconds\n",
		"Frequency       : 12.482 ppm fast\n",
		"Root delay      : 0.000000000 seconds\n",
		"Root dispersion : 0.000012000 seconds\n",
		"Leap status     : Normal\n",
		"State           : LOCKED for 2h03m00s\n",
		"Missed pulses   : 7, holdover entered 2 times\n",
		"Outliers        : 3 samples rejected\n",
		"PPS             : locked on /dev/pps0 (pps-api), jitter 380ns\n",
		"GPS             : 3D on /dev/serial0, 8 of 12 satellites used\n",
		"Uptime          : 5h17m00s (version v1.0.0-test)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "NOT adjusted") {
		t.Error("claims the clock is not adjusted")
	}
}

func TestWriteTrackingUnsynchronised(t *testing.T) {
	s := status.Snapshot{
		Time: testNow, State: "NO_TIME", StateSince: testNow.Add(-7 * time.Second),
		System: status.System{Stratum: 16, RefID: "INIT", Leap: "unsynchronised", FrequencyPPM: 3.5},
	}
	var b strings.Builder
	status.WriteTracking(&b, s)
	got := b.String()
	for _, want := range []string{
		"Stratum         : 16 (unsynchronised)\n",
		"Ref time (UTC)  : never\n",
		"System time     : unknown: no time source\n",
		"Frequency       : 3.500 ppm slow\n",
		"Leap status     : Not synchronised\n",
		"State           : NO_TIME for 7s\n",
		"Clock           : NOT adjusted",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Last offset") {
		t.Errorf("shows an offset without a source:\n%s", got)
	}
}

func TestWriteTrackingNTS(t *testing.T) {
	s := statustest.Snapshot(testNow)
	var b strings.Builder
	status.WriteTracking(&b, s)
	if strings.Contains(b.String(), "NTS") {
		t.Errorf("NTS line without NTS:\n%s", b.String())
	}
	s.Server.NTS = map[string]uint64{"ke_sessions": 3, "cookies_issued": 40, "requests": 16, "naks": 1}
	b.Reset()
	status.WriteTracking(&b, s)
	if want := "NTS             : 3 key exchanges, 40 cookies issued, 16 requests served, 1 NAKs\n"; !strings.Contains(b.String(), want) {
		t.Errorf("missing %q in:\n%s", want, b.String())
	}
}
