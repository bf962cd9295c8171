// Package siv implements AEAD_AES_SIV_CMAC_256 and its larger siblings
// (RFC 5297): AES-CMAC (RFC 4493) for the synthetic IV, AES-CTR for the
// encryption, on crypto/aes. Seal and Open do not allocate beyond growing
// dst, so that the NTS responder can authenticate every reply cheaply.
package siv

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

const blockLen = 16

type block = [blockLen]byte

// cmac holds an AES-CMAC key: the block cipher and its two subkeys.
type cmac struct {
	b      cipher.Block
	k1, k2 block
}

// init sets the key's cipher and derives the subkeys, using tmp (which it
// zeroes) for the block the cipher encrypts.
func (m *cmac) init(b cipher.Block, tmp *block) {
	m.b = b
	*tmp = block{}
	b.Encrypt(tmp[:], tmp[:])
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

// lane is one CMAC chain in progress. One chain is bound by the latency of
// the AES instruction, every block waiting for the one before; the chains
// of an S2V (one per component) are independent, and run advances them a
// block each in turn, so that the processor overlaps them: two chains take
// about the time of one. A lane lives in a pooled scratch area, since a
// block handed to a cipher.Block escapes to the heap; its input does not
// (see run), so that callers' buffers stay on their stacks.
type lane struct {
	m    *cmac
	x    block // chaining value
	last bool  // the input ends the message: its final block is finished as CMAC's last
}

// start sets the lane to compute a CMAC under m or, with !last, only to
// absorb a whole number of blocks that more input follows.
func (l *lane) start(m *cmac, last bool) {
	l.m, l.x, l.last = m, block{}, last
}

// run computes lane i over in[i], all lanes together: first the blocks
// that are not a message's last, a block of each lane in turn, then the
// last blocks. The chaining value is XORed by subtle.XORBytes, whose
// whole-block store the cipher's whole-block load is forwarded from; a
// block stored in halves and loaded whole waits until the stores reach
// the cache, behind every instruction before them (the other lanes' AES
// included), which would undo the overlap.
func run(ls []lane, in [][]byte) {
	most := 0
	for i := range ls {
		most = max(most, absorbed(ls[i].last, len(in[i])))
	}
	for k := 0; k < most; k++ {
		off := k * blockLen
		for i := range ls {
			if off+blockLen > len(in[i]) || ls[i].last && off+blockLen == len(in[i]) {
				continue
			}
			l := &ls[i]
			subtle.XORBytes(l.x[:], l.x[:], in[i][off:off+blockLen])
			l.m.b.Encrypt(l.x[:], l.x[:])
		}
	}
	for i := range ls {
		l := &ls[i]
		if !l.last {
			continue
		}
		tail := in[i][absorbed(true, len(in[i]))*blockLen:]
		var t block
		copy(t[:], tail)
		if len(tail) == blockLen {
			xorInto(&t, l.m.k1[:])
		} else {
			t[len(tail)] = 0x80
			xorInto(&t, l.m.k2[:])
		}
		subtle.XORBytes(l.x[:], l.x[:], t[:])
		l.m.b.Encrypt(l.x[:], l.x[:])
		l.last = false
	}
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
// than subtle.XORBytes's checks for the one-block case CMAC is made of.
func xorInto(x *block, p []byte) {
	_ = p[blockLen-1]
	binary.LittleEndian.PutUint64(x[:8], binary.LittleEndian.Uint64(x[:8])^binary.LittleEndian.Uint64(p[:8]))
	binary.LittleEndian.PutUint64(x[8:], binary.LittleEndian.Uint64(x[8:])^binary.LittleEndian.Uint64(p[8:16]))
}
