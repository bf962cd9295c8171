package main

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	stntp "stratum1/ntp"
	"stratum1/status"
	"stratum1/status/statustest"
)

const (
	goodConfigTxt = "arm_64bit=1\n[all]\nenable_uart=1\ndtoverlay=disable-bt\ndtoverlay=pps-gpio,gpiopin=18\n"
	goodCmdline   = "console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait\n"
	pi4Model      = "Raspberry Pi 4 Model B Rev 1.4"
)

// fakeTree is a Pi's /boot/firmware, /dev, /proc and /sys in a temporary
// directory.
type fakeTree struct {
	t    *testing.T
	root string
}

func newFakeTree(t *testing.T) *fakeTree {
	ft := &fakeTree{t: t, root: t.TempDir()}
	ft.write("boot/firmware/config.txt", goodConfigTxt)
	ft.write("boot/firmware/cmdline.txt", goodCmdline)
	ft.write("proc/device-tree/model", pi4Model+"\x00")
	ft.write("proc/1/comm", "systemd\n")
	ft.write("proc/412/comm", "sshd\n")
	ft.write("dev/pps0", "")
	ft.write("sys/class/pps/pps0/assert", "1773500000.000000712#100\n")
	return ft
}

func (ft *fakeTree) path(rel string) string { return filepath.Join(ft.root, rel) }

func (ft *fakeTree) write(rel, data string) {
	ft.t.Helper()
	p := ft.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		ft.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		ft.t.Fatal(err)
	}
}

func (ft *fakeTree) symlink(target, rel string) {
	ft.t.Helper()
	p := ft.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		ft.t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		ft.t.Fatal(err)
	}
}

// config writes a configuration whose NTP port is a free loopback one.
func (ft *fakeTree) config(gpsExtra, extra string) string {
	ft.t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		ft.t.Fatal(err)
	}
	addr := conn.LocalAddr().String()
	conn.Close()
	p := ft.path("etc/stratum1.toml")
	ft.write("etc/stratum1.toml", fmt.Sprintf("[server]\nlisten = [%q]\n\n[gps]\ndevice = \"/dev/serial0\"\n%s\n[pps]\ndevice = \"/dev/pps0\"\n%s", addr, gpsExtra, extra))
	return p
}

// checker returns a checker over the tree whose PPS counter advances by
// pulsesPerWait, one a second, each time the checker waits.
func (ft *fakeTree) checker(cfg string, pulsesPerWait int) *checker {
	return ft.checkerPPS(cfg, pulsesPerWait, time.Second)
}

// checkerPPS is checker with pulses period apart.
func (ft *fakeTree) checkerPPS(cfg string, pulsesPerWait int, period time.Duration) *checker {
	c := newChecker(ft.root)
	c.configPath, c.configExplicit = cfg, true
	c.nmeaWindow = 400 * time.Millisecond
	c.ppsWait = 2 * time.Second
	c.selfPID = -1
	c.sleep = func(d time.Duration) {
		t, n, err := readPPSAssert(ft.path("sys/class/pps/pps0/assert"))
		if err != nil {
			ft.t.Fatal(err)
		}
		t = t.Add(time.Duration(pulsesPerWait) * period)
		ft.write("sys/class/pps/pps0/assert", fmt.Sprintf("%d.%09d#%d\n", t.Unix(), t.Nanosecond(), n+int64(pulsesPerWait)))
	}
	return c
}

// nmeaPTY starts a pseudo-terminal that sends NMEA every 100 ms (or noise)
// and links the tree's /dev/serial0 to it.
func (ft *fakeTree) nmeaPTY(lines []string) {
	ft.t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		ft.t.Fatal(err)
	}
	ft.symlink(slave.Name(), "dev/serial0")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := master.Write([]byte(lines[i%len(lines)])); err != nil {
				return
			}
		}
	}()
	ft.t.Cleanup(func() {
		close(stop)
		master.Close()
		wg.Wait()
		slave.Close()
	})
}

