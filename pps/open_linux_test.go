//go:build linux && (arm || arm64 || amd64)

package pps

import (
	"os"
	"strings"
	"testing"
)

func TestOpenAutoExplainsEachBackend(t *testing.T) {
	if _, err := os.Stat("/dev/pps0"); err == nil {
		t.Skip("this machine has PPS hardware; the test is for the error path")
	}
	cfg := DefaultConfig()
	cfg.Device = "/dev/pps-missing"
	cfg.Pin = "GPIO_NOT_A_PIN"
	_, err := Open(cfg)
	if err == nil {
		t.Fatal("Open found a PPS source on a machine without one")
	}
	for _, b := range []string{BackendPPSAPI, BackendGPIOCdev, BackendPeriph} {
		if !strings.Contains(err.Error(), b) {
			t.Errorf("error %q does not say why %s failed", err, b)
		}
	}
	cfg.Backend = BackendPPSAPI
	if _, err := Open(cfg); err == nil || strings.Contains(err.Error(), BackendGPIOCdev) {
		t.Errorf("explicit pps-api: %v", err)
	}
}
