package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.bug.st/serial"

	"stratum1/config"
	"stratum1/deploy"
	"stratum1/deploy/bootcfg"
	"stratum1/gps"
	"stratum1/status"
)

// checkLevel grades one line of `stratum1 check`.
type checkLevel int

const (
	checkPass checkLevel = iota
	checkWarn
	checkFail
)

func (l checkLevel) String() string { return [...]string{"PASS", "WARN", "FAIL"}[l] }

// checkResult is one line of the report, with what to do when it is not a
// pass.
type checkResult struct {
	level  checkLevel
	name   string
	detail string
	fix    string
}

// checker holds where to look, so that tests can point every path into a
// fake tree and shorten every wait.
type checker struct {
	devDir, procDir, sysDir, bootDir, modelPath string

	configPath     string
	configExplicit bool // --config given: a missing file is a failure
	cfg            config.Config

	nmeaWindow time.Duration // listening time per baud rate
	ppsWait    time.Duration // time between two reads of the PPS counter
	sleep      func(time.Duration)
	selfPID    int

	// --pool
	pool       bool
	ntpServer  string        // address the live probe queries
	probeGap   time.Duration // 2 s, as the pool monitor
	probeCount int
	publicAddr string // --public, the address the pool will know
	ifaceAddrs func() ([]net.Addr, error)
	probeQuery ntpQueryFunc

	results []checkResult
	procs   []checkProc // read once from procDir
	procErr error
}

// checkProc is one running process.
type checkProc struct {
	pid  int
	comm string
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stderr)
	cfgPath := fs.String("config", deploy.ConfigPath, "configuration file to validate and take device paths from")
	root := fs.String("root", "/", "root of the file system to inspect (for /dev, /proc, /sys and the boot partition)")
	boot := fs.String("boot", "", "boot partition holding config.txt and cmdline.txt (default: <root>/boot/firmware, else <root>/boot)")
	pool := fs.Bool("pool", false, "also check what the NTP Pool expects, with a live probe scored as the pool's monitor does")
	server := fs.String("server", "127.0.0.1:123", "NTP server the --pool probe queries, host:port")
	public := fs.String("public", "", "with --pool: the public address the pool will know this server by (default: look at the interfaces)")
	nmeaWindow := fs.Duration("nmea-window", 1500*time.Millisecond, "how long to listen for NMEA at each baud rate")
	fs.Bool("all", false, "with --config: check the whole set-up with that file, not only the file")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: stratum1 check [flags]\n\n"+
			"Checks the set-up and says what to fix. With --config FILE and no other\n"+
			"flag, only validates FILE (prints OK, or the error with its line) and\n"+
			"touches nothing else.\n\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stratum1 check: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	explicit, others := false, false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "config" {
			explicit = true
		} else {
			others = true
		}
	})
	if explicit && !others {
		return checkConfigFile(*cfgPath, stdout)
	}
	c := newChecker(*root)
	if *boot != "" {
		c.bootDir = *boot
	}
	c.configPath, c.configExplicit = *cfgPath, explicit
	c.nmeaWindow = *nmeaWindow
	c.pool, c.ntpServer, c.publicAddr = *pool, *server, *public
	return c.run(ctx, stdout)
}

// newChecker looks under root with the real waits.
func newChecker(root string) *checker {
	return &checker{
		devDir:     filepath.Join(root, "dev"),
		procDir:    filepath.Join(root, "proc"),
		sysDir:     filepath.Join(root, "sys"),
		bootDir:    bootcfg.FindBootDir(root),
		modelPath:  filepath.Join(root, "proc", "device-tree", "model"),
		nmeaWindow: 1500 * time.Millisecond,
		ppsWait:    2200 * time.Millisecond,
		sleep:      time.Sleep,
		selfPID:    os.Getpid(),
		probeGap:   2 * time.Second,
		probeCount: 3,
		ifaceAddrs: net.InterfaceAddrs,
		probeQuery: beevikQuery,
	}
}