var nmeaLines = []string{
	"$GPRMC,092750.000,A,5321.6802,N,00630.3372,W,0.02,31.66,280511,,,A*43\r\n",
	"$GPGGA,092750.000,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,*76\r\n",
	"$GPGSA,A,3,10,07,05,02,29,04,08,13,,,,,1.72,1.03,1.38*0A\r\n",
}

func runCheck(t *testing.T, c *checker) (string, error) {
	t.Helper()
	var out strings.Builder
	err := c.run(context.Background(), &out)
	t.Logf("report:\n%s", out.String())
	return out.String(), err
}

// line returns the report line for name.
func line(report, name string) string {
	for _, l := range strings.Split(report, "\n") {
		if len(l) > 6 && strings.HasPrefix(l[6:], name+" ") {
			return l
		}
	}
	return ""
}

func TestCheckHealthyPi(t *testing.T) {
	ft := newFakeTree(t)
	ft.nmeaPTY(nmeaLines)
	cfg := ft.config("", "")
	report, err := runCheck(t, ft.checker(cfg, 2))
	if err != nil {
		t.Errorf("run: %v", err)
	}
	for name, want := range map[string]string{
		"config":         "PASS",
		"enable_uart":    "PASS",
		"pps-gpio":       "PASS",
		"bluetooth":      "PASS",
		"serial-console": "PASS",
		"nmea":           "PASS",
		"pps":            "PASS",
		"time daemons":   "PASS",
		"udp":            "PASS",
	} {
		if l := line(report, name); !strings.HasPrefix(l, want) {
			t.Errorf("%s: got line %q, want %s", name, l, want)
		}
	}
	if l := line(report, "nmea"); !strings.Contains(l, "at 4800 baud") || !strings.Contains(l, "/dev/serial0 -> /dev/pts/") {
		t.Errorf("nmea line %q does not name the port and rate", l)
	}
	if l := line(report, "pps"); !strings.Contains(l, "1 Hz (2 pulses") {
		t.Errorf("pps line %q", l)
	}
	if strings.Contains(report, "WARN") || strings.Contains(report, "FAIL") {
		t.Errorf("a healthy Pi gets warnings or failures")
	}
}

func TestCheckConfiguredBaud(t *testing.T) {
	ft := newFakeTree(t)
	ft.nmeaPTY(nmeaLines)
	report, _ := runCheck(t, ft.checker(ft.config("baud = \"9600\"", ""), 2))
	if l := line(report, "nmea"); !strings.HasPrefix(l, "PASS") || !strings.Contains(l, "at 9600 baud") {
		t.Errorf("nmea: %q", l)
	}
}

