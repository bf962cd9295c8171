package server

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// stopPoll bounds how long a worker blocked in recvmmsg can miss a stop
// request should the shutdown that wakes it not reach it.
const stopPoll = 250 * time.Millisecond

// openSocket opens a blocking UDP socket bound to ap, sharing the port with
// SO_REUSEPORT. The worker owns it outright: it is never registered with the
// Go runtime's poller, so that a datagram's arrival wakes exactly one
// thread, the worker's, blocked in recvmmsg, and not also the poller's.
func openSocket(ap netip.AddrPort) (fd int, local netip.AddrPort, v6 bool, err error) {
	v6 = ap.Addr().Is6() && !ap.Addr().Is4In6()
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	}
	fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, local, v6, os.NewSyscallError("socket", err)
	}
	fail := func(op string, err error) (int, netip.AddrPort, bool, error) {
		unix.Close(fd)
		return -1, local, v6, os.NewSyscallError(op, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fail("setsockopt SO_REUSEPORT", err)
	}
	tv := unix.NsecToTimeval(stopPoll.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail("setsockopt SO_RCVTIMEO", err)
	}
	var sa unix.Sockaddr
	if v6 {
		// The IPv4 wildcard gets its own sockets: keep this one to IPv6.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fail("setsockopt IPV6_V6ONLY", err)
		}
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	} else {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		local = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		local = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	default:
		return fail("getsockname", fmt.Errorf("unexpected address %T", got))
	}
	return fd, local, v6, nil
}

// sockaddrOf converts a reply destination for the slow (control) path.
func sockaddrOf(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// procsMu serialises reserveProcs: GOMAXPROCS is the process's, and
// responders in one process (tests) start and stop concurrently.
var procsMu sync.Mutex

// reserveProcs raises GOMAXPROCS by n for the workers' lifetime and returns
// the function that lowers it again. A worker spends its life blocked in
// recvmmsg, and the Go runtime counts a goroutine in a system call as
// holding its P: were the workers to hold every P, the runtime's monitor
// would take a P off a blocked worker every 20 us and start a thread to
// look for work that is not there (a futex wakeup and a context switch per
// batch: a quarter of the responder's CPU at 48k requests/s on one core),
// and the rest of the program would wait for it. With a P of their own,
// the other goroutines keep the CPUs they had.
func reserveProcs(n int) (release func()) {
	procsMu.Lock()
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + n)
	procsMu.Unlock()
	return func() {
		procsMu.Lock()
		runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0)-n, 1))
		procsMu.Unlock()
	}
}
