package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	beevik "github.com/beevik/ntp"

	"stratum1/internal/proctest"
	"stratum1/internal/testenv"
	"stratum1/status"
)

// chronydPeers starts honest chronyd servers (and one shifted by +5 s
// through libfaketime when shifted is set), each on its own loopback
// address and port, and returns their host:port names.
func chronydPeers(t *testing.T, honest int, shifted bool) (honestAddrs []string, shiftedAddr string) {
	t.Helper()
	for range honest {
		host := proctest.Loopback()
		port := proctest.FreePort(t, host)
		testenv.StartChronyd(t, host, port, "")
		honestAddrs = append(honestAddrs, proctest.HostPort(host, port))
	}
	if shifted {
		host := proctest.Loopback()
		port := proctest.FreePort(t, host)
		testenv.StartChronyd(t, host, port, "", "LD_PRELOAD="+testenv.Libfaketime(t), "FAKETIME=+5s")
		shiftedAddr = proctest.HostPort(host, port)
	}
	return honestAddrs, shiftedAddr
}

// peersConfig is a configuration file with the servers polled every 2 to
// 4 s, so that a test sees selection in seconds rather than minutes.
func peersConfig(t *testing.T, servers []string, extra string) string {
	t.Helper()
	var b strings.Builder
	// No drift file: the test leaves nothing behind on the machine.
	b.WriteString("[discipline]\ndrift_file = \"\"\n\n")
	for _, s := range servers {
		fmt.Fprintf(&b, "[[peers.server]]\naddress = %q\niburst = true\nminpoll = \"2s\"\nmaxpoll = \"4s\"\n\n", s)
	}
	b.WriteString(extra)
	path := filepath.Join(t.TempDir(), "stratum1.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func peerRows(s status.Snapshot) map[string]status.Peer {
	m := map[string]status.Peer{}
	for _, p := range s.Peers {
		m[p.Name] = p
	}
	return m
}

func hostOf(hostport string) string {
	h, _, _ := net.SplitHostPort(hostport)
	return h
}

// TestE2ERunPeers: `stratum1 run` without GPS, upstream three honest chronyd
// servers and one 5 s ahead. It selects the honest ones, marks the shifted
// one a falseticker, serves stratum 3 with the selected peer's address as
// refid and the system clock's time, and `stratum1 peers` shows the tallies.
func TestE2ERunPeers(t *testing.T) {
	t.Parallel()
	honest, shifted := chronydPeers(t, 3, true)
	cfg := peersConfig(t, append(slices.Clone(honest), shifted), "")
	d := startRun(t, 3*time.Minute, "--config", cfg, "--no-gps", "--no-clock-adjust")

	var s status.Snapshot
	proctest.Eventually(t, 60*time.Second, 500*time.Millisecond, "PEERS with the shifted server a falseticker", func() bool {
		if exited, err := d.Exited(); exited {
			t.Fatalf("stratum1 run exited: %v", err)
		}
		var err error
		s, err = d.tryStatus()
		return err == nil && s.State == "PEERS" && peerRows(s)[shifted].Tally == "x"
	})
	rows := peerRows(s)
	for _, h := range honest {
		if r := rows[h]; r.Tally != "*" && r.Tally != "+" {
			t.Errorf("honest %s: tally %q note %q, want * or +", h, r.Tally, r.Note)
		}
	}
	if r := rows[shifted]; absDur(r.Offset-5*time.Second) > 100*time.Millisecond {
		t.Errorf("shifted %s: offset %v, want about 5s", shifted, r.Offset)
	}
	if !slices.Contains(honest, s.Source) {
		t.Errorf("source %q, want one of the honest servers %v", s.Source, honest)
	}
	if s.System.Stratum != 3 || s.System.RefID != hostOf(s.Source) {
		t.Errorf("/api/status serves stratum %d refid %s, want 3 and the source's address %s",
			s.System.Stratum, s.System.RefID, hostOf(s.Source))
	}

	// What clients get: stratum 3, the selected peer's address, and the
	// system clock's time (the box does not adjust it, so the offset is
	// what the responder adds).
	var offsets []time.Duration
	for range 8 {
		r, err := query(d.ntpAddr)
		if err != nil {
			t.Fatal(err)
		}
		if r.Stratum != 3 || r.Leap == beevik.LeapNotInSync || !hostIn(honest, refID(r)) {
			t.Errorf("reply: stratum %d leap %d refid %s, want stratum 3 from one of %v", r.Stratum, r.Leap, refID(r), honest)
		}
		offsets = append(offsets, r.ClockOffset)
		time.Sleep(100 * time.Millisecond)
	}
	if m := median(offsets); absDur(m) > 10*time.Millisecond {
		t.Errorf("served offset %v (of %v), want within 10ms of the system clock", m, offsets)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, stratum1Binary(t), "peers", "--server", d.httpURL).CombinedOutput()
	if err != nil {
		t.Fatalf("stratum1 peers: %v\n%s", err, out)
	}
	t.Logf("stratum1 peers:\n%s", out)
	lines := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(strings.TrimLeft(l, "*+-x ")); len(f) > 0 && len(l) > 0 {
			lines[f[0]] = l
		}
	}
	if l := lines[shifted]; !strings.HasPrefix(l, "x") {
		t.Errorf("stratum1 peers: the shifted server's line %q does not start with x", l)
	}
	if l := lines[s.Source]; !strings.HasPrefix(l, "*") {
		t.Errorf("stratum1 peers: the selected server's line %q does not start with *", l)
	}
	for _, h := range honest {
		if l := lines[h]; l == "" || !strings.ContainsAny(l[:1], "*+") || !strings.Contains(l, " 2 u ") {
			t.Errorf("stratum1 peers: honest %s line %q, want tally * or + and stratum 2 type u", h, l)
		}
	}
}

