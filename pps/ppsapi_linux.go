//go:build linux && (arm || arm64 || amd64)

package pps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ppsAPIPrecision is the capture error of a kernel PPS timestamp taken in
// the interrupt handler of a Raspberry Pi: interrupt latency jitter of a few
// microseconds.
const ppsAPIPrecision = 2 * time.Microsecond

// fetchTimeout bounds each PPS_FETCH so that Run notices cancellation.
const fetchTimeout = 500 * time.Millisecond

// fetcher performs PPS_FETCH; tests substitute a pipe for the device.
type fetcher interface {
	fetch(fd *ppsFData, timeout time.Duration) error
}

type ppsAPISource struct {
	dev     string
	f       *os.File
	fetcher fetcher
	mode    int32 // capture bits in use
}

// openPPSAPI opens dev and sets it to capture the edges polarity asks for.
func openPPSAPI(dev, polarity string) (*ppsAPISource, error) {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if errors.Is(err, os.ErrPermission) {
		f, err = os.OpenFile(dev, os.O_RDONLY, 0)
	}
	if errors.Is(err, os.ErrPermission) {
		return nil, fmt.Errorf("%w (the group comes from the package's udev rule: "+
			"`udevadm trigger --subsystem-match=pps` applies it)", err)
	}
	if err != nil {
		return nil, err // names the device already
	}
	s := &ppsAPISource{dev: dev, f: f}
	s.fetcher = ioctlFetcher{f}
	if err := s.setup(polarity); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", dev, err)
	}
	return s, nil
}

func (s *ppsAPISource) ioctl(req uintptr, arg unsafe.Pointer) error {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if cerr := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	}); cerr != nil {
		return cerr
	}
	if errno != 0 {
		return errno
	}
	return nil
}

func (s *ppsAPISource) setup(polarity string) error {
	var caps int32
	if err := s.ioctl(ppsGetCap, unsafe.Pointer(&caps)); err != nil {
		return fmt.Errorf("PPS_GETCAP (not a PPS device?): %w", err)
	}
	if caps&ppsCanWait == 0 {
		return errors.New("device cannot wait for events (no PPS_CANWAIT)")
	}
	want := wantedCapture(polarity, caps)
	if want == 0 {
		return fmt.Errorf("device cannot capture the %s edge (capabilities %#x)", polarity, caps)
	}
	var params ppsKParams
	if err := s.ioctl(ppsGetParams, unsafe.Pointer(&params)); err != nil {
		return fmt.Errorf("PPS_GETPARAMS: %w", err)
	}
	if params.Mode&want == want {
		s.mode = want
		return nil
	}
	params.APIVersion = ppsAPIVers1
	params.Mode = params.Mode&^ppsCaptureBoth | want | ppsTSFmtTSpec
	if err := s.ioctl(ppsSetParams, unsafe.Pointer(&params)); err != nil {
		// Setting parameters needs CAP_SYS_TIME; reading does not.
		return fmt.Errorf("PPS_SETPARAMS mode %#x: %w", params.Mode, err)
	}
	s.mode = want
	return nil
}

// wantedCapture maps a polarity to the capture bits the device supports.
func wantedCapture(polarity string, caps int32) int32 {
	switch polarity {
	case PolarityFalling:
		return caps & ppsCaptureClear
	case PolarityAuto:
		if caps&ppsCaptureBoth == ppsCaptureBoth {
			return ppsCaptureBoth
		}
		return caps & ppsCaptureAssert
	default:
		return caps & ppsCaptureAssert
	}
}

type ioctlFetcher struct{ f *os.File }

func (x ioctlFetcher) fetch(fd *ppsFData, timeout time.Duration) error {
	fd.Timeout = ppsKTime{Sec: int64(timeout / time.Second), Nsec: int32(timeout % time.Second)}
	s := ppsAPISource{f: x.f}
	for {
		err := s.ioctl(ppsFetch, unsafe.Pointer(fd))
		if err != unix.EINTR {
			return err
		}
	}
}

func (s *ppsAPISource) Backend() string          { return BackendPPSAPI }
func (s *ppsAPISource) Device() string           { return s.dev }
func (s *ppsAPISource) Precision() time.Duration { return ppsAPIPrecision }
func (s *ppsAPISource) Close() error             { return s.f.Close() }

// Run fetches until ctx is done. The first fetch, without timeout, only
// primes the sequence numbers, so an old edge is not reported as new.
func (s *ppsAPISource) Run(ctx context.Context, fn func(Edge)) error {
	return runFetch(ctx, s.fetcher, s.mode, fn)
}

func runFetch(ctx context.Context, f fetcher, mode int32, fn func(Edge)) error {
	var fd ppsFData
	if err := f.fetch(&fd, 0); err != nil {
		return fmt.Errorf("PPS_FETCH: %w", err)
	}
	t := ppsTracker{mode: mode}
	t.prime(&fd.Info)
	for ctx.Err() == nil {
		err := f.fetch(&fd, fetchTimeout)
		if err == unix.ETIMEDOUT {
			continue
		}
		if err != nil {
			return fmt.Errorf("PPS_FETCH: %w", err)
		}
		t.decode(&fd.Info, fn)
	}
	return nil
}

// ppsTracker turns successive pps_kinfo snapshots into edges: an edge is
// new when its sequence number moved. The kernel keeps only the latest
// timestamp of each kind, so a jump of more than one is lost edges; Seq is
// widened to 64 bits so that the gap shows.
type ppsTracker struct {
	mode                int32
	assertSeq, clearSeq uint32
	assert64, clear64   uint64
}

func (t *ppsTracker) prime(in *ppsKInfo) {
	t.assertSeq, t.clearSeq = in.AssertSequence, in.ClearSequence
	t.assert64, t.clear64 = uint64(in.AssertSequence), uint64(in.ClearSequence)
}

func (t *ppsTracker) decode(in *ppsKInfo, fn func(Edge)) {
	var edges [2]Edge
	n := 0
	if t.mode&ppsCaptureAssert != 0 && in.AssertSequence != t.assertSeq {
		t.assert64 += uint64(in.AssertSequence - t.assertSeq)
		t.assertSeq = in.AssertSequence
		if e, ok := ktimeEdge(in.AssertTu, t.assert64, false); ok {
			edges[n] = e
			n++
		}
	}
	if t.mode&ppsCaptureClear != 0 && in.ClearSequence != t.clearSeq {
		t.clear64 += uint64(in.ClearSequence - t.clearSeq)
		t.clearSeq = in.ClearSequence
		if e, ok := ktimeEdge(in.ClearTu, t.clear64, true); ok {
			edges[n] = e
			n++
		}
	}
	if n == 2 && edges[1].Local.Before(edges[0].Local) {
		edges[0], edges[1] = edges[1], edges[0]
	}
	for _, e := range edges[:n] {
		fn(e)
	}
}

func ktimeEdge(kt ppsKTime, seq uint64, falling bool) (Edge, bool) {
	if kt.Flags&ppsTimeInvalid != 0 || kt.Sec <= 0 || kt.Nsec < 0 || kt.Nsec >= 1e9 {
		return Edge{}, false
	}
	return Edge{Local: time.Unix(kt.Sec, int64(kt.Nsec)), Seq: seq, Falling: falling}, true
}
