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
	"unsafe"

	"golang.org/x/sys/unix"
)

// pipeFetcher stands in for /dev/ppsN: each fetch reads one struct
// pps_fdata, as the kernel would write it, from a pipe.
type pipeFetcher struct{ r io.Reader }

func (p pipeFetcher) fetch(fd *ppsFData, timeout time.Duration) error {
	b := unsafe.Slice((*byte)(unsafe.Pointer(fd)), unsafe.Sizeof(*fd))
	_, err := io.ReadFull(p.r, b)
	return err
}

// kinfoRecord lays out a struct pps_fdata by the kernel's offsets, not by
// the Go struct's, so a layout mistake in ppsKInfo fails the test.
func kinfoRecord(assertSeq, clearSeq uint32, assertNs, clearNs int64, flags uint32) []byte {
	b := make([]byte, 64)
	le := binary.LittleEndian
	le.PutUint32(b[0:], assertSeq)
	le.PutUint32(b[4:], clearSeq)
	le.PutUint64(b[8:], uint64(assertNs/1e9))
	le.PutUint32(b[16:], uint32(assertNs%1e9))
	le.PutUint32(b[20:], flags)
	le.PutUint64(b[24:], uint64(clearNs/1e9))
	le.PutUint32(b[32:], uint32(clearNs%1e9))
	le.PutUint32(b[40:], ppsCaptureBoth|ppsTSFmtTSpec)
	return b
}

func TestPPSAPIDecodeFromPipe(t *testing.T) {
	const s0 = int64(1_740_000_000) * 1e9
	records := [][]byte{
		kinfoRecord(10, 7, s0-1e9+123, s0-9e8+5, 0),                // prime: old edges, not reported
		kinfoRecord(11, 7, s0+1_000_250, s0-9e8+5, 0),              // assert
		kinfoRecord(11, 8, s0+1_000_250, s0+100_000_000, 0),        // clear
		kinfoRecord(14, 8, s0+3e9+999_999_999, s0+100_000_000, 0),  // assert after a lost two
		kinfoRecord(15, 8, s0+4e9, s0+100_000_000, ppsTimeInvalid), // invalid time: skipped
		kinfoRecord(16, 9, s0+5e9+17, s0+5e9+100_000_017, 0),       // both at once
		kinfoRecord(0, 9, s0+6e9+1, s0+5e9+100_000_017, 0),         // counter moved backwards: taken modulo 2^32
	}
	tests := []struct {
		name string
		mode int32
		want []Edge
	}{
		{"assert", ppsCaptureAssert, []Edge{
			{Local: time.Unix(0, s0+1_000_250), Seq: 11},
			{Local: time.Unix(0, s0+3e9+999_999_999), Seq: 14},
			{Local: time.Unix(0, s0+5e9+17), Seq: 16},
			{Local: time.Unix(0, s0+6e9+1), Seq: 16 + (1<<32 - 16)},
		}},
		{"both", ppsCaptureBoth, []Edge{
			{Local: time.Unix(0, s0+1_000_250), Seq: 11},
			{Local: time.Unix(0, s0+100_000_000), Seq: 8, Falling: true},
			{Local: time.Unix(0, s0+3e9+999_999_999), Seq: 14},
			{Local: time.Unix(0, s0+5e9+17), Seq: 16},
			{Local: time.Unix(0, s0+5e9+100_000_017), Seq: 9, Falling: true},
			{Local: time.Unix(0, s0+6e9+1), Seq: 16 + (1<<32 - 16)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			go func() {
				for _, rec := range records {
					w.Write(rec)
				}
				w.Close()
			}()
			var got []Edge
			err = runFetch(context.Background(), pipeFetcher{r}, tc.mode, func(e Edge) { got = append(got, e) })
			if !errors.Is(err, io.EOF) {
				t.Errorf("Run ended with %v, want the pipe's EOF", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d edges %v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if !got[i].Local.Equal(tc.want[i].Local) || got[i].Seq != tc.want[i].Seq || got[i].Falling != tc.want[i].Falling {
					t.Errorf("edge %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

type timeoutFetcher struct{ calls int }

func (f *timeoutFetcher) fetch(fd *ppsFData, timeout time.Duration) error {
	f.calls++
	if timeout == 0 {
		return nil
	}
	time.Sleep(time.Millisecond)
	return unix.ETIMEDOUT
}

func TestPPSAPIRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	f := &timeoutFetcher{}
	if err := runFetch(ctx, f, ppsCaptureAssert, func(Edge) { t.Error("edge from a timed-out fetch") }); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if f.calls < 2 {
		t.Errorf("%d fetches: timeouts did not loop", f.calls)
	}
}

func TestWantedCapture(t *testing.T) {
	for _, tc := range []struct {
		pol  string
		caps int32
		want int32
	}{
		{PolarityRising, ppsCaptureBoth | ppsCanWait, ppsCaptureAssert},
		{PolarityFalling, ppsCaptureBoth | ppsCanWait, ppsCaptureClear},
		{PolarityFalling, ppsCaptureAssert | ppsCanWait, 0},
		{PolarityAuto, ppsCaptureBoth, ppsCaptureBoth},
		{PolarityAuto, ppsCaptureAssert, ppsCaptureAssert},
	} {
		if got := wantedCapture(tc.pol, tc.caps); got != tc.want {
			t.Errorf("wantedCapture(%s, %#x) = %#x, want %#x", tc.pol, tc.caps, got, tc.want)
		}
	}
}

func TestOpenPPSAPINotADevice(t *testing.T) {
	if _, err := openPPSAPI("/dev/null", PolarityRising); err == nil {
		t.Error("opened /dev/null as a PPS device")
	}
	if _, err := openPPSAPI("/dev/pps-does-not-exist", PolarityRising); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing device: %v", err)
	}
}
