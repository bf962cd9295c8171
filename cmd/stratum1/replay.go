package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"stratum1/appliance"
)

// cmdReplay feeds a recording's inputs to the appliance's core and prints
// every decision it takes, one JSON line each; the summary, and whether
// the decisions are the recorded ones, go to stderr.
func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", stderr)
	quiet := fs.Bool("q", false, "print only the summary, not the decisions")
	verbose := fs.Bool("v", false, "also log what the core logs (to stderr)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: stratum1 replay [-q] [-v] FILE   (a recording of stratum1 run/sim --record FILE)")
		return errUsage
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	out := stdout
	if *quiet {
		out = io.Discard
	}
	log := newLogger(io.Discard, "error")
	if *verbose {
		log = newLogger(stderr, "debug")
	}
	res, err := appliance.Replay(f, out, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "replayed %d inputs: %d decisions (%d recorded); final state %s, served stratum %d\n",
		res.Inputs, res.Actions, res.Recorded, res.Final.State, res.Final.Served.Stratum)
	if res.Mismatched > 0 {
		return fmt.Errorf("the replay decided otherwise than the recording after %d inputs; first: %s", res.Mismatched, res.FirstMismatch)
	}
	return nil
}
