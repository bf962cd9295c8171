package siv

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 4493 section 4.
func TestCMAC(t *testing.T) {
	key := "2b7e1516 28aed2a6 abf71588 09cf4f3c"
	msg := "6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51 30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710"
	tests := []struct {
		n    int
		want string
	}{
		{0, "bb1d6929 e9593728 7fa37d12 9b756746"},
		{16, "070a16b4 6b4d4144 f79bdd9d d04a287c"},
		{40, "dfa66747 de9ae630 30ca3261 1497c827"},
		{64, "51f0bebf 7e3b9d92 fc497417 79363cfe"},
	}
	b, err := aes.NewCipher(unhex(t, key))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths() {
		var m cmac
		var rk *roundKeys
		if path.aesni {
			rk = new(roundKeys)
			expandKey128(&unhex(t, key)[0], rk)
		}
		m.init(b, rk, new(block))
		// Each alone, then all four side by side.
		for _, tt := range tests {
			var l laneSet
			l.start(0, true)
			l.run(&m, [][]byte{unhex(t, msg)[:tt.n]})
			if want := unhex(t, tt.want); !bytes.Equal(l.x[0][:], want) {
				t.Errorf("%s: CMAC of %d bytes = %x, want %x", path.name, tt.n, l.x[0], want)
			}
		}
		var l laneSet
		in := make([][]byte, len(tests))
		for i, tt := range tests {
			l.start(i, true)
			in[i] = unhex(t, msg)[:tt.n]
		}
		l.run(&m, in)
		for i, tt := range tests {
			if want := unhex(t, tt.want); !bytes.Equal(l.x[i][:], want) {
				t.Errorf("%s: CMAC of %d bytes beside the others = %x, want %x", path.name, tt.n, l.x[i], want)
			}
		}
	}
}

// path is one implementation of the block operations: crypto/aes, and
// the assembly where this machine has AES-NI.
type path struct {
	name  string
	aesni bool
}

func paths() []path {
	p := []path{{"crypto/aes", false}}
	if hasAESNI {
		p = append(p, path{"AES-NI", true})
	}
	return p
}

// RFC 5297 appendix A.
func TestRFC5297Vectors(t *testing.T) {
	tests := []struct {
		name string
		key  string
		ad   []string
		pt   string
		out  string
	}{
		{
			name: "A.1 deterministic",
			key:  "fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff",
			ad:   []string{"10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627"},
			pt:   "11223344 55667788 99aabbcc ddee",
			out:  "85632d07 c6e8f37f 950acd32 0a2ecc93 40c02b96 90c4dc04 daef7f6a fe5c",
		},
		{
			name: "A.2 nonce-based",
			key:  "7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f",
			ad: []string{
				"00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100",
				"10203040 50607080 90a0",
				"09f91102 9d74e35b d84156c5 635688c0", // the nonce
			},
			pt: "74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74207573 696e6720 5349562d 414553",
			out: "7bdb6e3b 432667eb 06f4d14b ff2fbd0f cb900f2f ddbe4043 26601965 c889bf17" +
				"dba77ceb 094fa663 b7a3f748 ba8af829 ea64ad54 4a272e9c 485b62a3 fd5c0d",
		},
	}
	for _, tt := range tests {
		for _, path := range paths() {
			t.Run(tt.name+"/"+path.name, func(t *testing.T) { testVector(t, path, tt.key, tt.ad, tt.pt, tt.out) })
		}
	}
}

