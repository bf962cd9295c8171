package nts

import (
	"bytes"
	"testing"
)

func TestAEADCache(t *testing.T) {
	c := newAEADCache()
	a1, a2 := bytes.Repeat([]byte{1}, keyLen), bytes.Repeat([]byte{2}, keyLen)
	p, err := c.get(a1, a2)
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := c.get(a1, a2); q != p {
		t.Error("same keys expanded twice")
	}
	// Same client key, other server key: not the cached pair.
	if q, _ := c.get(a1, a1); q == p || !bytes.Equal(q.s2c[:], a1) {
		t.Error("a pair with another s2c key was reused")
	}
	// Far more clients than slots: memory stays bounded, answers right.
	k := make([]byte, keyLen)
	for i := 0; i < 3*aeadSlots; i++ {
		k[0], k[1] = byte(i), byte(i>>8)
		q, err := c.get(k, a2)
		if err != nil || !bytes.Equal(q.c2s[:], k) {
			t.Fatalf("client %d: wrong pair", i)
		}
	}
}

// A polling client's requests cost no allocation once its keys are cached.
func TestNTSRequestDoesNotAllocate(t *testing.T) {
	cfg, roots := testConfig(t)
	s := startServer(t, cfg, 123)
	sess := keyExchange(t, s, roots)
	req, _ := sess.Request(nil, 5, newUID(t), 1)
	out := make([]byte, len(req))
	s.HandleExtensions(req, out)
	if n := testing.AllocsPerRun(100, func() { s.HandleExtensions(req, out) }); n != 0 {
		t.Errorf("%v allocations per NTS request", n)
	}
}

// sameKeys tells any one-bit difference in either key, wherever it is.
func TestSameKeys(t *testing.T) {
	p := &aeadPair{}
	for i := range keyLen {
		p.c2s[i], p.s2c[i] = byte(i), byte(0x80|i)
	}
	if !sameKeys(p, p.c2s[:], p.s2c[:]) {
		t.Fatal("equal keys differ")
	}
	for _, key := range []string{"c2s", "s2c"} {
		for i := range keyLen {
			for _, bit := range []byte{0x01, 0x80} {
				c2s, s2c := bytes.Clone(p.c2s[:]), bytes.Clone(p.s2c[:])
				if key == "c2s" {
					c2s[i] ^= bit
				} else {
					s2c[i] ^= bit
				}
				if sameKeys(p, c2s, s2c) {
					t.Fatalf("%s byte %d bit %#x: keys taken for the same", key, i, bit)
				}
			}
		}
	}
}

// BenchmarkAEADCacheMiss is a client whose keys are not cached: the
// expansion of its two keys (more than aeadSlots active clients).
func BenchmarkAEADCacheMiss(b *testing.B) {
	c := newAEADCache()
	k := make([]byte, keyLen)
	i := 0
	for b.Loop() {
		i++
		k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16)
		if _, err := c.get(k, k); err != nil {
			b.Fatal(err)
		}
	}
}
