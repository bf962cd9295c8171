package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"stratum1/gps"
)

const gpsConfigureUsage = "usage: stratum1 gps configure [--device DEV --baud N | --dry-run | --out FILE] [--receiver ublox|mediatek] [--set-baud N] [--save]"

// cmdGPSConfigure sets a receiver up for timing, prints what it would send
// (--dry-run) or writes the exact bytes to a file (--out).
func cmdGPSConfigure(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gps configure", stderr)
	def := gps.DefaultConfig()
	device := fs.String("device", def.Device, "serial device of the receiver")
	baud := fs.Int("baud", 9600, "the receiver's rate now")
	receiver := fs.String("receiver", "", "ublox or mediatek; default: ask the receiver (UBX-MON-VER, then PMTK605)")
	setBaud := fs.Int("set-baud", 115200, "move the receiver to this rate (0 keeps its rate); the daemon's reader with baud = \"auto\" follows")
	save := fs.Bool("save", false, "save the settings to the receiver's non-volatile memory (u-blox)")
	width := fs.Duration("pulse-width", 100*time.Millisecond, "width of the time pulse")
	dryRun := fs.Bool("dry-run", false, "print what would be sent, send nothing (needs --receiver)")
	out := fs.String("out", "", "write the exact bytes to FILE instead of a device (needs --receiver)")
	timeout := fs.Duration("timeout", 1500*time.Millisecond, "how long to wait for each answer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New(gpsConfigureUsage)
	}
	o := gps.ConfigureOptions{Receiver: *receiver, Baud: *setBaud, Save: *save, PulseWidth: *width, Timeout: *timeout}
	if *dryRun || *out != "" {
		if *receiver == "" {
			return errors.New("gps configure: --dry-run and --out need --receiver ublox or mediatek: there is no receiver to ask")
		}
		steps, err := gps.ConfigurePlan(o)
		if err != nil {
			return fmt.Errorf("gps configure: %w", err)
		}
		if *dryRun {
			for _, s := range steps {
				if len(s.Bytes) > 0 && s.Bytes[0] == '$' {
					fmt.Fprintf(stdout, "%s\n  %s\n", s.Desc, bytes.TrimSpace(s.Bytes))
				} else {
					fmt.Fprintf(stdout, "%s\n  % X\n", s.Desc, s.Bytes)
				}
			}
		}
		if *out != "" {
			var all []byte
			for _, s := range steps {
				all = append(all, s.Bytes...)
			}
			if err := os.WriteFile(*out, all, 0o644); err != nil {
				return fmt.Errorf("gps configure: %w", err)
			}
			fmt.Fprintf(stderr, "gps configure: %d messages, %d bytes written to %s\n", len(steps), len(all), *out)
		}
		return nil
	}
	port, err := gps.OpenConfigPort(*device, *baud)
	if err != nil {
		return fmt.Errorf("gps configure: %w", err)
	}
	defer port.Close()
	_, err = gps.Configure(ctx, port, *baud, o, func(s string) { fmt.Fprintln(stdout, s) })
	if err != nil {
		return fmt.Errorf("gps configure: %w", err)
	}
	fmt.Fprintln(stdout, "gps configure: done")
	return nil
}
