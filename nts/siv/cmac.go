// Package siv implements AEAD_AES_SIV_CMAC_256 and its larger siblings
// (RFC 5297): AES-CMAC (RFC 4493) for the synthetic IV, AES-CTR for the
// encryption, on crypto/aes. Seal and Open do not allocate beyond growing
// dst, so that the NTS responder can authenticate every reply cheaply.
package siv

import (
	"crypto/cipher"
	"crypto/subtle"
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
	for len(p) > 0 {
		if s.n == blockLen {
			subtle.XORBytes(s.x[:], s.x[:], s.buf[:])
			s.m.b.Encrypt(s.x[:], s.x[:])
			s.n = 0
		}
		c := copy(s.buf[s.n:], p)
		s.n += c
		p = p[c:]
	}
}

func (s *mac) sum() block {
	if s.n == blockLen {
		subtle.XORBytes(s.tmp[:], s.buf[:], s.m.k1[:])
	} else {
		s.tmp = block{}
		copy(s.tmp[:], s.buf[:s.n])
		s.tmp[s.n] = 0x80
		subtle.XORBytes(s.tmp[:], s.tmp[:], s.m.k2[:])
	}
	subtle.XORBytes(s.x[:], s.x[:], s.tmp[:])
	s.m.b.Encrypt(s.x[:], s.x[:])
	return s.x
}

// sumOf returns the CMAC of p in one go, using s.
func (s *mac) sumOf(m *cmac, p []byte) block {
	s.reset(m)
	s.write(p)
	return s.sum()
}