// run performs every check, prints the report and fails when any check
// failed.
func (c *checker) run(ctx context.Context, w io.Writer) error {
	c.procs, c.procErr = readProcs(c.procDir)
	c.checkConfig()
	c.checkBoot()
	c.checkSerial(ctx)
	c.checkPPS()
	c.checkDaemons()
	c.checkUDP()
	if c.pool {
		c.checkPool(ctx)
	}
	counts := [3]int{}
	for _, r := range c.results {
		counts[r.level]++
		fmt.Fprintf(w, "%s  %-16s %s\n", r.level, r.name, r.detail)
		if r.level != checkPass && r.fix != "" {
			fmt.Fprintf(w, "      %-16s fix: %s\n", "", r.fix)
		}
	}
	fmt.Fprintf(w, "\n%d passed, %d warnings, %d failed\n", counts[checkPass], counts[checkWarn], counts[checkFail])
	if counts[checkFail] > 0 {
		return fmt.Errorf("%d check(s) failed", counts[checkFail])
	}
	return nil
}

func (c *checker) add(level checkLevel, name, detail, fix string) {
	c.results = append(c.results, checkResult{level, name, detail, fix})
}

func (c *checker) checkConfig() {
	c.cfg = config.Default()
	cfg, err := config.Load(c.configPath)
	switch {
	case err == nil:
		c.cfg = cfg
		c.add(checkPass, "config", c.configPath+" is valid", "")
	case errors.Is(err, fs.ErrNotExist) && !c.configExplicit:
		c.add(checkWarn, "config", c.configPath+" does not exist; checking with the defaults",
			"install the package (it ships "+deploy.ConfigPath+"), or pass --config FILE")
	default:
		c.add(checkFail, "config", err.Error(), "correct the file; the daemon refuses to start (or to reload) with it")
	}
}

func (c *checker) checkBoot() {
	opts := bootcfg.DefaultOptions()
	opts.ModelPath = c.modelPath
	for _, f := range bootcfg.CheckWith(c.bootDir, opts) {
		level := checkPass
		if !f.OK {
			level = checkWarn
			if f.Severity == bootcfg.Fail {
				level = checkFail
			}
		}
		c.add(level, f.Name, f.Detail, f.Fix)
	}
}

// hostPath maps a device path of the running system (/dev/serial0) into
// the inspected tree.
func (c *checker) hostPath(dev string) string {
	if rel, ok := strings.CutPrefix(dev, "/dev/"); ok {
		return filepath.Join(c.devDir, rel)
	}
	return dev
}

// stratum1PID returns the pid of a running stratum1 daemon other than this
// process, or 0.
func (c *checker) stratum1PID() int {
	for _, p := range c.procs {
		if p.comm == "stratum1" && p.pid != c.selfPID {
			return p.pid
		}
	}
	return 0
}

