package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Relay is the wire between the guest's two 8250 ports: it copies what the
// NMEA writer sends on one (a QEMU unix-socket chardev) to the other, paced
// at the line's baud rate, and can cut the line or inject garbage.
type Relay struct {
	From, To string // unix socket paths of the two chardevs
	Baud     int    // 8N1: Baud/10 bytes a second
	// KeepUnread waits for the receiving port instead of dropping what it
	// does not read: the sentences queue back through QEMU into the
	// guest's tty, and a restarted daemon reads seconds-old ones.
	KeepUnread bool

	cutUntil atomic.Int64 // unix ns; bytes are dropped before it
	garbage  atomic.Int64 // bytes of garbage still to inject
	Bytes    atomic.Int64 // bytes delivered
	Overrun  atomic.Int64 // bytes dropped because the receiving port did not take them
}

// maxUnread bounds what the relay leaves queued for the receiving port:
// SIOCOUTQ counts a unix socket's buffers, about 1 KiB for each single-byte
// write, so this is some 50 bytes, 50 ms at 9600 baud. Beyond it the relay
// drops, as a wire into a UART that does not take its bytes does: QEMU's
// 8250 applies back pressure when the guest has the port closed or is
// descheduled, and a queue would hand the daemon seconds-old sentences
// when it opens the port again.
const maxUnread = 48 << 10

// unread returns how many bytes written to c its peer has not read yet.
func unread(c net.Conn) int {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	var n int
	_ = rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) })
	return n
}

// Cut drops everything sent for d from now.
func (r *Relay) Cut(d time.Duration) { r.cutUntil.Store(time.Now().Add(d).UnixNano()) }

// Garbage injects n random-looking bytes into the line.
func (r *Relay) Garbage(n int) { r.garbage.Add(int64(n)) }

// Run connects to both sockets (waiting for QEMU to create them) and
// copies until ctx ends or a side closes.
func (r *Relay) Run(ctx context.Context) error {
	from, err := dialWait(ctx, r.From)
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := dialWait(ctx, r.To)
	if err != nil {
		return err
	}
	defer to.Close()
	go func() {
		<-ctx.Done()
		from.Close()
		to.Close()
	}()
	go io.Copy(io.Discard, to) // what the daemon sends to the receiver
	bigSendBuffer(to)
	perByte := time.Second * 10 / time.Duration(max(r.Baud, 300))
	buf := make([]byte, 64)
	junk := []byte("\x00\xff$GPRMC,garbage,,*7F\r\n\xa5\x5a~~~$$$\n")
	var junkAt int
	var due time.Time // when the line is free for the next byte
	for {
		n, err := from.Read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("relay: read %s: %w", r.From, err)
		}
		out := buf[:n]
		if time.Now().UnixNano() < r.cutUntil.Load() {
			continue
		}
		if g := r.garbage.Load(); g > 0 {
			k := min(int(g), 32)
			r.garbage.Add(-int64(k))
			noise := make([]byte, 0, k+n)
			for range k {
				noise = append(noise, junk[junkAt%len(junk)])
				junkAt++
			}
			out = append(noise, out...)
		}
		for i := range out {
			now := time.Now()
			if due.Before(now) {
				due = now
			}
			if !r.KeepUnread && unread(to) > maxUnread {
				r.Overrun.Add(1)
				continue
			}
			// A wire never waits: a byte the socket cannot take at once
			// (its buffer full of unread bytes) is an overrun too.
			if !r.KeepUnread {
				_ = to.SetWriteDeadline(now.Add(20 * time.Millisecond))
			}
			if _, err := to.Write(out[i : i+1]); errors.Is(err, os.ErrDeadlineExceeded) {
				r.Overrun.Add(1)
				continue
			} else if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("relay: write %s: %w", r.To, err)
			}
			r.Bytes.Add(1)
			due = due.Add(perByte)
			time.Sleep(time.Until(due))
		}
	}
}

// bigSendBuffer lets the socket hold seconds of single-byte writes (each
// costs a whole buffer's overhead), so that only maxUnread decides what is
// dropped, and -stale-nmea can queue seconds; without root the default
// stays.
func bigSendBuffer(c net.Conn) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 16<<20)
	})
}

func dialWait(ctx context.Context, path string) (net.Conn, error) {
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("relay: %s: %w", path, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
