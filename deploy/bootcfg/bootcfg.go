// Package bootcfg owns the Raspberry Pi boot configuration a GPS/PPS time
// server needs: the firmware's config.txt (UART enabled, the pps-gpio overlay,
// Bluetooth moved off the PL011 UART) and the kernel's cmdline.txt (no serial
// console on the GPS port). Check reports what is missing; Apply fixes it,
// idempotently and with atomic writes. Both are pure functions of a boot
// directory (/boot/firmware on Bookworm, /boot before), so the same code
// serves `stratum1 check`, `stratum1 setup-pi` and the image builder.
package bootcfg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultModelPath is where Linux exposes the board's model string.
const DefaultModelPath = "/proc/device-tree/model"

// DefaultGPIOPin is the BCM pin the PPS input is wired to (header pin 12).
const DefaultGPIOPin = 18

// Severity says how much a failed Finding matters.
type Severity int

const (
	// Info findings are advice; the server works without them.
	Info Severity = iota
	// Warn findings degrade the server (e.g. a console fighting the GPS).
	Warn
	// Fail findings stop the server from working (no UART, no PPS).
	Fail
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warn:
		return "warn"
	case Fail:
		return "fail"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// Finding is one checked item of the boot configuration.
type Finding struct {
	Name     string   // short, stable identifier, e.g. "enable_uart"
	OK       bool     // the item is configured as the server needs
	Severity Severity // how bad it is when not OK
	Detail   string   // what was found
	Fix      string   // what to do when not OK; empty when OK
}

// BTMode says what to do about Bluetooth on boards where it occupies the
// PL011 UART, which the GPS needs for a stable baud rate.
type BTMode int

const (
	// BTAuto disables Bluetooth on boards that have it on the PL011 (or
	// when the board is unknown), and accepts either overlay when checking.
	BTAuto BTMode = iota
	// BTDisable uses dtoverlay=disable-bt.
	BTDisable
	// BTMiniUART moves Bluetooth to the mini UART (dtoverlay=miniuart-bt).
	BTMiniUART
	// BTKeep leaves Bluetooth alone.
	BTKeep
)

// ParseBTMode parses the --bt flag values.
func ParseBTMode(s string) (BTMode, error) {
	switch s {
	case "auto", "":
		return BTAuto, nil
	case "disable":
		return BTDisable, nil
	case "miniuart":
		return BTMiniUART, nil
	case "keep":
		return BTKeep, nil
	}
	return 0, fmt.Errorf("bluetooth mode %q is not one of auto, disable, miniuart, keep", s)
}

func (m BTMode) String() string {
	return [...]string{"auto", "disable", "miniuart", "keep"}[m]
}

// Options parameterise Check and Apply.
type Options struct {
	GPIOPin int    // BCM pin of the PPS input; 0 means DefaultGPIOPin
	BT      BTMode // what to do about Bluetooth on the PL011
	// Model is the board model as in /proc/device-tree/model. When empty it
	// is read from ModelPath; when that is empty or unreadable the board is
	// unknown and treated as one with Bluetooth on the PL011, the safe side.
	Model     string
	ModelPath string
	DryRun    bool // Apply computes the diff but writes nothing
}

// DefaultOptions detects the board from DefaultModelPath.
func DefaultOptions() Options {
	return Options{GPIOPin: DefaultGPIOPin, ModelPath: DefaultModelPath}
}

func (o Options) pin() int {
	if o.GPIOPin == 0 {
		return DefaultGPIOPin
	}
	return o.GPIOPin
}

func (o Options) model() string {
	if o.Model != "" || o.ModelPath == "" {
		return o.Model
	}
	b, err := os.ReadFile(o.ModelPath)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimRight(string(b), "\x00"))
}

// FindBootDir returns the boot directory under root ("/" on a running
// system): root/boot/firmware when it holds config.txt (Bookworm and later),
// else root/boot.
func FindBootDir(root string) string {
	fw := filepath.Join(root, "boot", "firmware")
	if _, err := os.Stat(filepath.Join(fw, "config.txt")); err == nil {
		return fw
	}
	return filepath.Join(root, "boot")
}

// Check reads bootDir and reports each item, detecting the board from
// /proc/device-tree/model.
func Check(bootDir string) []Finding { return CheckWith(bootDir, DefaultOptions()) }

