package control

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"stratum1/access"
	"stratum1/internal/testenv"
	"stratum1/status"
)

// serveUDP answers datagrams on conn with h until the test ends.
func serveUDP(t *testing.T, conn *net.UDPConn, h *Handler) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, src, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			for _, b := range h.HandleControl(buf[:n], src) {
				conn.WriteToUDPAddrPort(b, src)
			}
		}
	}()
}

// ntpqCommand runs ntpsec's ntpq. ntpq always queries port 123; when port
// is not 123 it runs under a one-line shim that points the "ntp" service
// lookup at port instead, leaving the rest of ntpq untouched.
func ntpqCommand(t *testing.T, host string, port uint16, args ...string) string {
	t.Helper()
	ntpq := testenv.Tool(t, "ntpq")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	full := append(append([]string{"-n"}, args...), host)
	if port == 123 {
		cmd = exec.CommandContext(ctx, ntpq, full...)
	} else {
		python := interpreter(t, ntpq)
		shim := fmt.Sprintf(`import socket, sys
_gai = socket.getaddrinfo
def _patched(host, port, *a, **k):
    return _gai(host, %d if port in ("ntp", 123) else port, *a, **k)
socket.getaddrinfo = _patched
sys.argv[0] = %q
exec(compile(open(%q).read(), %q, "exec"))
`, port, ntpq, ntpq, ntpq)
		cmd = exec.CommandContext(ctx, python, append([]string{"-c", shim}, full...)...)
	}
	cmd.Dir = t.TempDir() // keep the checkout's ntp/ directory off Python's path
	cmd.Env = append(os.Environ(), "COLUMNS=100")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return string(out)
}

// interpreter reads the interpreter from a script's #! line.
func interpreter(t *testing.T, script string) string {
	f, err := os.Open(script)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		t.Fatalf("%s has no #! line", script)
	}
	return fields[0]
}

type peerRow struct {
	tally, remote, refid, typ, when string
	stratum, reach                  int
	offsetMs                        float64
}

// parsePeers reads the rows of `ntpq -p`.
func parsePeers(t *testing.T, out string) []peerRow {
	t.Helper()
	var rows []peerRow
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "=====") {
			continue
		}
		for _, r := range lines[i+1:] {
			if strings.TrimSpace(r) == "" {
				continue
			}
			f := strings.Fields(r[1:])
			if len(f) != 10 {
				t.Fatalf("row %q has %d fields", r, len(f))
			}
			st, err1 := strconv.Atoi(f[2])
			reach, err2 := strconv.ParseInt(f[6], 8, 0)
			off, err3 := strconv.ParseFloat(f[8], 64)
			if err := errors.Join(err1, err2, err3); err != nil {
				t.Fatalf("row %q: %v", r, err)
			}
			rows = append(rows, peerRow{tally: r[:1], remote: f[0], refid: f[1], stratum: st, typ: f[3], when: f[4], reach: int(reach), offsetMs: off})
		}
		return rows
	}
	t.Fatalf("no table in ntpq output:\n%s", out)
	return nil
}

