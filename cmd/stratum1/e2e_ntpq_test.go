package main

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"stratum1/internal/testenv"
	"stratum1/sim"
)

// e2eNetnsEnv marks a test binary re-run inside a private network namespace
// (`unshare -rn`), where an unprivileged user may bind port 123.
const e2eNetnsEnv = "STRATUM1_E2E_IN_NETNS"

// TestE2ENtpq: ntpsec's ntpq, which speaks only to port 123, reads the
// running sim's sources and system variables over mode 6. As root (CI) the
// sim listens on port 123 of its own loopback address; otherwise the test
// re-runs itself in a private network namespace where it may.
func TestE2ENtpq(t *testing.T) {
	ntpq := testenv.Tool(t, "ntpq")
	if os.Geteuid() != 0 && os.Getenv(e2eNetnsEnv) == "" {
		unshare, ip := testenv.Tool(t, "unshare"), testenv.Tool(t, "ip")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, unshare, "-rn", "sh", "-c", `"$0" link set lo up && exec "$@"`, ip,
			os.Args[0], "-test.run=^TestE2ENtpq$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), e2eNetnsEnv+"=1", e2eBinEnv+"="+stratum1Binary(t))
		out, err := cmd.CombinedOutput()
		t.Logf("in a network namespace:\n%s", out)
		if err != nil {
			t.Fatalf("ntpq test in a network namespace: %v", err)
		}
		return
	}
	t.Parallel()
	d := startSim(t, 3*time.Minute, 123)
	d.waitState(t, 60*time.Second, "LOCKED")
	// A few more seconds, so that the reach registers have filled.
	time.Sleep(3 * time.Second)

	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, ntpq, append([]string{"-n"}, append(args, d.host)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ntpq %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("ntpq %s %s:\n%s", strings.Join(args, " "), d.host, out)
		return string(out)
	}

	// ntpq -p: one row per source; the reference clocks show as ntpd's do.
	rows := map[string][]string{}
	for _, l := range strings.Split(run("-p"), "\n") {
		f := strings.Fields(l)
		if len(f) == 10 && (strings.HasPrefix(f[0][1:], "GPS") || strings.HasPrefix(f[0][1:], "PPS")) {
			rows[f[0][1:4]] = f
		}
	}
	// The PPS row is the clock's offset to the pulse; the GPS row is what
	// the NMEA time alone says, the sentences' latency after the second.
	nmeaLatency := sim.DefaultSettings().NMEALatency
	for _, src := range []struct {
		name, tallies string
		offset        time.Duration
	}{{"GPS", "+*", -nmeaLatency}, {"PPS", "*", 0}} {
		f, ok := rows[src.name]
		if !ok {
			t.Errorf("ntpq -p lists no %s row", src.name)
			continue
		}
		// remote refid st t when poll reach delay offset jitter
		if !strings.ContainsAny(f[0][:1], src.tallies) {
			t.Errorf("%s: tally %q, want one of %q", src.name, f[0][:1], src.tallies)
		}
		if f[1] != "."+src.name+"." {
			t.Errorf("%s: refid %q, want .%s.", src.name, f[1], src.name)
		}
		if f[2] != "0" || f[3] != "l" {
			t.Errorf("%s: stratum %s type %s, want a local reference clock at stratum 0", src.name, f[2], f[3])
		}
		if reach, err := strconv.ParseUint(f[6], 8, 8); err != nil || reach == 0 {
			t.Errorf("%s: reach %q, want a nonzero octal register", src.name, f[6])
		}
		// The sentences' arrival also carries the pty's and the
		// scheduler's delay, a few ms on a loaded machine; a wrong
		// source (0, or a whole second) is far outside.
		want := float64(src.offset) / float64(time.Millisecond)
		if off, err := strconv.ParseFloat(f[8], 64); err != nil || off < want-10 || off > want+10 {
			t.Errorf("%s: offset %q ms, want within 10 ms of %v ms", src.name, f[8], want)
		}
	}

	// ntpq -c rv: the system variables.
	vars := map[string]string{}
	for _, kv := range strings.Split(strings.ReplaceAll(run("-c", "rv"), "\n", " "), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			vars[k] = strings.Trim(v, `"`)
		}
	}
	for k, want := range map[string]string{"stratum": "1", "refid": "PPS", "leap": "00"} {
		if vars[k] != want {
			t.Errorf("ntpq rv: %s=%q, want %q", k, vars[k], want)
		}
	}
	if off, err := strconv.ParseFloat(vars["offset"], 64); err != nil || off < -1 || off > 1 {
		t.Errorf("ntpq rv: offset=%q ms, want within 1 ms", vars["offset"])
	}
}
