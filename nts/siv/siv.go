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
	d0    block
	ctr   cipher.Block // the CTR key: ctr, or ctrRK for the AES-NI path
	ctrRK *roundKeys
	// own is the scratch of the first user at a time, so that a SIV made
	// for one message allocates none; others share the pool.
	own   scratch
	owned atomic.Bool
	pool  sync.Pool // of *scratch
}

// New returns AES-SIV for a key of 32, 48 or 64 bytes: the first half is the
// CMAC key, the second the CTR key. A 32-byte key is AEAD_AES_SIV_CMAC_256,
// the AEAD of NTS (RFC 8915).
func New(key []byte) (*SIV, error) { return newSIV(key, hasAESNI) }

// newSIV is New, with the AES-NI path for a 32-byte key when aesni.
func newSIV(key []byte, aesni bool) (*SIV, error) {
	switch len(key) {
	case 32, 48, 64:
	default:
		return nil, fmt.Errorf("siv: key of %d bytes, want 32, 48 or 64", len(key))
	}
	half := len(key) / 2
	s := &SIV{}
	var b1 cipher.Block
	var rk1 *roundKeys
	if aesni && half == 16 {
		// The assembly does all: no crypto/aes ciphers to keep.
		rks := new([2]roundKeys)
		rk1, s.ctrRK = &rks[0], &rks[1]
		expandKey128(&key[0], rk1)
		expandKey128(&key[half], s.ctrRK)
	} else {
		var err error
		if b1, err = aes.NewCipher(key[:half]); err != nil {
			return nil, fmt.Errorf("siv: %w", err)
		}
		if s.ctr, err = aes.NewCipher(key[half:]); err != nil {
			return nil, fmt.Errorf("siv: %w", err)
		}
	}
	// The subkeys' block goes through the SIV's own scratch: a local
	// handed to a cipher.Block would escape to the heap.
	zero := (*block)(s.own.last[:blockLen])
	s.mac.init(b1, rk1, zero)
	s.own.l.start(0, true)
	s.own.l.run(&s.mac, [][]byte{zero[:]})
	s.d0 = s.own.l.x[0]
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

// ctrBlocks is how many counter blocks are encrypted at a time.
const ctrBlocks = 8

// scratch holds what one Seal or Open works on; it is pooled, since
// blocks handed to a cipher.Block escape to the heap.
type scratch struct {
	l  laneSet
	ks [ctrBlocks * blockLen]byte // CTR key stream
	// last is S2V's final input: the plaintext's last one or two blocks
	// with D XORed in, or one padded block.
	last [2 * blockLen]byte
}

// s2v is the vectorised PRF of RFC 5297 section 2.4 over the associated
// data components ad and the plaintext p. The components' CMACs are
// independent and run side by side (laneSet), and so do the plaintext's
// blocks that precede its last sixteen bytes, the only ones that depend
// on the components (the xorend of D).
func (s *SIV) s2v(w *scratch, ad [][]byte, p []byte) block {
	var in [maxLanes][]byte // on the stack: the lanes' inputs
	d := s.d0
	cut := len(p) - blockLen
	pre := cut / blockLen * blockLen // the plaintext's blocks before T's end
	if cut < 0 {
		pre = 0
	}
	var px block // their chaining value
	first := true
	for first || len(ad) > 0 {
		n := min(len(ad), maxLanes-1)
		for i, a := range ad[:n] {
			w.l.start(i, true)
			in[i] = a
		}
		if first {
			// The plaintext's lane runs beside the first components.
			w.l.start(n, false)
			in[n] = p[:pre]
			w.l.run(&s.mac, in[:n+1])
			px = w.l.x[n]
			first = false
		} else {
			w.l.run(&s.mac, in[:n])
		}
		for i := range n {
			d = dbl(d)
			xorInto(&d, w.l.x[i][:])
		}
		ad = ad[n:]
	}
	w.l.start(0, true)
	if cut >= 0 {
		// T = p xorend D: the rest of p after the lane's blocks, its
		// last sixteen bytes XORed with D.
		t := w.last[:len(p)-pre]
		copy(t, p[pre:])
		xorInto((*block)(t[len(t)-blockLen:]), d[:])
		w.l.x[0] = px
		in[0] = t
	} else {
		// T = dbl(D) XOR pad(p), one block.
		d = dbl(d)
		t := (*block)(w.last[:blockLen])
		*t = block{}
		copy(t[:], p)
		t[len(p)] = 0x80
		xorInto(t, d[:])
		in[0] = t[:]
	}
	w.l.run(&s.mac, in[:1])
	return w.l.x[0]
}

// xorCTR encrypts or decrypts src into dst (same length, may alias exactly)
// in counter mode from the synthetic IV v, with bits 31 and 63 cleared.
// The key stream is made a few blocks at a time: they are independent.
func (s *SIV) xorCTR(w *scratch, dst, src []byte, v block) {
	hi := binary.BigEndian.Uint64(v[:8])
	lo := binary.BigEndian.Uint64(v[8:]) &^ (1<<63 | 1<<31)
	for len(src) > 0 {
		n := min(ctrBlocks, (len(src)+blockLen-1)/blockLen)
		// All the counter blocks first, then all the encryptions: a
		// block stored in halves and loaded whole waits until the
		// stores reach the cache, behind every instruction before them;
		// interleaved, each encryption would wait for the one before.
		for i := range n {
			// The low 64 bits only: bit 63 was cleared, and a
			// datagram is far shorter than 2^63 blocks.
			binary.BigEndian.PutUint64(w.ks[i*blockLen:], hi)
			binary.BigEndian.PutUint64(w.ks[i*blockLen+8:], lo+uint64(i))
		}
		if s.ctrRK != nil {
			encryptBlocks(s.ctrRK, (*block)(w.ks[:]), n)
		} else {
			for i := range n {
				b := w.ks[i*blockLen : (i+1)*blockLen]
				s.ctr.Encrypt(b, b)
			}
		}
		lo += uint64(n)
		// dst and src alias exactly or not at all.
		m := subtle.XORBytes(dst, src, w.ks[:n*blockLen])
		dst, src = dst[m:], src[m:]
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
