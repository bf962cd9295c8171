package appliance_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stratum1/appliance"
	"stratum1/config"
	"stratum1/gps"
	"stratum1/ntp"
	"stratum1/pps"
	"stratum1/sim"
)

// fakeReceiver hands the loop a valid epoch for every second of the system
// clock, as read by the simulated clock 150 ms after it.
type fakeReceiver struct{ clock *sim.WallClock }

func (r fakeReceiver) Run(ctx context.Context, fn func(gps.Epoch)) error {
	for sec := time.Now().Truncate(time.Second).Add(time.Second); ; sec = sec.Add(time.Second) {
		at := sec.Add(150 * time.Millisecond)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(at)):
		}
		fn(gps.Epoch{Time: sec.UTC(), Valid: true, Mode: 3, SatsUsed: 7, Arrival: r.clock.At(at)})
	}
}

func (r fakeReceiver) Status() gps.Status {
	return gps.Status{State: gps.State3D, Device: "fake", Baud: 9600, Latency: 150 * time.Millisecond}
}

// flakyPulses is a PPS source whose device fails now and then: it stops
// after failAfter edges (0: never).
type flakyPulses struct {
	clock     *sim.WallClock
	failAfter int
}

func (p *flakyPulses) Run(ctx context.Context, fn func(pps.Edge)) error {
	var seq uint64
	for sec := time.Now().Truncate(time.Second).Add(time.Second); ; sec = sec.Add(time.Second) {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(sec)):
		}
		seq++
		fn(pps.Edge{Local: p.clock.At(sec), Seq: seq})
		if p.failAfter > 0 && int(seq) >= p.failAfter {
			return errors.New("device vanished")
		}
	}
}

func (p *flakyPulses) Backend() string          { return pps.BackendSimulated }
func (p *flakyPulses) Device() string           { return "flaky" }
func (p *flakyPulses) Precision() time.Duration { return time.Microsecond }
func (p *flakyPulses) Close() error             { return nil }

// The whole daemon in-process on simulated hardware: the PPS device cannot
// be opened at first and fails once after, and is reopened each time; the
// loop locks to the pulses, serves stratum 1, shows it in the snapshot and
// records what a replay reproduces.
func TestApplianceLocksThroughFlakyPPS(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	s := sim.DefaultSettings()
	clock := sim.NewWallClock(s, sim.NewOscillator(s, rand.New(rand.NewPCG(1, 2))))
	var opens atomic.Int32
	cfg := config.Default()
	cfg.Server.Listen = []string{"127.0.0.1:0"}
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Discipline = sim.DisciplineConfig(s)
	var rec bytes.Buffer
	var mu sync.Mutex
	var states []appliance.State
	a, err := appliance.New(appliance.Options{
		Config: cfg, Logger: slog.New(slog.DiscardHandler), Version: "test", Record: &rec,
		Hardware: appliance.Hardware{
			Clock: clock, ServeTime: clock.At, GPS: fakeReceiver{clock}, ClockAdjust: true,
			OpenPPS: func() (pps.Source, error) {
				switch opens.Add(1) {
				case 1:
					return nil, errors.New("no such device")
				case 2:
					return &flakyPulses{clock: clock, failAfter: 3}, nil
				}
				return &flakyPulses{clock: clock}, nil
			},
		},
		OnStateChange: func(st appliance.State, _ string) {
			mu.Lock()
			states = append(states, st)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	addrs, url, err := a.Listen()
	if err != nil || len(addrs) == 0 || url == "" || a.HTTPURL() != url {
		t.Fatalf("listen: %v %q %v", addrs, url, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for a.Snapshot().State != appliance.Locked && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	snap := a.Snapshot()
	cfg.PPS.CableDelayNs = 50
	if applied, restart, err := a.Reload(cfg); err != nil || len(restart) != 0 || !strings.Contains(appliance.DescribeReload(applied), "pps") {
		t.Errorf("reload through the loop: applied %q, restart %q, err %v", applied, restart, err)
	}
	healthy := a.Healthy()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if snap.State != appliance.Locked || snap.Source != "PPS" || snap.System.Stratum != 1 || !healthy {
		t.Fatalf("state %s, source %q, stratum %d, healthy %v", snap.State, snap.Source, snap.System.Stratum, healthy)
	}
	if n := opens.Load(); n < 3 {
		t.Errorf("the PPS device was opened %d times, want a retry and a reopen", n)
	}
	if snap.PPS.Backend != pps.BackendSimulated || snap.PPS.Device != "flaky" || snap.PPS.Samples == 0 || snap.GPS.State != "3D" {
		t.Errorf("pps %+v, gps %+v", snap.PPS, snap.GPS)
	}
	if len(snap.Peers) != 2 || snap.Peers[1].Name != "PPS" || snap.Peers[1].Tally != "*" {
		t.Errorf("reference clock rows %+v", snap.Peers)
	}
	if st := a.Served(); st.Stratum != 1 || st.RefID != ntp.RefPPS {
		t.Errorf("served %+v", st)
	}
	mu.Lock()
	if len(states) == 0 || states[len(states)-1] != appliance.Locked {
		t.Errorf("state changes %v", states)
	}
	mu.Unlock()
	res, err := appliance.Replay(bytes.NewReader(rec.Bytes()), &bytes.Buffer{}, nil)
	if err != nil || res.Mismatched != 0 || res.Recorded == 0 {
		t.Errorf("replay: %v, %d of %d inputs mismatched (%s)", err, res.Mismatched, res.Inputs, res.FirstMismatch)
	}
}
