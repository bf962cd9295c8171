package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"stratum1/gps"
	"stratum1/pps"
)

func cmdPPS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "watch" {
		fmt.Fprintln(stderr, "usage: stratum1 pps watch [--device /dev/pps0 | --pin GPIO18] [--gps /dev/serial0]")
		return errUsage
	}
	fs := newFlagSet("pps watch", stderr)
	def := pps.DefaultConfig()
	device := fs.String("device", "", "PPS device (RFC 2783), e.g. /dev/pps0")
	pin := fs.String("pin", "", "GPIO pin name, e.g. GPIO18 (GPIO character device, else periph.io)")
	backend := fs.String("backend", pps.BackendAuto, "auto, pps-api, gpio-cdev or periph-userspace")
	polarity := fs.String("polarity", def.Polarity, "edge that marks the second: rising, falling or auto")
	gpsDev := fs.String("gps", "", "serial device of the GPS receiver, to show each pulse's offset to its NMEA second")
	baud := fs.String("baud", gps.BaudAuto, "GPS baud rate, or auto")
	count := fs.Int("count", 0, "stop after this many pulses (0: until interrupted)")
	simulate := fs.Bool("simulate", false, "watch a simulated receiver instead of hardware")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg := def
	cfg.Backend, cfg.Polarity = *backend, *polarity
	switch {
	case *device != "" && *pin != "":
		fmt.Fprintln(stderr, "stratum1 pps watch: give --device or --pin, not both")
		return errUsage
	case *device != "":
		cfg.Pin = ""
		cfg.Device = *device
	case *pin != "":
		cfg.Device = ""
		cfg.Pin = *pin
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	edges := make(chan pps.Edge, 16)
	seconds := make(chan pps.Second, 16)
	sendSecond := func(s pps.Second) {
		select {
		case seconds <- s:
		case <-ctx.Done():
		}
	}

	var src pps.Source
	if *simulate {
		src = pps.NewSimSource(pps.SimConfig{Seed: uint64(time.Now().UnixNano()), Jitter: 2 * time.Microsecond,
			NMEALatency: 150 * time.Millisecond, NMEAJitter: 10 * time.Millisecond}, sendSecond)
	} else {
		var err error
		if src, err = pps.Open(cfg); err != nil {
			return err
		}
	}
	defer src.Close()

	errc := make(chan error, 2)
	go func() {
		errc <- src.Run(ctx, func(e pps.Edge) {
			select {
			case edges <- e:
			case <-ctx.Done():
			}
		})
	}()
	if *gpsDev != "" {
		gcfg := gps.DefaultConfig()
		gcfg.Device, gcfg.Baud = *gpsDev, *baud
		r, err := gps.NewReader(gcfg, gps.ReaderOptions{})
		if err != nil {
			return err
		}
		go func() {
			errc <- r.Run(ctx, func(e gps.Epoch) {
				sendSecond(pps.Second{UTC: e.Time, Arrival: e.Arrival, Fix: e.Valid})
			})
		}()
	}
	fmt.Fprintf(stdout, "watching %s on %s (precision %v)\n", src.Backend(), src.Device(), src.Precision())

	w := &ppsWatch{out: stdout, p: pps.NewPairer(cfg, nil), backend: src.Backend(), nmea: *gpsDev != "" || *simulate}
	w.p.SetSource(src.Device(), src.Backend(), src.Precision())
	for *count == 0 || w.n < *count {
		select {
		case <-ctx.Done():
			w.flush()
			return nil
		case err := <-errc:
			w.flush()
			if err == nil || errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		case e := <-edges:
			w.edge(e)
		case s := <-seconds:
			w.second(s)
		}
	}
	return nil
}

// ppsWatch prints one line per pulse. With NMEA it waits for the epoch that
// names the pulse, so the line can show the offset to that second.
type ppsWatch struct {
	out     io.Writer
	p       *pps.Pairer
	backend string
	nmea    bool
	n       int

	prev    time.Time
	pending *watchedEdge
}

type watchedEdge struct {
	e        pps.Edge
	interval time.Duration
}

func (w *ppsWatch) edge(e pps.Edge) {
	var interval time.Duration
	if !w.prev.IsZero() {
		interval = e.Local.Sub(w.prev)
	}
	w.prev = e.Local
	w.flush()
	w.pending = &watchedEdge{e: e, interval: interval}
	if s, ok := w.p.Edge(e); ok {
		w.paired(s)
	}
	if !w.nmea {
		w.flush()
	}
}

func (w *ppsWatch) second(s pps.Second) {
	if sample, ok := w.p.Second(s); ok {
		w.paired(sample)
	}
}

func (w *ppsWatch) paired(s pps.Sample) {
	if w.pending == nil {
		return
	}
	w.print(w.pending, fmt.Sprintf("  utc %s  nmea-offset %s", s.UTC.Format(time.TimeOnly), signed(s.Offset())))
	w.pending = nil
}

// flush prints a pulse that no epoch paired.
func (w *ppsWatch) flush() {
	if w.pending == nil {
		return
	}
	note := ""
	if w.nmea {
		note = "  (not used: " + w.p.LastRejection() + ")"
	}
	w.print(w.pending, note)
	w.pending = nil
}

func (w *ppsWatch) print(we *watchedEdge, note string) {
	e := we.e
	kind := "rise"
	if e.Falling {
		kind = "fall"
	}
	interval := "-"
	if we.interval != 0 {
		interval = we.interval.String()
	}
	// Offset to the local clock's nearest second: the offset to UTC when
	// the system clock is synchronised.
	off := e.Local.Sub(e.Local.Round(time.Second))
	fmt.Fprintf(w.out, "%s %s seq %d  interval %s  clock-offset %s  jitter %v  %s%s\n",
		e.Local.UTC().Format("2006-01-02T15:04:05.000000000Z"), kind, e.Seq, interval, signed(off),
		w.p.Jitter(e.Local), w.backend, note)
	w.n++
}

func signed(d time.Duration) string {
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}
