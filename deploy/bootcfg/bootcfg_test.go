package bootcfg

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bookwormConfig is Raspberry Pi OS Bookworm's stock config.txt, trimmed.
const bookwormConfig = `# For more options and information see
# http://rptl.io/configtxt

#dtparam=i2c_arm=on
dtparam=audio=on
camera_auto_detect=1
dtoverlay=vc4-kms-v3d
max_framebuffers=2
arm_64bit=1

[cm4]
otg_mode=1

[cm5]
dtoverlay=dwc2,dr_mode=host

[all]
`

const stockCmdline = "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait quiet splash\n"

const (
	pi4  = "Raspberry Pi 4 Model B Rev 1.4"
	pi5  = "Raspberry Pi 5 Model B Rev 1.0"
	pi1  = "Raspberry Pi Model B Plus Rev 1.2"
	zero = "Raspberry Pi Zero W Rev 1.1"
)

func bootDir(t *testing.T, cfg, cmdline string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.txt"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cmdline.txt"), []byte(cmdline), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func byName(fs []Finding) map[string]Finding {
	m := map[string]Finding{}
	for _, f := range fs {
		m[f.Name] = f
	}
	return m
}

func failing(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		if !f.OK {
			out = append(out, f.Name)
		}
	}
	return out
}

func TestCheckStockImage(t *testing.T) {
	dir := bootDir(t, bookwormConfig, stockCmdline)
	got := byName(CheckWith(dir, Options{Model: pi4}))
	for _, name := range []string{"enable_uart", "pps-gpio", "bluetooth", "serial-console"} {
		f, ok := got[name]
		if !ok {
			t.Fatalf("no finding %q in %v", name, got)
		}
		if f.OK || f.Fix == "" || f.Detail == "" {
			t.Errorf("%s on stock image = %+v, want a failure with detail and fix", name, f)
		}
	}
	if s := got["pps-gpio"].Severity; s != Fail {
		t.Errorf("missing pps-gpio severity %v, want fail", s)
	}
	if !strings.Contains(got["serial-console"].Detail, "console=serial0,115200") {
		t.Errorf("serial-console detail %q does not name the token", got["serial-console"].Detail)
	}
}

func TestCheck(t *testing.T) {
	good := bookwormConfig + "enable_uart=1\ndtoverlay=pps-gpio,gpiopin=18\ndtoverlay=disable-bt\n"
	cmd := "console=tty1 root=/dev/mmcblk0p2 rootwait\n"
	tests := []struct {
		name, cfg, cmdline string
		opts               Options
		fail               []string
	}{
		{"all good", good, cmd, Options{Model: pi4}, nil},
		{"uart off", strings.Replace(good, "enable_uart=1", "enable_uart=0", 1), cmd, Options{Model: pi4}, []string{"enable_uart"}},
		{"later line wins", good + "enable_uart=0\n", cmd, Options{Model: pi4}, []string{"enable_uart"}},
		{"wrong pin", good, cmd, Options{Model: pi4, GPIOPin: 4}, []string{"pps-gpio"}},
		{"overlay default pin is 18", strings.Replace(good, ",gpiopin=18", "", 1), cmd, Options{Model: pi4}, nil},
		{"pps only under [none]", strings.Replace(good, "dtoverlay=pps-gpio,gpiopin=18", "[none]\ndtoverlay=pps-gpio,gpiopin=18\n[all]", 1), cmd, Options{Model: pi4}, []string{"pps-gpio"}},
		{"pps under matching [pi4]", strings.Replace(good, "dtoverlay=pps-gpio,gpiopin=18", "[pi4]\ndtoverlay=pps-gpio,gpiopin=18\n[all]", 1), cmd, Options{Model: pi4}, nil},
		{"pps under other board [pi5]", strings.Replace(good, "dtoverlay=pps-gpio,gpiopin=18", "[pi5]\ndtoverlay=pps-gpio,gpiopin=18\n[all]", 1), cmd, Options{Model: pi4}, []string{"pps-gpio"}},
		{"commented out", strings.Replace(good, "dtoverlay=disable-bt", "#dtoverlay=disable-bt", 1), cmd, Options{Model: pi4}, []string{"bluetooth"}},
		{"miniuart accepted", strings.Replace(good, "disable-bt", "miniuart-bt", 1), cmd, Options{Model: pi4}, nil},
		{"miniuart not what was asked", strings.Replace(good, "disable-bt", "miniuart-bt", 1), cmd, Options{Model: pi4, BT: BTDisable}, []string{"bluetooth"}},
		{"old pi3- alias", strings.Replace(good, "disable-bt", "pi3-disable-bt", 1), cmd, Options{Model: pi4}, nil},
		{"no BT needed on Pi 5", strings.Replace(good, "dtoverlay=disable-bt\n", "", 1), cmd, Options{Model: pi5}, nil},
		{"no BT needed on Pi 1", strings.Replace(good, "dtoverlay=disable-bt\n", "", 1), cmd, Options{Model: pi1}, nil},
		{"BT needed on Zero W", strings.Replace(good, "dtoverlay=disable-bt\n", "", 1), cmd, Options{Model: zero}, []string{"bluetooth"}},
		{"unknown board wants BT off", strings.Replace(good, "dtoverlay=disable-bt\n", "", 1), cmd, Options{}, []string{"bluetooth"}},
		{"keep BT", strings.Replace(good, "dtoverlay=disable-bt\n", "", 1), cmd, Options{Model: pi4, BT: BTKeep}, nil},
		{"ttyAMA0 console", good, "console=ttyAMA0,115200 " + cmd, Options{Model: pi4}, []string{"serial-console"}},
		{"ttyS0 console", good, "console=/dev/ttyS0 " + cmd, Options{Model: pi4}, []string{"serial-console"}},
		{"kgdboc", good, "kgdboc=serial0,115200 " + cmd, Options{Model: pi4}, []string{"serial-console"}},
		{"usb serial console is fine", good, "console=ttyUSB0,115200 " + cmd, Options{Model: pi4}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := bootDir(t, tt.cfg, tt.cmdline)
			got := failing(CheckWith(dir, tt.opts))
			if strings.Join(got, ",") != strings.Join(tt.fail, ",") {
				t.Errorf("failing = %v, want %v", got, tt.fail)
			}
		})
	}
}

