package sim

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"stratum1/gps"
)

// simPort is the serial line to a simulated receiver: what the host writes
// reaches it, its answers come back, and bytes at a rate the two ends do
// not share come out as noise.
type simPort struct {
	mu    sync.Mutex
	rx    *UBXReceiver
	baud  int
	extra func() []byte // what else the receiver sends, read by read
}

func (p *simPort) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _, _, rxBaud := p.rx.State()
	if rxBaud != p.baud {
		return len(b), nil // the receiver hears noise
	}
	return p.rx.Write(b)
}

func (p *simPort) Read(b []byte) (int, error) {
	time.Sleep(5 * time.Millisecond)
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.rx.Replies()
	if p.extra != nil {
		out = append(out, p.extra()...)
	}
	if _, _, _, rxBaud := p.rx.State(); rxBaud != p.baud {
		for i := range out {
			out[i] ^= 0xA5
		}
	}
	return copy(b, out), nil
}

func (p *simPort) SetBaud(baud int) error {
	p.mu.Lock()
	p.baud = baud
	p.mu.Unlock()
	return nil
}

func TestConfigureSimulatedUblox(t *testing.T) {
	rx := NewUBXReceiver()
	port := &simPort{rx: rx, baud: 9600}
	var steps []string
	id, err := gps.Configure(context.Background(), port, 9600, gps.ConfigureOptions{Baud: 115200, Save: true, Timeout: 300 * time.Millisecond},
		func(s string) { steps = append(steps, s) })
	if err != nil {
		t.Fatalf("configure: %v\nsteps: %q", err, steps)
	}
	if id.Receiver != gps.ReceiverUblox || !strings.Contains(id.Version, "PROTVER=18.00") {
		t.Errorf("identity %+v", id)
	}
	dyn, flags, width, baud := rx.State()
	if dyn != 2 || flags != 0x77 || width != 100*time.Millisecond || baud != 115200 || !rx.TimTP() {
		t.Errorf("receiver left with dynModel %d, TP5 flags %#x, width %v, %d baud, TIM-TP %v", dyn, flags, width, baud, rx.TimTP())
	}
	for id, want := range map[byte]byte{0x04: 1, 0x00: 1, 0x02: 1, 0x03: 1, 0x08: 1, 0x01: 0, 0x05: 0} {
		if got := rx.Rate(id); got != want {
			t.Errorf("NMEA F0 %02X rate %d, want %d", id, got, want)
		}
	}
}

// A receiver that refuses one message is put back as it was.
func TestConfigureSimulatedUbloxNAK(t *testing.T) {
	rx := NewUBXReceiver()
	rx.Refuse(0x06, 0x31) // CFG-TP5
	dyn0, flags0, width0, baud0 := rx.State()
	_, err := gps.Configure(context.Background(), &simPort{rx: rx, baud: 9600}, 9600, gps.ConfigureOptions{Baud: 115200, Timeout: 300 * time.Millisecond}, nil)
	if err == nil || !strings.Contains(err.Error(), "refused CFG-TP5 (ACK-NAK)") || !strings.Contains(err.Error(), "restored") {
		t.Fatalf("err %v, want the refusal named and the earlier settings restored", err)
	}
	if dyn, flags, width, baud := rx.State(); dyn != dyn0 || flags != flags0 || width != width0 || baud != baud0 {
		t.Errorf("left changed: dynModel %d flags %#x width %v baud %d", dyn, flags, width, baud)
	}
}

// No answer, or another protocol: a clear message, nothing changed.
func TestConfigureSimulatedBadReceivers(t *testing.T) {
	nmea := func() []byte { return []byte(strings.Join(Sentences(time.Now()), "")) }
	for _, tc := range []struct {
		name   string
		port   func(rx *UBXReceiver) *simPort
		kind   string
		errHas string
	}{
		{"silent", func(rx *UBXReceiver) *simPort { rx.SetSilent(true); return &simPort{rx: rx, baud: 9600} }, "", "no data"},
		{"NMEA only", func(rx *UBXReceiver) *simPort {
			rx.SetSilent(true)
			return &simPort{rx: rx, baud: 9600, extra: nmea}
		}, "", "did not answer UBX-MON-VER or PMTK605"},
		{"wrong rate", func(rx *UBXReceiver) *simPort { return &simPort{rx: rx, baud: 4800, extra: nmea} }, "ublox", "unreadable bytes"},
		{"a u-blox asked as MediaTek", func(rx *UBXReceiver) *simPort { return &simPort{rx: rx, baud: 9600, extra: nmea} }, "mediatek", "did not answer PMTK605"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx := NewUBXReceiver()
			port := tc.port(rx)
			_, err := gps.Configure(context.Background(), port, port.baud, gps.ConfigureOptions{Receiver: tc.kind, Timeout: 200 * time.Millisecond}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), "nothing was changed") {
				t.Fatalf("err %v, want %q and nothing changed", err, tc.errHas)
			}
			if dyn, flags, _, baud := rx.State(); dyn != 0 || flags != 0x37 || baud != 9600 || rx.TimTP() {
				t.Errorf("changed: dynModel %d flags %#x baud %d", dyn, flags, baud)
			}
		})
	}
}

