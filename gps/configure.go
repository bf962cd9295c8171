package gps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Receiver kinds Configure knows.
const (
	ReceiverUblox    = "ublox"
	ReceiverMediaTek = "mediatek"
)

// ConfigureOptions say how to set a receiver up for timing.
type ConfigureOptions struct {
	// Receiver is ReceiverUblox or ReceiverMediaTek; "" asks the receiver
	// (UBX-MON-VER, then PMTK605). A plan without a device needs it.
	Receiver string
	// Baud, if not 0, is the rate the receiver is moved to (last, so that
	// every earlier answer arrives at the rate both ends know).
	Baud int
	// Save writes the configuration to the receiver's non-volatile memory
	// (u-blox CFG-CFG); without it the receiver forgets it at power-off.
	Save bool
	// PulseWidth of the time pulse; default 100ms.
	PulseWidth time.Duration
	// Timeout for each answer; default 1.5s.
	Timeout time.Duration
}

func (o *ConfigureOptions) defaults() error {
	if o.PulseWidth <= 0 {
		o.PulseWidth = 100 * time.Millisecond
	}
	if o.PulseWidth >= time.Second || o.PulseWidth < time.Millisecond {
		return fmt.Errorf("pulse width %v: want 1ms to 999ms", o.PulseWidth)
	}
	if o.Timeout <= 0 {
		o.Timeout = 1500 * time.Millisecond
	}
	if o.Baud != 0 && (o.Baud < 4800 || o.Baud > 921600) {
		return fmt.Errorf("baud %d: want 4800 to 921600", o.Baud)
	}
	return nil
}

// ConfigStep is one message of a configuration.
type ConfigStep struct {
	Desc      string // what it sets
	Bytes     []byte // exactly what is written to the receiver
	BaudAfter int    // the rate both ends use after it; 0 unchanged

	frame   UBXFrame // u-blox: the message, for its acknowledgement
	pmtkCmd string   // MediaTek: the command number, for PMTK001
}

// ConfigurePlan returns the messages that set a receiver of kind
// o.Receiver up for timing, in order.
func ConfigurePlan(o ConfigureOptions) ([]ConfigStep, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	switch o.Receiver {
	case ReceiverUblox:
		return ubxPlan(o), nil
	case ReceiverMediaTek:
		if o.Save {
			return nil, errors.New("--save is for u-blox receivers: MediaTek modules keep PMTK settings in backup RAM while their backup supply lasts")
		}
		return pmtkPlan(o), nil
	}
	return nil, fmt.Errorf("receiver %q: want %s or %s", o.Receiver, ReceiverUblox, ReceiverMediaTek)
}

// ConfigPort is the serial line to a receiver. Reads return within a short
// time (a serial read timeout), with 0 bytes when nothing came.
type ConfigPort interface {
	io.ReadWriter
	SetBaud(baud int) error
}

// Identity is what a receiver says it is.
type Identity struct {
	Receiver string // ReceiverUblox or ReceiverMediaTek
	Version  string // software and hardware versions, extensions
}

// Configure identifies the receiver on port (at rate baud) and sends it
// the plan, each message acknowledged before the next. When the receiver
// refuses a message or does not answer, the settings changed so far are
// set back from what it reported before (u-blox: every one; MediaTek: the
// output rates and fix interval, and the error names the PPS settings it
// cannot be asked for), and the error says which message failed.
// progress, if set, is told each step.
func Configure(ctx context.Context, port ConfigPort, baud int, o ConfigureOptions, progress func(string)) (Identity, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if err := o.defaults(); err != nil {
		return Identity{}, err
	}
	x := newExchange(ctx, port, o.Timeout)
	id, err := x.identify(o.Receiver, baud)
	if err != nil {
		return Identity{}, err
	}
	progress(fmt.Sprintf("receiver: %s %s", id.Receiver, id.Version))
	o.Receiver = id.Receiver
	steps, err := ConfigurePlan(o)
	if err != nil {
		return id, err
	}
	if id.Receiver == ReceiverUblox {
		return id, x.runUBX(steps, baud, progress)
	}
	return id, x.runPMTK(steps, baud, progress)
}

