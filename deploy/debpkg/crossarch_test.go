package debpkg

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"stratum1/internal/testenv"
)

// TestCrossArch runs the Raspberry Pi builds under qemu user emulation: the
// armhf build (ARMv6, so it also runs on a Pi 1 or Zero) on an emulated
// ARM1176, and the arm64 build; each prints its version and runs two
// minutes of the whole appliance on a simulated receiver in virtual time.
// It also packs each build and checks the package says its architecture.
func TestCrossArch(t *testing.T) {
	tests := []struct {
		arch, qemu string
		cpu        string // the oldest CPU the build must run on
	}{
		{"armhf", "qemu-arm-static", "arm1176"},
		{"arm64", "qemu-aarch64-static", "cortex-a53"},
	}
	for _, tt := range tests {
		t.Run(tt.arch, func(t *testing.T) {
			qemu := testenv.Tool(t, tt.qemu)
			bin := binary(t, tt.arch)
			out, err := exec.Command(qemu, "-cpu", tt.cpu, bin, "version").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "stratum1 0.1.0-test" {
				t.Errorf("version under %s: %v\n%s", tt.qemu, err, out)
			}

			cmd := exec.Command(qemu, "-cpu", tt.cpu, bin, "sim", "--virtual", "--duration", "2m", "--json")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			js, err := cmd.Output()
			if err != nil {
				t.Fatalf("sim under %s: %v\n%s", tt.qemu, err, stderr.String())
			}
			var summary struct {
				FinalState string   `json:"final_state"`
				LockS      *float64 `json:"lock_s"`
				RMSNs      float64  `json:"rms_ns"`
			}
			if err := json.Unmarshal(js, &summary); err != nil {
				t.Fatalf("sim summary: %v\n%s", err, js)
			}
			if summary.FinalState != "LOCKED" || summary.LockS == nil || summary.RMSNs <= 0 || summary.RMSNs > 10_000 {
				t.Errorf("sim under %s did not lock to within 10µs rms:\n%s", tt.qemu, js)
			}

			dpkgDeb := testenv.Tool(t, "dpkg-deb")
			deb := buildDeb(t, tt.arch, "0.1.0")
			info, err := exec.Command(dpkgDeb, "--field", deb, "Architecture").Output()
			if err != nil || strings.TrimSpace(string(info)) != tt.arch {
				t.Errorf("package architecture %q (%v), want %s", info, err, tt.arch)
			}
		})
	}
}
