package main

import (
	"context"
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
	"stratum1/pps"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	path := fs.String("config", "", "configuration file (TOML); defaults fit a Raspberry Pi with a GPS hat")
	noAdjust := fs.Bool("no-clock-adjust", false, "never change the system clock: observe and serve only")
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
	log := newLogger(stderr, cfg.Log.Level)

	clock := &discipline.SystemClock{NoAdjust: *noAdjust}
	hw := appliance.Hardware{Clock: clock, ClockAdjust: !*noAdjust}
	if cfg.GPS.Device != "" {
		r, err := gps.NewReader(cfg.GPS, gps.ReaderOptions{Logger: log.With("part", "gps"), RefDate: buildDate()})
		if err != nil {
			return err
		}
		hw.GPS = r
	}
	if cfg.PPS.Device != "" || cfg.PPS.Pin != "" {
		src, err := pps.Open(cfg.PPS)
		if err != nil {
			// Without a pulse the box still serves NMEA-disciplined time
			// (refid GPS), with a larger error estimate.
			log.Warn("no PPS input: disciplining to NMEA alone", "err", err)
		} else {
			defer src.Close()
			hw.PPS = src
			log.Info("pps capture", "device", src.Device(), "backend", src.Backend())
		}
	}
	a, err := appliance.New(appliance.Options{Config: cfg, Hardware: hw, Logger: log, Version: version})
	if err != nil {
		return err
	}
	addrs, _, err := a.Listen()
	if err != nil {
		return err
	}
	log.Info("serving NTP", "addrs", addrs, "clock_adjust", !*noAdjust, "version", version)
	go reloadOnHangup(ctx, *path, a, log)
	return a.Run(ctx)
}

// reloadOnHangup re-reads the configuration on SIGHUP; a bad file is
// rejected and the running configuration kept.
func reloadOnHangup(ctx context.Context, path string, a *appliance.Appliance, log *slog.Logger) {
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
		cfg, err := config.Load(path)
		if err == nil {
			err = a.Reload(cfg)
		}
		if err != nil {
			log.Error("reload rejected; keeping the running configuration", "err", err)
			continue
		}
		log.Info("configuration reloaded", "path", path)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
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
