package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetupPi(t *testing.T) {
	dir := t.TempDir()
	cfg, cmd := filepath.Join(dir, "config.txt"), filepath.Join(dir, "cmdline.txt")
	os.WriteFile(cfg, []byte("arm_64bit=1\n"), 0o644)
	os.WriteFile(cmd, []byte("console=serial0,115200 console=tty1 root=/dev/mmcblk0p2\n"), 0o644)
	model := "Raspberry Pi 4 Model B Rev 1.4"

	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"setup-pi", "--boot", dir, "--model", model, "--dry-run"}, &out, &errb); code != 0 {
		t.Fatalf("dry run exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "+enable_uart=1") || !strings.Contains(out.String(), "dry run") {
		t.Errorf("dry run output:\n%s", out.String())
	}
	if b, _ := os.ReadFile(cfg); string(b) != "arm_64bit=1\n" {
		t.Error("dry run wrote config.txt")
	}

	out.Reset()
	if code := runMain(context.Background(), []string{"setup-pi", "--boot", dir, "--model", model, "--gpio-pin", "4"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if b, _ := os.ReadFile(cfg); !strings.Contains(string(b), "dtoverlay=pps-gpio,gpiopin=4\n") {
		t.Errorf("config.txt:\n%s", b)
	}
	out.Reset()
	runMain(context.Background(), []string{"setup-pi", "--boot", dir, "--model", model, "--gpio-pin", "4"}, &out, &errb)
	if !strings.Contains(out.String(), "nothing to do") {
		t.Errorf("second run: %s", out.String())
	}

	for _, args := range [][]string{{"--bt", "off"}, {"--gpio-pin", "40"}, {"extra"}} {
		errb.Reset()
		if code := runMain(context.Background(), append([]string{"setup-pi", "--boot", dir}, args...), &out, &errb); code != 2 {
			t.Errorf("setup-pi %v: exit %d, want 2 (usage)", args, code)
		}
	}
	if code := runMain(context.Background(), []string{"setup-pi", "--boot", t.TempDir()}, &out, &errb); code != 1 {
		t.Errorf("setup-pi on an empty directory: exit %d, want 1", code)
	}
}

func TestImageUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"image", "--in", "x.img"}, &out, &errb); code != 2 {
		t.Errorf("image without --out: exit %d, want 2", code)
	}
	if code := runMain(context.Background(), []string{"image", "--in", "missing.img", "--out", filepath.Join(t.TempDir(), "o.img"), "--binary", "x"}, &out, &errb); code != 1 {
		t.Errorf("image with a missing input: exit %d, want 1", code)
	}
}
