package server

import (
	"net/netip"
	"time"

	"stratum1/ntp"
)

// Verdict is what an access policy decides for one request.
type Verdict uint8

// Verdicts. The zero value serves, so a nil policy serves everyone.
const (
	Serve    Verdict = iota // answer normally
	Ignore                  // drop silently
	KissDeny                // answer with a kiss-o'-death DENY
	KissRate                // answer with a kiss-o'-death RATE
	KissRstr                // answer with a kiss-o'-death RSTR
)

// Policy decides, per request, whether and how to answer. Check is called on
// the hot path from every worker: it must be safe for concurrent use and must
// not allocate.
type Policy interface {
	Check(src netip.Addr, mode ntp.Mode, now time.Time) Verdict
}

// Control answers NTP control (mode 6) requests. It returns the datagrams to
// send back to src, or none. It is off the hot path and may allocate, but it
// must never answer an address it does not trust with more bytes than the
// request carried.
type Control interface {
	HandleControl(req []byte, src netip.AddrPort) [][]byte
}

// Extensions answers client requests that carry extension fields, such as
// NTS (RFC 8915); requests without any never reach it. out holds the plain
// 48-byte reply, transmit timestamp included, and has room for len(req)
// bytes. HandleExtensions returns the length of the reply it leaves in out:
// 48 for the plain reply, up to len(req) for one with fields of its own, 0
// to drop. It is called from every worker and must be safe for concurrent
// use; it may allocate.
type Extensions interface {
	HandleExtensions(req, out []byte) int
}
