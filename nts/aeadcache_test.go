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