func TestCheckBrokenPi(t *testing.T) {
	ft := newFakeTree(t)
	ft.write("boot/firmware/config.txt", "arm_64bit=1\n")
	ft.write("boot/firmware/cmdline.txt", "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootwait\n")
	os.Remove(ft.path("dev/pps0"))
	ft.write("dev/ttyAMA0", "")
	ft.symlink("ttyAMA0", "dev/serial0")
	ft.write("proc/500/comm", "chronyd\n")
	ft.write("proc/501/comm", "systemd-timesyn\n")
	ft.write("proc/502/comm", "gpsd\n")
	ft.symlink("/dev/null", "proc/502/fd/0")
	ft.symlink("/dev/ttyAMA0", "proc/502/fd/3")

	// Something else holds the NTP port.
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ft.write("etc/stratum1.toml", fmt.Sprintf("[server]\nlisten = [%q]\n", busy.LocalAddr()))

	report, err := runCheck(t, ft.checker(ft.path("etc/stratum1.toml"), 0))
	if err == nil || !strings.Contains(err.Error(), "failed") {
		t.Errorf("run: %v, want failures", err)
	}
	for name, want := range map[string]string{
		"enable_uart":    "FAIL",
		"pps-gpio":       "FAIL",
		"bluetooth":      "WARN",
		"serial-console": "FAIL",
		"serial":         "FAIL",
		"pps":            "FAIL",
		"udp":            "FAIL",
	} {
		if l := line(report, name); !strings.HasPrefix(l, want) {
			t.Errorf("%s: got %q, want %s", name, l, want)
		}
	}
	for _, want := range []string{
		"gpsd (pid 502)",
		"chronyd is running (pid 500)",
		"systemd-timesyncd is running (pid 501)",
		"fix: sudo systemctl disable --now systemd-timesyncd",
		"fix: sudo systemctl disable --now chrony",
		"fix: remove console=serial0,115200 from cmdline.txt",
		"/dev/pps0 does not exist",
		"in use by another program",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestCheckNoNMEA(t *testing.T) {
	ft := newFakeTree(t)
	ft.nmeaPTY([]string{"\x00\xb5\x62garbage\xff\r\n", "$GPRMC,bad,checksum*00\r\n"})
	report, err := runCheck(t, ft.checker(ft.config("", ""), 2))
	if err == nil {
		t.Error("no NMEA but no failure")
	}
	if l := line(report, "nmea"); !strings.HasPrefix(l, "FAIL") || !strings.Contains(l, "no valid NMEA") {
		t.Errorf("nmea: %q", l)
	}
}

func TestCheckPPSWithoutPulses(t *testing.T) {
	ft := newFakeTree(t)
	ft.nmeaPTY(nmeaLines)
	report, _ := runCheck(t, ft.checker(ft.config("", ""), 0))
	if l := line(report, "pps"); !strings.HasPrefix(l, "WARN") || !strings.Contains(l, "no pulse") {
		t.Errorf("pps: %q", l)
	}
	ft2 := newFakeTree(t)
	ft2.nmeaPTY(nmeaLines)
	report, _ = runCheck(t, ft2.checkerPPS(ft2.config("", ""), 5, 400*time.Millisecond)) // 2.5 Hz
	if l := line(report, "pps"); !strings.HasPrefix(l, "WARN") {
		t.Errorf("pps at 2.5 Hz: %q", l)
	}
}

func TestCheckDaemonRunning(t *testing.T) {
	ft := newFakeTree(t)
	ft.write("dev/ttyAMA0", "") // not a serial port: probing it would fail
	ft.symlink("ttyAMA0", "dev/serial0")
	ft.write("proc/777/comm", "stratum1\n")
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	snap := statustest.Snapshot(time.Now())
	h := status.NewHandler(statustest.NewProvider(snap), nil)
	api := httptest.NewServer(h)
	defer api.Close()
	ft.write("etc/stratum1.toml", fmt.Sprintf("[server]\nlisten = [%q]\n[http]\nlisten = %q\n", busy.LocalAddr(), strings.TrimPrefix(api.URL, "http://")))
	report, err := runCheck(t, ft.checker(ft.path("etc/stratum1.toml"), 2))
	if err != nil {
		t.Errorf("run: %v", err)
	}
	if l := line(report, "serial"); !strings.HasPrefix(l, "PASS") {
		t.Errorf("serial: %q", l)
	}
	if l := line(report, "nmea"); !strings.HasPrefix(l, "PASS") || !strings.Contains(l, "daemon (pid 777) hears NMEA from /dev/serial0 at 9600 baud") {
		t.Errorf("nmea: %q", l)
	}

	// A daemon that hears nothing is a failure; one whose status is gone a warning.
	snap.GPS.Sentences, snap.GPS.State = 0, "no data"
	h.SetProvider(statustest.NewProvider(snap))
	report, _ = runCheck(t, ft.checker(ft.path("etc/stratum1.toml"), 2))
	if l := line(report, "nmea"); !strings.HasPrefix(l, "FAIL") {
		t.Errorf("nmea with a deaf daemon: %q", l)
	}
	api.Close()
	report, _ = runCheck(t, ft.checker(ft.path("etc/stratum1.toml"), 2))
	if l := line(report, "nmea"); !strings.HasPrefix(l, "WARN") || !strings.Contains(l, "not probed") {
		t.Errorf("nmea without a status server: %q", l)
	}
	if l := line(report, "udp"); !strings.HasPrefix(l, "PASS") || !strings.Contains(l, "running stratum1") {
		t.Errorf("udp: %q", l)
	}
}

func TestCheckConfig(t *testing.T) {
	ft := newFakeTree(t)
	ft.nmeaPTY(nmeaLines)
	ft.write("etc/bad.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\nbogus = 1\n")
	report, err := runCheck(t, ft.checker(ft.path("etc/bad.toml"), 2))
	if err == nil {
		t.Error("an invalid config passes")
	}
	if l := line(report, "config"); !strings.HasPrefix(l, "FAIL") || !strings.Contains(l, "bogus") {
		t.Errorf("config: %q", l)
	}

	// The default path missing is only a warning: the defaults apply.
	c := ft.checker(ft.path("etc/missing.toml"), 2)
	c.configExplicit = false
	c.checkConfig()
	if r := c.results[0]; r.level != checkWarn {
		t.Errorf("missing default config: %v %s", r.level, r.detail)
	}
}

// fakeNTP answers client requests on loopback as a server with the given
// stratum, leap, kiss code and clock offset.
func fakeNTP(t *testing.T, stratum uint8, leap stntp.Leap, kiss string, offset time.Duration) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, src, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			var req stntp.Header
			if req.Decode(buf[:n]) != nil {
				continue
			}
			now := time.Now().Add(offset)
			resp := stntp.Header{
				Leap: leap, Version: 4, Mode: stntp.ModeServer, Stratum: stratum, Poll: req.Poll, Precision: -20,
				RefID: stntp.RefPPS, RefTime: stntp.TimeFrom(now.Add(-time.Second)),
				OrigTime: req.XmitTime, RecvTime: stntp.TimeFrom(now), XmitTime: stntp.TimeFrom(now),
			}
			if kiss != "" {
				resp.RefID = stntp.RefIDFromString(kiss)
			}
			out := make([]byte, stntp.HeaderLen)
			resp.Encode(out)
			conn.WriteTo(out, src)
		}
	}()
	return conn.LocalAddr().String()
}

