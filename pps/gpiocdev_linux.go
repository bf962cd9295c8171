//go:build linux && (arm || arm64 || amd64)

package pps

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
	"periph.io/x/host/v3/gpioioctl"
)

// The GPIO character device uAPI v2, from linux/gpio.h. Every field of
// these structures is naturally aligned and they contain no pointers, so
// the layout is the same on all three targets; the request is encoded by
// offset rather than through a Go struct.
const (
	gpioV2LineFlagInput              = 1 << 2
	gpioV2LineFlagEdgeRising         = 1 << 4
	gpioV2LineFlagEdgeFalling        = 1 << 5
	gpioV2LineFlagEventClockRealtime = 1 << 11

	gpioV2LineEventRisingEdge  = 1
	gpioV2LineEventFallingEdge = 2

	gpioV2LineRequestSize = 592 // struct gpio_v2_line_request
	gpioReqConsumer       = 256 // after __u32 offsets[64]
	gpioReqConfigFlags    = 288 // struct gpio_v2_line_config: __aligned_u64 flags first
	gpioReqNumLines       = 560
	gpioReqFD             = 588
	gpioMaxNameSize       = 32

	gpioV2LineEventSize = 48 // struct gpio_v2_line_event
)

var gpioV2GetLineIoctl = ioc(iocRead|iocWrite, 0xb4, 0x07, gpioV2LineRequestSize)

// gpioCdevPrecision: the timestamp is taken in the GPIO interrupt handler,
// as pps-gpio does, so it is as good as the PPS API's.
const gpioCdevPrecision = 2 * time.Microsecond

// encodeLineRequest builds a struct gpio_v2_line_request for one line.
func encodeLineRequest(offset uint32, consumer string, flags uint64) []byte {
	b := make([]byte, gpioV2LineRequestSize)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], offset)
	copy(b[gpioReqConsumer:gpioReqConsumer+gpioMaxNameSize-1], consumer)
	ne.PutUint64(b[gpioReqConfigFlags:], flags)
	ne.PutUint32(b[gpioReqNumLines:], 1)
	return b
}

func edgeFlags(polarity string) uint64 {
	switch polarity {
	case PolarityFalling:
		return gpioV2LineFlagEdgeFalling
	case PolarityAuto:
		return gpioV2LineFlagEdgeRising | gpioV2LineFlagEdgeFalling
	default:
		return gpioV2LineFlagEdgeRising
	}
}

// findLine resolves a pin name such as GPIO18 to its chip device and line
// offset, through periph.io's registry of the character devices' lines.
func findLine(pin string) (chip string, offset uint32, err error) {
	if _, err := host.Init(); err != nil {
		return "", 0, fmt.Errorf("periph host init: %w", err)
	}
	if len(gpioioctl.Chips) == 0 {
		return "", 0, errors.New("no /dev/gpiochip* devices")
	}
	for _, c := range gpioioctl.Chips {
		if l := c.ByName(pin); l != nil {
			return c.Path(), uint32(l.Number()), nil
		}
	}
	// gpioreg also knows aliases and numbers; find which chip owns the line.
	if p := gpioreg.ByName(pin); p != nil {
		for _, c := range gpioioctl.Chips {
			for _, l := range c.Lines() {
				if l.Name() == p.Name() {
					return c.Path(), uint32(l.Number()), nil
				}
			}
		}
	}
	return "", 0, fmt.Errorf("no GPIO line named %s", pin)
}

type gpioCdevSource struct {
	pin string
	f   *os.File
}

// openGPIOCdev requests the pin's line for edge events with realtime
// timestamps (Linux 5.11 or later).
func openGPIOCdev(pin, polarity string) (*gpioCdevSource, error) {
	chip, offset, err := findLine(pin)
	if err != nil {
		return nil, err
	}
	cf, err := os.OpenFile(chip, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", chip, err)
	}
	defer cf.Close()
	req := encodeLineRequest(offset, "stratum1-pps", gpioV2LineFlagInput|edgeFlags(polarity)|gpioV2LineFlagEventClockRealtime)
	rc, err := cf.SyscallConn()
	if err != nil {
		return nil, err
	}
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, gpioV2GetLineIoctl, uintptr(unsafe.Pointer(&req[0])))
	}); err != nil {
		return nil, err
	}
	if errno != 0 {
		if errno == unix.EINVAL {
			return nil, fmt.Errorf("%s line %d: GPIO_V2_GET_LINE with realtime timestamps: %w (kernel before 5.11?)", chip, offset, errno)
		}
		return nil, fmt.Errorf("%s line %d: GPIO_V2_GET_LINE: %w", chip, offset, errno)
	}
	fd := int(int32(binary.NativeEndian.Uint32(req[gpioReqFD:])))
	// Non-blocking, so that the runtime poller can interrupt the read on cancel.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("line fd: %w", err)
	}
	return &gpioCdevSource{pin: pin, f: os.NewFile(uintptr(fd), fmt.Sprintf("%s:%d", chip, offset))}, nil
}

func (s *gpioCdevSource) Backend() string          { return BackendGPIOCdev }
func (s *gpioCdevSource) Device() string           { return s.pin }
func (s *gpioCdevSource) Precision() time.Duration { return gpioCdevPrecision }
func (s *gpioCdevSource) Close() error             { return s.f.Close() }

func (s *gpioCdevSource) Run(ctx context.Context, fn func(Edge)) error {
	return readLineEvents(ctx, s.f, fn)
}

// readLineEvents decodes struct gpio_v2_line_event records from f until
// ctx is done. The kernel returns whole records; a pipe may not, so a
// partial record is kept for the next read.
func readLineEvents(ctx context.Context, f *os.File, fn func(Edge)) error {
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var d lineEventDecoder
	buf := make([]byte, 16*gpioV2LineEventSize)
	have := 0
	for {
		n, err := f.Read(buf[have:])
		have += n
		used := d.decode(buf[:have], fn)
		have = copy(buf, buf[used:have])
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("read line events: %w", io.ErrUnexpectedEOF)
			}
			return fmt.Errorf("read line events: %w", err)
		}
	}
}

// lineEventDecoder widens the 32-bit line_seqno so that gaps (events the
// kernel dropped when its buffer overflowed) stay visible in Edge.Seq.
type lineEventDecoder struct {
	started bool
	last    uint32
	seq     uint64
}

// decode reports the edges of the whole records in b and how many bytes
// they took.
func (d *lineEventDecoder) decode(b []byte, fn func(Edge)) int {
	ne := binary.NativeEndian
	used := 0
	for len(b)-used >= gpioV2LineEventSize {
		r := b[used : used+gpioV2LineEventSize]
		used += gpioV2LineEventSize
		ts := ne.Uint64(r[0:])
		id := ne.Uint32(r[8:])
		lineSeq := ne.Uint32(r[20:])
		if d.started {
			d.seq += uint64(lineSeq - d.last)
		} else {
			d.seq, d.started = uint64(lineSeq), true
		}
		d.last = lineSeq
		if (id != gpioV2LineEventRisingEdge && id != gpioV2LineEventFallingEdge) || ts == 0 || ts > 1<<62 {
			continue
		}
		fn(Edge{Local: time.Unix(0, int64(ts)), Seq: d.seq, Falling: id == gpioV2LineEventFallingEdge})
	}
	return used
}
