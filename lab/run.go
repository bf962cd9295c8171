package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Scenario is what the guest does to the column it measures.
type Scenario struct {
	CrystalPPM    int
	OffsetNs      int64
	JitterNs      int
	LockHoldS     int // seconds under 10 µs that count as locked
	LockTimeoutS  int
	MeasureS      int // after lock, before the outage
	OutageS       int // PPS outage (0: none)
	RecoverS      int
	StepPPM       int // temperature step of the crystal (0: none)
	AfterStepS    int
	AfterRestartS int
	// StaleNMEA keeps, in the relay, the sentences the daemon's port does
	// not read while it restarts (see Relay.KeepUnread).
	StaleNMEA bool
	// LineFaults: 20 s after lock, 300 bytes of garbage on the NMEA line;
	// 20 s later the line cut for a minute.
	LineFaults bool
	// Robustness: pulses lost and pulses late by up to OutlierNs, per
	// thousand, from the start.
	MissingPermille, OutlierPermille, OutlierNs int
}

// FullScenario is issue 15's scenario.
func FullScenario() Scenario {
	return Scenario{CrystalPPM: 25, OffsetNs: 300e6, JitterNs: 1000, LockHoldS: 30, LockTimeoutS: 900,
		MeasureS: 600, OutageS: 600, RecoverS: 180, StepPPM: 2, AfterStepS: 240, AfterRestartS: 180,
		OutlierNs: 200_000}
}

// ShortScenario is the same with every phase a minute or two: for CI.
func ShortScenario() Scenario {
	return Scenario{CrystalPPM: 25, OffsetNs: 300e6, JitterNs: 1000, LockHoldS: 20, LockTimeoutS: 600,
		MeasureS: 100, OutageS: 60, RecoverS: 60, StepPPM: 2, AfterStepS: 60, AfterRestartS: 60,
		OutlierNs: 200_000}
}

// guestS is how long the guest's scenario can take at most, boot included.
func (s Scenario) guestS() int {
	return 300 + s.LockTimeoutS + s.MeasureS + s.OutageS + s.RecoverS + s.AfterStepS + s.AfterRestartS + 120
}

func (s Scenario) env(column string) string {
	return fmt.Sprintf("COLUMN=%s\nCRYSTAL_PPM=%d\nOFFSET_NS=%d\nJITTER_NS=%d\nLOCK_HOLD_S=%d\nLOCK_TIMEOUT_S=%d\n"+
		"MEASURE_S=%d\nOUTAGE_S=%d\nRECOVER_S=%d\nSTEP_PPM=%d\nAFTER_STEP_S=%d\nAFTER_RESTART_S=%d\n"+
		"MISSING_PERMILLE=%d\nOUTLIER_PERMILLE=%d\nOUTLIER_NS=%d\n",
		column, s.CrystalPPM, s.OffsetNs, s.JitterNs, s.LockHoldS, s.LockTimeoutS,
		s.MeasureS, s.OutageS, s.RecoverS, s.StepPPM, s.AfterStepS, s.AfterRestartS,
		s.MissingPermille, s.OutlierPermille, s.OutlierNs)
}

// Guest is the prepared guest: its boot files and what the share carries.
type Guest struct {
	Image, Kernel, Initrd, KVer string
	Files                       map[string]string // share name → host path
}