// exchange reads a receiver's answers: UBX frames and NMEA lines.
type exchange struct {
	ctx     context.Context
	port    ConfigPort
	timeout time.Duration
	sp      *Splitter
	frames  []UBXFrame
	lines   []string
	buf     []byte

	heardNMEA, heardUBX, heardBytes int
}

func newExchange(ctx context.Context, port ConfigPort, timeout time.Duration) *exchange {
	x := &exchange{ctx: ctx, port: port, timeout: timeout, buf: make([]byte, 512)}
	x.resetInput()
	return x
}

// resetInput drops a partly read line or frame (bytes at another rate).
func (x *exchange) resetInput() {
	x.sp = NewSplitter(0)
	x.sp.OnUBX = func(f UBXFrame, _ time.Time) {
		x.heardUBX++
		f.Payload = append([]byte(nil), f.Payload...)
		x.frames = append(x.frames, f)
	}
}

// await reads until a frame or line satisfies match, or the timeout.
func (x *exchange) await(match func(f *UBXFrame, line string) bool) (bool, error) {
	deadline := time.Now().Add(x.timeout)
	emit := func(line []byte, _ time.Time) {
		if ChecksumOK(line) {
			x.heardNMEA++
			x.lines = append(x.lines, string(line))
		}
	}
	for {
		for len(x.frames) > 0 {
			f := x.frames[0]
			x.frames = x.frames[1:]
			if match(&f, "") {
				return true, nil
			}
		}
		for len(x.lines) > 0 {
			l := x.lines[0]
			x.lines = x.lines[1:]
			if match(nil, l) {
				return true, nil
			}
		}
		if err := x.ctx.Err(); err != nil {
			return false, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		n, err := x.port.Read(x.buf)
		if err != nil {
			return false, fmt.Errorf("read: %w", err)
		}
		x.heardBytes += n
		x.sp.Write(x.buf[:n], time.Time{}, emit)
	}
}

// send writes b, first dropping answers still queued.
func (x *exchange) send(b []byte) error {
	x.frames, x.lines = x.frames[:0], x.lines[:0]
	if _, err := x.port.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// identify asks the receiver what it is: UBX-MON-VER, then PMTK605.
func (x *exchange) identify(kind string, baud int) (Identity, error) {
	if kind == "" || kind == ReceiverUblox {
		if err := x.send(ubxPoll(ubxClassMON, ubxMONVer).Encode()); err != nil {
			return Identity{}, err
		}
		var id Identity
		ok, err := x.await(func(f *UBXFrame, _ string) bool {
			if f == nil || f.Class != ubxClassMON || f.ID != ubxMONVer {
				return false
			}
			sw, hw, ext, err := ParseMonVer(f.Payload)
			if err != nil {
				return false
			}
			id = Identity{Receiver: ReceiverUblox, Version: strings.Join(append([]string{sw, hw}, ext...), ", ")}
			return true
		})
		if err != nil || ok {
			return id, err
		}
	}
	if kind == "" || kind == ReceiverMediaTek {
		if err := x.send(pmtk(pmtkQueryRelease)); err != nil {
			return Identity{}, err
		}
		var id Identity
		ok, err := x.await(func(_ *UBXFrame, line string) bool {
			if !strings.HasPrefix(line, "$PMTK705,") {
				return false
			}
			id = Identity{Receiver: ReceiverMediaTek, Version: strings.TrimPrefix(trimChecksum(line), "$PMTK705,")}
			return true
		})
		if err != nil || ok {
			return id, err
		}
	}
	asked := "UBX-MON-VER or PMTK605"
	switch kind {
	case ReceiverUblox:
		asked = "UBX-MON-VER"
	case ReceiverMediaTek:
		asked = "PMTK605"
	}
	switch {
	case x.heardNMEA > 0 || x.heardUBX > 0:
		return Identity{}, fmt.Errorf("the receiver sends at %d baud but did not answer %s: not that kind of receiver, or the line to its input (the Pi's TX to its RX) is not connected; nothing was changed", baud, asked)
	case x.heardBytes > 0:
		return Identity{}, fmt.Errorf("only unreadable bytes at %d baud and no answer to %s: a wrong rate or another protocol; nothing was changed", baud, asked)
	}
	return Identity{}, fmt.Errorf("no answer to %s and no data at %d baud: is the receiver connected and powered? nothing was changed", asked, baud)
}
