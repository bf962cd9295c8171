package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"stratum1/appliance"
	"stratum1/config"
	"stratum1/discipline"
	"stratum1/gps"
	"stratum1/internal/loglevel"
	"stratum1/internal/sdnotify"
	"stratum1/peer"
	"stratum1/pps"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	path := fs.String("config", "", "configuration file (TOML); defaults fit a Raspberry Pi with a GPS hat")
	noAdjust := fs.Bool("no-clock-adjust", false, "never change the system clock: observe and serve only")
	record := fs.String("record", "", "write every input of the time path, and its decisions, to `FILE` as JSON lines\n(see docs/replay.md; stratum1 replay FILE plays it back)")
	var ov overrides
	ov.declare(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := config.Default()
	if *path != "" {
		var err error
		if cfg, err = config.Load(*path); err != nil {
			return err
		}
	}
	if err := ov.apply(&cfg); err != nil {
		return err
	}
	log, level := loglevel.NewLogger(stderr, cfg.Log.Level)

	clock := &discipline.SystemClock{NoAdjust: *noAdjust}
	hw := appliance.Hardware{Clock: clock, ClockAdjust: !*noAdjust}
	switch {
	case cfg.GPS.Device == "":
		// [gps] device = "": upstream peers only; a pulse without the
		// receiver's labels is of no use.
		log.Info("no GPS receiver configured: serving from upstream peers only")
	case !cfg.PPS.Enabled():
		log.Info("no PPS input configured: disciplining to NMEA alone")
	}
	if cfg.GPS.Device != "" {
		r, err := gps.NewReader(cfg.GPS, gps.ReaderOptions{Logger: log.With("part", "gps"), RefDate: rolloverRef(cfg.Discipline.DriftFile)})
		if err != nil {
			return err
		}
		hw.GPS = r
	}
	if cfg.GPS.Device != "" && cfg.PPS.Enabled() {
		// Opened, and reopened with backoff, by the appliance: without a
		// pulse the box still serves NMEA-disciplined time (refid GPS),
		// with a larger error estimate.
		ppsCfg := cfg.PPS
		hw.OpenPPS = func() (pps.Source, error) { return pps.Open(ppsCfg) }
	}
	recording, err := openRecording(*record)
	if err != nil {
		return err
	}
	defer recording.Close()
	a, err := appliance.New(appliance.Options{
		Config: cfg, Hardware: hw, Logger: log, LogLevel: level, Version: version,
		OnStateChange: func(_ appliance.State, desc string) { _ = sdnotify.Status(desc) },
		Record:        recording.writer(),
	})
	if err != nil {
		return err
	}
	addrs, httpURL, err := a.Listen()
	if err != nil {
		return err
	}
	log.Info("serving NTP", "addrs", addrs, "status", httpURL, "clock_adjust", !*noAdjust, "version", version)
	// Ready once the sockets are bound: clients get unsynchronised
	// replies until the clock is disciplined, which is what RFC 5905 wants.
	if err := sdnotify.Ready(); err != nil {
		log.Warn("sd_notify", "err", err)
	}
	go func() { _ = sdnotify.WatchdogLoopHealthy(ctx, a.Healthy) }()
	go reloadOnHangup(ctx, *path, ov, a, log)
	err = a.Run(ctx)
	_ = sdnotify.Stopping()
	logShutdown(log, ctx, err)
	return err
}

// overrides are the command-line flags that stand in for (or add to) the
// configuration file, so that a first try needs no file at all.
type overrides struct {
	servers, pools, listen stringList
	http                   string
	noGPS                  bool
}

func (o *overrides) declare(fs *flag.FlagSet) {
	fs.Var(&o.servers, "server", "upstream NTP server HOST[:PORT] (repeatable; replaces the file's servers)")
	fs.Var(&o.pools, "pool", "upstream pool NAME (repeatable; replaces the file's pools)")
	fs.Var(&o.listen, "listen", "serve NTP on ADDR:PORT (repeatable; replaces [server] listen)")
	fs.StringVar(&o.http, "http", "", "status API and dashboard on ADDR:PORT (replaces [http] listen)")
	fs.BoolVar(&o.noGPS, "no-gps", false, "no GPS receiver or PPS: serve from upstream peers only")
}

func (o overrides) apply(cfg *config.Config) error {
	if len(o.servers) > 0 {
		cfg.Peers.Servers = nil
		for _, s := range o.servers {
			cfg.Peers.Servers = append(cfg.Peers.Servers, peer.Source{Address: s, IBurst: true})
		}
	}
	if len(o.pools) > 0 {
		cfg.Peers.Pools = nil
		for _, s := range o.pools {
			cfg.Peers.Pools = append(cfg.Peers.Pools, peer.Source{Address: s, IBurst: true})
		}
	}
	if len(o.listen) > 0 {
		cfg.Server.Listen = o.listen
	}
	if o.http != "" {
		cfg.HTTP.Listen = o.http
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if o.noGPS {
		// After validation, so that a file naming a PPS backend still
		// passes: no device is exactly what --no-gps asks for.
		cfg.GPS.Device, cfg.PPS.Device, cfg.PPS.Pin = "", "", ""
	}
	return nil
}

// reloadOnHangup re-reads the configuration on SIGHUP and logs what it
// applied and what needs a restart; a bad file is rejected and the running
// configuration kept.
func reloadOnHangup(ctx context.Context, path string, ov overrides, a *appliance.Appliance, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		if path == "" {
			log.Warn("SIGHUP: no configuration file to reload")
			continue
		}
		_ = sdnotify.Reloading()
		cfg, err := config.Load(path)
		if err == nil {
			err = ov.apply(&cfg)
		}
		var applied, restart []string
		if err == nil {
			applied, restart, err = a.Reload(cfg)
		}
		_ = sdnotify.Ready()
		if err != nil {
			log.Error("reload rejected; keeping the running configuration", "err", err)
			continue
		}
		logReload(log, path, applied, restart)
	}
}

// logReload says what a reload applied and, as a warning, each change
// that needs a restart.
func logReload(log *slog.Logger, path string, applied, restart []string) {
	log.Info("configuration reloaded", "path", path, "applied", appliance.DescribeReload(applied))
	for _, r := range restart {
		log.Warn("configuration change needs a restart", "change", r)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	log, _ := loglevel.NewLogger(w, level)
	return log
}

// rolloverRef is the GPS week-rollover reference: the later of the build
// date and the last time the daemon saved its drift file (a box that ran
// last week knows that it is not 2007).
func rolloverRef(driftFile string) time.Time {
	ref := buildDate()
	if fi, err := os.Stat(driftFile); err == nil && fi.ModTime().After(ref) {
		ref = fi.ModTime().UTC()
	}
	return ref
}

// projectEpoch is the rollover reference of a binary built without version
// control information: no receiver can rightly report a date before it.
var projectEpoch = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// buildDate is the GPS week-rollover reference when nothing later is known:
// the commit time this binary was built from.
func buildDate() time.Time {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil && t.After(projectEpoch) {
					return t.UTC()
				}
			}
		}
	}
	return projectEpoch
}
