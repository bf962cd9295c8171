// Command labguest runs inside the virtual Pi lab's guest: it is the GPS
// receiver's NMEA side and the error monitor. Both read the truth clock of
// the lab's kernel module (/proc/stratum1_lab).
//
//	labguest nmea /dev/ttyS1            # one second's sentences per truth second
//	labguest monitor /results/series.csv  # kernel clock - truth, every second
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: labguest nmea DEVICE | labguest monitor FILE")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "nmea":
		err = runNMEA(ctx, os.Args[2])
	case "monitor":
		err = runMonitor(ctx, os.Args[2])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil && ctx.Err() == nil {
		slog.Error("labguest", "cmd", os.Args[1], "err", err)
		os.Exit(1)
	}
}
