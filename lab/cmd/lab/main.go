// Command lab runs the virtual Pi lab (see docs/lab.md) and prints one row
// per column, or with -json one JSON object per column. It must run as root
// (debootstrap, chroot) on a Debian machine with qemu-system-x86 installed;
// scripts/lab.sh installs what it needs and runs it.
//
//	go run ./lab/cmd/lab [-short] [-json] [-columns stratum1,chrony]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"stratum1/lab"
)

func main() {
	short := flag.Bool("short", false, "short scenario, stratum1 only unless -columns is given (CI)")
	asJSON := flag.Bool("json", false, "one JSON object per column")
	columns := flag.String("columns", "", "columns to run: stratum1, chrony, ntpsec (default stratum1,chrony; stratum1 with -short)")
	work := flag.String("work", "", "work directory (default a new one under /tmp, kept)")
	results := flag.String("results", "", "only analyse: a column's results directory from an earlier run")
	jitter := flag.Duration("jitter", time.Microsecond, "PPS jitter (standard deviation)")
	missing := flag.Int("missing", 0, "PPS pulses lost, per thousand")
	outliers := flag.Int("outliers", 0, "PPS pulses late by up to -outlier-late, per thousand")
	outlierLate := flag.Duration("outlier-late", 200*time.Microsecond, "how late an outlier pulse comes at most")
	staleNMEA := flag.Bool("stale-nmea", false, "the relay queues what the daemon's port leaves unread (seconds-old sentences after a restart)")
	lineFaults := flag.Bool("line-faults", false, "20 s after lock garbage on the NMEA line, 20 s later the line cut for a minute")
	measure := flag.Duration("measure", 0, "time locked before the outage (default the scenario's: 10m, or 100s with -short)")
	check := flag.Bool("check", false, "exit non-zero unless every column runs green (as scripts/test.sh wants)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *results != "" {
		res, err := lab.Load(filepath.Base(filepath.Dir(filepath.Dir(*results))), *results)
		print(os.Stdout, []lab.Result{res}, *asJSON)
		if err != nil {
			fmt.Fprintln(os.Stderr, "lab:", err)
			os.Exit(1)
		}
		return
	}
	cols := *columns
	if cols == "" {
		cols = "stratum1,chrony"
		if *short {
			cols = "stratum1"
		}
	}
	sc := lab.FullScenario()
	if *short {
		sc = lab.ShortScenario()
	}
	sc.JitterNs = int(*jitter / time.Nanosecond)
	if *measure > 0 {
		sc.MeasureS = int(*measure / time.Second)
	}
	sc.StaleNMEA = *staleNMEA
	sc.LineFaults = *lineFaults
	sc.MissingPermille, sc.OutlierPermille, sc.OutlierNs = *missing, *outliers, int(*outlierLate/time.Nanosecond)
	if err := runAll(ctx, strings.Split(cols, ","), sc, *work, *asJSON, *check, log); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		os.Exit(1)
	}
}

// checkMaxNs is the largest error after lock that -check accepts: ten
// times the PPS jitter the scenario injects.
const checkMaxNs = 10_000

func runAll(ctx context.Context, cols []string, sc lab.Scenario, work string, asJSON, check bool, log *slog.Logger) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root (debootstrap, chroot); scripts/lab.sh does")
	}
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	if work == "" {
		if work, err = os.MkdirTemp("", "stratum1-lab-"); err != nil {
			return err
		}
	}
	if work, err = filepath.Abs(work); err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	log.Info("lab: work directory", "dir", work)
	g, err := lab.Prepare(ctx, repo, work, log)
	if err != nil {
		return err
	}
	for _, col := range cols {
		switch strings.TrimSpace(col) {
		case "stratum1", "chrony":
		case "ntpsec":
			if err := g.AddNTPsec(ctx, work, log); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown column %q (stratum1, chrony, ntpsec)", col)
		}
	}
	var all []lab.Result
	var failed []string
	for _, col := range cols {
		col = strings.TrimSpace(col)
		res, err := lab.RunColumn(ctx, g, col, sc, work, log)
		if err != nil {
			log.Error("lab: column failed", "column", col, "err", err)
			if res.Error == "" {
				res.Error = err.Error()
			}
		}
		if check {
			for _, p := range res.Problems(checkMaxNs) {
				failed = append(failed, col+": "+p)
			}
		} else if res.Error != "" {
			failed = append(failed, col+": "+res.Error)
		}
		all = append(all, res)
	}
	print(os.Stdout, all, asJSON)
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "; "))
	}
	return nil
}

func print(w io.Writer, all []lab.Result, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, r := range all {
			_ = enc.Encode(r)
		}
		return
	}
	fmt.Fprintf(w, "%-9s %8s %7s %8s %8s %8s %11s %9s %8s %8s %10s %7s %7s %8s %6s\n",
		"column", "daemon_s", "lock_s", "mean_ns", "rms_ns", "max_ns", "holdover_ns", "step_ns", "covered", "relock_s", "restart_rms",
		"synced", "active", "exposure", "host")
	for _, r := range all {
		fmt.Fprintf(w, "%-9s %8.0f %7.0f %8.0f %8.0f %8.0f %11.0f %9.0f %8.3f %8.0f %10.0f %7t %7t %8.1f %6d\n",
			r.Name, r.DaemonS, r.LockS, r.MeanNs, r.RMSNs, r.MaxNs, r.HoldoverMaxNs, r.StepMaxNs, r.Covered, r.RelockS, r.RestartRMSNs,
			r.KernelSynced, r.SystemdActive, r.Exposure, r.HostStratum)
		if r.Error != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.Name, r.Error)
		}
	}
}