// Prepare builds (or reuses) the root file system and image, builds the
// kernel module against the guest's kernel in a chroot, the amd64 .deb and
// the guest helper, into work.
func Prepare(ctx context.Context, repo, work string, log *slog.Logger) (*Guest, error) {
	log.Info("lab: root file system and image")
	cmd := exec.CommandContext(ctx, filepath.Join(repo, "lab/rootfs.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("lab/rootfs.sh: %w", err)
	}
	kv := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			kv[k] = v
		}
	}
	g := &Guest{Image: kv["image"], Kernel: kv["kernel"], Initrd: kv["initrd"], KVer: kv["kver"], Files: map[string]string{}}
	if g.KVer == "" || kv["root"] == "" {
		return nil, fmt.Errorf("lab/rootfs.sh printed no guest: %q", out)
	}

	log.Info("lab: kernel module", "kernel", g.KVer)
	ko, err := buildModule(ctx, repo, kv["root"], g.KVer, work)
	if err != nil {
		return nil, err
	}
	g.Files["stratum1_lab.ko"] = ko

	log.Info("lab: amd64 .deb")
	debDir := filepath.Join(work, "deb")
	if err := run(ctx, repo, nil, "go", "run", "./deploy/cmd/mkdeb", "-arch", "amd64", "-out", debDir); err != nil {
		return nil, err
	}
	debs, _ := filepath.Glob(filepath.Join(debDir, "stratum1_*_amd64.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("mkdeb: want one amd64 .deb in %s, have %v", debDir, debs)
	}
	g.Files["stratum1.deb"] = debs[0]

	helper := filepath.Join(work, "labguest")
	if err := run(ctx, repo, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}, "go", "build", "-o", helper, "./lab/guest"); err != nil {
		return nil, err
	}
	g.Files["labguest"] = helper
	g.Files["scenario.sh"] = filepath.Join(repo, "lab/scenario.sh")
	g.Files["stratum1.toml"] = filepath.Join(repo, "deploy/config/stratum1.toml")
	return g, nil
}

