package server

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"stratum1/ntp"
)

// Interleaved client/server mode (RFC 9769).
//
// In basic mode a reply carries a transmit timestamp taken just before the
// datagram is handed to the kernel. In interleaved mode the client sets the
// origin timestamp of its request to the server's receive timestamp of its
// previous request, and the server answers with the transmit timestamp of
// its previous reply, taken by the kernel as that reply left.
//
// Which clients ask: as chronyd 4.x does, every reply's receive timestamp
// has its lowest bit set and every transmit timestamp has it clear (a
// quarter of a nanosecond, far below any clock's precision). A request
// whose origin has the bit set therefore echoes one of this server's
// receive timestamps, which only an interleaved client does: basic clients
// send zero (chronyd, SNTP) or the server's transmit timestamp (ntpd).
// Only such requests, in NTPv4, with a receive timestamp different from
// their transmit timestamp (a basic symmetric peer's would be equal), keep
// state here; everyone else is served in basic mode with nothing stored.
// (A broken client that fills its origin with something else, bit set and
// not later than the request's arrival, costs one table entry, as it does
// chronyd.)
// A new interleaved client gets its first interleaved reply on its third
// request: the first tells it the server's receive timestamp, the second
// echoes it and has its reply's transmit time recorded, the third is
// answered with that time.
//
// The table is fixed in size, allocated once, and keyed by the server's
// receive timestamp that the client will echo (chrony 4 keys it the same
// way, so that clients behind one NAT address each get their own entry).
// An entry also holds the client's address, which the next request must
// come from, and is used at most once: a replayed request finds nothing
// and is answered in basic mode.

// Sizes of the interleaved table: xleaveBuckets*xleaveWays clients in
// interleaved mode at once (4096, about 200 KB), each polling at any rate.
// A bucket's oldest entry makes way for a new one.
const (
	xleaveBuckets = 1024 // power of two
	xleaveWays    = 4
	// maxTxDelay bounds how long after the provisional transmit time the
	// kernel may report a reply's departure (chrony uses the same second).
	maxTxDelay = time.Second
)

// xleaveEntry is one exchange with an interleaved client.
type xleaveEntry struct {
	addr   [16]byte // client address (IPv4 mapped), not its port: chronyd changes port per request
	rx     ntp.Time // the receive timestamp the reply carried (low bit set); zero: free
	tx     ntp.Time // when the reply left: provisional, then the kernel's
	kernel bool     // tx is the kernel's
}

type xleaveBucket struct {
	mu sync.Mutex
	e  [xleaveWays]xleaveEntry
}

// xleaveTable holds, in fixed memory, the last exchange of each client that
// uses interleaved mode. It is safe for concurrent use by every worker.
type xleaveTable struct {
	b []xleaveBucket
}

func newXleaveTable(buckets int) *xleaveTable {
	if buckets <= 0 || buckets&(buckets-1) != 0 {
		panic("server: interleaved table size must be a power of two")
	}
	return &xleaveTable{b: make([]xleaveBucket, buckets)}
}

func (t *xleaveTable) bucket(rx ntp.Time) *xleaveBucket {
	// The fraction's low bits are the finest of the clock; mix in the rest.
	h := uint64(rx) * 0x9e3779b97f4a7c15
	return &t.b[(h>>32)&uint64(len(t.b)-1)]
}

// take returns the transmit time of the reply whose receive timestamp was
// origin, sent to addr, and forgets it: each is used once.
func (t *xleaveTable) take(addr netip.Addr, origin ntp.Time) (tx ntp.Time, kernel, ok bool) {
	a := addr.As16()
	b := t.bucket(origin)
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.e {
		e := &b.e[i]
		if e.rx == origin && e.addr == a {
			tx, kernel = e.tx, e.kernel
			*e = xleaveEntry{}
			return tx, kernel, true
		}
	}
	return 0, false, false
}

// save records an exchange with addr: its receive timestamp as sent and the
// provisional transmit time of the reply. The same exchange recorded
// again replaces itself; otherwise a free way is taken, or else the one
// with the oldest exchange.
func (t *xleaveTable) save(addr netip.Addr, rx, tx ntp.Time) {
	a := addr.As16()
	b := t.bucket(rx)
	b.mu.Lock()
	defer b.mu.Unlock()
	victim := -1
	for i := range b.e {
		e := &b.e[i]
		if e.rx == rx && e.addr == a {
			victim = i // this exchange again: a send retried
			break
		}
		switch {
		case victim < 0:
			victim = i
		case b.e[victim].rx == 0:
		case e.rx == 0 || int64(e.rx-b.e[victim].rx) < 0:
			victim = i
		}
	}
	b.e[victim] = xleaveEntry{addr: a, rx: rx, tx: tx}
}

// setKernelTx replaces the provisional transmit time of the exchange whose
// reply carried rx with the kernel's, when it is no earlier and no more
// than maxTxDelay later. It reports whether it did.
func (t *xleaveTable) setKernelTx(rx, tx ntp.Time) bool {
	b := t.bucket(rx)
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.e {
		e := &b.e[i]
		if e.rx != rx || e.rx == 0 {
			continue
		}
		if d := tx.Sub(e.tx); d < 0 || d > maxTxDelay {
			return false
		}
		e.tx, e.kernel = tx, true
		return true
	}
	return false
}

// live returns the number of exchanges held.
func (t *xleaveTable) live() int {
	n := 0
	for i := range t.b {
		b := &t.b[i]
		b.mu.Lock()
		for _, e := range b.e {
			if e.rx != 0 {
				n++
			}
		}
		b.mu.Unlock()
	}
	return n
}

// Offsets of the timestamps in an NTP header.
const (
	origOffset = 24
	recvOffset = 32
)

// rxFlag marks a server receive timestamp (see above).
const rxFlag = 1

// asksInterleaved reports whether an NTPv4 client request of at least
// HeaderLen bytes, received at rxNTP (as it will be sent), is formed in
// interleaved mode, and returns its origin timestamp.
func asksInterleaved(req []byte, version uint8, rxNTP ntp.Time) (origin ntp.Time, ok bool) {
	if version != 4 {
		return 0, false
	}
	origin = ntp.Time(binary.BigEndian.Uint64(req[origOffset:]))
	if origin&rxFlag == 0 {
		return 0, false
	}
	if binary.BigEndian.Uint64(req[recvOffset:]) == binary.BigEndian.Uint64(req[xmitOffset:]) {
		return 0, false
	}
	// The origin is one of this server's earlier receive timestamps: it
	// cannot be later than this one.
	if int64(rxNTP-origin) <= 0 {
		return 0, false
	}
	return origin, true
}
