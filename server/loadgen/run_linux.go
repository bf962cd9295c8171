package loadgen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"stratum1/ntp"
	"stratum1/nts"
	"stratum1/server/internal/mmsg"
)

const (
	batchLen   = 64
	reqLen     = ntp.HeaderLen
	ringLen    = 1 << 17 // outstanding requests tracked per socket
	maxSamples = 1 << 22 // over all sockets: bounds memory on long runs
)

// slot tracks one request until both its kernel transmit time and its
// answer are known; they arrive in either order.
type slot struct {
	seq    uint64 // seq+1 of the request it holds; 0 when empty
	t1, t4 int64  // kernel transmit and receive times, Unix ns
	t2, t3 int64  // server receive and transmit times, Unix ns
	flags  uint8
}

const (
	haveTx uint8 = 1 << iota
	haveRx
)

// source is one client socket: the sender goroutine writes requests, its
// reader goroutine owns everything else.
type source struct {
	id    uint64
	conn  *net.UDPConn
	raw   syscall.RawConn
	tx    *mmsg.Batch
	rx    *mmsg.Batch
	errq  *mmsg.Batch
	seq   atomic.Uint64 // next sequence number; written by the sender only
	nsend int
	sent  int
	serr  syscall.Errno

	answered atomic.Uint64
	ring     []slot
	rep      Report
	rtt, err []int64
	maxKeep  int
	stop     atomic.Bool
	readFn   func(uintptr) bool
	sendFn   func(uintptr) bool

	reqLen int // reqLen, or an NTS request's length
	nts    *nts.Session
	sealer nts.Sealer
	uid    []byte
}

// Run offers the load described by cfg and reports what came back. progress,
// when not nil, is called about once a second from the sending goroutine.
func Run(ctx context.Context, cfg Config, progress func(Progress)) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	srcs, err := openSources(cfg)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for _, s := range srcs {
		wg.Add(1)
		go func() { defer wg.Done(); s.read() }()
	}
	elapsed := send(ctx, cfg, srcs, progress)
	select {
	case <-time.After(drainTime):
	case <-ctx.Done():
	}
	for _, s := range srcs {
		s.stop.Store(true)
		s.conn.Close()
	}
	wg.Wait()

	rep := &Report{KoD: map[string]uint64{}, Elapsed: elapsed}
	var rtt, terr []int64
	for _, s := range srcs {
		rep.Sent += s.seq.Load()
		rep.Answered += s.answered.Load()
		rep.Oversized += s.rep.Oversized
		rep.OutOfOrder += s.rep.OutOfOrder
		rep.Bogus += s.rep.Bogus
		rep.NTSChecked += s.rep.NTSChecked
		rep.KernelStamps += s.rep.KernelStamps
		for k, v := range s.rep.KoD {
			rep.KoD[k] += v
		}
		rtt = append(rtt, s.rtt...)
		terr = append(terr, s.err...)
	}
	rep.RTT, rep.Error = percentiles(rtt), percentiles(terr)
	return rep, ctx.Err()
}

// sourceAddr picks the local address of socket i: on IPv4 loopback a
// distinct 127.x.y.z per socket, so that the server sees many clients.
func sourceAddr(target netip.AddrPort, i int) netip.Addr {
	a := target.Addr()
	switch {
	case a.Is4() && a.IsLoopback():
		return netip.AddrFrom4([4]byte{127, 1, byte(i >> 8), byte(i&0xff) | 1})
	case a.Is4():
		return netip.IPv4Unspecified()
	case a.IsLoopback():
		return netip.IPv6Loopback()
	}
	return netip.IPv6Unspecified()
}