func testVector(t *testing.T, path path, key string, ads []string, pts, out string) {
	s, err := newSIV(unhex(t, key), path.aesni)
	if err != nil {
		t.Fatal(err)
	}
	var ad [][]byte
	for _, a := range ads {
		ad = append(ad, unhex(t, a))
	}
	pt, want := unhex(t, pts), unhex(t, out)
	got := s.SealVector(nil, pt, ad...)
	if !bytes.Equal(got, want) {
		t.Fatalf("seal = %x\nwant   %x", got, want)
	}
	back, err := s.OpenVector(nil, got, ad...)
	if err != nil || !bytes.Equal(back, pt) {
		t.Fatalf("open = %x, %v; want %x", back, err, pt)
	}
	for i := range got {
		bad := bytes.Clone(got)
		bad[i] ^= 1
		if _, err := s.OpenVector(nil, bad, ad...); err != ErrOpen {
			t.Fatalf("flipped byte %d: err = %v, want ErrOpen", i, err)
		}
	}
	if len(ad) > 1 {
		// The AEAD form: associated data then nonce.
		s2 := s.Seal(nil, ad[2], pt, append(append([]byte(nil), ad[0]...), ad[1]...))
		if bytes.Equal(s2, want) {
			t.Fatal("concatenated associated data must differ from a vector")
		}
		o, err := s.Open(nil, ad[2], s2, append(append([]byte(nil), ad[0]...), ad[1]...))
		if err != nil || !bytes.Equal(o, pt) {
			t.Fatalf("AEAD round trip: %x, %v", o, err)
		}
	}
}

func TestInPlaceAndLengths(t *testing.T) {
	for _, path := range paths() {
		t.Run(path.name, func(t *testing.T) { testInPlace(t, path) })
	}
}

func testInPlace(t *testing.T, path path) {
	s, err := newSIV(bytes.Repeat([]byte{7}, 32), path.aesni)
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{1}, 16)
	ad := []byte("header")
	for n := 0; n <= 70; n++ {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		want := s.Seal(nil, nonce, pt, ad)
		if len(want) != n+Overhead {
			t.Fatalf("len %d: sealed %d bytes", n, len(want))
		}
		buf := make([]byte, Overhead+n, Overhead+n+8)
		copy(buf[Overhead:], pt)
		got := s.Seal(buf[:0], nonce, buf[Overhead:], ad)
		if !bytes.Equal(got, want) {
			t.Fatalf("len %d: in-place seal differs", n)
		}
		back, err := s.Open(got[Overhead:Overhead], nonce, got, ad)
		if err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("len %d: in-place open = %x, %v", n, back, err)
		}
	}
	for _, k := range []int{0, 16, 31, 33, 65} {
		if _, err := New(make([]byte, k)); err == nil {
			t.Errorf("key of %d bytes accepted", k)
		}
	}
	if _, err := s.Open(nil, nonce, make([]byte, 15), ad); err != ErrOpen {
		t.Errorf("short ciphertext: %v", err)
	}
}

func TestSealAllocs(t *testing.T) {
	s, _ := New(bytes.Repeat([]byte{7}, 32))
	nonce, ad := make([]byte, 16), make([]byte, 200)
	pt := make([]byte, 100)
	dst := make([]byte, 0, 200)
	if n := testing.AllocsPerRun(100, func() {
		ct := s.Seal(dst[:0], nonce, pt, ad)
		if _, err := s.Open(pt[:0], nonce, ct, ad); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per seal and open", n)
	}
}

func BenchmarkSeal(b *testing.B) {
	s, _ := New(bytes.Repeat([]byte{7}, 32))
	nonce, ad, pt := make([]byte, 16), make([]byte, 228), make([]byte, 200)
	dst := make([]byte, 0, 256)
	b.SetBytes(int64(len(pt) + len(ad)))
	for b.Loop() {
		s.Seal(dst[:0], nonce, pt, ad)
	}
}

// refCMAC is RFC 4493's algorithm written plainly, one block after the
// other, to check the lanes against.
func refCMAC(b cipher.Block, m []byte) block {
	var l, k1, k2 block
	b.Encrypt(l[:], l[:])
	k1 = dbl(l)
	k2 = dbl(k1)
	n := max((len(m)+blockLen-1)/blockLen, 1)
	var last block
	if len(m) > 0 && len(m)%blockLen == 0 {
		copy(last[:], m[(n-1)*blockLen:])
		subtle.XORBytes(last[:], last[:], k1[:])
	} else {
		r := copy(last[:], m[(n-1)*blockLen:])
		last[r] = 0x80
		subtle.XORBytes(last[:], last[:], k2[:])
	}
	var x block
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x[:], x[:], m[i*blockLen:(i+1)*blockLen])
		b.Encrypt(x[:], x[:])
	}
	subtle.XORBytes(x[:], x[:], last[:])
	b.Encrypt(x[:], x[:])
	return x
}

