// Package mmsg batches UDP datagrams through recvmmsg and sendmmsg with
// per-message addresses and control messages, without allocating.
//
// golang.org/x/net/ipv4's ReadBatch makes the same system calls but returns
// each source as a freshly allocated net.Addr; a responder that must not
// allocate per packet needs the raw sockaddr, so this package keeps every
// header, address and control buffer in slices allocated once.
package mmsg

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Hdr is struct mmsghdr. Go pads it to the alignment of Msghdr exactly as C
// does, on 32- and 64-bit targets alike.
type Hdr struct {
	Msg unix.Msghdr
	Len uint32
}

// Batch is a fixed set of messages, each with its own data buffer, socket
// address and control buffer.
type Batch struct {
	Hdrs    []Hdr
	iovs    []unix.Iovec
	buf     []byte
	names   []unix.RawSockaddrInet6
	ctl     []byte
	bufSize int
	ctlSize int
}

// NewBatch allocates n messages of bufSize data bytes and ctlSize control
// bytes each.
func NewBatch(n, bufSize, ctlSize int) *Batch {
	ctlSize = (ctlSize + 7) &^ 7 // keep every cmsghdr aligned
	b := &Batch{
		Hdrs:    make([]Hdr, n),
		iovs:    make([]unix.Iovec, n),
		buf:     make([]byte, n*bufSize),
		names:   make([]unix.RawSockaddrInet6, n),
		ctl:     make([]byte, n*max(ctlSize, 1)),
		bufSize: bufSize,
		ctlSize: ctlSize,
	}
	for i := range b.Hdrs {
		b.iovs[i].Base = &b.buf[i*bufSize]
		h := &b.Hdrs[i].Msg
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		if ctlSize > 0 {
			h.Control = &b.ctl[i*ctlSize]
		}
	}
	b.ResetRecv(n)
	return b
}

// Len returns the number of messages in the batch.
func (b *Batch) Len() int { return len(b.Hdrs) }

// ResetRecv prepares the first n messages to receive: full buffers, room for
// any address and the whole control buffer. The kernel shrinks these fields
// on every receive, so call it before each one.
func (b *Batch) ResetRecv(n int) {
	for i := range b.Hdrs[:n] {
		b.iovs[i].SetLen(b.bufSize)
		h := &b.Hdrs[i].Msg
		h.Namelen = unix.SizeofSockaddrInet6
		h.SetControllen(b.ctlSize)
		h.Flags = 0
		b.Hdrs[i].Len = 0
	}
}

// Buf returns the whole data buffer of message i.
func (b *Batch) Buf(i int) []byte { return b.buf[i*b.bufSize : (i+1)*b.bufSize] }

// Data returns the received bytes of message i.
func (b *Batch) Data(i int) []byte {
	return b.buf[i*b.bufSize : i*b.bufSize+int(b.Hdrs[i].Len)]
}

// DataLen returns the number of bytes message i sends.
func (b *Batch) DataLen(i int) int { return int(b.iovs[i].Len) }

// SetData makes message i send the first n bytes of its buffer.
func (b *Batch) SetData(i, n int) { b.iovs[i].SetLen(n) }

// Control returns the received control bytes of message i.
func (b *Batch) Control(i int) []byte {
	if b.ctlSize == 0 {
		return nil
	}
	return b.ctl[i*b.ctlSize : i*b.ctlSize+int(b.Hdrs[i].Msg.Controllen)]
}

// CtlBuf returns the whole control buffer of message i, for building
// control messages to send.
func (b *Batch) CtlBuf(i int) []byte {
	if b.ctlSize == 0 {
		return nil
	}
	return b.ctl[i*b.ctlSize : (i+1)*b.ctlSize]
}

// SetControl makes message i send the first n bytes of its control buffer
// (none when n is 0).
func (b *Batch) SetControl(i, n int) {
	h := &b.Hdrs[i].Msg
	if n == 0 {
		h.Control = nil
	} else {
		h.Control = &b.ctl[i*b.ctlSize]
	}
	h.SetControllen(n)
}

// Addr returns the socket address of message i: the source of a received
// message. It is the zero AddrPort when the family is not IPv4 or IPv6.
func (b *Batch) Addr(i int) netip.AddrPort {
	return DecodeAddr(&b.names[i])
}

// SetAddr sets the destination of message i.
func (b *Batch) SetAddr(i int, ap netip.AddrPort) {
	b.Hdrs[i].Msg.Namelen = EncodeAddr(&b.names[i], ap)
}

// CopyAddr makes message i of b go to the address of message j of src.
func (b *Batch) CopyAddr(i int, src *Batch, j int) {
	b.names[i] = src.names[j]
	b.Hdrs[i].Msg.Namelen = src.Hdrs[j].Msg.Namelen
}

// DecodeAddr converts a raw IPv4 or IPv6 socket address. The IPv6 zone is
// dropped, since naming it would allocate.
func DecodeAddr(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port)
	}
	return netip.AddrPort{}
}

