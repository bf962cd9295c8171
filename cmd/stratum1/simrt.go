package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"stratum1/appliance"
	"stratum1/config"
	"stratum1/gps"
	"stratum1/peer"
	"stratum1/pps"
	"stratum1/sim"
)

// runRealtimeSim runs the whole appliance in real time with only the
// hardware replaced: NMEA through a real pseudo-terminal and the serial
// reader, simulated PPS edges, and a simulated oscillator that the
// discipline steers. True time is the system clock, which it never changes.
func runRealtimeSim(ctx context.Context, s sim.Settings, rt realtimeFlags, stdout, stderr io.Writer) error {
	cfg, err := simConfig(s, rt.config)
	if err != nil {
		return err
	}
	if err := rt.apply(&cfg); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log.Level)
	rx, err := sim.NewReceiver(s, log.With("part", "sim-receiver"))
	if err != nil {
		return err
	}
	defer rx.Close()
	cfg.GPS.Device = rx.Device

	clock := sim.NewWallClock(s, sim.NewOscillator(s, rand.New(rand.NewPCG(uint64(s.Seed), 1))))
	reader, err := gps.NewReader(cfg.GPS, gps.ReaderOptions{Logger: log.With("part", "gps"), Now: clock.Now})
	if err != nil {
		return err
	}
	// ClockAdjust: the discipline does steer a clock here, the simulated one.
	hw := appliance.Hardware{Clock: clock, ServeTime: clock.At, GPS: reader, ClockAdjust: true}
	if s.Thermal() && !s.NoTempComp {
		hw.Temperature = clock.SensorC
	}
	if !s.NoPPS {
		pulses := sim.NewPulseSource(s, clock)
		hw.OpenPPS = func() (pps.Source, error) { return pulses, nil }
	}
	a, err := appliance.New(appliance.Options{Config: cfg, Hardware: hw, Logger: log, Version: version, Record: rt.record})
	if err != nil {
		return err
	}
	addrs, httpURL, err := a.Listen()
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return rx.Run(gctx) })
	g.Go(func() error { return a.Run(gctx) })
	printSimBanner(stdout, addrs, httpURL)
	err = g.Wait()
	logShutdown(log, ctx, err)
	return err
}

// realtimeFlags are the real-time mode's flags beyond the simulation's
// settings: the daemon's configuration file, and upstream servers with which
// the simulated box cross-checks its receiver (try --wrong-second).
type realtimeFlags struct {
	config         string
	servers, pools stringList
	poll           time.Duration
	record         io.Writer // --record's file; nil: none
}

func (p *realtimeFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&p.config, "config", "", "real-time mode: the daemon's configuration `file` (stratum1.toml) for [server], [access],\n"+
		"[peers], [nts] and [log]; the sim keeps its own receiver, discipline and --listen/--http addresses")
	fs.Var(&p.servers, "server", "real-time mode: upstream NTP server HOST[:PORT] (repeatable)")
	fs.Var(&p.pools, "pool", "real-time mode: upstream pool NAME (repeatable)")
	fs.DurationVar(&p.poll, "peer-poll", 0, "real-time mode: poll the upstream servers every DURATION to twice that\n(default 64s to 1024s; short polls only for your own servers)")
}

func (p realtimeFlags) apply(cfg *config.Config) error {
	if err := (overrides{servers: p.servers, pools: p.pools}).apply(cfg); err != nil || p.poll == 0 {
		return err
	}
	for _, list := range [][]peer.Source{cfg.Peers.Servers, cfg.Peers.Pools} {
		for i := range list {
			list[i].MinPoll, list[i].MaxPoll = p.poll, 2*p.poll
		}
	}
	return cfg.Validate()
}

// simConfig is the daemon's configuration for the simulator: the file at
// path (none: the defaults, so no upstream peers) for everything the sim
// does not simulate, such as [access] (a benchmark turns rate limiting off
// there) or [server] workers. The sim keeps what it does simulate, the
// receiver ([gps], [pps]) and the discipline tuned to its oscillator, and
// serves on --listen and --http only, so that a copy of a real box's file
// never puts the simulated time on the box's network addresses.
func simConfig(s sim.Settings, path string) (config.Config, error) {
	def := config.Default()
	cfg := def
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return config.Config{}, err
		}
	}
	cfg.Server.Listen = []string{s.Listen}
	cfg.HTTP.Listen = s.HTTP
	cfg.GPS, cfg.PPS = def.GPS, def.PPS
	cfg.GPS.Baud = gps.BaudAuto
	cfg.Discipline = sim.DisciplineConfig(s)
	return cfg, cfg.Validate()
}

func printSimBanner(w io.Writer, addrs []string, httpURL string) {
	host, port := "127.0.0.1", "1123"
	if len(addrs) > 0 {
		if i := strings.LastIndex(addrs[0], ":"); i > 0 {
			host, port = strings.Trim(addrs[0][:i], "[]"), addrs[0][i+1:]
		}
	}
	fmt.Fprintf(w, `stratum1 sim: the appliance on a simulated receiver (true time = this machine's clock, never adjusted)
  NTP        %s
  dashboard  %s
  query it:  chronyd -Q 'server %s port %s iburst maxsamples 4'     (Debian package chrony; changes nothing)
             stratum1 status --server %s   |   stratum1 peers --server %s
             (ntpdig and ntpq only speak to port 123: run the sim with --listen 127.0.0.1:123 as root for them)
Ctrl-C stops it. State changes follow.
`, strings.Join(addrs, ", "), httpURL, host, port, httpURL, httpURL)
}