// refSeal is RFC 5297's S2V and CTR written plainly, with crypto/cipher's
// counter mode.
func refSeal(key, pt []byte, ad ...[]byte) []byte {
	b1, _ := aes.NewCipher(key[:len(key)/2])
	b2, _ := aes.NewCipher(key[len(key)/2:])
	var zero block
	d := refCMAC(b1, zero[:])
	for _, a := range ad {
		t := refCMAC(b1, a)
		d = dbl(d)
		subtle.XORBytes(d[:], d[:], t[:])
	}
	var t []byte
	if len(pt) >= blockLen {
		t = bytes.Clone(pt)
		subtle.XORBytes(t[len(t)-blockLen:], t[len(t)-blockLen:], d[:])
	} else {
		d = dbl(d)
		var p block
		copy(p[:], pt)
		p[len(pt)] = 0x80
		subtle.XORBytes(p[:], p[:], d[:])
		t = p[:]
	}
	v := refCMAC(b1, t)
	q := v
	q[8] &= 0x7f
	q[12] &= 0x7f
	out := append(v[:], make([]byte, len(pt))...)
	cipher.NewCTR(b2, q[:]).XORKeyStream(out[blockLen:], pt)
	return out
}

// TestAgainstReference compares Seal and Open, on crypto/aes and on the
// assembly, with the plain algorithm for every plaintext length up to 90
// bytes and a few past the key stream's eight blocks, and vectors of up
// to nine components, more than run side by side.
func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for _, c := range []struct {
		keyLen int
		path
	}{{32, paths()[0]}, {32, paths()[len(paths())-1]}, {64, paths()[0]}} {
		keyLen := c.keyLen
		key := fill(keyLen)
		s, err := newSIV(key, c.aesni)
		if err != nil {
			t.Fatal(err)
		}
		lengths := []int{127, 128, 129, 143, 144, 145, 300}
		for n := 0; n <= 90; n++ {
			lengths = append(lengths, n)
		}
		for comps := 0; comps <= 9; comps++ {
			for _, n := range lengths {
				ad := make([][]byte, comps)
				for i := range ad {
					ad[i] = fill(rng.IntN(70))
				}
				pt := fill(n)
				want := refSeal(key, pt, ad...)
				got := s.SealVector(nil, pt, ad...)
				if !bytes.Equal(got, want) {
					t.Fatalf("%s, key %d, %d components, %d bytes: seal = %x, want %x", c.name, keyLen, comps, n, got, want)
				}
				back, err := s.OpenVector(nil, got, ad...)
				if err != nil || !bytes.Equal(back, pt) {
					t.Fatalf("%s, key %d, %d components, %d bytes: open = %x, %v", c.name, keyLen, comps, n, back, err)
				}
			}
		}
	}
}

// FuzzPaths checks that the assembly and crypto/aes seal alike and that
// each opens what the other sealed, for any key, vector and plaintext.
func FuzzPaths(f *testing.F) {
	f.Add(make([]byte, 32), []byte("header"), make([]byte, 16), []byte("plaintext"))
	f.Add(bytes.Repeat([]byte{0xff}, 32), []byte{}, []byte{1}, make([]byte, 145))
	f.Fuzz(func(t *testing.T, key, ad, nonce, pt []byte) {
		if !hasAESNI {
			t.Skip("no AES-NI on this machine: one path only")
		}
		k := make([]byte, 32) // any input makes a key
		copy(k, key)
		fast, err1 := newSIV(k, true)
		slow, err2 := newSIV(k, false)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		a := fast.SealVector(nil, pt, ad, nonce)
		b := slow.SealVector(nil, pt, ad, nonce)
		if !bytes.Equal(a, b) {
			t.Fatalf("AES-NI sealed %x, crypto/aes %x", a, b)
		}
		if back, err := fast.OpenVector(nil, b, ad, nonce); err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("AES-NI open: %x, %v", back, err)
		}
		if back, err := slow.OpenVector(nil, a, ad, nonce); err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("crypto/aes open: %x, %v", back, err)
		}
	})
}