func poolChecker(t *testing.T, extra, server string) *checker {
	ft := newFakeTree(t)
	ft.nmeaPTY(nmeaLines)
	c := ft.checker(ft.config("", extra), 2)
	c.pool = true
	c.ntpServer = server
	c.probeGap = 20 * time.Millisecond
	c.ifaceAddrs = func() ([]net.Addr, error) {
		return []net.Addr{
			&net.IPNet{IP: net.ParseIP("127.0.0.1"), Mask: net.CIDRMask(8, 32)},
			&net.IPNet{IP: net.ParseIP("192.168.1.20"), Mask: net.CIDRMask(24, 32)},
			&net.IPNet{IP: net.ParseIP("2a01:4f8:1:2::123"), Mask: net.CIDRMask(64, 128)},
		}, nil
	}
	return c
}

const handPicked = "\n[[peers.server]]\naddress = \"ntp1.example.net\"\n\n[[peers.server]]\naddress = \"192.0.2.44\"\n"

func TestCheckPoolReady(t *testing.T) {
	c := poolChecker(t, handPicked, fakeNTP(t, 1, stntp.LeapNone, "", 0))
	report, err := runCheck(t, c)
	if err != nil {
		t.Errorf("run: %v", err)
	}
	for _, name := range []string{"pool address", "rate limit", "queries", "upstreams", "pool probe"} {
		if l := line(report, name); !strings.HasPrefix(l, "PASS") {
			t.Errorf("%s: %q", name, l)
		}
	}
	if l := line(report, "pool address"); !strings.Contains(l, "2a01:4f8:1:2::123") || strings.Contains(l, "192.168") {
		t.Errorf("pool address: %q", l)
	}
	if l := line(report, "pool probe"); !strings.Contains(l, "3 of 3 answered, stratum 1, refid PPS") || !strings.Contains(l, "step +1.00") || !strings.Contains(l, "settles at 20") {
		t.Errorf("pool probe: %q", l)
	}
}

