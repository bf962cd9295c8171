package server

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"stratum1/server/internal/mmsg"
)

// txStamper corrects transmit timestamps for the time a reply spends in the
// kernel between the moment it is stamped and the moment it leaves. Now and
// then it asks the kernel for a software transmit timestamp of one reply
// (SO_TIMESTAMPING, per message), compares it with the time written into
// that reply and keeps a running estimate of the delay as a base plus a
// cost per earlier message in the same sendmmsg call. Replies are then
// stamped with the time they are expected to leave, not the time they were
// handed over: the median delay of recent samples. With one sample outstanding at a time, the timestamp read
// from the error queue always belongs to the sampled reply.
type txStamper struct {
	on        bool
	every     time.Duration // between samples
	slot      int           // batch position to sample next, rotating
	armed     int           // tx index that carries the request, or -1
	pending   bool
	stamped   time.Time // uncorrected time written into the sampled reply
	pos       int       // its position within its sendmmsg call
	last      time.Time // when the last sample was taken
	base      medianRing
	perMsg    medianRing
	baseNs    float64 // delay of the first message of a call
	perMsgNs  float64 // extra delay per message before it in the call
	haveBase  bool
	errq      *mmsg.Batch
	collectFn func(uintptr)
	got       bool
}

const (
	txSampleEvery = 10 * time.Millisecond
	txMaxCorr     = 500 * time.Microsecond // anything larger is not send delay
)

// enable turns on kernel receive timestamps and transmit timestamp
// reporting on socket s, falling back to SO_TIMESTAMPNS receive timestamps
// (and no correction) where SO_TIMESTAMPING is refused.
func (t *txStamper) enable(s int) {
	t.armed = -1
	flags := unix.SOF_TIMESTAMPING_SOFTWARE | unix.SOF_TIMESTAMPING_RX_SOFTWARE | unix.SOF_TIMESTAMPING_OPT_TSONLY
	if unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, flags) != nil {
		return
	}
	t.on = true
	t.every = txSampleEvery
	t.errq = mmsg.NewBatch(1, 64, 256)
	t.collectFn = t.collectFd
}

// arm asks for a transmit timestamp of one reply of the batch about to be
// sent, when a sample is due.
func (t *txStamper) arm(tx *mmsg.Batch, ntx int, now time.Time) {
	t.armed = -1
	if !t.on || t.pending || ntx == 0 || now.Sub(t.last) < t.every {
		return
	}
	j := t.slot % ntx
	t.slot = (t.slot + 1) % batchLen
	ctl := tx.CtlBuf(j)
	used := int(tx.Hdrs[j].Msg.Controllen)
	if used+unix.CmsgSpace(4) > len(ctl) {
		return
	}
	d, sp := mmsg.PutCmsg(ctl[used:], unix.SOL_SOCKET, unix.SO_TIMESTAMPING, 4)
	mmsg.PutUint32(d, unix.SOF_TIMESTAMPING_TX_SOFTWARE)
	tx.SetControl(j, used+sp)
	t.armed = j
}

// sent records the uncorrected stamp of the armed reply when the sendmmsg
// call that starts at index from carries it.
func (t *txStamper) sent(now time.Time, from int) {
	if t.armed < from {
		return
	}
	t.pending, t.stamped, t.pos, t.last = true, now, t.armed-from, now
	t.armed = -1
}

// correction returns how much later than the stamp time the message at
// position pos of a sendmmsg call is expected to leave.
func (t *txStamper) correction(pos int) time.Duration {
	if !t.haveBase {
		return 0
	}
	d := time.Duration(t.baseNs + float64(pos)*t.perMsgNs)
	return min(max(d, 0), txMaxCorr)
}

// collect reads the pending sample's timestamp from the error queue.
func (t *txStamper) collect(raw syscall.RawConn) {
	if !t.pending {
		return
	}
	t.got = false
	_ = raw.Control(t.collectFn)
	if !t.got && time.Since(t.stamped) > 100*time.Millisecond {
		t.pending = false // lost (the send failed); sample again later
	}
}

func (t *txStamper) collectFd(fd uintptr) {
	for {
		t.errq.ResetRecv(1)
		n, errno := mmsg.Recv(fd, t.errq, 1, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if errno != 0 || n != 1 {
			return
		}
		for b := t.errq.Control(0); ; {
			c, rest, ok := mmsg.NextCmsg(b)
			if !ok {
				break
			}
			b = rest
			if c.Level != unix.SOL_SOCKET || c.Type != unix.SCM_TIMESTAMPING || !t.pending {
				continue
			}
			sec, nsec, ok := mmsg.Timespec(c.Data)
			if !ok || sec == 0 {
				continue
			}
			t.update(time.Unix(sec, nsec).Sub(t.stamped))
			t.pending, t.got = false, true
		}
	}
}

func (t *txStamper) update(d time.Duration) {
	if d < 0 || d > txMaxCorr {
		return
	}
	if t.pos == 0 {
		t.base.add(float64(d))
		// A few samples first: one cold send says little.
		t.baseNs, t.haveBase = t.base.median(), t.base.n >= 5
		return
	}
	if t.haveBase {
		t.perMsg.add(max(float64(d)-t.baseNs, 0) / float64(t.pos))
		t.perMsgNs = t.perMsg.median()
	}
}

// medianRing keeps the last samples of a delay and their median. The delay
// from stamp to wire has a long tail (an interrupt, a preemption); a mean
// would follow the tail and stamp replies later than they leave, a median
// does not.
type medianRing struct {
	v    [31]float64
	n, i int
}

func (m *medianRing) add(x float64) {
	m.v[m.i] = x
	m.i = (m.i + 1) % len(m.v)
	m.n = min(m.n+1, len(m.v))
}

func (m *medianRing) median() float64 {
	var s [31]float64
	copy(s[:], m.v[:m.n])
	w := s[:m.n]
	for i := 1; i < len(w); i++ { // insertion sort: 31 values, 100 times a second
		for j := i; j > 0 && w[j] < w[j-1]; j-- {
			w[j], w[j-1] = w[j-1], w[j]
		}
	}
	return w[len(w)/2]
}
