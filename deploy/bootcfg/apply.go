package bootcfg

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// marker heads the block Apply appends to config.txt, so a person reading
// the file knows where the lines came from.
const marker = "# stratum1: GPS on the PL011 UART, PPS on a GPIO pin (stratum1 setup-pi)"

// Apply brings the boot configuration in bootDir to what Check wants and
// returns a unified diff of the change. It is idempotent: a second call
// changes nothing. Settings are edited in place where present (so a user's
// extra overlay parameters survive) and appended under [all] otherwise.
// Each file is replaced atomically; with opts.DryRun nothing is written.
func Apply(bootDir string, opts Options) (diff string, changed bool, err error) {
	cfgPath := filepath.Join(bootDir, "config.txt")
	cmdPath := filepath.Join(bootDir, "cmdline.txt")
	oldCfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return "", false, fmt.Errorf("read boot config: %w", err)
	}
	oldCmd, err := os.ReadFile(cmdPath)
	if err != nil {
		return "", false, fmt.Errorf("read kernel command line: %w", err)
	}
	newCfg := applyConfig(string(oldCfg), opts)
	newCmd := applyCmdline(string(oldCmd))

	var b strings.Builder
	b.WriteString(unifiedDiff("config.txt", string(oldCfg), newCfg))
	b.WriteString(unifiedDiff("cmdline.txt", string(oldCmd), newCmd))
	diff = b.String()
	changed = diff != ""
	if !changed || opts.DryRun {
		return diff, changed, nil
	}
	if newCfg != string(oldCfg) {
		if err := writeFileAtomic(cfgPath, []byte(newCfg)); err != nil {
			return diff, false, err
		}
	}
	if newCmd != string(oldCmd) {
		if err := writeFileAtomic(cmdPath, []byte(newCmd)); err != nil {
			return diff, false, err
		}
	}
	return diff, true, nil
}

// applyConfig returns config.txt text with the UART, PPS and Bluetooth
// settings opts asks for; text that already has them comes back unchanged.
func applyConfig(text string, opts Options) string {
	edited := false
	c := parseConfig(text, opts.model())
	var add []string
	edit := func(i int, text string) {
		if c.lines[i].text != text {
			c.lines[i].text = text
			edited = true
		}
	}

	if i := c.find("enable_uart"); i < 0 {
		add = append(add, "enable_uart=1")
	} else if _, v, _ := keyValue(c.lines[i].text); v != "1" {
		edit(i, "enable_uart=1")
	}

	pin := opts.pin()
	if i := c.overlay("pps-gpio"); i < 0 {
		add = append(add, "dtoverlay=pps-gpio,gpiopin="+strconv.Itoa(pin))
	} else if overlayPin(c.lines[i].text) != pin {
		edit(i, withPin(c.lines[i].text, pin))
	}

	want, other := "", ""
	switch opts.BT {
	case BTAuto:
		has, known := btOnPL011(c.model)
		if (has || !known) && c.overlay("disable-bt") < 0 && c.overlay("miniuart-bt") < 0 {
			want = "disable-bt"
		}
	case BTDisable:
		want, other = "disable-bt", "miniuart-bt"
	case BTMiniUART:
		want, other = "miniuart-bt", "disable-bt"
	}
	if want != "" && c.overlay(want) < 0 {
		if i := c.overlay(other); other != "" && i >= 0 {
			edit(i, "dtoverlay="+want)
		} else {
			add = append(add, "dtoverlay="+want)
		}
	}

	if !edited && len(add) == 0 {
		return text // keep the file byte for byte
	}
	var b strings.Builder
	b.WriteString(c.String())
	if len(add) == 0 {
		return b.String()
	}
	if len(c.lines) > 0 && strings.TrimSpace(c.lines[len(c.lines)-1].text) != "" {
		b.WriteByte('\n')
	}
	if !c.tailActive {
		b.WriteString("[all]\n")
	}
	b.WriteString(marker + "\n")
	for _, l := range add {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// applyCmdline removes the serial console from the kernel command line.
// cmdline.txt must stay one line, so the result is the kept words joined
// by single spaces.
func applyCmdline(text string) string {
	fields := strings.Fields(text)
	kept := fields[:0:0]
	for _, f := range fields {
		if !isSerialConsole(f) {
			kept = append(kept, f)
		}
	}
	if len(kept) == len(fields) {
		return text
	}
	return strings.Join(kept, " ") + "\n"
}

// writeFileAtomic replaces path with data through a temporary file in the
// same directory and a rename, so a power cut leaves the old or the new
// file, never half of one (which on a boot partition means an unbootable Pi).
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(mode); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Persist the rename; FAT and some other file systems refuse to sync a
	// directory, which is not worth failing over once the data is renamed.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