// AddNTPsec fetches ntpsec and python3-ntp, bookworm's as the guest's
// system is, from the host's package sources into work, for the ntpsec
// column: the guest has every other dependency, and chrony, which the
// column purges first (both are a time-daemon).
func (g *Guest) AddNTPsec(ctx context.Context, work string, log *slog.Logger) error {
	log.Info("lab: ntpsec packages")
	// Not work/ntpsec: RunColumn empties the column's own directory.
	dir := filepath.Join(work, "ntpsec-debs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pkgs := []string{"ntpsec", "python3-ntp"}
	if err := run(ctx, dir, nil, "apt-get", append([]string{"download"}, pkgs...)...); err != nil {
		// Package lists not there yet (a fresh machine).
		if err := run(ctx, dir, nil, "apt-get", "update", "-qq"); err != nil {
			return err
		}
		if err := run(ctx, dir, nil, "apt-get", append([]string{"download"}, pkgs...)...); err != nil {
			return err
		}
	}
	for _, p := range pkgs {
		debs, _ := filepath.Glob(filepath.Join(dir, p+"_*.deb"))
		if len(debs) != 1 {
			return fmt.Errorf("apt-get download %s: want one .deb in %s, have %v", p, dir, debs)
		}
		g.Files[p+".deb"] = debs[0]
	}
	return nil
}

func buildModule(ctx context.Context, repo, root, kver, work string) (string, error) {
	rel := fmt.Sprintf("tmp/stratum1-labmod-%d", os.Getpid())
	dir := filepath.Join(root, rel)
	defer os.RemoveAll(dir)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := run(ctx, repo, nil, "cp", "-r", filepath.Join(repo, "lab/module"), dir); err != nil {
		return "", err
	}
	if err := run(ctx, repo, nil, "chroot", root, "make", "-s", "-C", "/lib/modules/"+kver+"/build", "M=/"+rel, "modules"); err != nil {
		return "", fmt.Errorf("module build against %s: %w", kver, err)
	}
	ko := filepath.Join(work, "stratum1_lab.ko")
	if err := run(ctx, repo, nil, "cp", filepath.Join(dir, "stratum1_lab.ko"), ko); err != nil {
		return "", err
	}
	return ko, nil
}

func run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// RunColumn boots the guest for one column (stratum1, chrony or ntpsec), waits for
// its scenario to end and returns its figures. Its files stay in work/column.
func RunColumn(ctx context.Context, g *Guest, column string, sc Scenario, work string, log *slog.Logger) (Result, error) {
	dir := filepath.Join(work, column)
	share := filepath.Join(dir, "share")
	if err := os.RemoveAll(dir); err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(filepath.Join(share, "results"), 0o755); err != nil {
		return Result{}, err
	}
	for name, src := range g.Files {
		if err := run(ctx, dir, nil, "cp", src, filepath.Join(share, name)); err != nil {
			return Result{}, err
		}
	}
	if err := os.WriteFile(filepath.Join(share, "scenario.env"), []byte(sc.env(column)), 0o644); err != nil {
		return Result{}, err
	}
	port, err := freeUDPPort()
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(sc.guestS())*time.Second)
	defer cancel()
	nmeaSock, gpsSock := filepath.Join(dir, "nmea.sock"), filepath.Join(dir, "gps.sock")
	qemu := exec.CommandContext(ctx, "qemu-system-x86_64",
		"-accel", "tcg", "-m", "1024", "-smp", "1", "-display", "none", "-no-reboot",
		"-kernel", g.Kernel, "-initrd", g.Initrd,
		"-append", "root=/dev/vda rw console=ttyS0,115200 quiet panic=10",
		"-drive", "file="+g.Image+",if=virtio,format=raw,snapshot=on",
		"-virtfs", "local,path="+share+",mount_tag=lab,security_model=none,id=lab",
		"-chardev", "file,id=con,path="+filepath.Join(dir, "console.log"), "-serial", "chardev:con",
		"-chardev", "socket,id=nmea,path="+nmeaSock+",server=on,wait=off", "-serial", "chardev:nmea",
		"-chardev", "socket,id=gps,path="+gpsSock+",server=on,wait=off", "-serial", "chardev:gps",
		"-nic", fmt.Sprintf("user,model=virtio-net-pci,hostfwd=udp:127.0.0.1:%d-:123", port))
	qemu.Stdout, qemu.Stderr = os.Stderr, os.Stderr
	log.Info("lab: booting the guest", "column", column, "dir", dir, "ntp", fmt.Sprintf("127.0.0.1:%d", port))
	start := time.Now()
	if err := qemu.Start(); err != nil {
		return Result{}, fmt.Errorf("qemu: %w", err)
	}
	relay := &Relay{From: nmeaSock, To: gpsSock, Baud: 9600, KeepUnread: sc.StaleNMEA}
	relayDone := make(chan error, 1)
	go func() { relayDone <- relay.Run(ctx) }()
	if sc.LineFaults {
		go lineFaults(ctx, filepath.Join(share, "results", "events"), relay, log)
	}
	hostDone := make(chan hostCheck, 1)
	go func() { hostDone <- checkFromHost(ctx, filepath.Join(share, "results", "events"), port, log) }()

	qerr := qemu.Wait()
	cancel()
	<-relayDone
	hc := <-hostDone
	log.Info("lab: guest stopped", "column", column, "after", time.Since(start).Round(time.Second), "nmea_bytes", relay.Bytes.Load(), "overrun", relay.Overrun.Load())

	hostEnv := fmt.Sprintf("host_stratum=%d\nhost_chronyd_ok=%t\n", hc.stratum, hc.chronydOK)
	if err := os.WriteFile(filepath.Join(share, "results", "host.env"), []byte(hostEnv), 0o644); err != nil {
		return Result{Name: column, Error: err.Error()}, err
	}
	res, err := Load(column, filepath.Join(share, "results"))
	if qerr != nil && err == nil {
		err = fmt.Errorf("qemu: %w (console: %s)", qerr, filepath.Join(dir, "console.log"))
	}
	return res, err
}