func TestCheckMissingFiles(t *testing.T) {
	got := byName(CheckWith(t.TempDir(), Options{Model: pi4}))
	for _, n := range []string{"config.txt", "cmdline.txt"} {
		if f := got[n]; f.OK || f.Severity != Fail || !strings.Contains(f.Detail, "no such file") {
			t.Errorf("%s = %+v, want a failure saying it is missing", n, f)
		}
	}
}

func TestModelFromPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model")
	// The device tree's string is NUL-terminated.
	if err := os.WriteFile(p, []byte(pi5+"\x00"), 0o444); err != nil {
		t.Fatal(err)
	}
	dir := bootDir(t, "enable_uart=1\ndtoverlay=pps-gpio\n", "console=tty1\n")
	if got := failing(CheckWith(dir, Options{ModelPath: p})); len(got) != 0 {
		t.Errorf("Pi 5 read from %s: failing %v, want none", p, got)
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name, cfg, cmdline string
		opts               Options
		wantCfg, wantCmd   string // substrings the result must contain
		notCfg             string // substring it must not contain
	}{
		{name: "stock", cfg: bookwormConfig, cmdline: stockCmdline, opts: Options{Model: pi4},
			wantCfg: "[all]\n\n" + marker + "\nenable_uart=1\ndtoverlay=pps-gpio,gpiopin=18\ndtoverlay=disable-bt\n",
			wantCmd: "console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait quiet splash\n"},
		{name: "ends in a board section", cfg: "arm_64bit=1\n[pi4]\narm_boost=1", cmdline: "console=tty1\n", opts: Options{Model: pi5},
			wantCfg: "[pi4]\narm_boost=1\n\n[all]\n" + marker + "\nenable_uart=1\ndtoverlay=pps-gpio,gpiopin=18\n", notCfg: "disable-bt"},
		{name: "edits in place", cfg: "enable_uart=0\ndtoverlay=pps-gpio,gpiopin=4,assert_falling_edge=true\ndtoverlay=miniuart-bt\n", cmdline: "console=tty1\n",
			opts:    Options{Model: pi4, GPIOPin: 18, BT: BTDisable},
			wantCfg: "enable_uart=1\ndtoverlay=pps-gpio,gpiopin=18,assert_falling_edge=true\ndtoverlay=disable-bt\n", notCfg: marker},
		{name: "miniuart", cfg: "", cmdline: "console=tty1\n", opts: Options{Model: zero, BT: BTMiniUART, GPIOPin: 4},
			wantCfg: "dtoverlay=pps-gpio,gpiopin=4\ndtoverlay=miniuart-bt\n"},
		{name: "keep BT", cfg: "", cmdline: "console=tty1\n", opts: Options{Model: pi4, BT: BTKeep},
			wantCfg: "enable_uart=1\ndtoverlay=pps-gpio,gpiopin=18\n", notCfg: "-bt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := bootDir(t, tt.cfg, tt.cmdline)
			diff, changed, err := Apply(dir, tt.opts)
			if err != nil || !changed || diff == "" {
				t.Fatalf("Apply = %q, %v, %v; want a change", diff, changed, err)
			}
			cfg := read(t, dir, "config.txt")
			if !strings.Contains(cfg, tt.wantCfg) {
				t.Errorf("config.txt:\n%s\nwant it to contain:\n%s", cfg, tt.wantCfg)
			}
			if tt.notCfg != "" && strings.Contains(cfg, tt.notCfg) {
				t.Errorf("config.txt:\n%s\nwant no %q", cfg, tt.notCfg)
			}
			if tt.wantCmd != "" && read(t, dir, "cmdline.txt") != tt.wantCmd {
				t.Errorf("cmdline.txt = %q, want %q", read(t, dir, "cmdline.txt"), tt.wantCmd)
			}
			if bad := failing(CheckWith(dir, tt.opts)); len(bad) != 0 {
				t.Errorf("after Apply, Check still fails %v", bad)
			}
			diff, changed, err = Apply(dir, tt.opts)
			if err != nil || changed || diff != "" {
				t.Errorf("second Apply = %q, %v, %v; want no change", diff, changed, err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 2 {
				t.Errorf("boot dir holds %d entries, want 2 (a temporary file left behind?)", len(entries))
			}
		})
	}
}

