package access

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"sync"
	"unsafe"
)

// ways is the associativity of the client table: a client can live in any
// of the ways of the one set its address hashes to.
const ways = 8

// entry is one client's leaky bucket. A zero tat marks a free slot.
type entry struct {
	hi, lo uint64 // the client's masked address, as 16 bytes (IPv4 mapped)
	tat    int64  // theoretical arrival time, Unix ns: when the bucket is empty again
	kiss   int64  // when the client was last sent a kiss-o'-death, Unix ns
}

// set is a group of ways under one lock. Sets are independent, so workers
// rarely contend.
type set struct {
	mu sync.Mutex
	e  [ways]entry
}

// table is a fixed-size, set-associative hash table of client buckets,
// allocated once. When a set is full, the client whose bucket drains first
// is replaced: a drained bucket carries no information, so honest clients
// lose nothing, and a flood of new addresses displaces each other before it
// displaces a client that is over its limit.
type table struct {
	sets         []set
	seed0, seed1 uint64
}

// setBytes is the memory of one set, which sizes the table to its budget.
const setBytes = int(unsafe.Sizeof(set{}))

func newTable(budget int) *table {
	n := max(budget/setBytes, 1)
	return &table{
		sets:  make([]set, n),
		seed0: rand.Uint64(),
		seed1: rand.Uint64(),
	}
}

// bytes is the memory the table holds.
func (t *table) bytes() int { return len(t.sets) * setBytes }

// capacity is the number of clients the table can hold.
func (t *table) capacity() int { return len(t.sets) * ways }

// key returns addr masked to its client prefix as two words.
func key(addr netip.Addr, v4Bits, v6Bits int) (hi, lo uint64) {
	b := addr.As16() // IPv4 comes back mapped, which no unmapped IPv6 source is
	hi = binary.BigEndian.Uint64(b[:8])
	lo = binary.BigEndian.Uint64(b[8:])
	n := v6Bits
	if addr.Is4() {
		n = 96 + v4Bits
	}
	switch {
	case n <= 0:
		return 0, 0
	case n < 64:
		return hi & (^uint64(0) << (64 - n)), 0
	case n < 128:
		return hi, lo & (^uint64(0) << (128 - n))
	}
	return hi, lo
}

func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// lookup locks the set that holds the client (hi, lo) and returns its entry,
// claiming a slot if the client is new. The caller must unlock the set.
// evicted reports that a client still over its average was displaced.
func (t *table) lookup(hi, lo uint64, now int64) (s *set, e *entry, evicted bool) {
	h := mix(mix(hi^t.seed0) + lo ^ t.seed1)
	idx, _ := bits.Mul64(h, uint64(len(t.sets))) // uniform in [0, len) without division
	s = &t.sets[idx]
	s.mu.Lock()
	victim := 0
	for i := range s.e {
		c := &s.e[i]
		if c.hi == hi && c.lo == lo && c.tat != 0 {
			return s, c, false
		}
		if c.tat < s.e[victim].tat {
			victim = i
		}
	}
	e = &s.e[victim]
	evicted = e.tat > now
	*e = entry{hi: hi, lo: lo, tat: now}
	return s, e, evicted
}

// occupancy counts the clients in the table, and those whose bucket is not
// empty. It locks every set in turn, so
// it is for status pages, not the hot path.
func (t *table) occupancy(now int64) (clients, active int) {
	for i := range t.sets {
		s := &t.sets[i]
		s.mu.Lock()
		for j := range s.e {
			if s.e[j].tat != 0 {
				clients++
				if s.e[j].tat > now {
					active++
				}
			}
		}
		s.mu.Unlock()
	}
	return clients, active
}
