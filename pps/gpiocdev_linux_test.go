//go:build linux && (arm || arm64 || amd64)

package pps

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestGPIOABI(t *testing.T) {
	if gpioV2GetLineIoctl != unix.GPIO_V2_GET_LINE_IOCTL {
		t.Errorf("GPIO_V2_GET_LINE_IOCTL = %#x, x/sys/unix says %#x", gpioV2GetLineIoctl, uint32(unix.GPIO_V2_GET_LINE_IOCTL))
	}
	if gpioV2GetLineIoctl != 0xc250b407 {
		t.Errorf("GPIO_V2_GET_LINE_IOCTL = %#x, want 0xc250b407 (_IOWR(0xB4, 0x07, 592 bytes))", gpioV2GetLineIoctl)
	}
	req := encodeLineRequest(18, "a-consumer-name-longer-than-thirty-two-bytes", gpioV2LineFlagInput|gpioV2LineFlagEdgeRising|gpioV2LineFlagEventClockRealtime)
	ne := binary.NativeEndian
	if len(req) != 592 || ne.Uint32(req[0:]) != 18 || ne.Uint32(req[560:]) != 1 || ne.Uint64(req[288:]) != 0x814 {
		t.Errorf("request: len %d offset %d num_lines %d flags %#x", len(req), ne.Uint32(req[0:]), ne.Uint32(req[560:]), ne.Uint64(req[288:]))
	}
	if req[256+31] != 0 {
		t.Error("consumer name not NUL-terminated within 32 bytes")
	}
}

func lineEvent(tsNs uint64, id, offset, seqno, lineSeqno uint32) []byte {
	b := make([]byte, 48)
	le := binary.LittleEndian
	le.PutUint64(b[0:], tsNs)
	le.PutUint32(b[8:], id)
	le.PutUint32(b[12:], offset)
	le.PutUint32(b[16:], seqno)
	le.PutUint32(b[20:], lineSeqno)
	return b
}

func TestGPIOCdevDecodeFromPipe(t *testing.T) {
	const s0 = uint64(1_740_000_000) * 1e9
	var stream []byte
	stream = append(stream, lineEvent(s0+1_234, 1, 18, 5, 5)...)
	stream = append(stream, lineEvent(s0+100_001_234, 2, 18, 6, 6)...)
	stream = append(stream, lineEvent(s0+1e9+999, 1, 18, 9, 9)...) // 7, 8 lost in an overflow
	stream = append(stream, lineEvent(s0+2e9, 7, 18, 10, 10)...)   // unknown id: skipped
	stream = append(stream, lineEvent(s0+3e9+5, 1, 18, 11, 11)...)
	want := []Edge{
		{Local: time.Unix(0, int64(s0+1_234)), Seq: 5},
		{Local: time.Unix(0, int64(s0+100_001_234)), Seq: 6, Falling: true},
		{Local: time.Unix(0, int64(s0+1e9+999)), Seq: 9},
		{Local: time.Unix(0, int64(s0+3e9+5)), Seq: 11},
	}
	for _, chunk := range []int{48, 7, 100, len(stream)} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for b := stream; len(b) > 0; {
				n := min(chunk, len(b))
				w.Write(b[:n])
				b = b[n:]
				time.Sleep(100 * time.Microsecond)
			}
			w.Write([]byte{1, 2, 3}) // a torn record at EOF
			w.Close()
		}()
		var got []Edge
		err = readLineEvents(context.Background(), r, func(e Edge) { got = append(got, e) })
		r.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("chunk %d: ended with %v, want unexpected EOF", chunk, err)
		}
		if len(got) != len(want) {
			t.Fatalf("chunk %d: got %d edges %v, want %d", chunk, len(got), got, len(want))
		}
		for i := range got {
			if !got[i].Local.Equal(want[i].Local) || got[i].Seq != want[i].Seq || got[i].Falling != want[i].Falling {
				t.Errorf("chunk %d: edge %d = %+v, want %+v", chunk, i, got[i], want[i])
			}
		}
	}
}

func TestGPIOCdevRunStopsOnCancel(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- readLineEvents(ctx, r, func(Edge) {}) }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after cancel: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("read did not stop on cancel")
	}
}

func TestOpenGPIOCdevNoChip(t *testing.T) {
	if _, err := os.Stat("/dev/gpiochip0"); err == nil {
		t.Skip("this machine has GPIO chips; the test is for the error path")
	}
	if _, err := openGPIOCdev("GPIO18", PolarityRising); err == nil {
		t.Error("opened GPIO18 on a machine without GPIO chips")
	}
}

func FuzzLineEventDecode(f *testing.F) {
	f.Add(make([]byte, 96))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d lineEventDecoder
		n := 0
		used := d.decode(b, func(Edge) { n++ })
		if used%48 != 0 || used > len(b) || len(b)-used >= 48 || n > used/48 {
			t.Fatalf("decode(%d bytes) used %d, %d edges", len(b), used, n)
		}
	})
}
