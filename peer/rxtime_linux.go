package peer

import (
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// oobLen holds one SCM_TIMESTAMPNS control message with room to spare.
const oobLen = 64

// enableRXTimestamps asks the kernel to stamp each datagram that arrives on
// conn with the system clock (SO_TIMESTAMPNS), so that T4 does not include
// the time the reply waited for this goroutine to be scheduled.
func enableRXTimestamps(conn *net.UDPConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	return serr
}

// kernelRX finds the SCM_TIMESTAMPNS receive time among the control
// messages in oob. ok is false when there is none or oob is malformed.
func kernelRX(oob []byte) (rx time.Time, ok bool) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		n := int(h.Len)
		if n < unix.CmsgLen(0) || n > len(oob) {
			return time.Time{}, false
		}
		data := oob[unix.CmsgLen(0):n]
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS &&
			len(data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
			if ts.Sec == 0 && ts.Nsec == 0 {
				return time.Time{}, false
			}
			return time.Unix(int64(ts.Sec), int64(ts.Nsec)), true
		}
		oob = oob[min(unix.CmsgSpace(n-unix.CmsgLen(0)), len(oob)):]
	}
	return time.Time{}, false
}