func TestCheckPoolProblems(t *testing.T) {
	extra := "\n[access]\nquery = [\"0.0.0.0/0\"]\n\n[access.rate_limit]\ndisabled = true\n\n[[peers.pool]]\naddress = \"europe.pool.ntp.org\"\n"
	c := poolChecker(t, extra, fakeNTP(t, 16, stntp.LeapNotInSync, "", 0))
	c.publicAddr = "192.168.1.20"
	report, err := runCheck(t, c)
	if err == nil {
		t.Error("no failure")
	}
	for _, name := range []string{"pool address", "rate limit", "queries", "upstreams", "pool probe"} {
		if l := line(report, name); !strings.HasPrefix(l, "FAIL") {
			t.Errorf("%s: %q", name, l)
		}
	}
	if l := line(report, "pool probe"); !strings.Contains(l, "stratum 16") {
		t.Errorf("pool probe: %q", l)
	}
}

func TestCheckPoolStrictRateLimit(t *testing.T) {
	extra := "\n[access.rate_limit]\ninterval = \"64s\"\nburst = 1\n" + handPicked
	c := poolChecker(t, extra, fakeNTP(t, 1, stntp.LeapNone, "", 0))
	report, _ := runCheck(t, c)
	if l := line(report, "rate limit"); !strings.HasPrefix(l, "FAIL") || !strings.Contains(l, "monitor") {
		t.Errorf("rate limit: %q", l)
	}
}

func TestCheckPoolProbe(t *testing.T) {
	free, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := free.LocalAddr().String() // bound, never answers
	defer free.Close()
	for _, tt := range []struct {
		name   string
		server string
		level  string
		want   string
	}{
		{"kiss", fakeNTP(t, 0, stntp.LeapNotInSync, "RATE", 0), "FAIL", "kiss-o'-death RATE"},
		{"offset 200ms", fakeNTP(t, 1, stntp.LeapNone, "", 200*time.Millisecond), "FAIL", "step +0.20"},
		{"offset 50ms", fakeNTP(t, 2, stntp.LeapNone, "", 50*time.Millisecond), "PASS", "step +1.00"},
		{"offset 4s", fakeNTP(t, 1, stntp.LeapNone, "", 4*time.Second), "FAIL", "settles at -20"},
		{"silent", silent, "FAIL", "0 of 3 answered"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := poolChecker(t, handPicked, tt.server)
			c.probeQuery = func(ctx context.Context, addr string) ntpProbe {
				if addr == silent {
					return ntpProbe{err: fmt.Errorf("i/o timeout")} // skip the 3 s wait
				}
				return beevikQuery(ctx, addr)
			}
			c.checkProbe(context.Background())
			r := c.results[len(c.results)-1]
			if r.level.String() != tt.level || !strings.Contains(r.detail, tt.want) {
				t.Errorf("%s %s, want %s with %q", r.level, r.detail, tt.level, tt.want)
			}
		})
	}
}

func TestMonitorStep(t *testing.T) {
	for _, tt := range []struct {
		p    ntpProbe
		want float64
	}{
		{ntpProbe{}, -5},
		{ntpProbe{ok: true, stratum: 0, kiss: "DENY"}, -5},
		{ntpProbe{ok: true, stratum: 1}, 1},
		{ntpProbe{ok: true, stratum: 1, offset: -74 * time.Millisecond}, 1},
		{ntpProbe{ok: true, stratum: 1, offset: 100 * time.Millisecond}, 0.6},
		{ntpProbe{ok: true, stratum: 1, offset: -500 * time.Millisecond}, -1},
		{ntpProbe{ok: true, stratum: 1, offset: time.Second}, -2},
		{ntpProbe{ok: true, stratum: 1, offset: 4 * time.Second}, -4},
		{ntpProbe{ok: true, stratum: 9}, -4},
		{ntpProbe{ok: true, stratum: 16, leap: 3}, -4},
		{ntpProbe{ok: true, stratum: 2, leap: 3}, -4},
	} {
		got, why := monitorStep(tt.p)
		if d := got - tt.want; d > 1e-9 || d < -1e-9 {
			t.Errorf("%+v: step %v (%s), want %v", tt.p, got, why, tt.want)
		}
	}
}

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"45.54.12.1": true, "2a01:4f8::1": true, "192.168.1.1": false, "10.1.1.1": false,
		"100.64.1.1": false, "127.0.0.1": false, "fd00::1": false, "fe80::1": false, "192.0.2.1": false,
		"::ffff:45.54.12.1": true,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicAddr(%s) = %v", addr, got)
		}
	}
}
