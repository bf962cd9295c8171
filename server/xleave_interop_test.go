//go:build linux

package server

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"stratum1/internal/proctest"
	"stratum1/internal/testenv"
)

// startChronydClient runs chronyd as a client of the responder at port, with
// the options opts on its server line, never touching this machine's clock
// (-x), its command socket in a temporary directory. It returns that
// socket's path for chronyc.
func startChronydClient(t *testing.T, host string, port uint16, opts string) string {
	t.Helper()
	bin := testenv.Tool(t, "chronyd")
	dir, err := os.MkdirTemp("", "xleave") // short: a socket path has 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "c.sock")
	conf := fmt.Sprintf(`server %s port %d %s
port 0
bindcmdaddress %s
cmdport 0
pidfile %s
driftfile %s
`, host, port, opts, sock, filepath.Join(dir, "chronyd.pid"), filepath.Join(dir, "drift"))
	path := filepath.Join(dir, "chrony.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// -x: never touch this machine's clock. -u root: the temporary
	// directory is not the _chrony user's.
	p := proctest.Start(t, 5*time.Minute, nil, bin, "-x", "-d", "-u", "root", "-f", path)
	proctest.Eventually(t, 10*time.Second, 100*time.Millisecond, "chronyd command socket", func() bool {
		if exited, err := p.Exited(); exited {
			t.Fatalf("chronyd exited: %v\n%s", err, p.Output())
		}
		_, err := os.Stat(sock)
		return err == nil
	})
	return sock
}

// chronyc runs one chronyc command against the chronyd listening on sock.
func chronyc(t *testing.T, sock string, args ...string) string {
	t.Helper()
	bin := testenv.Tool(t, "chronyc")
	out, err := exec.Command(bin, append([]string{"-h", sock, "-n"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("chronyc %v: %v\n%s", args, err, out)
	}
	return string(out)
}

var (
	interleavedRE = regexp.MustCompile(`(?m)^Interleaved\s*:\s*(\S+)`)
	totalRxRE     = regexp.MustCompile(`(?m)^Total RX\s*:\s*(\d+)`)
)

// TestChronydXleave checks interleaved mode with chronyd 4.3's xleave as
// the client, over IPv4 and IPv6: chronyc ntpdata reports its last sample
// as interleaved, and the responder sent it with a kernel transmit time.
func TestChronydXleave(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			r := startResponder(t, syncedState(), 2, []string{netip.AddrPortFrom(netip.MustParseAddr(host), 0).String()})
			sock := startChronydClient(t, host, r.Addrs()[0].Port(), "xleave iburst minpoll -6 maxpoll -6")
			var last string
			proctest.Eventually(t, 60*time.Second, 250*time.Millisecond, "chronyd reporting Interleaved: Yes", func() bool {
				last = chronyc(t, sock, "ntpdata", host)
				m := interleavedRE.FindStringSubmatch(last)
				return m != nil && m[1] == "Yes"
			})
			t.Logf("chronyc ntpdata:\n%s", last)
			c := r.Counters()
			if c.Interleaved == 0 || c.TxStamps == 0 {
				t.Fatalf("responder counted %d interleaved replies and %d kernel transmit timestamps", c.Interleaved, c.TxStamps)
			}
		})
	}
}

// TestChronydBasicKeepsNoState checks that a chronyd client without xleave
// is served in basic mode and leaves nothing in the interleaved table.
func TestChronydBasicKeepsNoState(t *testing.T) {
	r := startResponder(t, syncedState(), 1, []string{"127.0.0.1:0"})
	port := r.Addrs()[0].Port()
	sock := startChronydClient(t, "127.0.0.1", port, "iburst minpoll -6 maxpoll -6")
	var last string
	proctest.Eventually(t, 60*time.Second, 250*time.Millisecond, "chronyd receiving 10 replies", func() bool {
		last = chronyc(t, sock, "ntpdata", "127.0.0.1")
		m := totalRxRE.FindStringSubmatch(last)
		if m == nil {
			return false
		}
		n, err := strconv.Atoi(m[1])
		return err == nil && n >= 10
	})
	if m := interleavedRE.FindStringSubmatch(last); m == nil || m[1] != "No" {
		t.Fatalf("basic client reports interleaved mode:\n%s", last)
	}
	if n := r.h.xleave.live(); n != 0 || r.Counters().Interleaved != 0 {
		t.Fatalf("basic client left %d entries in the interleaved table\n%s", n, last)
	}
	if !strings.Contains(last, "Remote address  : 127.0.0.1") {
		t.Fatalf("unexpected ntpdata:\n%s", last)
	}
}