func TestApplyDryRun(t *testing.T) {
	dir := bootDir(t, bookwormConfig, stockCmdline)
	diff, changed, err := Apply(dir, Options{Model: pi4, DryRun: true})
	if err != nil || !changed {
		t.Fatalf("dry run = %v, %v; want changed", changed, err)
	}
	if read(t, dir, "config.txt") != bookwormConfig || read(t, dir, "cmdline.txt") != stockCmdline {
		t.Error("dry run wrote the files")
	}
	for _, want := range []string{
		"--- a/config.txt\n+++ b/config.txt\n",
		"+enable_uart=1\n+dtoverlay=pps-gpio,gpiopin=18\n+dtoverlay=disable-bt\n",
		"--- a/cmdline.txt\n+++ b/cmdline.txt\n@@ -1 +1 @@\n-console=serial0,115200 console=tty1",
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	// The diff must be one patch(1) accepts and that gives what Apply writes.
	patchBin, err := exec.LookPath("patch")
	if err != nil {
		t.Logf("patch not installed; skipping the round trip through it")
		return
	}
	cmd := exec.Command(patchBin, "-p1", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(diff)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("patch: %v\n%s\n%s", err, out, diff)
	}
	want := bootDir(t, bookwormConfig, stockCmdline)
	if _, _, err := Apply(want, Options{Model: pi4}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.txt", "cmdline.txt"} {
		if read(t, dir, f) != read(t, want, f) {
			t.Errorf("patched %s differs from applied", f)
		}
	}
}

func TestApplyMissing(t *testing.T) {
	if _, _, err := Apply(t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "config") {
		t.Errorf("Apply on empty dir: err = %v, want a read error", err)
	}
}

func TestFindBootDir(t *testing.T) {
	root := t.TempDir()
	if got := FindBootDir(root); got != filepath.Join(root, "boot") {
		t.Errorf("without firmware dir: %s", got)
	}
	fw := filepath.Join(root, "boot", "firmware")
	os.MkdirAll(fw, 0o755)
	os.WriteFile(filepath.Join(fw, "config.txt"), nil, 0o644)
	if got := FindBootDir(root); got != fw {
		t.Errorf("with firmware dir: %s, want %s", got, fw)
	}
}

func TestUnifiedDiffHunks(t *testing.T) {
	var a []string
	for i := range 30 {
		a = append(a, string(rune('a'+i%26))+"line")
	}
	b := append([]string(nil), a...)
	b[2] = "changed"
	b[25] = "changed too"
	d := unifiedDiff("f", strings.Join(a, "\n")+"\n", strings.Join(b, "\n")+"\n")
	if n := strings.Count(d, "@@ -"); n != 2 {
		t.Errorf("%d hunks, want 2:\n%s", n, d)
	}
	if !strings.Contains(d, "@@ -1,6 +1,6 @@\n") || !strings.Contains(d, "@@ -23,7 +23,7 @@\n") {
		t.Errorf("hunk headers wrong:\n%s", d)
	}
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
