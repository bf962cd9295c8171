package lab

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// chardevs stands in for QEMU's two server-mode unix-socket chardevs and
// returns the connections the relay makes to them.
func chardevs(t *testing.T, r *Relay) (from, to net.Conn, cancel func()) {
	t.Helper()
	dir := t.TempDir()
	r.From, r.To = filepath.Join(dir, "from.sock"), filepath.Join(dir, "to.sock")
	accept := func(path string) chan net.Conn {
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		ch := make(chan net.Conn, 1)
		go func() {
			c, err := l.Accept()
			if err == nil {
				ch <- c
			}
		}()
		return ch
	}
	fromCh, toCh := accept(r.From), accept(r.To)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	from, to = <-fromCh, <-toCh
	t.Cleanup(func() { from.Close(); to.Close() })
	return from, to, func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func TestRelayPacesAndInjects(t *testing.T) {
	r := &Relay{Baud: 9600}
	from, to, stop := chardevs(t, r)
	defer stop()
	msg := []byte("$GPRMC,123519,A*00\r\n") // 20 bytes: at least 19 byte times
	start := time.Now()
	if _, err := from.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	_ = to.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(to, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Errorf("relayed %q, want %q", got, msg)
	}
	if el, min := time.Since(start), 19*time.Second/960; el < min {
		t.Errorf("20 bytes at 9600 baud took %v, want at least %v", el, min)
	}

	r.Garbage(5)
	if _, err := from.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	got = make([]byte, 6)
	if _, err := io.ReadFull(to, got); err != nil {
		t.Fatal(err)
	}
	if got[5] != 'x' || bytes.Equal(got[:5], []byte("xxxxx")) {
		t.Errorf("after Garbage(5) got %q, want 5 bytes of garbage then x", got)
	}

	r.Cut(time.Hour)
	if _, err := from.Write([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	_ = to.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := to.Read(got); err == nil {
		t.Errorf("line cut, yet %q came through", got[:n])
	}
}

func TestRelayDropsWhatIsNotRead(t *testing.T) {
	r := &Relay{Baud: 115200}
	from, _, stop := chardevs(t, r)
	defer stop()
	// The receiving side never reads: beyond maxUnread the relay drops, as
	// a wire into a closed port does, instead of queueing stale sentences.
	chunk := bytes.Repeat([]byte("$GPGGA,stale*00\r\n"), 4)
	deadline := time.Now().Add(20 * time.Second)
	for r.Overrun.Load() == 0 && time.Now().Before(deadline) {
		if _, err := from.Write(chunk); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.Overrun.Load() == 0 {
		t.Fatalf("nothing dropped after %d bytes went unread", r.Bytes.Load())
	}
	if b := r.Bytes.Load(); b > 200 {
		t.Errorf("%d bytes queued for a port that reads nothing, want at most 200 (0.2 s at 9600 baud)", b)
	}
}
