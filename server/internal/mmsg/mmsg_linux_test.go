package mmsg

import (
	"net/netip"
	"testing"

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