// hostIn reports whether one of addrs (host:port) has host.
func hostIn(addrs []string, host string) bool {
	for _, a := range addrs {
		if hostOf(a) == host {
			return true
		}
	}
	return false
}

// TestE2ESimWrongSecondPeers: three honest chronyd servers are upstream;
// once the box is locked, the simulated receiver starts naming the wrong
// second. The box must never serve that second: it either keeps the pulse's
// second (the pairer notices the labels moved) or distrusts its GPS and
// serves from the peers.
func TestE2ESimWrongSecondPeers(t *testing.T) {
	t.Parallel()
	const wrongAt = 45 * time.Second
	honest, _ := chronydPeers(t, 3, false)
	var args []string
	for _, h := range honest {
		args = append(args, "--server", h)
	}
	args = append(args, "--peer-poll", "2s", "--wrong-second", fmt.Sprintf("10m@%v", wrongAt))
	d := startSim(t, 3*time.Minute, 0, args...)
	started := time.Now()
	waitServing(t, wrongAt-5*time.Second, d.ntpAddr, 1, "PPS")
	if s := d.status(t); s.State != "LOCKED" {
		t.Fatalf("state %s before the receiver goes wrong, want LOCKED", s.State)
	}
	var log serveLog
	var syncedAfter int
	for time.Since(started) < wrongAt+30*time.Second {
		r, err := query(d.ntpAddr)
		time.Sleep(300 * time.Millisecond)
		if err != nil {
			log.add("%v: no answer: %v", time.Since(started).Round(time.Millisecond), err)
			continue
		}
		log.replies++
		synced := r.Leap != beevik.LeapNotInSync
		switch {
		case synced && !closeTo(r, 100*time.Millisecond):
			t.Errorf("%v: served stratum %d refid %s with the time %v off", time.Since(started).Round(time.Millisecond),
				r.Stratum, refID(r), r.ClockOffset)
		case synced && time.Since(started) > wrongAt+2*time.Second:
			if !(r.Stratum == 1 && refID(r) == "PPS") && !(r.Stratum == 3 && hostIn(honest, refID(r))) {
				t.Errorf("served stratum %d refid %s, want 1 PPS or 3 from a peer", r.Stratum, refID(r))
			}
			syncedAfter++
		}
	}
	s := d.status(t)
	t.Logf("after %v: state %s source %s stratum %d refid %s; %d replies, %d synchronised after the receiver went wrong",
		time.Since(started).Round(time.Second), s.State, s.Source, s.System.Stratum, s.System.RefID, log.replies, syncedAfter)
	if syncedAfter < 50 {
		t.Errorf("only %d synchronised replies in the 28 s after the receiver went wrong:\n%s", syncedAfter, log.String())
	}
	if s.System.Steps != 1 {
		t.Errorf("%d clock steps, want only the initial one", s.System.Steps)
	}
}

// TestE2ESimWrongSecondFromStart: the receiver names the wrong second from
// the first sentence on, with three honest chronyd servers upstream. The box
// must never serve that second, and must end up serving the peers' time.
func TestE2ESimWrongSecondFromStart(t *testing.T) {
	t.Parallel()
	honest, _ := chronydPeers(t, 3, false)
	args := []string{"--peer-poll", "2s", "--wrong-second", "10m@0s"}
	for _, h := range honest {
		args = append(args, "--server", h)
	}
	d := startSim(t, 3*time.Minute, 0, args...)
	started := time.Now()
	var log serveLog
	fromPeers := 0
	for time.Since(started) < 90*time.Second && fromPeers < 20 {
		r, err := query(d.ntpAddr)
		time.Sleep(300 * time.Millisecond)
		if err != nil {
			log.add("%v: no answer: %v", time.Since(started).Round(time.Millisecond), err)
			continue
		}
		log.replies++
		if r.Leap == beevik.LeapNotInSync {
			continue
		}
		if !closeTo(r, 100*time.Millisecond) {
			t.Fatalf("%v: served stratum %d refid %s with the time %v off",
				time.Since(started).Round(time.Millisecond), r.Stratum, refID(r), r.ClockOffset)
		}
		if r.Stratum == 3 && hostIn(honest, refID(r)) {
			fromPeers++
		}
	}
	s := d.status(t)
	if fromPeers < 20 || s.State != "PEERS" {
		t.Fatalf("after %v: state %s, %d replies from the peers, want PEERS:\n%s",
			time.Since(started).Round(time.Second), s.State, fromPeers, log.String())
	}
	if !strings.Contains(d.Output(), "GPS disagrees with the majority of upstream peers") {
		t.Errorf("the daemon never logged that it distrusts the GPS")
	}
}
