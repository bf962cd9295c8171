package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"stratum1/sim"
)

func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", stderr)
	s, virtual, asJSON := simFlags(fs)
	var rt realtimeFlags
	rt.declare(fs)
	record := fs.String("record", "", "write every input of the time path, and its decisions, to `FILE` as JSON lines\n(see docs/replay.md; stratum1 replay FILE plays it back)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stratum1 sim: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if err := s.Validate(); err != nil {
		return err
	}
	recording, err := openRecording(*record)
	if err != nil {
		return err
	}
	defer recording.Close()
	if !*virtual {
		rt.record = recording.writer()
		return runRealtimeSim(ctx, *s, rt, stdout, stderr)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sum, _, err := sim.RunVirtualTo(ctx, *s, log, recording.writer())
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, sum)
	}
	fmt.Fprintln(stdout, sum)
	return nil
}

// simFlags declares the simulation's flags on fs, shared by the virtual and
// the real-time mode.
func simFlags(fs *flag.FlagSet) (s *sim.Settings, virtual, asJSON *bool) {
	d := sim.DefaultSettings()
	s = &d
	virtual = fs.Bool("virtual", false, "run in virtual time and print a summary (otherwise serve NTP in real time)")
	asJSON = fs.Bool("json", false, "virtual mode: print the summary as JSON")
	fs.DurationVar(&s.Duration, "duration", s.Duration, "virtual mode: length of the run")
	fs.Int64Var(&s.Seed, "seed", s.Seed, "random seed")
	fs.DurationVar(&s.PPSJitter, "pps-jitter", s.PPSJitter, "standard deviation of the PPS edge timestamps")
	fs.Var(sim.PPMFlag{P: &s.FreqOffsetPPM}, "freq-offset", "oscillator frequency error, e.g. 30ppm")
	fs.Var(sim.PPMFlag{P: &s.WanderPPM}, "wander", "random-walk frequency noise per √s, e.g. 0.2ppb")
	fs.DurationVar(&s.ThermalTau, "thermal-tau", s.ThermalTau, "thermal time constant of the temperature term")
	fs.Var(sim.StepsFlag(&s.TempSteps), "temp-step", "temperature change SIZE@START[/RAMP] in frequency (2ppm@2h) or in the SoC's degrees (10C@2h) (repeatable)")
	fs.Var(sim.TempFlag{PPM: &s.TempDailyPPM, C: &s.TempDailyC}, "temp-daily", "amplitude of a daily temperature cycle, in frequency (1ppm) or degrees (10C)")
	fs.Var(sim.LoadsFlag(&s.CPULoad), "cpu-load", "CPU load from START on, LOAD@START, e.g. 100%@2h (repeatable; full load heats the SoC by 20 °C)")
	fs.BoolVar(&s.NoTempComp, "no-tempcomp", false, "hand the discipline no temperature readings (compare with the compensation)")
	fs.Float64Var(&s.CurvePPMPerC2, "crystal-curve", s.CurvePPMPerC2, "the crystal's parabolic frequency curve, ppm/°C², with degrees in the run")
	fs.Var(sim.PPMFlag{P: &s.AgeingPPMDay}, "ageing", "the crystal's ageing per day with degrees in the run, e.g. 0.02ppm")
	fs.Var(sim.WindowsFlag(&s.Outages), "outage", "no pulses for LENGTH@START, e.g. 1h@3h (repeatable)")
	fs.Var(sim.WindowsFlag(&s.Unplugged), "unplug", "serial device unplugged for LENGTH@START (repeatable)")
	fs.Var(sim.WindowsFlag(&s.WrongSecond), "wrong-second", "receiver names the wrong second for LENGTH@START (repeatable)")
	fs.BoolVar(&s.NoPPS, "no-pps", false, "no pulses at all: NMEA only")
	fs.DurationVar(&s.InitialOffset, "initial-offset", s.InitialOffset, "clock error at start, e.g. 0.3s or -4h")
	fs.DurationVar(&s.NMEALatency, "nmea-latency", s.NMEALatency, "delay of the first sentence after the second it names")
	fs.DurationVar(&s.NMEAJitter, "nmea-jitter", 0, "virtual mode: spread the first sentence's arrival uniformly over this much after nmea-latency")
	fs.IntVar(&s.StaleNMEA, "stale-nmea", 0, "virtual mode: seconds of stale sentences queued in the line at start and after each unplug")
	fs.BoolVar(&s.ClockTrusted, "clock-trusted", false, "virtual mode: the clock is vouched for at start (kernel synchronised by the run before a restart)")
	fs.Float64Var(&s.ReceiverClockHz, "receiver-clock", 0, "real-time mode: the receiver's clock in Hz (e.g. 48e6): pulses on its ticks, a qErr sawtooth (TIM-TP after gps configure); 0 ideal pulses")
	fs.Var(sim.PercentFlag{P: &s.DropPulses}, "drop-pulses", "lose this share of the pulses at random, e.g. 5% (a busy capture)")
	fs.Var(sim.OutliersFlag{P: &s.PPSOutliers}, "pps-outliers", "stamp this share of the pulses late by an exponential latency of mean SIZE, RATE@SIZE, e.g. 1%@200us (a busy SoC)")
	fs.Var(sim.PPMFlag{P: &s.MaxClockErrorPPM}, "max-clock-error", "the discipline's max_clock_error_ppm: growth of the served error bound, e.g. 1ppm")
	fs.StringVar(&s.DriftFile, "drift-file", "", "the discipline's drift file (none by default)")
	fs.Func("start", "virtual mode: true UTC at the start, RFC 3339 (default "+s.Start.Format(time.RFC3339)+")", func(v string) error {
		t, err := time.Parse(time.RFC3339, v)
		s.Start = t.UTC()
		return err
	})
	fs.IntVar(&s.Peers, "sim-peers", 0, "virtual mode: simulated upstream NTP peers that cross-check the receiver (0: none)")
	fs.Var(sim.WindowsFlag(&s.PeersDown), "peers-down", "virtual mode: the simulated peers unreachable for LENGTH@START (repeatable)")
	fs.StringVar(&s.Listen, "listen", s.Listen, "real-time mode: serve NTP on ADDR:PORT")
	fs.StringVar(&s.HTTP, "http", s.HTTP, "real-time mode: status and dashboard on ADDR:PORT")
	return s, virtual, asJSON
}
