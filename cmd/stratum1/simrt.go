package main

import (
	"context"
	"errors"
	"io"

	"stratum1/sim"
)

// runRealtimeSim runs the appliance in real time on the simulated receiver
// (issue 6). The lead replaces this file.
func runRealtimeSim(ctx context.Context, s sim.Settings, stdout, stderr io.Writer) error {
	return errors.New("real-time simulation not built yet; use --virtual")
}