// Load computes a column's figures from a results directory.
func Load(column, results string) (Result, error) {
	f, err := os.Open(filepath.Join(results, "series"))
	if err != nil {
		return Result{Name: column, Error: err.Error()}, fmt.Errorf("lab %s: %w", column, err)
	}
	defer f.Close()
	samples, bad, err := ParseSeries(f)
	if err != nil {
		return Result{Name: column, Error: err.Error()}, err
	}
	evb, err := os.ReadFile(filepath.Join(results, "events"))
	if err != nil {
		return Result{Name: column, Error: err.Error()}, fmt.Errorf("lab %s: %w", column, err)
	}
	ev, err := ParseEvents(bytes.NewReader(evb))
	if err != nil {
		return Result{Name: column}, err
	}
	res := Analyze(column, samples, ev)
	res.BadLines = bad
	final, _ := os.ReadFile(filepath.Join(results, "final.env"))
	host, _ := os.ReadFile(filepath.Join(results, "host.env"))
	for _, l := range strings.Split(string(final)+"\n"+string(host), "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "host_stratum":
			res.HostStratum, _ = strconv.Atoi(v)
		case "host_chronyd_ok":
			res.HostChronydOK = v == "true"
		case "systemd_active":
			res.SystemdActive = v == "active"
		case "exposure":
			res.Exposure, _ = strconv.ParseFloat(v, 64)
		case "permission_errors":
			res.PermErrors, _ = strconv.Atoi(v)
		case "ntp_synchronized":
			res.NTPSync = v == "yes"
		case "pulses":
			res.Pulses = v
		}
	}
	if _, ok := ev["nolock"]; ok && res.Error == "" {
		res.Error = "never locked"
	}
	return res, nil
}

// waitLocked waits for the guest's "locked" event.
func waitLocked(ctx context.Context, events string) bool {
	for {
		if b, err := os.ReadFile(events); err == nil && bytes.Contains(b, []byte(" locked\n")) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(2 * time.Second):
		}
	}
}

// lineFaults garbles and then cuts the NMEA line after lock.
func lineFaults(ctx context.Context, events string, r *Relay, log *slog.Logger) {
	if !waitLocked(ctx, events) {
		return
	}
	for _, step := range []func(){
		func() { r.Garbage(300); log.Info("lab: 300 bytes of garbage on the NMEA line") },
		func() { r.Cut(time.Minute); log.Info("lab: NMEA line cut for a minute") },
	} {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Second):
		}
		step()
	}
}

type hostCheck struct {
	stratum   int
	chronydOK bool
}

// checkFromHost waits for the guest's "locked" event, then asks the
// guest's NTP server through the forwarded port once itself and once with
// chronyd -Q (query only: it never sets this machine's clock).
func checkFromHost(ctx context.Context, events string, port int, log *slog.Logger) hostCheck {
	hc := hostCheck{stratum: -1}
	if !waitLocked(ctx, events) {
		return hc
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	chronyd, err := exec.LookPath("chronyd")
	if err != nil {
		chronyd = "/usr/sbin/chronyd"
	}
	directive := fmt.Sprintf("server 127.0.0.1 port %d iburst maxsamples 4", port)
	// A loaded host can starve the guest past a query's timeout: three tries.
	for try := 0; try < 3 && ctx.Err() == nil && (hc.stratum != 1 || !hc.chronydOK); try++ {
		if try > 0 {
			time.Sleep(5 * time.Second)
		}
		if hc.stratum != 1 {
			hc.stratum = QueryNTP(nil, addr, 2*time.Second).Stratum
		}
		if hc.chronydOK {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		out, err := exec.CommandContext(cctx, chronyd, "-Q", "-f", "/dev/null", "-u", "root", "-t", "50", directive).CombinedOutput()
		cancel()
		m := regexp.MustCompile(`System clock wrong by (-?[0-9.]+) seconds`).FindSubmatch(out)
		hc.chronydOK = err == nil && m != nil
		log.Info("lab: host-side client", "stratum", hc.stratum, "chronyd_Q", strings.TrimSpace(lastLine(out)), "err", err)
	}
	return hc
}

func lastLine(b []byte) string {
	var last string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			last = t
		}
	}
	return last
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer c.Close()
	addr, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return 0, errors.New("free port: not UDP")
	}
	return addr.Port, nil
}