// CheckWith is Check with explicit options.
func CheckWith(bootDir string, opts Options) []Finding {
	cfgPath := filepath.Join(bootDir, "config.txt")
	cmdPath := filepath.Join(bootDir, "cmdline.txt")
	var out []Finding
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		out = append(out, Finding{Name: "config.txt", Severity: Fail,
			Detail: fmt.Sprintf("cannot read %s: %v", cfgPath, unwrapPath(err)),
			Fix:    "point --boot at the boot partition (/boot/firmware on Bookworm, /boot before)"})
	} else {
		out = append(out, checkConfig(string(cfg), opts)...)
	}
	cmd, err := os.ReadFile(cmdPath)
	if err != nil {
		out = append(out, Finding{Name: "cmdline.txt", Severity: Fail,
			Detail: fmt.Sprintf("cannot read %s: %v", cmdPath, unwrapPath(err)),
			Fix:    "point --boot at the boot partition (/boot/firmware on Bookworm, /boot before)"})
	} else {
		out = append(out, checkCmdline(string(cmd)))
	}
	return out
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func checkConfig(text string, opts Options) []Finding {
	c := parseConfig(text, opts.model())
	var out []Finding

	f := Finding{Name: "enable_uart", Severity: Fail}
	switch v, ok := c.value("enable_uart"); {
	case ok && v == "1":
		f.OK, f.Detail = true, "enable_uart=1"
	case ok:
		f.Detail = "enable_uart=" + v
	default:
		f.Detail = "enable_uart is not set, so the GPIO UART is off on boards with Bluetooth"
	}
	if !f.OK {
		f.Fix = "set enable_uart=1 in config.txt (stratum1 setup-pi does this)"
	}
	out = append(out, f)

	pin := opts.pin()
	f = Finding{Name: "pps-gpio", Severity: Fail}
	if i := c.overlay("pps-gpio"); i < 0 {
		f.Detail = "no dtoverlay=pps-gpio, so there is no /dev/pps0 for the PPS input"
	} else if p := overlayPin(c.lines[i].text); p != pin {
		f.Detail = fmt.Sprintf("%s uses GPIO%d, not GPIO%d", strings.TrimSpace(c.lines[i].text), p, pin)
	} else {
		f.OK, f.Detail = true, fmt.Sprintf("pps-gpio overlay on GPIO%d", pin)
	}
	if !f.OK {
		f.Fix = fmt.Sprintf("add dtoverlay=pps-gpio,gpiopin=%d to config.txt (stratum1 setup-pi --gpio-pin %d)", pin, pin)
	}
	out = append(out, f)

	out = append(out, checkBT(c, opts))
	return out
}

func checkBT(c *config, opts Options) Finding {
	f := Finding{Name: "bluetooth", Severity: Warn}
	if opts.BT == BTKeep {
		f.OK, f.Detail = true, "Bluetooth kept by choice (--bt keep)"
		return f
	}
	has, known := btOnPL011(c.model)
	if known && !has {
		f.OK, f.Detail = true, fmt.Sprintf("%s has no Bluetooth on the GPIO UART", c.model)
		return f
	}
	board := c.model
	if !known {
		board = "this board (model unknown)"
	}
	dis, mini := c.overlay("disable-bt") >= 0, c.overlay("miniuart-bt") >= 0
	switch {
	case opts.BT == BTDisable && dis, opts.BT == BTMiniUART && mini,
		opts.BT == BTAuto && (dis || mini):
		f.OK = true
		if dis {
			f.Detail = "dtoverlay=disable-bt frees the PL011 UART for the GPS"
		} else {
			f.Detail = "dtoverlay=miniuart-bt frees the PL011 UART for the GPS"
		}
		return f
	}
	f.Detail = fmt.Sprintf("Bluetooth holds the PL011 UART on %s, leaving the GPS the mini UART whose baud rate follows the core clock", board)
	switch opts.BT {
	case BTMiniUART:
		f.Fix = "add dtoverlay=miniuart-bt to config.txt (stratum1 setup-pi --bt miniuart)"
	default:
		f.Fix = "add dtoverlay=disable-bt to config.txt (stratum1 setup-pi), or --bt miniuart to keep Bluetooth"
	}
	return f
}

func checkCmdline(text string) Finding {
	f := Finding{Name: "serial-console", Severity: Fail}
	var bad []string
	for _, tok := range strings.Fields(text) {
		if isSerialConsole(tok) {
			bad = append(bad, tok)
		}
	}
	if len(bad) == 0 {
		f.OK, f.Detail = true, "no kernel console on the GPS serial port"
		return f
	}
	f.Detail = "cmdline.txt has " + strings.Join(bad, " ") + ": the console and its login prompt would talk to the GPS"
	f.Fix = "remove " + strings.Join(bad, " ") + " from cmdline.txt (stratum1 setup-pi does this)"
	return f
}

// serialPorts are the names the GPIO UART goes by in cmdline.txt.
var serialPorts = []string{"serial0", "ttyAMA0", "ttyS0"}

func isSerialConsole(tok string) bool {
	key, val, ok := strings.Cut(tok, "=")
	if !ok || (key != "console" && key != "kgdboc") {
		return false
	}
	dev, _, _ := strings.Cut(val, ",")
	dev = strings.TrimPrefix(dev, "/dev/")
	for _, p := range serialPorts {
		if dev == p {
			return true
		}
	}
	return false
}

// btOnPL011 reports whether the board's Bluetooth uses the PL011 UART that
// GPIO14/15 would otherwise get, and whether the model was recognised. The
// Pi 5 family has a dedicated Bluetooth UART; the original Zero, Pi 1 and
// Pi 2 have no Bluetooth.
func btOnPL011(model string) (has, known bool) {
	m := strings.ToLower(model)
	if !strings.Contains(m, "raspberry pi") {
		return false, false
	}
	for _, p := range []string{"raspberry pi 3", "raspberry pi 4", "raspberry pi 400",
		"raspberry pi zero w", "raspberry pi zero 2", "compute module 4"} {
		if strings.Contains(m, p) {
			return true, true
		}
	}
	for _, p := range []string{"raspberry pi 5", "raspberry pi 500", "compute module 5",
		"raspberry pi zero rev", "raspberry pi model", "raspberry pi 2", "compute module rev",
		"compute module 3"} {
		if strings.Contains(m, p) {
			return false, true
		}
	}
	return false, false
}