func openSources(cfg Config) ([]*source, error) {
	var srcs []*source
	fail := func(err error) ([]*source, error) {
		for _, s := range srcs {
			s.conn.Close()
		}
		return nil, err
	}
	for i := 0; i < cfg.Sockets; i++ {
		laddr := netip.AddrPortFrom(sourceAddr(cfg.Target, i), 0)
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(laddr))
		if err != nil {
			return fail(fmt.Errorf("source %v: %w", laddr, err))
		}
		var tmpl, uid []byte
		var sealer nts.Sealer
		n := reqLen
		if cfg.NTS != nil {
			uid = make([]byte, 32)
			binary.BigEndian.PutUint64(uid, uint64(i))
			var ok bool
			if tmpl, sealer, ok = cfg.NTS.Template(uid); !ok {
				conn.Close()
				return fail(errors.New("loadgen: NTS session without cookies"))
			}
			n = len(tmpl)
		}
		s := &source{
			id:      uint64(i),
			conn:    conn,
			reqLen:  n,
			nts:     cfg.NTS,
			sealer:  sealer,
			uid:     uid,
			tx:      mmsg.NewBatch(batchLen, n, 0),
			rx:      mmsg.NewBatch(batchLen, max(256, 2*n), 128), // room to see an oversized reply
			errq:    mmsg.NewBatch(batchLen, 64, 128),
			ring:    make([]slot, ringLen),
			maxKeep: maxSamples / cfg.Sockets,
			rep:     Report{KoD: map[string]uint64{}},
		}
		srcs = append(srcs, s)
		if s.raw, err = conn.SyscallConn(); err != nil {
			return fail(err)
		}
		var serr error
		flags := unix.SOF_TIMESTAMPING_SOFTWARE | unix.SOF_TIMESTAMPING_RX_SOFTWARE | unix.SOF_TIMESTAMPING_TX_SOFTWARE |
			unix.SOF_TIMESTAMPING_OPT_TSONLY | unix.SOF_TIMESTAMPING_OPT_ID
		_ = s.raw.Control(func(fd uintptr) {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPING, flags)
		})
		if serr != nil {
			return fail(fmt.Errorf("kernel timestamps: %w", serr))
		}
		for j := 0; j < batchLen; j++ {
			s.tx.SetAddr(j, cfg.Target)
			b := s.tx.Buf(j)
			clear(b)
			if tmpl != nil {
				copy(b, tmpl)
				continue
			}
			b[0] = 4<<3 | byte(ntp.ModeClient)
			b[2] = 6
			b[3] = 0xec // precision -20
		}
		s.readFn, s.sendFn = s.readOnce, s.sendOnce
	}
	if len(srcs) == 0 {
		return nil, errNoSockets
	}
	return srcs, nil
}

// send paces requests over the sockets until the duration is over.
func send(ctx context.Context, cfg Config, srcs []*source, progress func(Progress)) time.Duration {
	start := time.Now()
	nextProgress := start.Add(time.Second)
	var sent uint64
	next := 0
	for {
		now := time.Now()
		el := now.Sub(start)
		if el >= cfg.Duration || ctx.Err() != nil {
			return el
		}
		if progress != nil && now.After(nextProgress) {
			var ans uint64
			for _, s := range srcs {
				ans += s.answered.Load()
			}
			progress(Progress{Elapsed: el, Sent: sent, Answered: ans})
			nextProgress = nextProgress.Add(time.Second)
		}
		due := batchLen
		if cfg.Rate > 0 {
			want := uint64(float64(cfg.Rate) * el.Seconds())
			if want <= sent {
				waitUntil(start.Add(time.Duration(float64(sent+1)*1e9/float64(cfg.Rate))), now)
				continue
			}
			due = int(want - sent)
		}
		for due > 0 {
			s := srcs[next]
			next = (next + 1) % len(srcs)
			n := min(due, batchLen)
			s.nsend = n
			if err := s.raw.Write(s.sendFn); err != nil {
				return time.Since(start)
			}
			sent += uint64(s.sent)
			due -= n
		}
	}
}

// waitUntil waits for the next request's due time. Requests are paced one
// by one, as independent clients would send them: sent in bursts, they
// would reach the server in batches that it receives with one system call
// and one wakeup, a load no real server sees. A timer cannot wait a few
// microseconds, so the last stretch is spun, through the scheduler so that
// the readers still run.
func waitUntil(t, now time.Time) {
	if d := t.Sub(now); d > 200*time.Microsecond {
		time.Sleep(d - 100*time.Microsecond)
		return
	}
	runtime.Gosched()
}

// sendOnce sends s.nsend requests, each carrying its socket and sequence
// number as its transmit timestamp, so the answer's origin names it.
func (s *source) sendOnce(fd uintptr) bool {
	seq := s.seq.Load()
	for j := 0; j < s.nsend; j++ {
		b := s.tx.Buf(j)
		binary.BigEndian.PutUint64(b[40:], s.id<<48|(seq+uint64(j)))
		if s.nts != nil {
			s.sealer.Seal(b)
		}
	}
	n, errno := mmsg.Send(fd, s.tx, 0, s.nsend, unix.MSG_DONTWAIT)
	switch errno {
	case unix.EAGAIN:
		// Open loop: a full socket buffer is the client's limit, not a
		// reason to wait; the requests are simply not sent.
		s.sent = 0
		return true
	case 0:
		s.seq.Store(seq + uint64(n))
		s.sent = n
	default:
		s.sent = 0
		s.serr = errno
	}
	return true
}

// read receives answers and transmit timestamps until the socket closes.
func (s *source) read() {
	for !s.stop.Load() {
		if err := s.raw.Read(s.readFn); err != nil {
			return
		}
	}
}