// EncodeAddr writes ap into sa, as IPv4 when ap is IPv4 and as IPv6
// otherwise, and returns the length of the address.
func EncodeAddr(sa *unix.RawSockaddrInet6, ap netip.AddrPort) uint32 {
	*sa = unix.RawSockaddrInet6{}
	if ap.Addr().Is4() {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		sa4.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], ap.Port())
		sa4.Addr = ap.Addr().As4()
		return unix.SizeofSockaddrInet4
	}
	sa.Family = unix.AF_INET6
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], ap.Port())
	sa.Addr = ap.Addr().As16()
	return unix.SizeofSockaddrInet6
}

// Recv calls recvmmsg for the first n messages of b.
func Recv(fd uintptr, b *Batch, n, flags int) (int, syscall.Errno) {
	r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.Hdrs[0])), uintptr(n), uintptr(flags), 0, 0)
	return int(r), errno
}

// RecvNow calls recvmmsg with MSG_DONTWAIT as a raw system call (see
// SendOneNow): it returns at once, EAGAIN when nothing is queued.
func RecvNow(fd uintptr, b *Batch, n, flags int) (int, syscall.Errno) {
	r, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.Hdrs[0])), uintptr(n), uintptr(flags|unix.MSG_DONTWAIT), 0, 0)
	return int(r), errno
}

// RecvRaw calls recvmmsg as a raw system call, without telling the
// runtime that the thread may block: the goroutine keeps its P while it
// waits. For a caller that owns a P of its own and whose socket has
// SO_RCVTIMEO, so that a signal (the runtime's preemption request) always
// ends the call with EINTR.
func RecvRaw(fd uintptr, b *Batch, n, flags int) (int, syscall.Errno) {
	r, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.Hdrs[0])), uintptr(n), uintptr(flags), 0, 0)
	return int(r), errno
}

// Send calls sendmmsg for messages [from, to) of b. The kernel reports an
// error only when the first of them fails.
func Send(fd uintptr, b *Batch, from, to, flags int) (int, syscall.Errno) {
	r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.Hdrs[from])), uintptr(to-from), uintptr(flags), 0, 0)
	return int(r), errno
}

// Cmsg is one control message: its level, type and data.
type Cmsg struct {
	Level, Type int32
	Data        []byte
}

// NextCmsg splits the first control message off b. ok is false at the end
// or when the rest of b is malformed.
func NextCmsg(b []byte) (c Cmsg, rest []byte, ok bool) {
	if len(b) < unix.SizeofCmsghdr {
		return Cmsg{}, nil, false
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	n := int(h.Len)
	if n < unix.CmsgLen(0) || n > len(b) {
		return Cmsg{}, nil, false
	}
	c = Cmsg{Level: h.Level, Type: h.Type, Data: b[unix.CmsgLen(0):n]}
	next := unix.CmsgSpace(n - unix.CmsgLen(0))
	if next > len(b) {
		next = len(b)
	}
	return c, b[next:], true
}

// PutCmsg writes a control message header for level and typ with room for
// dataLen bytes at the start of b, and returns the data part and the space
// the message takes. b must have room for CmsgSpace(dataLen) bytes.
func PutCmsg(b []byte, level, typ int32, dataLen int) (data []byte, space int) {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = level
	h.Type = typ
	h.SetLen(unix.CmsgLen(dataLen))
	space = unix.CmsgSpace(dataLen)
	clear(b[unix.CmsgLen(dataLen):space])
	return b[unix.CmsgLen(0):unix.CmsgLen(dataLen)], space
}

// Timespec reads a struct timespec from control message data.
func Timespec(d []byte) (sec, nsec int64, ok bool) {
	if len(d) < int(unsafe.Sizeof(unix.Timespec{})) {
		return 0, 0, false
	}
	ts := (*unix.Timespec)(unsafe.Pointer(&d[0]))
	return int64(ts.Sec), int64(ts.Nsec), true
}

// PutUint32 stores a native-endian uint32 at the start of d, as control
// message payloads such as SO_TIMESTAMPING flags are.
func PutUint32(d []byte, v uint32) { *(*uint32)(unsafe.Pointer(&d[0])) = v }

// SendOneNow calls sendmsg for message i of b with MSG_DONTWAIT, so that
// it cannot block (a full send buffer is EAGAIN), and as a raw system call:
// without the runtime's bookkeeping for a call that may block (entersyscall
// and exitsyscall, a few hundred instructions), which a call that returns
// at once does not need. It is for a thread that sends one datagram at a
// time and stamps each just before: the bookkeeping would also lie between
// the stamp and the kernel.
func SendOneNow(fd uintptr, b *Batch, i, flags int) syscall.Errno {
	_, _, errno := unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&b.Hdrs[i].Msg)), uintptr(flags|unix.MSG_DONTWAIT))
	return errno
}