func (c *checker) checkSerial(ctx context.Context) {
	dev := c.cfg.GPS.Device
	if dev == "" {
		c.add(checkWarn, "serial", `no GPS receiver configured ([gps] device = ""): the box serves from its upstream peers only`,
			"set [gps] device to the receiver's port (ls -l /dev/serial* /dev/ttyACM* /dev/ttyUSB*) to serve stratum 1")
		return
	}
	path := c.hostPath(dev)
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		c.add(checkFail, "serial", dev+" does not exist",
			"enable the UART (stratum1 setup-pi, then reboot) or set [gps] device to the receiver's port (ls -l /dev/serial* /dev/ttyACM* /dev/ttyUSB*)")
		return
	}
	shown := dev
	if real != path {
		shown = dev + " -> " + c.systemName(real)
	}
	if pid := c.stratum1PID(); pid != 0 {
		c.add(checkPass, "serial", shown+" exists", "")
		c.checkDaemonGPS(ctx, pid)
		return
	}
	if holder := c.holderOf(real); holder != "" {
		c.add(checkFail, "serial", shown+" is held by "+holder+", which would steal the NMEA",
			"stop it: sudo systemctl disable --now gpsd.socket gpsd (stratum1 reads the receiver itself)")
		return
	}
	bauds := gps.AutoBauds()
	want, err := c.cfg.GPS.BaudRate()
	if err == nil && want != 0 {
		bauds = []int{want}
	}
	baud, good, err := probeNMEA(ctx, path, bauds, c.nmeaWindow)
	switch {
	case err != nil:
		c.add(checkFail, "nmea", err.Error(), "check that "+dev+" is a serial port you may open (run as root or in group dialout)")
	case baud == 0 && want != 0:
		c.add(checkFail, "nmea", fmt.Sprintf("no valid NMEA on %s at the configured %d baud", shown, want),
			`set [gps] baud = "auto" to find the rate, and check the wiring (GPS TX to Pi RX, GPIO15) and the receiver's power`)
	case baud == 0:
		c.add(checkFail, "nmea", fmt.Sprintf("no valid NMEA on %s at any of %v baud", shown, bauds),
			"check the wiring (GPS TX to Pi RX, GPIO15), the receiver's power, and that the serial console is off")
	default:
		c.add(checkPass, "nmea", fmt.Sprintf("%s speaks NMEA at %d baud (%d sentences with good checksums)", shown, baud, good), "")
	}
}

// checkDaemonGPS asks a running daemon what it hears, since probing the
// port would steal its bytes.
func (c *checker) checkDaemonGPS(ctx context.Context, pid int) {
	url := status.LocalURL(c.cfg.HTTP.Listen)
	s, err := status.Fetch(ctx, url)
	if err != nil {
		c.add(checkWarn, "nmea", fmt.Sprintf("not probed: the stratum1 daemon (pid %d) is reading the port, and its status did not answer: %v", pid, err),
			"stop the daemon (sudo systemctl stop stratum1) and run the check again to probe the port")
		return
	}
	g := s.GPS
	if g.Sentences == 0 {
		c.add(checkFail, "nmea", fmt.Sprintf("the stratum1 daemon (pid %d) has received no NMEA from %s (state %q)", pid, g.Device, g.State),
			"check the wiring (GPS TX to Pi RX, GPIO15), the receiver's power, and [gps] device and baud")
		return
	}
	c.add(checkPass, "nmea", fmt.Sprintf("the stratum1 daemon (pid %d) hears NMEA from %s at %d baud (%d sentences, %d bad checksums; fix %s)",
		pid, g.Device, g.Baud, g.Sentences, g.BadChecksum, g.State), "")
}

// systemName turns a path in the inspected tree back into the running
// system's name for it.
func (c *checker) systemName(p string) string {
	if rel, err := filepath.Rel(c.devDir, p); err == nil && !strings.HasPrefix(rel, "..") {
		return "/dev/" + rel
	}
	return p
}

// holderOf names a gpsd process with the device open, or "".
func (c *checker) holderOf(real string) string {
	want := map[string]bool{real: true, c.systemName(real): true}
	for _, p := range c.procs {
		if p.comm != "gpsd" {
			continue
		}
		fds := filepath.Join(c.procDir, strconv.Itoa(p.pid), "fd")
		ents, _ := os.ReadDir(fds)
		for _, e := range ents {
			if t, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && want[t] {
				return fmt.Sprintf("gpsd (pid %d)", p.pid)
			}
		}
	}
	return ""
}

