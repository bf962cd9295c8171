//go:build linux

package gps

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// fakeReceiver writes NMEA into a pseudo-terminal at the pace of a 9600
// baud line. Like a real UART, it only makes sense at the rate the reader
// has set on its end: at any other rate the bytes come out scrambled.
type fakeReceiver struct {
	master, slave *os.File
	done          chan struct{}
	stopOnce      sync.Once
}

const fakeBaud = 9600

func startFakeReceiver(t *testing.T, link string, start time.Time) *fakeReceiver {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	makeRaw(t, slave)
	os.Remove(link)
	if err := os.Symlink(slave.Name(), link); err != nil {
		t.Fatal(err)
	}
	f := &fakeReceiver{master: master, slave: slave, done: make(chan struct{})}
	go f.run(start)
	return f
}

// makeRaw stops the line discipline from echoing or editing, as a real
// serial line would not, before the reader opens its end.
func makeRaw(t *testing.T, f *os.File) {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Iflag &^= unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
}

// rate is the baud rate the reader set on the slave side.
func (f *fakeReceiver) rate() int {
	tio, err := unix.IoctlGetTermios(int(f.slave.Fd()), unix.TCGETS)
	if err != nil {
		return 0
	}
	switch tio.Cflag & unix.CBAUD {
	case unix.B4800:
		return 4800
	case unix.B9600:
		return 9600
	case unix.B19200:
		return 19200
	case unix.B38400:
		return 38400
	case unix.B57600:
		return 57600
	case unix.B115200:
		return 115200
	}
	return -1
}

func (f *fakeReceiver) run(start time.Time) {
	defer close(f.done)
	byteTime := time.Second * 10 / fakeBaud // 8N1: ten bits a byte
	for sec := start; ; sec = sec.Add(time.Second) {
		for _, s := range cycle(sec, true) {
			b := []byte(s + "\r\n")
			if f.rate() != fakeBaud {
				for i := range b {
					b[i] ^= 0xA5 // what a wrong rate makes of it: no valid text
				}
			}
			if _, err := f.master.Write(b); err != nil {
				return
			}
			time.Sleep(time.Duration(len(b)) * byteTime)
		}
	}
}

// unplug closes the master, as a USB receiver pulled out would vanish.
func (f *fakeReceiver) unplug(link string) {
	f.stopOnce.Do(func() {
		f.master.Close()
		<-f.done
		f.slave.Close()
		os.Remove(link)
	})
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReaderPTY(t *testing.T) {
	link := filepath.Join(t.TempDir(), "gps0")
	start := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	rx := startFakeReceiver(t, link, start)
	defer func() { rx.unplug(link) }()

	r, err := NewReader(Config{Device: link, Baud: BaudAuto}, ReaderOptions{
		ProbeWindow: 700 * time.Millisecond,
		MinBackoff:  100 * time.Millisecond,
		RefDate:     time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var epochs []Epoch
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() {
		runDone <- r.Run(ctx, func(e Epoch) {
			mu.Lock()
			epochs = append(epochs, e)
			mu.Unlock()
		})
	}()
	defer cancel()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(epochs) }

	waitFor(t, "3 epochs", 15*time.Second, func() bool { return count() >= 3 })
	st := r.Status()
	if st.Baud != fakeBaud {
		t.Errorf("baud found = %d, want %d", st.Baud, fakeBaud)
	}
	if st.State != State3D || !st.Connected {
		t.Errorf("state = %q connected=%v, want 3D and connected", st.State, st.Connected)
	}
	mu.Lock()
	// Reading may start between a second's RMC and its GGA: that first
	// epoch has a fix but no date, so no time, which the appliance skips.
	for len(epochs) > 0 && !epochs[0].HasTime() {
		epochs = epochs[1:]
	}
	for i, e := range epochs {
		if !e.Valid || e.Mode != 3 || e.SatsUsed != 8 || e.Arrival.IsZero() {
			t.Errorf("epoch %d: %+v", i, e)
		}
		if i > 0 && e.Time.Sub(epochs[i-1].Time) != time.Second {
			t.Errorf("epoch %d at %v follows %v", i, e.Time, epochs[i-1].Time)
		}
		if e.Time.Before(start) || e.Time.After(start.Add(time.Minute)) {
			t.Errorf("epoch %d time %v, want from %v on", i, e.Time, start)
		}
	}
	mu.Unlock()

	// Unplug: the reader notices, reports it, keeps trying.
	rx.unplug(link)
	waitFor(t, "state no device", 5*time.Second, func() bool {
		s := r.Status()
		return !s.Connected && s.State == StateNoDevice
	})
	n := count()

	// Plug a receiver back in under the same name.
	start2 := start.Add(time.Hour)
	rx = startFakeReceiver(t, link, start2)
	waitFor(t, "epochs after reconnect", 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(epochs) >= n+3 && epochs[len(epochs)-1].Time.After(start2)
	})
	st = r.Status()
	if st.Reconnects != 1 {
		t.Errorf("reconnects = %d, want 1", st.Reconnects)
	}
	if st.Baud != fakeBaud || st.State != State3D {
		t.Errorf("after reconnect: baud %d state %q", st.Baud, st.State)
	}
	if st.Epochs < uint64(n+3) || st.Sentences == 0 {
		t.Errorf("counters not carried across reconnects: %+v", st)
	}

	cancel()
	select {
	case err := <-runDone:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// At a fixed wrong rate the reader sees only noise: no data, and every
// line dropped and counted, never an epoch.
func TestReaderWrongBaud(t *testing.T) {
	link := filepath.Join(t.TempDir(), "gps0")
	rx := startFakeReceiver(t, link, time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))
	defer rx.unplug(link)
	r, err := NewReader(Config{Device: link, Baud: "4800"}, ReaderOptions{Silence: 800 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got := 0
	if err := r.Run(ctx, func(Epoch) { got++ }); err != nil {
		t.Fatal(err)
	}
	st := r.Status()
	if got != 0 || st.Sentences != 0 || st.Epochs != 0 {
		t.Errorf("at the wrong rate: %d epochs, status %+v", got, st)
	}
	if st.Dropped == 0 || st.State != StateNoData || st.Baud != 4800 {
		t.Errorf("want noise dropped and state %q at 4800: %+v", StateNoData, st)
	}
}

func TestReaderNoDevice(t *testing.T) {
	r, err := NewReader(Config{Device: filepath.Join(t.TempDir(), "absent"), Baud: "9600"}, ReaderOptions{MinBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := r.Run(ctx, func(Epoch) { t.Error("epoch from no device") }); err != nil {
		t.Fatal(err)
	}
	if st := r.Status(); st.State != StateNoDevice || st.LastError == "" || st.Connected {
		t.Errorf("status %+v, want no device with an error", st)
	}
}
