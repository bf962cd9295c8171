package server

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/beevik/ntp"

	"stratum1/internal/proctest"
	"stratum1/internal/testenv"
	ntpw "stratum1/ntp"
)

// TestInteropBeevik queries the responder with github.com/beevik/ntp, an
// independent client implementation, over IPv4 and IPv6.
func TestInteropBeevik(t *testing.T) {
	r := startResponder(t, syncedState(), 2, []string{"127.0.0.1:0", "[::1]:0"})
	for _, a := range r.Addrs() {
		for i := 0; i < 3; i++ {
			resp, err := ntp.QueryWithOptions(a.Addr().String(), ntp.QueryOptions{Port: int(a.Port()), Timeout: 2 * time.Second})
			if err != nil {
				t.Fatalf("%v: %v", a, err)
			}
			if err := resp.Validate(); err != nil {
				t.Fatalf("%v: reply rejected: %v", a, err)
			}
			if resp.Stratum != 1 || ntpw.RefID(resp.ReferenceID) != ntpw.RefGPS || resp.Leap != ntp.LeapNoWarning {
				t.Fatalf("%v: stratum %d refid %#x leap %d", a, resp.Stratum, resp.ReferenceID, resp.Leap)
			}
			if resp.ClockOffset.Abs() > time.Millisecond {
				t.Fatalf("%v: offset %v from the system clock it serves", a, resp.ClockOffset)
			}
			if resp.RTT <= 0 || resp.RTT > 50*time.Millisecond {
				t.Fatalf("%v: rtt %v", a, resp.RTT)
			}
		}
	}
}

// TestInteropUnsynchronisedBeevik checks that a standard client refuses the
// responder's time while the state says unsynchronised.
func TestInteropUnsynchronisedBeevik(t *testing.T) {
	state := syncedState()
	state.Store(ntpw.Unsynchronised(-20))
	r := startResponder(t, state, 1, []string{"127.0.0.1:0"})
	a := r.Addrs()[0]
	resp, err := ntp.QueryWithOptions(a.Addr().String(), ntp.QueryOptions{Port: int(a.Port()), Timeout: 2 * time.Second})
	if err == nil {
		err = resp.Validate()
	}
	if err == nil {
		t.Fatalf("client accepted an unsynchronised server: %+v", resp)
	}
}

// ntpdig only queries port 123, so the ntpdig test runs the responder on
// 127.0.0.1:123 in a network namespace of its own: the test binary re-runs
// itself under `unshare -rn`, which also keeps anything in it from setting
// the host's clock.
const netnsEnv = "STRATUM1_TEST_IN_NETNS"

func TestInteropNtpdig(t *testing.T) {
	ntpdig := testenv.Tool(t, "ntpdig")
	if os.Getenv(netnsEnv) == "" {
		unshare, ip := testenv.Tool(t, "unshare"), testenv.Tool(t, "ip")
		cmd := exec.Command(unshare, "-rn", "sh", "-c", `"$0" link set lo up && exec "$@"`, ip,
			os.Args[0], "-test.run=^TestInteropNtpdig$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), netnsEnv+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("in a network namespace:\n%s", out)
		if err != nil {
			t.Fatalf("ntpdig test in network namespace: %v", err)
		}
		return
	}
	r := startResponder(t, syncedState(), 1, []string{"127.0.0.1:123", "[::1]:123"})
	for _, host := range []string{"127.0.0.1", "::1"} {
		// ntpdig is Python: on a busy machine one exchange can take
		// milliseconds, and its offset is only as good as half its delay.
		// Retry until an exchange is fast enough to judge.
		for attempt := 1; ; attempt++ {
			out, err := exec.Command(ntpdig, "-j", "-t", "2", "-p", "3", host).Output()
			if err != nil {
				t.Fatalf("ntpdig %s: %v\n%s", host, err, out)
			}
			var got struct {
				Offset  float64 `json:"offset"`
				Bound   float64 `json:"precision"` // ntpdig's error bound: root distance and half the delay
				Stratum int     `json:"stratum"`
				Leap    string  `json:"leap"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("ntpdig output %q: %v", out, err)
			}
			t.Logf("ntpdig %s: %s", host, out)
			if got.Stratum != 1 || got.Leap != "no-leap" {
				t.Fatalf("ntpdig %s: stratum %d leap %q", host, got.Stratum, got.Leap)
			}
			if math.Abs(got.Offset) <= 1e-3 {
				break
			}
			if got.Bound < 1e-3 || attempt == 5 {
				t.Fatalf("ntpdig %s: offset %s s (error bound %g s)", host, strconv.FormatFloat(got.Offset, 'g', -1, 64), got.Bound)
			}
		}
	}
	if c := r.Counters(); c.Received < 2 {
		t.Fatalf("responder counted %+v", c)
	}
}

// TestInteropChronydSymmetric: chronyd as a symmetric active peer (mode 1)
// gets symmetric passive replies, as from another chronyd, and measures
// the responder's time; no association is kept on this side.
func TestInteropChronydSymmetric(t *testing.T) {
	chronyd := testenv.Tool(t, "chronyd")
	r := startResponder(t, syncedState(), 1, []string{"127.0.0.1:0"})
	a := r.Addrs()[0]
	directive := "peer 127.0.0.1 port " + strconv.Itoa(int(a.Port())) + " minpoll 0 maxpoll 0 maxsamples 4"
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	// -Q only measures: it never sets this machine's clock.
	// A symmetric peer sends from chronyd's NTP socket: give it one on
	// loopback.
	own := "port " + strconv.Itoa(proctest.FreePort(t, "127.0.0.1"))
	out, err := exec.CommandContext(ctx, chronyd, "-Q", "-f", "/dev/null", "-u", "root",
		"bindaddress 127.0.0.1", own, directive).CombinedOutput()
	if err != nil {
		t.Fatalf("chronyd -Q %q: %v (counters %+v)\n%s", directive, err, r.Counters(), out)
	}
	m := regexp.MustCompile(`System clock wrong by (-?[0-9.]+) seconds`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("chronyd -Q %q: no offset in its output:\n%s", directive, out)
	}
	off, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || math.Abs(off) > 1e-3 {
		t.Fatalf("chronyd as a symmetric peer measures %s s (%v)", m[1], err)
	}
	t.Logf("chronyd -Q as a symmetric peer: %s", m[0])
	if c := r.Counters(); c.Answered == 0 || c.DroppedBy(DropMode) != 0 {
		t.Errorf("counters %+v: want mode 1 answered, none dropped for their mode", c)
	}
}
