package server

import (
	"bytes"
	"log/slog"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"stratum1/server/internal/mmsg"
)

// TestOpenHWRefuses checks the set-up on what this machine surely has:
// loopback, whose timestamps are software only, and a missing interface.
// Neither gets hardware timestamps, and both say why.
func TestOpenHWRefuses(t *testing.T) {
	for _, name := range []string{"lo", "nosuchif0"} {
		var logs bytes.Buffer
		if hw := openHW([]string{name}, slog.New(slog.NewTextHandler(&logs, nil))); hw != nil {
			t.Fatalf("%s: hardware timestamps on: %+v", name, hw.ifs)
		}
		if !bytes.Contains(logs.Bytes(), []byte("no hardware timestamps")) || !bytes.Contains(logs.Bytes(), []byte(name)) {
			t.Errorf("%s: nothing logged:\n%s", name, logs.String())
		}
	}
	if hw := openHW(nil, slog.New(slog.DiscardHandler)); hw != nil {
		t.Fatal("hardware timestamps without any interface named")
	}
}

// TestResponderWithoutCardServes checks that naming an interface without
// hardware timestamps leaves the responder serving, in software.
func TestResponderWithoutCardServes(t *testing.T) {
	r, err := New(Config{Listen: []string{"127.0.0.1:0"}, Workers: 1, HWTimestamp: []string{"lo"}}, syncedState(),
		WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	if r.h.hw != nil {
		t.Fatal("loopback got hardware timestamps")
	}
	r.mu.Lock()
	for _, l := range r.listeners {
		for _, w := range l.workers {
			w.close()
		}
	}
	r.mu.Unlock()
}

// cmsgs builds a control buffer from (level, type, data) triples.
func cmsgs(parts ...any) []byte {
	b := make([]byte, 512)
	n := 0
	for i := 0; i < len(parts); i += 3 {
		data := parts[i+2].([]byte)
		d, sp := mmsg.PutCmsg(b[n:], parts[i].(int32), parts[i+1].(int32), len(data))
		copy(d, data)
		n += sp
	}
	return b[:n]
}

func timespecs(ts ...time.Time) []byte {
	var out []byte
	for _, t := range ts {
		var s unix.Timespec
		if !t.IsZero() {
			s = unix.NsecToTimespec(t.UnixNano())
		}
		out = append(out, unsafe.Slice((*byte)(unsafe.Pointer(&s)), unsafe.Sizeof(s))...)
	}
	return out
}

func stampErr() []byte {
	ee := unix.SockExtendedErr{Errno: uint32(unix.ENOMSG), Origin: unix.SO_EE_ORIGIN_TIMESTAMPING, Info: unix.SCM_TSTAMP_SND}
	return unsafe.Slice((*byte)(unsafe.Pointer(&ee)), unsafe.Sizeof(ee))
}

// fakeHW is one card with index 3 whose clock runs exactly 37 s behind the
// system clock.
func fakeHW() *hwStamps {
	hi := &hwIface{name: "eth0", index: 3}
	base := testNow.UnixNano()
	hi.clock.add(base-37e9, base)
	hi.clock.add(base+1e9-37e9, base+1e9)
	return &hwStamps{ifs: []*hwIface{hi}, log: slog.New(slog.DiscardHandler)}
}

func TestTxStampOf(t *testing.T) {
	sw := testNow.Add(5 * time.Microsecond)
	read := testNow.Add(time.Second) // what SCM_TIMESTAMPNS says beside a card's stamp
	card := testNow.Add(3*time.Microsecond - 37*time.Second)
	ip, recverr := int32(unix.IPPROTO_IP), int32(unix.IP_RECVERR)
	sol, ns, ting := int32(unix.SOL_SOCKET), int32(unix.SCM_TIMESTAMPNS), int32(unix.SCM_TIMESTAMPING)
	for _, tc := range []struct {
		name string
		ctl  []byte
		hw   *hwStamps
		want time.Time
	}{
		{"software, as SCM_TIMESTAMPNS", cmsgs(sol, ns, timespecs(sw), ip, recverr, stampErr()), nil, sw},
		{"software, as SCM_TIMESTAMPING", cmsgs(sol, ting, timespecs(sw, time.Time{}, time.Time{}), ip, recverr, stampErr()), nil, sw},
		{"not a timestamp", cmsgs(sol, ns, timespecs(sw)), nil, time.Time{}},
		{"card's, converted", cmsgs(sol, ns, timespecs(read), sol, ting, timespecs(time.Time{}, time.Time{}, card), ip, recverr, stampErr()), fakeHW(), testNow.Add(3 * time.Microsecond)},
		{"card's, no clock: unused", cmsgs(sol, ns, timespecs(read), sol, ting, timespecs(time.Time{}, time.Time{}, card), ip, recverr, stampErr()), nil, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := txStampOf(tc.ctl, tc.hw)
			if ok != !tc.want.IsZero() || (ok && !got.Equal(tc.want)) {
				t.Fatalf("txStampOf = %v, %v; want %v", got, ok, tc.want)
			}
		})
	}
}

// TestParseControlHardware checks that a request's hardware arrival time,
// converted from the card's clock, takes the place of the software one.
func TestParseControlHardware(t *testing.T) {
	w := &worker{h: &handler{state: syncedState(), hw: fakeHW()}}
	sw := testNow.Add(9 * time.Microsecond)
	card := testNow.Add(2*time.Microsecond - 37*time.Second)
	sol := int32(unix.SOL_SOCKET)
	ctl := cmsgs(sol, int32(unix.SCM_TIMESTAMPNS), timespecs(sw),
		sol, int32(unix.SCM_TIMESTAMPING), timespecs(time.Time{}, time.Time{}, card))
	rx, _, _, ok := w.parseControl(ctl)
	if !ok || !rx.Equal(testNow.Add(2*time.Microsecond)) {
		t.Fatalf("receive time %v, %v; want the card's %v", rx, ok, testNow.Add(2*time.Microsecond))
	}
	w.h.hw = nil
	if rx, _, _, ok := w.parseControl(ctl); !ok || !rx.Equal(sw) {
		t.Fatalf("without a card's clock: %v, %v; want the software %v", rx, ok, sw)
	}
}