// checkNtpq runs ntpq -p and -c rv against host:port, and with all set the
// peer, clock and mrulist commands too.
func checkNtpq(t *testing.T, host string, port uint16, all bool) {
	peers := ntpqCommand(t, host, port, "-p")
	t.Logf("ntpq -p:\n%s", peers)
	want := []peerRow{
		{"*", "PPS(0)", ".PPS.", "l", "1", 0, 0377, 0.002},
		{"+", "GPS(0)", ".GPS.", "l", "1", 0, 0377, 35},
		{"-", "192.0.2.10", ".GPS.", "u", "20", 1, 0377, 1.2346},
		{"x", "2001:db8::5", "192.0.2.77", "u", "100", 2, 017, -4.5},
	}
	got := parsePeers(t, peers)
	if len(got) != len(want) {
		t.Fatalf("ntpq -p shows %d rows, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.tally != w.tally || g.remote != w.remote || g.refid != w.refid || g.typ != w.typ ||
			g.stratum != w.stratum || g.reach != w.reach || abs(g.offsetMs-w.offsetMs) > 0.0005 ||
			!closeWhen(g.when, w.when) {
			t.Errorf("row %d: got %+v, want %+v", i+1, g, w)
		}
	}

	rv := ntpqCommand(t, host, port, "-c", "rv")
	t.Logf("ntpq -c rv:\n%s", rv)
	for _, s := range []string{"stratum=1", "refid=PPS", "leap=00", "precision=-20", "frequency=-12.345",
		"version=\"stratum1 test\"", "sync_pps"} {
		if !strings.Contains(rv, s) {
			t.Errorf("ntpq -c rv lacks %q", s)
		}
	}
	if !all {
		return
	}
	rv1 := ntpqCommand(t, host, port, "-c", "rv &3")
	t.Logf("ntpq -c 'rv &3':\n%s", rv1)
	for _, s := range []string{"srcadr=192.0.2.10", "stratum=1", "refid=GPS", "reach=377", "hpoll=6", "offset=1.234567", "delay=12.5"} {
		if !strings.Contains(rv1, s) {
			t.Errorf("ntpq -c 'rv &3' lacks %q", s)
		}
	}
	cv := ntpqCommand(t, host, port, "-c", "cv &2")
	if !strings.Contains(cv, `device="/dev/ttyAMA0"`) {
		t.Errorf("ntpq -c 'cv &2' lacks the GPS device:\n%s", cv)
	}
	t.Logf("ntpq -c 'cv &2':\n%s", cv)
	mru := ntpqCommand(t, host, port, "-c", "mrulist")
	t.Logf("ntpq -c mrulist:\n%s", mru)
	if !strings.Contains(mru, "PERMISSION") || strings.Contains(mru, "127.0.0.1") {
		t.Errorf("mrulist not refused:\n%s", mru)
	}
}

// closeWhen compares the "when" column allowing for the seconds that pass
// while ntpq runs.
func closeWhen(got, want string) bool {
	g, err1 := strconv.Atoi(got)
	w, err2 := strconv.Atoi(want)
	return err1 == nil && err2 == nil && g >= w && g <= w+5
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestNtpqInterop(t *testing.T) {
	h := New(func() status.Snapshot { return fakeSnapshotAt(time.Now()) }, loopback...)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	serveUDP(t, conn, h)
	port := uint16(conn.LocalAddr().(*net.UDPAddr).Port)
	checkNtpq(t, "127.0.0.1", port, true)
}

// TestNtpqInteropPort123 runs the unmodified ntpq against port 123, which it
// always queries. It needs root (CI runs as root). It picks a random
// address in 127/8 so that it does not collide with other tests on :123.
func TestNtpqInteropPort123(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("port 123 needs root; TestNtpqInterop covers ntpq on another port")
	}
	h := New(func() status.Snapshot { return fakeSnapshotAt(time.Now()) }, loopback...)
	var conn *net.UDPConn
	var err error
	for range 10 {
		ip := net.IPv4(127, byte(100+rand.IntN(100)), byte(rand.IntN(256)), byte(1+rand.IntN(250)))
		conn, err = net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: 123})
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	serveUDP(t, conn, h)
	checkNtpq(t, conn.LocalAddr().(*net.UDPAddr).IP.String(), 123, false)
}

// TestNtpqUnderRateLimit runs ntpq -p and -c rv through a handler whose
// answers count against the access policy's default rate limit, from a
// loopback address the limit applies to: a well-behaved ntpq still gets
// every answer, after another client spent its own budget.
func TestNtpqUnderRateLimit(t *testing.T) {
	cfg := access.DefaultConfig()
	cfg.Query = []string{"127.0.0.0/8"}
	cfg.Rules = nil // loopback limited like any other client
	p, err := access.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := New(func() status.Snapshot { return fakeSnapshotAt(time.Now()) }, loopback...)
	h.SetLimiter(p)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	serveUDP(t, conn, h)
	// Another client floods READVARs and is cut off.
	flood := netip.MustParseAddrPort("127.0.0.9:4000")
	answered := 0
	for i := range 100 {
		req := []byte{2<<3 | 6, opReadVar, 0, byte(i), 0, 0, 0, 0, 0, 0, 0, 0}
		if len(h.HandleControl(req, flood)) > 0 {
			answered++
		}
	}
	if answered == 0 || answered >= 100 {
		t.Fatalf("flooder: %d of 100 READVARs answered", answered)
	}
	port := uint16(conn.LocalAddr().(*net.UDPAddr).Port)
	checkNtpq(t, "127.0.0.1", port, false)
	if c := h.Counters(); c.Limited == 0 {
		t.Errorf("flood not counted as limited: %+v", c)
	}
}
