package peer

import (
	"fmt"
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// putCmsg appends a control message of level and typ carrying data to b.
func putCmsg(b []byte, level, typ int32, data []byte) []byte {
	m := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&m[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(m[unix.CmsgLen(0):], data)
	return append(b, m...)
}

func timespecBytes(t time.Time) []byte {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts))
}

func TestKernelRX(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	ts := timespecBytes(at)
	ttl := putCmsg(nil, unix.IPPROTO_IP, unix.IP_TTL, []byte{64, 0, 0, 0})
	stamp := putCmsg(nil, unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts)
	tests := []struct {
		name string
		oob  []byte
		ok   bool
	}{
		{"timestamp", stamp, true},
		{"after another message", append(append([]byte(nil), ttl...), stamp...), true},
		{"none", nil, false},
		{"other message only", ttl, false},
		{"short header", stamp[:unix.SizeofCmsghdr-1], false},
		{"length beyond buffer", stamp[:len(stamp)-8], false},
		{"short timespec", putCmsg(nil, unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts[:len(ts)-1]), false},
		{"zero timespec", putCmsg(nil, unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, make([]byte, len(ts))), false},
	}
	for _, tt := range tests {
		got, ok := kernelRX(tt.oob)
		if ok != tt.ok || (ok && !got.Equal(at)) {
			t.Errorf("%s: got %v, %v; want %v, %v", tt.name, got, ok, at, tt.ok)
		}
	}
	bad := append([]byte(nil), stamp...)
	(*unix.Cmsghdr)(unsafe.Pointer(&bad[0])).SetLen(2)
	if _, ok := kernelRX(bad); ok {
		t.Error("accepted a control message shorter than its header")
	}
}

// TestKernelRXSocket: the stamp is when the datagram reached the socket,
// not when it was read. Linux turns software receive stamping on for the
// whole system from a work queue after the first socket asks for it; until
// then it stamps at the read, so the first datagrams may not show the
// difference.
func TestKernelRXSocket(t *testing.T) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := net.DialUDP("udp", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := enableRXTimestamps(conn); err != nil {
		t.Fatal(err)
	}
	const wait = 50 * time.Millisecond
	buf, oob := make([]byte, 16), make([]byte, oobLen)
	var last string
	for range 10 {
		sent := time.Now()
		if _, err := srv.WriteToUDP([]byte("x"), conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(wait)
		conn.SetReadDeadline(time.Now().Add(time.Second))
		_, oobn, _, _, err := conn.ReadMsgUDP(buf, oob)
		read := time.Now()
		if err != nil {
			t.Fatal(err)
		}
		rx, ok := kernelRX(oob[:oobn])
		if !ok {
			t.Fatalf("no kernel timestamp in %d bytes of control data", oobn)
		}
		if !rx.Before(sent.Add(-time.Millisecond)) && read.Sub(rx) >= wait {
			return
		}
		last = fmt.Sprintf("kernel stamp %v after the send, read %v after it", rx.Sub(sent), read.Sub(rx))
	}
	t.Errorf("%s: want the arrival, before the read", last)
}
