package appliance

import (
	"context"
	"time"

	"stratum1/config"
	"stratum1/gps"
	"stratum1/pps"
)

// CoreConfigOf picks what the core needs from the daemon's configuration.
func CoreConfigOf(cfg config.Config) CoreConfig {
	return CoreConfig{
		Discipline:          cfg.Discipline,
		PPS:                 cfg.PPS,
		CrossCheckThreshold: cfg.Peers.CrossCheckThreshold,
		GPSRecoverAfter:     cfg.Peers.GPSRecoverAfter,
		Peers:               len(cfg.Peers.Servers)+len(cfg.Peers.Pools) > 0,
	}
}

// event is one input for the loop from a reader's goroutine, with the
// core's step count when its readings were taken.
type event struct {
	epoch *gps.Epoch
	edge  *pps.Edge
	pps   *PPSInput
	qErr  *QErrInput
	// reload, from Reload: a configuration for the core, and where to
	// say what it could not apply.
	reload *reloadRequest
	gen    uint64
}

type reloadRequest struct {
	cfg  CoreConfig
	done chan Reload
}

// send hands ev to the loop unless ctx ends first.
func send(ctx context.Context, ch chan<- event, ev event) {
	select {
	case ch <- ev:
	case <-ctx.Done():
	}
}

// PPS reopening: the first wait after a failure, doubled up to the last.
const (
	ppsMinBackoff = time.Second
	ppsMaxBackoff = time.Minute
)

// runPPS opens the pulse input and delivers its edges, and reopens it with
// backoff when it cannot be opened or fails: a PPS device that fails is
// ridden through as an outage (holdover, or NMEA alone while it is gone),
// never a reason to stop serving time.
func (a *Appliance) runPPS(ctx context.Context, events chan<- event) {
	backoff := ppsMinBackoff
	lastErr := "" // said once, not at every retry
	for ctx.Err() == nil {
		src, err := a.hw.OpenPPS()
		if err != nil {
			if msg := err.Error(); msg != lastErr {
				a.log.Warn("cannot open the PPS input: disciplining to NMEA alone; retrying", "err", err)
				lastErr = msg
			}
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, ppsMaxBackoff)
			continue
		}
		lastErr, backoff = "", ppsMinBackoff
		a.log.Info("pps capture", "device", src.Device(), "backend", src.Backend())
		send(ctx, events, event{pps: &PPSInput{Device: src.Device(), Backend: src.Backend(), Precision: src.Precision()}})
		err = src.Run(ctx, func(e pps.Edge) {
			send(ctx, events, event{edge: &e, gen: a.gen.Load()})
		})
		if cerr := src.Close(); cerr != nil {
			a.log.Debug("closing the PPS input", "err", cerr)
		}
		if ctx.Err() != nil {
			return
		}
		a.log.Error("pps capture stopped; reopening", "err", err)
		send(ctx, events, event{pps: &PPSInput{Device: src.Device()}})
		if !sleep(ctx, backoff) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// loop is the one goroutine that runs the core: it takes the readers'
// epochs and edges as they come, and once a second the peers' selection
// and a tick, and carries out the core's actions.
func (a *Appliance) loop(ctx context.Context, events <-chan event) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastRecord time.Time
	recordFailed := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			a.event(ev)
		case <-t.C:
			// What the readers delivered before the tick goes first: a
			// loop that was kept from running must not judge the
			// source lost while its samples wait in the queue.
			for drained := false; !drained; {
				select {
				case ev := <-events:
					a.event(ev)
				default:
					drained = true
				}
			}
			now := a.hw.Clock.Now()
			a.ticked.Store(time.Now().UnixNano())
			if a.peers != nil {
				a.handle(PeersOf(now, a.peers.Selection()))
			}
			a.readTemperature(now)
			a.handle(TickOf(now))
			a.drift.Tick(now)
			if a.rec != nil {
				// Once a second, so that a box that dies leaves a
				// recording of all but its last second.
				if err := a.rec.Flush(); err != nil && !recordFailed {
					a.log.Error("recording stopped", "err", err)
					recordFailed = true
				}
			}
			v := a.core.View(now)
			a.view.Store(&v)
			if now.Sub(lastRecord) >= a.history.Interval() || now.Before(lastRecord) {
				a.history.Record(a.Snapshot())
				lastRecord = now
			}
		}
	}
}

// readTemperature hands the core a reading of the SoC's temperature,
// taken at the clock reading now. A failed reading is counted, and logged
// once until a reading succeeds again: the loop runs on without
// compensation meanwhile (holdover then keeps the frequency).
func (a *Appliance) readTemperature(now time.Time) {
	if a.hw.Temperature == nil {
		return
	}
	c, err := a.hw.Temperature()
	if err != nil {
		a.tempFails.Add(1)
		if !a.tempFailing {
			a.log.Warn("cannot read the temperature: no temperature compensation until it can", "err", err)
			a.tempFailing = true
		}
		return
	}
	if a.tempFailing {
		a.log.Info("temperature readable again", "failures", a.tempFails.Load())
		a.tempFailing = false
	}
	a.handle(TemperatureOf(now, c))
}

// event hands one reader's event to the core, stamped with the clock now.
func (a *Appliance) event(ev event) {
	now := a.hw.Clock.Now()
	switch {
	case ev.epoch != nil:
		a.handle(EpochOf(now, *ev.epoch, ev.gen))
	case ev.edge != nil:
		a.handle(EdgeOf(now, *ev.edge, ev.gen))
	case ev.pps != nil:
		a.handle(PPSSourceOf(now, ev.pps.Device, ev.pps.Backend, ev.pps.Precision))
	case ev.qErr != nil:
		a.handle(QErrOf(now, *ev.qErr, ev.gen))
	case ev.reload != nil:
		a.handle(ConfigOf(now, ev.reload.cfg))
		ev.reload.done <- a.core.Reloaded()
	}
}

// handle feeds one input to the core (through the recorder when recording)
// and carries out its actions.
func (a *Appliance) handle(in Input) {
	var acts []Action
	var err error
	if a.rec != nil {
		acts, err = a.rec.Handle(a.core, in)
	} else {
		acts, err = a.core.Handle(in)
	}
	if err != nil {
		a.log.Error("core input", "err", err)
		return
	}
	for _, act := range acts {
		switch act.Kind {
		case ActionStep:
			a.gen.Store(a.core.Steps())
			if a.peers != nil {
				// Their filters hold offsets from before the step.
				a.peers.ClockStepped(act.Step)
			}
		case ActionPublish:
			a.served.Store(act.Served)
		case ActionPollFloor:
			if a.peers != nil {
				a.peers.SetPollFloor(act.PollFloor)
			}
		case ActionState:
			v := a.core.View(in.Now)
			a.view.Store(&v)
			if a.onState != nil {
				a.onState(act.State, act.Desc)
			}
		}
	}
}
