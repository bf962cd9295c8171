package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"stratum1/config"
	"stratum1/internal/testenv"
)

// maxExposure is the highest `systemd-analyze security` exposure score the
// unit may have (0 is a fully sandboxed service, 10 an unprotected one).
// What remains is what a time server needs: the network, the clock and a
// few devices. docs/raspberry-pi.md reports the score.
const maxExposure = 2.5

// testUnit writes the unit to a temporary directory with ExecStart pointing
// at a program that exists, which `systemd-analyze verify` insists on.
func testUnit(t *testing.T) string {
	t.Helper()
	unit := strings.ReplaceAll(string(Unit()), "ExecStart="+BinaryPath+" ", "ExecStart=/bin/true ")
	if unit == string(Unit()) {
		t.Fatalf("unit has no ExecStart=%s", BinaryPath)
	}
	path := filepath.Join(t.TempDir(), UnitName)
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnitVerify(t *testing.T) {
	sa := testenv.Tool(t, "systemd-analyze")
	cmd := exec.Command(sa, "verify", "--man=no", testUnit(t))
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

var overallRE = regexp.MustCompile(`Overall exposure level for ` + regexp.QuoteMeta(UnitName) + `: ([0-9]+\.[0-9])`)

func TestUnitSecurity(t *testing.T) {
	sa := testenv.Tool(t, "systemd-analyze")
	unit := testUnit(t)
	out, err := exec.Command(sa, "security", "--offline=true", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := overallRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in:\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure score %.1f", score)
	if score > maxExposure {
		t.Errorf("exposure score %.1f above %.1f:\n%s", score, maxExposure, out)
	}
	// The properties the service relies on must stay as they are: the
	// clock capability, and no ProtectClock (which would remove it).
	for _, want := range []string{"✗ CapabilityBoundingSet=~CAP_SYS_TIME", "✗ ProtectClock=", "✓ NoNewPrivileges=", "✓ User=/DynamicUser="} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("security report lacks %q", want)
		}
	}
}

func TestUnitSettings(t *testing.T) {
	unit := string(Unit())
	for _, want := range []string{
		"Type=notify\n", "WatchdogSec=", "User=stratum1\n", "StateDirectory=stratum1\n",
		"CapabilityBoundingSet=CAP_SYS_TIME CAP_NET_BIND_SERVICE\n",
		"AmbientCapabilities=CAP_SYS_TIME CAP_NET_BIND_SERVICE\n",
		"ExecStart=" + BinaryPath + " run --config " + ConfigPath + "\n",
		"ExecReload=/bin/kill -HUP $MAINPID\n", "Restart=on-failure\n",
		"DeviceAllow=char-pps rw\n", "DeviceAllow=char-ttyAMA rw\n", "DeviceAllow=char-gpiochip rw\n",
		"Conflicts=systemd-timesyncd.service chrony.service",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", strings.TrimSpace(want))
		}
	}
	if strings.Contains(unit, "ProtectClock=yes") || strings.Contains(unit, "PrivateDevices=yes") {
		t.Error("unit takes away the clock or the devices the service exists to use")
	}
}

// TestUdevRules checks each rule line has the shape udev parses: comma
// separated KEY op "value" pairs with match keys before assignments.
func TestUdevRules(t *testing.T) {
	pair := regexp.MustCompile(`^([A-Z]+)(\{[^}]*\})?(==|!=|\+=|-=|:=|=)"([^"]*)"$`)
	var rules int
	for n, line := range strings.Split(string(mustRead("udev/99-stratum1.rules")), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rules++
		assigned := false
		for _, kv := range strings.Split(line, ", ") {
			m := pair.FindStringSubmatch(kv)
			if m == nil {
				t.Errorf("line %d: %q is not KEY op \"value\"", n+1, kv)
				continue
			}
			match := m[3] == "==" || m[3] == "!="
			if match && assigned {
				t.Errorf("line %d: match %s after an assignment", n+1, m[1])
			}
			assigned = assigned || !match
			if m[1] == "GROUP" && m[4] != User {
				t.Errorf("line %d: group %q, want %q", n+1, m[4], User)
			}
		}
	}
	if rules < 2 {
		t.Errorf("%d rules, want the pps and serial ones", rules)
	}
}

// TestDefaultConfigParses keeps the packaged configuration valid as the
// packages' Config structs change: a renamed key fails here, not on a Pi.
func TestDefaultConfigParses(t *testing.T) {
	c, err := config.Parse(DefaultConfig())
	if err != nil {
		t.Fatalf("packaged %s: %v", ConfigPath, err)
	}
	if c.Discipline.DriftFile != StateDir+"/drift" {
		t.Errorf("drift file %q is outside the service's StateDirectory %s", c.Discipline.DriftFile, StateDir)
	}
	if len(c.Peers.Pools) != 0 || len(c.Peers.Servers) != 0 {
		t.Error("the packaged default names upstream servers; the NTP Pool asks vendors not to")
	}
}