// probeNMEA listens at each rate in turn and returns the first at which at
// least two lines with valid checksums outnumber the bad ones: a wrong rate
// reads as noise with no valid checksum.
func probeNMEA(ctx context.Context, path string, bauds []int, window time.Duration) (baud, good int, err error) {
	port, err := serial.Open(path, &serial.Mode{BaudRate: bauds[0], DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return 0, 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer port.Close()
	if err := port.SetReadTimeout(100 * time.Millisecond); err != nil {
		return 0, 0, fmt.Errorf("open %s: %w", path, err)
	}
	buf := make([]byte, 512)
	for _, rate := range bauds {
		if err := port.SetMode(&serial.Mode{BaudRate: rate, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}); err != nil {
			return 0, 0, fmt.Errorf("set %s to %d baud: %w", path, rate, err)
		}
		_ = port.ResetInputBuffer() // bytes that arrived at the previous rate
		good, bad := 0, 0
		sp := gps.NewSplitter(0)
		for end := time.Now().Add(window); time.Now().Before(end) && good < 5; {
			if ctx.Err() != nil {
				return 0, 0, ctx.Err()
			}
			n, err := port.Read(buf)
			if err != nil {
				return 0, 0, fmt.Errorf("read %s: %w", path, err)
			}
			sp.Write(buf[:n], time.Time{}, func(line []byte, _ time.Time) {
				if gps.ChecksumOK(line) {
					good++
				} else {
					bad++
				}
			})
		}
		sc := sp.Counters()
		bad += int(sc.Binary + sc.Overlong)
		if good >= 2 && good > bad {
			return rate, good, nil
		}
	}
	return 0, 0, nil
}

func (c *checker) checkPPS() {
	dev := c.cfg.PPS.Device
	switch {
	case c.cfg.GPS.Device == "":
		return // no receiver, no pulse to pair with it
	case !c.cfg.PPS.Enabled():
		c.add(checkWarn, "pps", `no PPS input configured ([pps] device and pin = ""): disciplining to NMEA alone, good to milliseconds`,
			"wire the receiver's PPS to GPIO18 (header pin 12), run stratum1 setup-pi and set [pps] device = \"/dev/pps0\"")
		return
	}
	if dev == "" {
		pin := c.cfg.PPS.Pin
		if _, err := os.Stat(filepath.Join(c.devDir, "gpiochip0")); err != nil {
			c.add(checkFail, "pps", "no /dev/pps device configured and no /dev/gpiochip0 to read "+pin+" from",
				"add dtoverlay=pps-gpio (stratum1 setup-pi) and set [pps] device = \"/dev/pps0\"")
			return
		}
		c.add(checkWarn, "pps", "PPS read from "+pin+" through the GPIO character device, which is less precise than the kernel PPS driver",
			"add dtoverlay=pps-gpio (stratum1 setup-pi) and set [pps] device = \"/dev/pps0\"")
		return
	}
	if _, err := os.Stat(c.hostPath(dev)); err != nil {
		c.add(checkFail, "pps", dev+" does not exist",
			"add dtoverlay=pps-gpio,gpiopin=18 to config.txt (stratum1 setup-pi) and reboot; check [pps] device")
		return
	}
	name := filepath.Base(dev)
	assert := filepath.Join(c.sysDir, "class", "pps", name, "assert")
	t1, n1, err := readPPSAssert(assert)
	if err != nil {
		c.add(checkWarn, "pps", dev+" exists, but its pulse counter cannot be read: "+err.Error(), "")
		return
	}
	c.sleep(c.ppsWait)
	t2, n2, err := readPPSAssert(assert)
	if err != nil {
		c.add(checkWarn, "pps", dev+" exists, but its pulse counter cannot be read: "+err.Error(), "")
		return
	}
	pulses := n2 - n1
	switch {
	case pulses <= 0:
		c.add(checkWarn, "pps", fmt.Sprintf("%s exists but no pulse arrived in %v", dev, c.ppsWait),
			"most receivers pulse only with a fix: wait for one (stratum1 gps watch); else check the PPS wire to GPIO18 (header pin 12)")
	default:
		period := t2.Sub(t1).Seconds() / float64(pulses)
		if period < 0.95 || period > 1.05 {
			c.add(checkWarn, "pps", fmt.Sprintf("%s pulses every %.3f s, not every second", dev, period),
				"configure the receiver for a 1 Hz time pulse; check for a noisy or floating PPS wire")
			return
		}
		c.add(checkPass, "pps", fmt.Sprintf("%s pulses at 1 Hz (%d pulses, %.4f s apart)", dev, pulses, period), "")
	}
}

// readPPSAssert reads the kernel's "seconds.nanoseconds#sequence" of the
// last assert edge from sysfs.
func readPPSAssert(path string) (time.Time, int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, 0, err
	}
	ts, seq, ok := strings.Cut(strings.TrimSpace(string(b)), "#")
	if !ok {
		return time.Time{}, 0, fmt.Errorf("%s: unexpected %q", path, b)
	}
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("%s: sequence %q", path, seq)
	}
	sec, frac, _ := strings.Cut(ts, ".")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	ns, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, fmt.Errorf("%s: time %q", path, ts)
	}
	return time.Unix(s, ns), n, nil
}

