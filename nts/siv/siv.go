package siv

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Overhead is the length of the synthetic IV that precedes the ciphertext.
const Overhead = blockLen

// MaxComponents bounds the associated-data vector (RFC 5297 section 7:
// S2V is not secure for more than 126 components).
const MaxComponents = 126

// ErrOpen is returned when a ciphertext does not authenticate.
var ErrOpen = errors.New("siv: message authentication failed")

// SIV is AES-SIV under one key. It is safe for concurrent use.
type SIV struct {
	mac cmac
	// d0 is the CMAC of the zero block, where every S2V starts: fixed
	// per key, so computed once.
	d0  block
	ctr cipher.Block
	// own is the scratch of the first user at a time, so that a SIV made
	// for one message allocates none; others share the pool.
	own   scratch
	owned atomic.Bool
	pool  sync.Pool // of *scratch
}

// New returns AES-SIV for a key of 32, 48 or 64 bytes: the first half is the
// CMAC key, the second the CTR key. A 32-byte key is AEAD_AES_SIV_CMAC_256,
// the AEAD of NTS (RFC 8915).
func New(key []byte) (*SIV, error) {
	switch len(key) {
	case 32, 48, 64:
	default:
		return nil, fmt.Errorf("siv: key of %d bytes, want 32, 48 or 64", len(key))
	}
	half := len(key) / 2
	b1, err := aes.NewCipher(key[:half])
	if err != nil {
		return nil, fmt.Errorf("siv: %w", err)
	}
	b2, err := aes.NewCipher(key[half:])
	if err != nil {
		return nil, fmt.Errorf("siv: %w", err)
	}
	s := &SIV{ctr: b2}
	// The subkeys' block goes through the SIV's own scratch: a local
	// handed to a cipher.Block would escape to the heap.
	s.mac.init(b1, &s.own.t)
	s.d0 = s.own.m.sumOf(&s.mac, s.own.t[:])
	s.own = scratch{}
	s.pool.New = func() any { return new(scratch) }
	return s, nil
}

// get returns a scratch area: the SIV's own when free, else a pooled one.
func (s *SIV) get() *scratch {
	if s.owned.CompareAndSwap(false, true) {
		return &s.own
	}
	return s.pool.Get().(*scratch)
}

func (s *SIV) put(w *scratch) {
	if w == &s.own {
		s.owned.Store(false)
		return
	}
	s.pool.Put(w)
}

// scratch holds what one Seal or Open works on; it is pooled, since
// blocks handed to a cipher.Block escape to the heap.
type scratch struct {
	m       mac
	ctr, ks block
	t       block
}

// s2v is the vectorised PRF of RFC 5297 section 2.4 over the associated
// data components ad and the plaintext p.
func (s *SIV) s2v(w *scratch, ad [][]byte, p []byte) block {
	d := s.d0
	for _, a := range ad {
		t := w.m.sumOf(&s.mac, a)
		d = dbl(d)
		xorInto(&d, t[:])
	}
	w.m.reset(&s.mac)
	if len(p) >= blockLen {
		cut := len(p) - blockLen
		w.m.write(p[:cut])
		w.t = d
		xorInto(&w.t, p[cut:])
		w.m.write(w.t[:])
		return w.m.sum()
	}
	d = dbl(d)
	w.t = block{}
	copy(w.t[:], p)
	w.t[len(p)] = 0x80
	xorInto(&w.t, d[:])
	w.m.write(w.t[:])
	return w.m.sum()
}

// xorCTR encrypts or decrypts src into dst (same length, may alias exactly)
// in counter mode from the synthetic IV v, with bits 31 and 63 cleared.
func (s *SIV) xorCTR(w *scratch, dst, src []byte, v block) {
	w.ctr = v
	w.ctr[8] &= 0x7f
	w.ctr[12] &= 0x7f
	for len(src) > 0 {
		s.ctr.Encrypt(w.ks[:], w.ctr[:])
		n := blockLen
		if len(src) >= blockLen {
			// dst and src alias exactly or not at all: word by word
			// is safe.
			xorInto(&w.ks, src[:blockLen])
			copy(dst[:blockLen], w.ks[:])
		} else {
			n = subtle.XORBytes(dst, src, w.ks[:])
		}
		dst, src = dst[n:], src[n:]
		// The counter's low 64 bits; the high half never carries for a
		// datagram's length (bit 63 was cleared).
		binary.BigEndian.PutUint64(w.ctr[8:], binary.BigEndian.Uint64(w.ctr[8:])+1)
	}
}

// SealVector appends to dst the synthetic IV and the encryption of
// plaintext under the associated data vector ad (at most MaxComponents;
// a nonce is the last component). dst must not overlap plaintext unless
// plaintext starts exactly Overhead bytes after the end of dst.
func (s *SIV) SealVector(dst, plaintext []byte, ad ...[]byte) []byte {
	if len(ad) > MaxComponents {
		panic("siv: too many associated data components")
	}
	w := s.get()
	defer s.put(w)
	v := s.s2v(w, ad, plaintext)
	ret, out := grow(dst, Overhead+len(plaintext))
	// Encrypt first: out may be where plaintext already is, shifted.
	s.xorCTR(w, out[Overhead:], plaintext, v)
	copy(out, v[:])
	return ret
}

// OpenVector decrypts ciphertext (synthetic IV then data), appending the
// plaintext to dst, and returns ErrOpen unless it authenticates under ad.
// dst may be ciphertext[Overhead:Overhead] to decrypt in place; otherwise
// it must not overlap ciphertext.
func (s *SIV) OpenVector(dst, ciphertext []byte, ad ...[]byte) ([]byte, error) {
	if len(ciphertext) < Overhead || len(ad) > MaxComponents {
		return nil, ErrOpen
	}
	w := s.get()
	defer s.put(w)
	var v block
	copy(v[:], ciphertext)
	ct := ciphertext[Overhead:]
	ret, out := grow(dst, len(ct))
	s.xorCTR(w, out, ct, v)
	got := s.s2v(w, ad, out)
	if subtle.ConstantTimeCompare(got[:], v[:]) != 1 {
		clear(out)
		return nil, ErrOpen
	}
	return ret, nil
}

// NonceSize is what Seal and Open accept: any length works with SIV; NTS
// requires at least 16 bytes of nonce of its own.
func (s *SIV) NonceSize() int { return 16 }

// Overhead returns the synthetic IV's length.
func (s *SIV) Overhead() int { return Overhead }

// Seal is the nonce-based AEAD of RFC 5297 section 6: S2V over the
// associated data, then the nonce, then the plaintext.
func (s *SIV) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	return s.SealVector(dst, plaintext, additionalData, nonce)
}

// Open reverses Seal.
func (s *SIV) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	return s.OpenVector(dst, ciphertext, additionalData, nonce)
}

var _ cipher.AEAD = (*SIV)(nil)

// grow extends b by n bytes, returning the whole and the new tail.
func grow(b []byte, n int) (whole, tail []byte) {
	total := len(b) + n
	if cap(b) >= total {
		whole = b[:total]
	} else {
		whole = make([]byte, total)
		copy(whole, b)
	}
	return whole, whole[len(b):]
}
