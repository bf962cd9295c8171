package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creack/pty"

	"stratum1/pps"
)

// Receiver is a simulated GPS receiver in real time: it writes NMEA for each
// second of the system clock into a pseudo-terminal, which the daemon reads
// through the same serial path as real hardware. Device is a stable symlink
// to the pty's terminal side, re-pointed when the receiver is plugged back.
type Receiver struct {
	s      Settings
	dir    string
	Device string
	start  time.Time
	log    *slog.Logger

	plugged atomic.Bool
	// UBX answers the host's UBX (gps configure) and says whether TIM-TP
	// is on.
	UBX *UBXReceiver
}

// NewReceiver creates the receiver's directory and its first pty.
func NewReceiver(s Settings, log *slog.Logger) (*Receiver, error) {
	dir, err := os.MkdirTemp("", "stratum1-sim-")
	if err != nil {
		return nil, fmt.Errorf("sim receiver: %w", err)
	}
	return &Receiver{s: s, dir: dir, Device: filepath.Join(dir, "gps"), start: time.Now(), log: log, UBX: NewUBXReceiver()}, nil
}

// Close removes the receiver's directory.
func (r *Receiver) Close() error { return os.RemoveAll(r.dir) }

// Plugged reports whether the serial device is present.
func (r *Receiver) Plugged() bool { return r.plugged.Load() }

// pty is one plugged-in receiver: the master side the simulator writes to,
// and the terminal side it keeps open for as long as the device exists, so
// that writes never fail while the daemon closes and reopens its end.
type ptyPair struct {
	master, tty *os.File
	wmu         sync.Mutex // one write at a time: NMEA and answers to the host
}

// write writes b to the host, giving up when nobody reads.
func (p *ptyPair) write(b []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.master.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	_, err := p.master.Write(b)
	return err
}

// serveHost answers what the host writes (UBX polls and configuration)
// until the pty closes.
func (r *Receiver) serveHost(p *ptyPair) {
	buf := make([]byte, 512)
	for {
		n, err := p.master.Read(buf)
		if err != nil {
			return
		}
		_, _ = r.UBX.Write(buf[:n])
		if out := r.UBX.Replies(); len(out) > 0 {
			_ = p.write(out)
		}
	}
}

func (p *ptyPair) Close() {
	p.master.Close()
	p.tty.Close()
}

// plug opens a new pty and points Device at it.
func (r *Receiver) plug() (*ptyPair, error) {
	master, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	tmp := r.Device + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(tty.Name(), tmp); err != nil {
		master.Close()
		tty.Close()
		return nil, err
	}
	if err := os.Rename(tmp, r.Device); err != nil {
		master.Close()
		tty.Close()
		return nil, err
	}
	r.plugged.Store(true)
	p := &ptyPair{master: master, tty: tty}
	go r.serveHost(p)
	return p, nil
}

// Run writes NMEA until ctx is done, unplugging (closing the pty) during
// the settings' unplug windows.
func (r *Receiver) Run(ctx context.Context) error {
	dev, err := r.plug()
	if err != nil {
		return err
	}
	defer func() {
		if dev != nil {
			dev.Close()
		}
	}()
	for sec := time.Now().Truncate(time.Second).Add(time.Second); ; sec = sec.Add(time.Second) {
		at := sec.Add(r.s.NMEALatency)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(at)):
		}
		run := sec.Sub(r.start)
		unplugged := inAny(r.s.Unplugged, run)
		switch {
		case unplugged && dev != nil:
			r.log.Warn("simulated receiver unplugged")
			dev.Close()
			dev = nil
			r.plugged.Store(false)
			_ = os.Remove(r.Device)
			continue
		case unplugged:
			continue
		case dev == nil:
			if dev, err = r.plug(); err != nil {
				return err
			}
			r.log.Warn("simulated receiver plugged back")
		}
		label := sec.UTC()
		if inAny(r.s.WrongSecond, run) {
			label = label.Add(time.Second)
		}
		// A real receiver does not wait for its reader: when nobody reads
		// (the daemon is between reconnects) the line's buffer fills and
		// the rest of this second is lost, as on a serial wire.
		var out []byte
		for _, line := range append(Sentences(label), SkySentences(label)...) {
			out = append(out, line...)
		}
		if r.UBX.TimTP() {
			// The next pulse's quantisation error, before that pulse.
			next := sec.Add(time.Second)
			out = append(out, TimTPFrame(next, QErr(next.Unix(), r.s.ReceiverClockHz))...)
		}
		if err := dev.write(out); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			r.log.Debug("simulated receiver write", "err", err)
		}
	}
}

// PulseSource is a simulated PPS input in real time: an edge at every second
// of the system clock, stamped by the simulated clock with jitter.
type PulseSource struct {
	s     Settings
	clock *WallClock
	rng   *rand.Rand
	start time.Time
}

// NewPulseSource returns pulses stamped by clock.
func NewPulseSource(s Settings, clock *WallClock) *PulseSource {
	return &PulseSource{s: s, clock: clock, rng: rand.New(rand.NewPCG(uint64(s.Seed), 0x5eed)), start: time.Now()}
}

// Run delivers edges until ctx is done. It implements pps.Source.
func (p *PulseSource) Run(ctx context.Context, fn func(pps.Edge)) error {
	var seq uint64
	for sec := time.Now().Truncate(time.Second).Add(time.Second); ; sec = sec.Add(time.Second) {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(sec)):
		}
		if inAny(p.s.Outages, sec.Sub(p.start)) || p.s.DropPulses > 0 && p.rng.Float64() < p.s.DropPulses {
			continue
		}
		seq++
		jitter := time.Duration(p.rng.NormFloat64()*float64(p.s.PPSJitter)) + p.s.PPSOutliers.latency(p.rng)
		q := QErr(sec.Unix(), p.s.ReceiverClockHz) // the pulse leaves on the receiver's clock tick
		fn(pps.Edge{Local: p.clock.At(sec.Add(q + jitter)), Seq: seq})
	}
}

// Backend names the simulated capture.
func (p *PulseSource) Backend() string { return pps.BackendSimulated }

// Device names the simulated input.
func (p *PulseSource) Device() string { return "simulated" }

// Precision is the simulated capture error.
func (p *PulseSource) Precision() time.Duration { return max(p.s.PPSJitter, time.Nanosecond) }

// Close does nothing.
func (p *PulseSource) Close() error { return nil }

func inAny(ws []Window, t time.Duration) bool {
	for _, w := range ws {
		if w.Contains(t) {
			return true
		}
	}
	return false
}