// rivals are the programs that fight stratum1 for the clock or port 123;
// comm is the kernel's name, cut to 15 bytes.
var rivals = []struct{ comm, what, fix string }{
	{"systemd-timesyn", "systemd-timesyncd", "sudo systemctl disable --now systemd-timesyncd"},
	{"chronyd", "chronyd", "sudo systemctl disable --now chrony"},
	{"ntpd", "ntpd", "sudo systemctl disable --now ntp ntpsec openntpd (whichever is installed)"},
	{"openntpd", "openntpd", "sudo systemctl disable --now openntpd"},
}

func (c *checker) checkDaemons() {
	if c.procErr != nil {
		c.add(checkWarn, "time daemons", "cannot list processes: "+c.procErr.Error(), "")
		return
	}
	clean := true
	for _, r := range rivals {
		for _, p := range c.procs {
			if p.comm == r.comm {
				clean = false
				c.add(checkFail, "time daemons", fmt.Sprintf("%s is running (pid %d): two daemons steering one clock fight each other", r.what, p.pid), r.fix)
				break
			}
		}
	}
	for _, p := range c.procs {
		if p.comm == "gpsd" && c.holderOf(c.resolvedGPS()) == "" {
			clean = false
			c.add(checkWarn, "time daemons", fmt.Sprintf("gpsd is running (pid %d); it may grab the GPS port when it is plugged in", p.pid),
				"sudo systemctl disable --now gpsd.socket gpsd")
			break
		}
	}
	if clean {
		detail := "no other time daemon is running"
		if pid := c.stratum1PID(); pid != 0 {
			detail += "; stratum1 runs as pid " + strconv.Itoa(pid)
		}
		c.add(checkPass, "time daemons", detail, "")
	}
}

func (c *checker) resolvedGPS() string {
	p := c.hostPath(c.cfg.GPS.Device)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

func (c *checker) checkUDP() {
	for _, addr := range c.cfg.Server.Listen {
		conn, err := net.ListenPacket("udp", addr)
		if err == nil {
			conn.Close()
			c.add(checkPass, "udp", "can bind "+addr, "")
			continue
		}
		switch {
		case errors.Is(err, syscall.EADDRINUSE) && c.stratum1PID() != 0:
			c.add(checkPass, "udp", addr+" is in use by the running stratum1 daemon", "")
		case errors.Is(err, syscall.EADDRINUSE):
			c.add(checkFail, "udp", addr+" is in use by another program",
				"find it with: sudo ss -ulpn 'sport = :123', and stop it")
		case errors.Is(err, syscall.EACCES):
			c.add(checkWarn, "udp", "not allowed to bind "+addr+" as this user",
				"the systemd unit grants CAP_NET_BIND_SERVICE; run `sudo stratum1 check` to test the port itself")
		default:
			c.add(checkFail, "udp", "cannot bind "+addr+": "+err.Error(), "correct [server] listen to addresses of this machine")
		}
	}
}

// readProcs lists the running processes from a /proc tree.
func readProcs(procDir string) ([]checkProc, error) {
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return nil, err
	}
	var out []checkProc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procDir, e.Name(), "comm"))
		if err != nil {
			continue // exited meanwhile
		}
		out = append(out, checkProc{pid: pid, comm: strings.TrimSpace(string(b))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out, nil
}
