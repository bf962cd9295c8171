// Command benchserver serves this machine's system clock as a synchronised
// stratum-1 server with the stratum1 responder, so that scripts/bench.sh can
// load it before the appliance exists to feed it a disciplined state. It
// never touches the clock; it only reads it.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"stratum1/ntp"
	"stratum1/nts"
	"stratum1/server"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:123", "address to serve on")
	workers := flag.Int("workers", 0, "sockets (0: one per CPU the process may use)")
	coalesce := flag.Duration("coalesce", server.DefaultCoalesce, "longest wait to gather requests when busy (0: none)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	ntsListen := flag.String("nts-listen", "", "serve NTS-KE on this address too (NTS-protected NTP on -listen)")
	ntsCert := flag.String("nts-cert", "", "NTS-KE certificate (PEM)")
	ntsKey := flag.String("nts-key", "", "NTS-KE private key (PEM)")
	flag.Parse()

	var state atomic.Pointer[ntp.ServerState]
	publish := func() {
		state.Store(&ntp.ServerState{Leap: ntp.LeapNone, Stratum: 1, Precision: -20, RefID: ntp.RefGPS,
			RootDispersion: time.Microsecond, RefTime: time.Now()})
	}
	publish()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var err error
	opts := []server.Option{server.WithLogger(logger)}
	var ns *nts.Server
	if *ntsListen != "" {
		cfg := nts.DefaultConfig()
		cfg.Listen, cfg.Cert, cfg.Key = *ntsListen, *ntsCert, *ntsKey
		cfg.MaxSessions = 1000
		if ns, err = nts.New(cfg, 0, nts.WithLogger(logger)); err != nil {
			log.Fatal(err)
		}
		opts = append(opts, server.WithExtensions(ns))
	}
	r, err := server.New(server.Config{Listen: []string{*listen}, Workers: *workers, Coalesce: *coalesce}, &state, opts...)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if ns != nil {
		if err := r.Listen(); err != nil {
			log.Fatal(err)
		}
		ns.SetNTPPort(int(r.Addrs()[0].Port()))
		go func() {
			if err := ns.Run(ctx); err != nil {
				log.Fatal(err)
			}
		}()
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	// Republish as a discipline would, once a second.
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				publish()
			}
		}
	}()
	if err := r.Run(ctx); err != nil {
		log.Fatal(err)
	}
	c := r.Counters()
	slog.Info("stopped", "received", c.Received, "answered", c.Answered, "dropped", c.DroppedTotal())
}
