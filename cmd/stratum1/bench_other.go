//go:build !linux

package main

import (
	"context"
	"errors"

	"stratum1/server/loadgen"
)

// errBenchLinuxOnly: the load generator needs Linux's batched socket calls
// and kernel transmit timestamps.
var errBenchLinuxOnly = errors.New("runs only on Linux (it needs recvmmsg/sendmmsg and kernel timestamps); run it on the Pi or another Linux machine")

func measure(context.Context, loadgen.Config, int, func(loadgen.Progress)) (benchResult, error) {
	return benchResult{}, errBenchLinuxOnly
}
