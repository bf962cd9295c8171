package nts

import (
	"crypto/subtle"
	"encoding/binary"
	"hash/maphash"
	"sync/atomic"

	"stratum1/nts/siv"
)

// aeadSlots bounds the cache: about 1.5 KiB a client, 1.5 MiB in all (3 KiB
// and 3 MiB where crypto/aes serves the keys: no AES-NI, or -tags purego).
const aeadSlots = 1024

// aeadPair is one client's keys with their expanded ciphers.
type aeadPair struct {
	c2s, s2c   [keyLen]byte
	open, seal *siv.SIV // c2s verifies requests, s2c seals replies
}

// aeadCache keeps the expanded keys of recent clients. Every cookie from
// one NTS-KE session carries the same two keys, so a client that polls
// finds its ciphers here instead of expanding them (and allocating) for
// every request. It is direct-mapped by a keyed hash and lock-free: a
// client whose slot another took just expands its keys again.
type aeadCache struct {
	seed  maphash.Seed
	slots [aeadSlots]atomic.Pointer[aeadPair]
}

func newAEADCache() *aeadCache { return &aeadCache{seed: maphash.MakeSeed()} }

// get returns the ciphers for c2s and s2c (keyLen bytes each).
func (c *aeadCache) get(c2s, s2c []byte) (*aeadPair, error) {
	slot := &c.slots[maphash.Bytes(c.seed, c2s)%aeadSlots]
	if p := slot.Load(); p != nil && sameKeys(p, c2s, s2c) {
		return p, nil
	}
	p := &aeadPair{}
	copy(p.c2s[:], c2s)
	copy(p.s2c[:], s2c)
	var err error
	if p.open, err = siv.New(c2s); err != nil {
		return nil, err
	}
	if p.seal, err = siv.New(s2c); err != nil {
		return nil, err
	}
	slot.Store(p)
	return p, nil
}

// sameKeys reports whether p holds c2s and s2c (keyLen bytes each), in
// constant time, a word at a time.
func sameKeys(p *aeadPair, c2s, s2c []byte) bool {
	_, _ = c2s[keyLen-1], s2c[keyLen-1]
	var d uint64
	for i := 0; i < keyLen; i += 8 {
		d |= binary.LittleEndian.Uint64(p.c2s[i:]) ^ binary.LittleEndian.Uint64(c2s[i:])
		d |= binary.LittleEndian.Uint64(p.s2c[i:]) ^ binary.LittleEndian.Uint64(s2c[i:])
	}
	// The two halves ORed: zero exactly when d is.
	return subtle.ConstantTimeEq(int32(uint32(d>>32|d)), 0) == 1
}
