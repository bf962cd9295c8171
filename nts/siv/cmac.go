// Package siv implements AEAD_AES_SIV_CMAC_256 and its larger siblings
// (RFC 5297): AES-CMAC (RFC 4493) for the synthetic IV, AES-CTR for the
// encryption. Seal and Open do not allocate beyond growing dst, so that
// the NTS responder can authenticate every reply cheaply.
//
// The block cipher is crypto/aes, except for the two AES-128 keys of
// AEAD_AES_SIV_CMAC_256 on amd64 with AES-NI, where aes_amd64.s keeps the
// round keys in registers for a whole CMAC chain and runs two chains, or
// four counter blocks, side by side: called a block at a time through
// cipher.Block, a chain paid the call and the reloading of the round keys
// on every block and could not overlap another. Both are tested against
// RFC 5297's vectors and a plain implementation.
package siv

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"unsafe"
)

const blockLen = 16

type block = [blockLen]byte

// roundKeys is an expanded AES-128 key, for the AES-NI path.
type roundKeys [11]block

// cmac holds an AES-CMAC key: the block cipher and its two subkeys. The
// cipher is b, or the expanded key rk for the AES-NI path.
type cmac struct {
	b      cipher.Block
	rk     *roundKeys
	k1, k2 block
}

// init derives the subkeys of the key whose cipher is b or rk, using tmp
// (which it zeroes) for the block the cipher encrypts.
func (m *cmac) init(b cipher.Block, rk *roundKeys, tmp *block) {
	m.b, m.rk = b, rk
	*tmp = block{}
	if rk != nil {
		encryptBlocks(rk, tmp, 1)
	} else {
		b.Encrypt(tmp[:], tmp[:])
	}
	m.k1 = dbl(*tmp)
	m.k2 = dbl(m.k1)
	*tmp = block{}
}

// dbl multiplies a block by x in GF(2^128) (RFC 5297 section 2.3).
func dbl(v block) block {
	var out block
	carry := v[0] >> 7
	for i := 0; i < blockLen-1; i++ {
		out[i] = v[i]<<1 | v[i+1]>>7
	}
	out[blockLen-1] = v[blockLen-1]<<1 ^ 0x87*carry
	return out
}

// maxLanes is how many CMAC chains run side by side at most.
const maxLanes = 4

// laneSet holds CMAC chains in progress. One chain is bound by the latency
// of the AES instruction, every block waiting for the one before; the
// chains of an S2V (one per component) are independent, and run advances
// them side by side, so that the processor overlaps them. The chaining
// values are contiguous, so that the AES-NI path encrypts their last
// blocks in one call; they live in a pooled scratch area, since a block
// handed to a cipher.Block escapes to the heap. The inputs are run's
// argument, so that callers' buffers stay on their stacks.
type laneSet struct {
	x     [maxLanes]block // chaining values
	last  [maxLanes]bool  // the input ends its message: its final block is CMAC's last
	spare block           // the partner of an odd lane out in absorb2
}

// start sets lane i to compute a CMAC or, with !last, only to absorb a
// whole number of blocks that more input follows.
func (s *laneSet) start(i int, last bool) {
	s.x[i], s.last[i] = block{}, last
}

// run computes lane i over in[i] under m, for every i < len(in): first
// the blocks that are not a message's last, then the last blocks.
func (s *laneSet) run(m *cmac, in [][]byte) {
	if m.rk != nil {
		s.runAESNI(m, in)
		return
	}
	// The chaining value is XORed by subtle.XORBytes, whose whole-block
	// store the cipher's whole-block load is forwarded from; a block
	// stored in halves and loaded whole waits until the stores reach the
	// cache, behind every instruction before them (the other lanes' AES
	// included), which would undo the overlap.
	most := 0
	for i := range in {
		most = max(most, absorbed(s.last[i], len(in[i])))
	}
	for k := 0; k < most; k++ {
		off := k * blockLen
		for i := range in {
			if k >= absorbed(s.last[i], len(in[i])) {
				continue
			}
			subtle.XORBytes(s.x[i][:], s.x[i][:], in[i][off:off+blockLen])
			m.b.Encrypt(s.x[i][:], s.x[i][:])
		}
	}
	for i := range in {
		if s.finalBlock(m, i, in[i]) {
			m.b.Encrypt(s.x[i][:], s.x[i][:])
		}
	}
}

// runAESNI is run on the assembly: the chains absorb two by two, then
// the runs of lanes that finish encrypt their last blocks together.
func (s *laneSet) runAESNI(m *cmac, in [][]byte) {
	for i := 0; i < len(in); i += 2 {
		n1 := absorbed(s.last[i], len(in[i]))
		x2, p2, n2 := &s.spare, in[i], 0
		if i+1 < len(in) {
			x2, p2, n2 = &s.x[i+1], in[i+1], absorbed(s.last[i+1], len(in[i+1]))
		}
		if n1+n2 > 0 {
			absorb2(m.rk, &s.x[i], unsafe.SliceData(in[i]), n1, x2, unsafe.SliceData(p2), n2)
		}
	}
	from := 0
	for i := range in {
		if !s.finalBlock(m, i, in[i]) {
			if i > from {
				encryptBlocks(m.rk, &s.x[from], i-from)
			}
			from = i + 1
		}
	}
	if len(in) > from {
		encryptBlocks(m.rk, &s.x[from], len(in)-from)
	}
}

// finalBlock XORs into lane i the last block of p, padded or not, with
// its subkey, ready for the last encryption, and reports whether the
// lane has one.
func (s *laneSet) finalBlock(m *cmac, i int, p []byte) bool {
	if !s.last[i] {
		return false
	}
	tail := p[absorbed(true, len(p))*blockLen:]
	var t block
	copy(t[:], tail)
	if len(tail) == blockLen {
		xorInto(&t, m.k1[:])
	} else {
		t[len(tail)] = 0x80
		xorInto(&t, m.k2[:])
	}
	xorInto(&s.x[i], t[:])
	s.last[i] = false
	return true
}

// absorbed is the number of blocks of an n-byte input that run absorbs
// before the last: all but the last, complete or not, of a message's end
// (last), every whole one otherwise.
func absorbed(last bool, n int) int {
	if last {
		return max(n-1, 0) / blockLen
	}
	return n / blockLen
}

// xorInto sets x to x XOR p (a whole block), two words at a time: cheaper
// than subtle.XORBytes's checks, for a block that Go code reads next. A
// block that the cipher loads whole next is XORed by subtle.XORBytes (see
// laneSet.run).
func xorInto(x *block, p []byte) {
	_ = p[blockLen-1]
	binary.LittleEndian.PutUint64(x[:8], binary.LittleEndian.Uint64(x[:8])^binary.LittleEndian.Uint64(p[:8]))
	binary.LittleEndian.PutUint64(x[8:], binary.LittleEndian.Uint64(x[8:])^binary.LittleEndian.Uint64(p[8:16]))
}
