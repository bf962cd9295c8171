package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	beevik "github.com/beevik/ntp"

	"stratum1/internal/proctest"
	"stratum1/status"
)

// queryFrom asks the server at addr once from the local address from.
func queryFrom(addr, from string) (*beevik.Response, error) {
	return beevik.QueryWithOptions(addr, beevik.QueryOptions{Timeout: time.Second, LocalAddress: from})
}

// TestE2EReloadAccess: SIGHUP makes `stratum1 run` re-read its file. A new
// [access] rule denying a network takes effect (KoD DENY to its clients,
// others still served) without a restart or a lost reply; a broken file is
// rejected with a logged error and the last good rules stay.
func TestE2EReloadAccess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "stratum1.toml")
	write := func(s string) {
		t.Helper()
		// Write and rename, as an editor or config management would, so
		// that the daemon never reads half a file.
		// No drift file: the test leaves nothing behind on the machine.
		s = "[discipline]\ndrift_file = \"\"\n\n" + s
		if err := os.WriteFile(path+".new", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	write("[access]\ndefault = \"serve\"\n")
	d := startRun(t, 3*time.Minute, "--no-gps", "--no-clock-adjust", "--config", path)

	// The denied network, away from the addresses query() picks.
	denied := fmt.Sprintf("127.%d.%d", 200+rand.IntN(50), rand.IntN(256))
	client := func() string { return fmt.Sprintf("%s.%d", denied, 1+rand.IntN(254)) }

	// Without peers or GPS the box serves unsynchronised time: a reply,
	// not a kiss.
	// (stratum 16, sent as 0 with refid INIT, RFC 5905).
	served := func(r *beevik.Response) bool { return r.Leap == beevik.LeapNotInSync && refID(r) == "INIT" }
	if r, err := queryFrom(d.ntpAddr, client()); err != nil || !served(r) {
		t.Fatalf("before the reload: %+v, %v; want an unsynchronised reply", r, err)
	}

	first := d.status(t)

	// Clients elsewhere keep asking throughout; none may go unanswered.
	var asked, answered atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			asked.Add(1)
			if r, err := query(d.ntpAddr); err == nil && served(r) {
				answered.Add(1)
			}
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()

	hup := func(wantLog string) {
		t.Helper()
		before := strings.Count(d.Output(), wantLog)
		if err := d.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		proctest.Eventually(t, 10*time.Second, 100*time.Millisecond, "log "+wantLog, func() bool {
			return strings.Count(d.Output(), wantLog) > before
		})
		// Let the other clients' queries run on across the change.
		time.Sleep(2 * time.Second)
	}
	kissed := func(when string) {
		t.Helper()
		// A fresh client each time: kisses are themselves rate limited per
		// client.
		from := client()
		r, err := queryFrom(d.ntpAddr, from)
		if err != nil {
			t.Fatalf("%s: no reply to %s: %v", when, from, err)
		}
		if r.Stratum != 0 || refID(r) != "DENY" {
			t.Errorf("%s: %s got stratum %d refid %q, want a KoD DENY", when, from, r.Stratum, refID(r))
		}
	}

	write(fmt.Sprintf(`[access]
default = "serve"

[[access.rule]]
network = "%s.0/24"
action = "deny"
`, denied))
	hup("configuration reloaded")
	kissed("after the reload")

	write("[access]\ndefault = \"bogus\"\n")
	hup("reload rejected")
	if exited, err := d.Exited(); exited {
		t.Fatalf("the daemon exited on a broken configuration: %v", err)
	}
	kissed("after a rejected reload")
	if !strings.Contains(d.Output(), "bogus") {
		t.Errorf("the logged error does not name the bad value:\n%s", d.Output())
	}

	write("[access]\ndefault = \"serve\"\n")
	hup("configuration reloaded")
	if r, err := queryFrom(d.ntpAddr, client()); err != nil || !served(r) {
		t.Errorf("after removing the rule: %+v, %v; want an unsynchronised reply", r, err)
	}

	close(stop)
	<-done
	t.Logf("%d of %d queries from other clients answered across three reloads", answered.Load(), asked.Load())
	if asked.Load() < 5 || answered.Load() != asked.Load() {
		t.Errorf("%d of %d queries answered across the reloads, want all", answered.Load(), asked.Load())
	}
	s := d.status(t)
	if s.Server.Access["kiss_deny"] < 2 {
		t.Errorf("/api/status counts %d KoD DENY, want at least 2", s.Server.Access["kiss_deny"])
	}
	if s.Uptime < first.Uptime+6*time.Second || s.Server.Received < first.Server.Received+uint64(asked.Load()) {
		t.Errorf("uptime %v (was %v), %d requests received (were %d): the daemon restarted",
			s.Uptime, first.Uptime, s.Server.Received, first.Server.Received)
	}
}

// TestE2EReloadEverything: SIGHUP with a new NTP listen address, log level,
// upstream server, status server address and drift file. The daemon answers
// NTP on the new address and no longer on the old one, serves its status
// on the new HTTP address only, polls the new server instead of the old
// one, and logs what it applied and, as a warning, the change that needs a
// restart (the drift file). The pulse's cable delay applies live too.
func TestE2EReloadEverything(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "stratum1.toml")
	host := proctest.Loopback()
	port := func() string { return proctest.HostPort(host, proctest.FreePort(t, host)) }
	ntp1, ntp2, http1, http2 := port(), port(), port(), port()
	// Upstream servers that never answer: an association is listed all
	// the same.
	peer1, peer2 := port(), port()
	write := func(ntp, http, level, peer, drift string, cableDelayNs int) {
		t.Helper()
		s := fmt.Sprintf(`[server]
listen = [%q]

[http]
listen = %q

[log]
level = %q

[[peers.server]]
address = %q

[discipline]
drift_file = %q

[pps]
cable_delay_ns = %d
`, ntp, http, level, peer, drift, cableDelayNs)
		if err := os.WriteFile(path+".new", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	write(ntp1, http1, "info", peer1, "", 40)
	d := &daemon{host: host, ntpAddr: ntp1, httpURL: "http://" + http1}
	d.Proc = proctest.Start(t, 3*time.Minute, nil, stratum1Binary(t),
		"run", "--no-gps", "--no-clock-adjust", "--config", path)
	d.WaitOutput(t, 20*time.Second, "serving NTP")

	if _, err := query(ntp1); err != nil {
		t.Fatalf("before the reload, %s: %v", ntp1, err)
	}
	first := d.status(t)
	if !hasPeer(first, peer1) {
		t.Fatalf("before the reload: peers %+v, want %s", first.Peers, peer1)
	}

	before := strings.Count(d.Output(), "configuration reloaded")
	write(ntp2, http2, "debug", peer2, filepath.Join(dir, "drift"), 80)
	if err := d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	proctest.Eventually(t, 10*time.Second, 100*time.Millisecond, "the reload logged", func() bool {
		return strings.Count(d.Output(), "configuration reloaded") > before
	})

	if _, err := query(ntp2); err != nil {
		t.Errorf("after the reload, the new address %s: %v", ntp2, err)
	}
	proctest.Eventually(t, 10*time.Second, 200*time.Millisecond, "the old NTP address stops answering", func() bool {
		_, err := query(ntp1)
		return err != nil
	})
	d.httpURL = "http://" + http2
	s := d.status(t)
	if hasPeer(s, peer1) || !hasPeer(s, peer2) {
		t.Errorf("after the reload: peers %+v, want %s and not %s", s.Peers, peer2, peer1)
	}
	if s.Uptime < first.Uptime {
		t.Errorf("uptime %v, was %v: the daemon restarted", s.Uptime, first.Uptime)
	}
	proctest.Eventually(t, 10*time.Second, 200*time.Millisecond, "the old status address closes", func() bool {
		c, err := net.DialTimeout("tcp", http1, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})

	out := d.Output()
	line := lastLine(out, "configuration reloaded")
	for _, want := range []string{"server.listen", ntp2, "log.level debug", "peers", peer2, "http.listen", http2, "pps"} {
		if !strings.Contains(line, want) {
			t.Errorf("the reload line does not name %q:\n%s", want, line)
		}
	}
	if w := lastLine(out, "needs a restart"); !strings.Contains(w, "level=WARN") || !strings.Contains(w, "discipline.drift_file") {
		t.Errorf("no warning that the drift file needs a restart:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "drift")); err == nil {
		t.Error("the new drift file was written without a restart")
	}
	if exited, err := d.Exited(); exited {
		t.Fatalf("the daemon exited: %v", err)
	}
}

func hasPeer(s status.Snapshot, addr string) bool {
	for _, p := range s.Peers {
		if p.Name == addr {
			return true
		}
	}
	return false
}

// lastLine returns the last line of out that contains s.
func lastLine(out, s string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return lines[i]
		}
	}
	return ""
}
