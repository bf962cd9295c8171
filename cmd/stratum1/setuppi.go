package main

import (
	"context"
	"fmt"
	"io"

	"stratum1/deploy/bootcfg"
)

// cmdSetupPi applies the boot configuration a GPS/PPS server needs and
// prints the diff; with --dry-run it only prints it.
func cmdSetupPi(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("setup-pi", stderr)
	boot := fs.String("boot", "", "boot partition directory (default /boot/firmware, or /boot before Bookworm)")
	dryRun := fs.Bool("dry-run", false, "print the changes without writing them")
	pin := fs.Int("gpio-pin", bootcfg.DefaultGPIOPin, "BCM GPIO pin the PPS signal is wired to")
	bt := fs.String("bt", "auto", "Bluetooth on the PL011 UART: auto, disable, miniuart or keep")
	model := fs.String("model", "", "board model, as in "+bootcfg.DefaultModelPath+" (default: read it from there)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "stratum1 setup-pi: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	mode, err := bootcfg.ParseBTMode(*bt)
	if err != nil {
		fmt.Fprintf(stderr, "stratum1 setup-pi: --bt: %v\n", err)
		return errUsage
	}
	if *pin < 0 || *pin > 27 {
		fmt.Fprintf(stderr, "stratum1 setup-pi: --gpio-pin %d is not a header GPIO (0-27)\n", *pin)
		return errUsage
	}
	if *boot == "" {
		*boot = bootcfg.FindBootDir("/")
	}
	opts := bootcfg.DefaultOptions()
	opts.GPIOPin, opts.BT, opts.DryRun = *pin, mode, *dryRun
	if *model != "" {
		opts.Model = *model
	}
	diff, changed, err := bootcfg.Apply(*boot, opts)
	if err != nil {
		return err
	}
	io.WriteString(stdout, diff)
	switch {
	case !changed:
		fmt.Fprintf(stdout, "%s already configured; nothing to do\n", *boot)
	case *dryRun:
		fmt.Fprintf(stdout, "dry run: %s not changed\n", *boot)
	default:
		fmt.Fprintf(stdout, "updated %s; reboot for the changes to take effect\n", *boot)
	}
	return nil
}
