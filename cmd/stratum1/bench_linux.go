package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"stratum1/server/loadgen"
)

// measure runs the load and, with a server pid, reads its CPU time and
// memory from /proc before and after.
func measure(ctx context.Context, cfg loadgen.Config, pid int, progress func(loadgen.Progress)) (benchResult, error) {
	var before loadgen.ProcUsage
	if pid != 0 {
		var err error
		if before, err = loadgen.ReadProc(pid); err != nil {
			return benchResult{}, fmt.Errorf("--pid: %w", err)
		}
	}
	rep, err := loadgen.Run(ctx, cfg, progress)
	if err != nil && !errors.Is(err, context.Canceled) {
		return benchResult{}, err
	}
	out := benchResult{Target: cfg.Target.String(), Report: rep, LossPct: 100 * rep.Loss(), RatePerS: rep.Rate()}
	if pid != 0 {
		after, err := loadgen.ReadProc(pid)
		if err != nil {
			return benchResult{}, fmt.Errorf("--pid: %w", err)
		}
		out.ServerCPU = after.CPU - before.CPU
		out.ServerRSS, out.ServerHWM = after.RSSBytes, after.HWMBytes
		if n := rep.Answered + kodSum(rep.KoD); n > 0 {
			out.CPUPerReply = out.ServerCPU / time.Duration(n)
			out.CPUPerReplyUs = float64(out.ServerCPU) / float64(n) / 1e3
		}
	}
	return out, nil
}