func (s *source) readOnce(fd uintptr) bool {
	got := false
	s.errq.ResetRecv(batchLen)
	if n, errno := mmsg.Recv(fd, s.errq, batchLen, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT); errno == 0 {
		for i := 0; i < n; i++ {
			s.txStamp(s.errq.Control(i))
		}
		got = n > 0
	}
	s.rx.ResetRecv(batchLen)
	n, errno := mmsg.Recv(fd, s.rx, batchLen, unix.MSG_DONTWAIT)
	if errno == 0 {
		for i := 0; i < n; i++ {
			s.answer(i)
		}
		got = got || n > 0
	}
	return got || (errno != unix.EAGAIN && errno != 0)
}

// txStamp records a kernel transmit timestamp from the error queue.
func (s *source) txStamp(ctl []byte) {
	var ts int64
	var id uint32
	var ok bool
	for {
		c, rest, more := mmsg.NextCmsg(ctl)
		if !more {
			break
		}
		ctl = rest
		switch {
		case c.Level == unix.SOL_SOCKET && c.Type == unix.SCM_TIMESTAMPING:
			if sec, nsec, good := mmsg.Timespec(c.Data); good {
				ts = sec*1e9 + nsec
			}
		case (c.Level == unix.SOL_IP && c.Type == unix.IP_RECVERR) || (c.Level == unix.SOL_IPV6 && c.Type == unix.IPV6_RECVERR):
			if len(c.Data) >= int(unsafe.Sizeof(unix.SockExtendedErr{})) {
				e := (*unix.SockExtendedErr)(unsafe.Pointer(&c.Data[0]))
				if e.Origin == unix.SO_EE_ORIGIN_TIMESTAMPING {
					id, ok = e.Data, true
				}
			}
		}
	}
	if !ok || ts == 0 {
		return
	}
	// The kernel's id counts datagrams from 0, in 32 bits; the request's
	// sequence number is the nearest one at or below what was sent.
	// The sender stores its count after sendmmsg returns, so a timestamp may
	// belong to one of up to a batch beyond it.
	sent := s.seq.Load() + batchLen
	seq := sent&^0xffffffff | uint64(id)
	if seq > sent && seq >= 1<<32 {
		seq -= 1 << 32
	}
	sl := &s.ring[seq%ringLen]
	if sl.seq != seq+1 {
		*sl = slot{seq: seq + 1}
	}
	sl.t1 = ts
	sl.flags |= haveTx
	s.complete(sl)
}

// answer checks and records reply i of the receive batch.
func (s *source) answer(i int) {
	b := s.rx.Data(i)
	var t4 int64
	for ctl := s.rx.Control(i); ; {
		c, rest, more := mmsg.NextCmsg(ctl)
		if !more {
			break
		}
		ctl = rest
		if c.Level == unix.SOL_SOCKET && c.Type == unix.SCM_TIMESTAMPING {
			if sec, nsec, ok := mmsg.Timespec(c.Data); ok {
				t4 = sec*1e9 + nsec
			}
		}
	}
	var h ntp.Header
	if h.Decode(b) != nil || h.Mode != ntp.ModeServer || uint64(h.OrigTime)>>48 != s.id {
		s.rep.Bogus++
		return
	}
	if len(b) > s.reqLen {
		s.rep.Oversized++
	}
	seq := uint64(h.OrigTime) & (1<<48 - 1)
	if h.Stratum == ntp.StratumKiss {
		code, _ := h.RefID.ASCII()
		s.rep.KoD[code]++
		return
	}
	if s.nts != nil && seq%16 == 0 {
		if s.nts.Verify(b, s.uid) != nil {
			s.rep.Bogus++
			return
		}
		s.rep.NTSChecked++
	}
	s.answered.Add(1)
	sl := &s.ring[seq%ringLen]
	if sl.seq != seq+1 {
		*sl = slot{seq: seq + 1}
	}
	pivot := time.Unix(0, t4)
	if t4 == 0 {
		pivot = time.Now()
	}
	sl.t2 = h.RecvTime.Near(pivot).UnixNano()
	sl.t3 = h.XmitTime.Near(pivot).UnixNano()
	sl.t4 = t4
	sl.flags |= haveRx
	s.complete(sl)
}

func (s *source) complete(sl *slot) {
	if sl.flags != haveTx|haveRx || sl.t4 == 0 {
		return
	}
	sl.flags = 0
	s.rep.KernelStamps++
	if !(sl.t1 <= sl.t2 && sl.t2 <= sl.t3 && sl.t3 <= sl.t4) {
		s.rep.OutOfOrder++
	}
	if len(s.rtt) < s.maxKeep {
		s.rtt = append(s.rtt, sl.t4-sl.t1)
		s.err = append(s.err, ((sl.t2-sl.t1)+(sl.t3-sl.t4))/2)
	}
}
