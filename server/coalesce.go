package server

import "time"

// coalescer decides how long a busy worker lets requests gather before it
// receives again, so that one wakeup and one recvmmsg serve several of
// them. A network card does the same with interrupt moderation. The wait
// costs the client nothing in accuracy: the request's receive time is the
// kernel's stamp of its arrival and the transmit time is taken just
// before the reply leaves, so the server's residence time drops out of
// the client's offset and delay. It only lengthens the round trip, by at
// most max, and only when coalesceMin or more requests would arrive within
// max (at the default 200 us, above 20k requests/s on a socket), and until
// the rate falls under coalesceLeave: below that the worker blocks as
// before and answers at once.
type coalescer struct {
	max time.Duration // longest wait; 0 disables

	windowStart time.Time
	count       int     // requests received since windowStart
	perSecond   float64 // arrival rate over the last window
	waiting     bool    // between entering at coalesceMin and leaving under coalesceLeave
}

const (
	// coalesceWindow is how often the arrival rate is re-measured.
	coalesceWindow = 10 * time.Millisecond
	// coalesceBatch is the number of requests a wait aims to gather (at
	// 48k/s the default 200 us gathers about 10). Every wakeup costs a
	// context switch, a recvmmsg, a nanosleep and, at normal priority (the
	// shipped unit forbids realtime), a pass through the scheduler among
	// other work: the larger the batch, the less of that per reply.
	coalesceBatch = 16
	// coalesceMin is how many requests must arrive within max for a wait
	// to be worth it (above 20k/s at the default 200 us); fewer, and it
	// would only delay them.
	coalesceMin = 4
	// coalesceLeave is how few per max end the waits again (15k/s at the
	// default). Between the two the worker keeps the mode it is in: a
	// load that hovers at coalesceMin would otherwise flip between waiting
	// and not from one 10 ms window to the next, each flip a batch of
	// wakeups, and its round trips with it. Under 15k/s it never waits
	// (10k/s is the rate of the round-trip targets).
	coalesceLeave = 3
)

// hold records a batch of n requests received at now and returns how long
// to wait before receiving again (0: receive at once).
func (c *coalescer) hold(now time.Time, n int) time.Duration {
	c.count += n
	if el := now.Sub(c.windowStart); el >= coalesceWindow || el < 0 {
		if el > 0 && !c.windowStart.IsZero() {
			c.perSecond = float64(c.count) / el.Seconds()
		}
		c.windowStart, c.count = now, 0
	}
	if c.max <= 0 {
		return 0
	}
	switch perWait := c.perSecond * c.max.Seconds(); {
	case perWait >= coalesceMin:
		c.waiting = true
	case perWait < coalesceLeave:
		c.waiting = false
	}
	if !c.waiting || n >= coalesceBatch {
		return 0
	}
	return min(c.max, time.Duration(coalesceBatch/c.perSecond*1e9))
}

// busyRate is the arrival rate on a socket above which its worker waits
// for the next request in a raw system call (see worker.recv): requests
// then come at least every millisecond, and the worker passes through
// the scheduler every few.
const busyRate = 1000

// busy reports whether requests arrived at busyRate or more in the last
// measured window.
func (c *coalescer) busy() bool { return c.perSecond >= busyRate }

// idle forgets the measured rate, after a receive that found nothing: the
// load stopped, or a signal interrupted the wait.
func (c *coalescer) idle() { c.perSecond, c.waiting = 0, false }
