package server

import (
	"sync/atomic"

	"stratum1/status"
)

// DropReason says why a datagram got no reply.
type DropReason uint8

// Reasons for dropping a datagram.
const (
	DropShort     DropReason = iota // shorter than the 48-byte header
	DropVersion                     // version not 1 to 4
	DropMode                        // not a client request (modes 0, 1, 2, 4, 5, 7)
	DropMalformed                   // bad extension field or MAC length, or truncated
	DropPolicy                      // the access policy said Ignore
	DropControl                     // mode 6 with no control handler, or refused
	DropSource                      // source address or port that cannot be answered
	DropSend                        // the kernel refused the reply
	numDropReasons
)

var dropNames = [numDropReasons]string{"short", "version", "mode", "malformed", "policy", "control", "source", "send"}

func (d DropReason) String() string {
	if d < numDropReasons {
		return dropNames[d]
	}
	return "unknown"
}

// kod indexes the kiss codes the responder sends.
type kod uint8

const (
	kodDeny kod = iota
	kodRate
	kodRstr
	numKoD
)

var kodNames = [numKoD]string{"DENY", "RATE", "RSTR"}

// Counters are the responder's totals since it started.
type Counters struct {
	Received uint64 // datagrams read
	Answered uint64 // normal replies sent (kiss-o'-death not included)
	Control  uint64 // mode 6 datagrams handed to the control handler
	// Interleaved counts the replies (within Answered) sent in interleaved
	// mode (RFC 9769), carrying an earlier reply's kernel transmit time.
	Interleaved uint64
	// TxStamps counts the kernel transmit timestamps read back for replies
	// to interleaved clients.
	TxStamps uint64
	Dropped  [numDropReasons]uint64
	KoD      [numKoD]uint64 // kiss-o'-death replies by code: DENY, RATE, RSTR
}

// DroppedBy returns the number of datagrams dropped for reason d.
func (c Counters) DroppedBy(d DropReason) uint64 {
	if d >= numDropReasons {
		return 0
	}
	return c.Dropped[d]
}

// DroppedTotal returns the number of datagrams dropped for any reason.
func (c Counters) DroppedTotal() uint64 {
	var n uint64
	for _, v := range c.Dropped {
		n += v
	}
	return n
}

// KoDTotal returns the number of kiss-o'-death replies sent.
func (c Counters) KoDTotal() uint64 {
	var n uint64
	for _, v := range c.KoD {
		n += v
	}
	return n
}

// Fill writes the counters into the status model.
func (c Counters) Fill(s *status.Server) {
	s.Received = c.Received
	s.Answered = c.Answered
	s.KoD = make(map[string]uint64, numKoD)
	for i, v := range c.KoD {
		s.KoD[kodNames[i]] = v
	}
	s.Dropped = make(map[string]uint64, numDropReasons)
	for i, v := range c.Dropped {
		s.Dropped[dropNames[i]] = v
	}
}

func (c *Counters) add(o *Counters) {
	c.Received += o.Received
	c.Answered += o.Answered
	c.Control += o.Control
	c.Interleaved += o.Interleaved
	c.TxStamps += o.TxStamps
	for i := range c.Dropped {
		c.Dropped[i] += o.Dropped[i]
	}
	for i := range c.KoD {
		c.KoD[i] += o.KoD[i]
	}
}

// sharedCounters are one worker's published totals. A worker counts a batch
// in plain fields and publishes once per batch, so the hot path pays one
// atomic add per counter per batch, not per packet.
type sharedCounters struct {
	received, answered, control atomic.Uint64
	interleaved, txStamps       atomic.Uint64
	dropped                     [numDropReasons]atomic.Uint64
	kod                         [numKoD]atomic.Uint64
	_                           [64]byte // keep workers off each other's cache lines
}

func (s *sharedCounters) publish(c *Counters) {
	if c.Received != 0 {
		s.received.Add(c.Received)
	}
	if c.Answered != 0 {
		s.answered.Add(c.Answered)
	}
	if c.Control != 0 {
		s.control.Add(c.Control)
	}
	if c.Interleaved != 0 {
		s.interleaved.Add(c.Interleaved)
	}
	if c.TxStamps != 0 {
		s.txStamps.Add(c.TxStamps)
	}
	for i, v := range c.Dropped {
		if v != 0 {
			s.dropped[i].Add(v)
		}
	}
	for i, v := range c.KoD {
		if v != 0 {
			s.kod[i].Add(v)
		}
	}
	*c = Counters{}
}

func (s *sharedCounters) load() Counters {
	c := Counters{Received: s.received.Load(), Answered: s.answered.Load(), Control: s.control.Load(),
		Interleaved: s.interleaved.Load(), TxStamps: s.txStamps.Load()}
	for i := range c.Dropped {
		c.Dropped[i] = s.dropped[i].Load()
	}
	for i := range c.KoD {
		c.KoD[i] = s.kod[i].Load()
	}
	return c
}
