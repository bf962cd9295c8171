package mmsg

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestAddrRoundTrip(t *testing.T) {
	for _, s := range []string{"127.0.0.1:123", "192.0.2.1:65535", "[::1]:40000", "[2001:db8::7]:1"} {
		ap := netip.MustParseAddrPort(s)
		var sa unix.RawSockaddrInet6
		n := EncodeAddr(&sa, ap)
		if got := DecodeAddr(&sa); got != ap {
			t.Errorf("%s: decoded %v", s, got)
		}
		if want := map[bool]uint32{true: unix.SizeofSockaddrInet4, false: unix.SizeofSockaddrInet6}[ap.Addr().Is4()]; n != want {
			t.Errorf("%s: length %d, want %d", s, n, want)
		}
	}
}

func TestCmsgWalk(t *testing.T) {
	b := make([]byte, 128)
	d, n1 := PutCmsg(b, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, 4)
	PutUint32(d, 7)
	_, n2 := PutCmsg(b[n1:], unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
	var got []int32
	for rest := b[:n1+n2]; ; {
		c, r, ok := NextCmsg(rest)
		if !ok {
			break
		}
		got = append(got, c.Type)
		rest = r
	}
	if len(got) != 2 || got[0] != unix.SO_TIMESTAMPING || got[1] != unix.IP_PKTINFO {
		t.Fatalf("walked %v", got)
	}
	// A header claiming more than the buffer holds stops the walk.
	if _, _, ok := NextCmsg(b[:unix.CmsgLen(0)+2]); ok {
		t.Fatal("truncated message accepted")
	}
}

// TestNowCallsNeverBlock checks the raw, non-blocking calls the worker
// uses after a coalescing wait and for each reply: RecvNow on an empty
// socket returns EAGAIN at once instead of waiting, and SendOneNow and
// RecvNow move a datagram like their blocking counterparts.
func TestNowCallsNeverBlock(t *testing.T) {
	open := func() (int, netip.AddrPort) {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			t.Fatal(err)
		}
		return fd, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
	}
	srv, srvAddr := open()
	cli, _ := open()
	rx := NewBatch(4, 64, 0)

	start := time.Now()
	if n, errno := RecvNow(uintptr(srv), rx, 4, 0); errno != unix.EAGAIN || n > 0 {
		t.Fatalf("RecvNow on an empty socket = %d, %v; want EAGAIN", n, errno)
	}
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Fatalf("RecvNow on an empty socket took %v", el)
	}

	tx := NewBatch(1, 64, 0)
	copy(tx.Buf(0), "ping")
	tx.SetData(0, 4)
	tx.SetControl(0, 0)
	tx.SetAddr(0, srvAddr)
	if errno := SendOneNow(uintptr(cli), tx, 0, unix.MSG_NOSIGNAL); errno != 0 {
		t.Fatalf("SendOneNow: %v", errno)
	}
	rx.ResetRecv(4)
	n, errno := Recv(uintptr(srv), rx, 4, unix.MSG_WAITFORONE)
	if errno != 0 || n != 1 || string(rx.Data(0)) != "ping" {
		t.Fatalf("Recv after SendOneNow = %d, %v, %q", n, errno, rx.Data(0))
	}

	if errno := SendOneNow(uintptr(cli), tx, 0, unix.MSG_NOSIGNAL); errno != 0 {
		t.Fatalf("SendOneNow: %v", errno)
	}
	rx.ResetRecv(4)
	deadline := time.Now().Add(2 * time.Second)
	for {
		n, errno = RecvNow(uintptr(srv), rx, 4, 0)
		if errno != unix.EAGAIN || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond) // loopback delivery is synchronous, but be lenient
	}
	if errno != 0 || n != 1 || string(rx.Data(0)) != "ping" {
		t.Fatalf("RecvNow with a datagram queued = %d, %v, %q", n, errno, rx.Data(0))
	}
}
