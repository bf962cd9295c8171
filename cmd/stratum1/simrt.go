package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"stratum1/appliance"
	"stratum1/config"
	"stratum1/gps"
	"stratum1/peer"
	"stratum1/sim"
)

// runRealtimeSim runs the whole appliance in real time with only the
// hardware replaced: NMEA through a real pseudo-terminal and the serial
// reader, simulated PPS edges, and a simulated oscillator that the
// discipline steers. True time is the system clock, which it never changes.
func runRealtimeSim(ctx context.Context, s sim.Settings, peers realtimePeers, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := simConfig(s)
	if err != nil {
		return err
	}
	if err := peers.apply(&cfg); err != nil {
		return err
	}
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
	if !s.NoPPS {
		hw.PPS = sim.NewPulseSource(s, clock)
	}
	a, err := appliance.New(appliance.Options{Config: cfg, Hardware: hw, Logger: log, Version: version})
	if err != nil {
		return err
	}
	addrs, httpURL, err := a.Listen()
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return rx.Run(ctx) })
	g.Go(func() error { return a.Run(ctx) })
	printSimBanner(stdout, addrs, httpURL)
	return g.Wait()
}

// realtimePeers are the upstream servers of a real-time simulation: with
// them the simulated box cross-checks its receiver (try --wrong-second).
type realtimePeers struct {
	servers, pools stringList
	poll           time.Duration
}

func (p *realtimePeers) declare(fs *flag.FlagSet) {
	fs.Var(&p.servers, "server", "real-time mode: upstream NTP server HOST[:PORT] (repeatable)")
	fs.Var(&p.pools, "pool", "real-time mode: upstream pool NAME (repeatable)")
	fs.DurationVar(&p.poll, "peer-poll", 0, "real-time mode: poll the upstream servers every DURATION to twice that\n(default 64s to 1024s; short polls only for your own servers)")
}

func (p realtimePeers) apply(cfg *config.Config) error {
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

// simConfig is the daemon's configuration for the simulator: loopback
// addresses, no drift file unless asked, no upstream peers.
func simConfig(s sim.Settings) (config.Config, error) {
	cfg := config.Default()
	cfg.Server.Listen = []string{s.Listen}
	cfg.HTTP.Listen = s.HTTP
	cfg.GPS.Baud = "auto"
	cfg.Discipline = sim.DisciplineConfig(s)
	cfg.Discipline.DriftFile = s.DriftFile
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