// The real-time simulated receiver answers `gps configure` on its pty and
// then sends TIM-TP with each second's NMEA.
func TestReceiverPTYConfigure(t *testing.T) {
	s := DefaultSettings()
	s.ReceiverClockHz = 48e6
	s.NMEALatency = 50 * time.Millisecond
	rx, err := NewReceiver(s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rx.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var port *gps.SerialConfigPort
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if port, err = gps.OpenConfigPort(rx.Device, 9600); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	defer port.Close()
	if _, err := gps.Configure(ctx, port, 9600, gps.ConfigureOptions{Timeout: time.Second}, nil); err != nil {
		t.Fatalf("configure over the pty: %v", err)
	}
	if !rx.UBX.TimTP() {
		t.Fatal("TIM-TP not turned on")
	}
	sp := gps.NewSplitter(0)
	var tps []gps.TimTP
	sp.OnUBX = func(f gps.UBXFrame, _ time.Time) {
		if tp, err := gps.ParseTimTP(f.Payload); err == nil && f.Name() == "TIM-TP" {
			tps = append(tps, tp)
		}
	}
	buf := make([]byte, 512)
	for deadline := time.Now().Add(5 * time.Second); len(tps) < 2 && time.Now().Before(deadline); {
		n, err := port.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		sp.Write(buf[:n], time.Time{}, func([]byte, time.Time) {})
	}
	if len(tps) < 2 || tps[1].TowMS-tps[0].TowMS != 1000 {
		t.Fatalf("TIM-TP received: %+v, want one a second", tps)
	}
	for _, tp := range tps {
		unix := 315964800 + int64(tp.Week)*7*86400 + int64(tp.TowMS/1000)
		if want := QErr(unix, s.ReceiverClockHz); tp.QErr != want || !tp.QErrGood || !tp.UTC {
			t.Errorf("TIM-TP %+v: qErr want %v, the pulse's", tp, want)
		}
	}
}

// [gps] configure = true: the reader sets the receiver up at connection,
// follows its new rate and hands its TIM-TP on.
func TestReaderConfiguresSimulatedReceiver(t *testing.T) {
	s := DefaultSettings()
	s.ReceiverClockHz = 48e6
	s.NMEALatency = 50 * time.Millisecond
	rx, err := NewReceiver(s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rx.Run(ctx) }()
	defer func() { cancel(); <-done }()

	r, err := gps.NewReader(gps.Config{Device: rx.Device, Baud: "9600", Configure: true, ConfigureBaud: 115200},
		gps.ReaderOptions{MinBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var qerrs []time.Duration
	r.SetTimTPHandler(func(tp gps.TimTP, _ time.Time) { mu.Lock(); qerrs = append(qerrs, tp.QErr); mu.Unlock() })
	epochs := make(chan gps.Epoch, 100)
	go func() { _ = r.Run(ctx, func(e gps.Epoch) { epochs <- e }) }()
	got := 0
	for got < 3 {
		select {
		case <-epochs:
			got++
		case <-ctx.Done():
			t.Fatalf("%d epochs before the deadline; status %+v", got, r.Status())
		}
	}
	mu.Lock()
	n := len(qerrs)
	mu.Unlock()
	dyn, _, _, baud := rx.UBX.State()
	if st := r.Status(); st.Baud != 115200 || baud != 115200 || dyn != 2 || n < 2 || st.UBX < 2 {
		t.Errorf("reader at %d baud, receiver at %d with dynModel %d, %d TIM-TP handed on; status %+v", st.Baud, baud, dyn, n, st)
	}
}
