// Package siv implements AEAD_AES_SIV_CMAC_256 and its larger siblings
// (RFC 5297): AES-CMAC (RFC 4493) for the synthetic IV, AES-CTR for the
// encryption, on crypto/aes. Seal and Open do not allocate beyond growing
// dst, so that the NTS responder can authenticate every reply cheaply.
package siv

import (
	"crypto/cipher"
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

// mac is a running CMAC: it keeps the last block, possibly full, back
// until the end, since the last block is treated specially. It lives in a
// pooled scratch area: blocks handed to a cipher.Block escape to the heap.
type mac struct {
	m   *cmac
	x   block // chaining value
	buf block
	tmp block
	n   int // bytes in buf
}

func (s *mac) reset(m *cmac) {
	s.m, s.n = m, 0
	s.x = block{}
}

func (s *mac) write(p []byte) {
	if s.n < blockLen {
		c := copy(s.buf[s.n:], p)
		s.n += c
		p = p[c:]
		if len(p) == 0 {
			return
		}
	}
	// buf is full and more follows: it is not the last block. Whole
	// blocks but the last are then absorbed straight from p.
	xorInto(&s.x, s.buf[:])
	s.m.b.Encrypt(s.x[:], s.x[:])
	for len(p) > blockLen {
		xorInto(&s.x, p[:blockLen])
		s.m.b.Encrypt(s.x[:], s.x[:])
		p = p[blockLen:]
	}
	s.n = copy(s.buf[:], p)
}

func (s *mac) sum() block {
	if s.n == blockLen {
		s.tmp = s.buf
		xorInto(&s.tmp, s.m.k1[:])
	} else {
		s.tmp = block{}
		copy(s.tmp[:], s.buf[:s.n])
		s.tmp[s.n] = 0x80
		xorInto(&s.tmp, s.m.k2[:])
	}
	xorInto(&s.x, s.tmp[:])
	s.m.b.Encrypt(s.x[:], s.x[:])
	return s.x
}

// xorInto sets x to x XOR p (a whole block), two words at a time: cheaper
// than subtle.XORBytes's checks for the one-block case CMAC is made of.
func xorInto(x *block, p []byte) {
	_ = p[blockLen-1]
	binary.LittleEndian.PutUint64(x[:8], binary.LittleEndian.Uint64(x[:8])^binary.LittleEndian.Uint64(p[:8]))
	binary.LittleEndian.PutUint64(x[8:], binary.LittleEndian.Uint64(x[8:])^binary.LittleEndian.Uint64(p[8:16]))
}

// sumOf returns the CMAC of p in one go, using s.
func (s *mac) sumOf(m *cmac, p []byte) block {
	s.reset(m)
	s.write(p)
	return s.sum()
}
