package peer

import (
	"testing"
	"time"
)

const ms = time.Millisecond

func TestIntersectFindsTrueChimers(t *testing.T) {
	tests := []struct {
		name  string
		cands []candidate
		want  string // tallies
		ok    bool
	}{
		{"three agree, one 5 s off",
			[]candidate{{offset: 1 * ms, rootDist: 10 * ms}, {offset: 2 * ms, rootDist: 10 * ms},
				{offset: 5 * time.Second, rootDist: 10 * ms}, {offset: -1 * ms, rootDist: 10 * ms}},
			"*+x+", true},
		{"single peer", []candidate{{offset: 3 * ms, rootDist: 20 * ms}}, "*", true},
		{"two disagree: no majority",
			[]candidate{{offset: 0, rootDist: 10 * ms}, {offset: time.Second, rootDist: 10 * ms}},
			"xx", false},
		{"two of three agree",
			[]candidate{{offset: -time.Second, rootDist: 10 * ms}, {offset: 1 * ms, rootDist: 10 * ms}, {offset: 2 * ms, rootDist: 10 * ms}},
			"x*+", true},
		{"overlapping wide interval is a true-chimer",
			[]candidate{{offset: 0, rootDist: 5 * ms}, {offset: 1 * ms, rootDist: 5 * ms}, {offset: 40 * ms, rootDist: 100 * ms}},
			"*++", true},
		{"none", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel := selectPeers(tt.cands, -1)
			if sel.ok != tt.ok || string(sel.tally) != tt.want {
				t.Errorf("got ok=%v tally=%q, want ok=%v %q", sel.ok, sel.tally, tt.ok, tt.want)
			}
		})
	}
}

func TestSelectMeritAndStickiness(t *testing.T) {
	c := []candidate{
		{offset: 1 * ms, rootDist: 30 * ms, stratum: 2, jitter: ms},
		{offset: 2 * ms, rootDist: 10 * ms, stratum: 3, jitter: ms},
		{offset: 0, rootDist: 20 * ms, stratum: 2, jitter: ms},
	}
	// Lowest stratum, then least distance.
	if sel := selectPeers(c, -1); sel.sys != 2 {
		t.Errorf("system peer %d, want 2 (stratum 2, least distance)", sel.sys)
	}
	// A surviving previous system peer is kept.
	if sel := selectPeers(c, 1); sel.sys != 1 {
		t.Errorf("system peer %d, want the previous one, 1", sel.sys)
	}
}

func TestClusteringDropsOutlier(t *testing.T) {
	// Four true-chimers with wide intervals; one sits 30 ms from the
	// others, far beyond their 1 ms jitter.
	c := []candidate{
		{offset: 0, rootDist: 100 * ms, jitter: ms},
		{offset: 1 * ms, rootDist: 100 * ms, jitter: ms},
		{offset: -1 * ms, rootDist: 100 * ms, jitter: ms},
		{offset: 30 * ms, rootDist: 100 * ms, jitter: ms},
	}
	sel := selectPeers(c, -1)
	if !sel.ok || sel.tally[3] != tallyOutlier {
		t.Fatalf("tally %q, want the 30 ms peer marked '-'", sel.tally)
	}
	if sel.offset < -ms || sel.offset > ms {
		t.Errorf("combined offset %v, want within 1 ms of 0", sel.offset)
	}
}

func TestCombineWeightsByDistance(t *testing.T) {
	c := []candidate{
		{offset: 0, rootDist: 10 * ms, jitter: 50 * ms},
		{offset: 10 * ms, rootDist: 40 * ms, jitter: 50 * ms},
	}
	sel := selectPeers(c, -1)
	// Weights 100 and 25: (0*100 + 10*25)/125 = 2 ms.
	if d := sel.offset - 2*ms; d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("combined %v, want 2ms", sel.offset)
	}
}

func TestCrossCheck(t *testing.T) {
	peers := []time.Duration{1 * ms, -2 * ms, 3 * ms}
	tests := []struct {
		name     string
		gps      time.Duration
		peers    []time.Duration
		disagree bool
		ok       bool
	}{
		{"agrees", 0, peers, false, true},
		{"one second off", time.Second, peers, true, true},
		{"one second behind", -time.Second, peers, true, true},
		{"just within", 500 * ms, []time.Duration{0, 0, 0}, false, true},
		{"just beyond", 501 * ms, []time.Duration{0, 0, 0}, true, true},
		{"one of three bad peer is not a majority", 0, []time.Duration{0, 0, time.Second}, false, true},
		{"half is not a majority", time.Second, []time.Duration{time.Second, 0}, false, true},
		{"no true-chimers", time.Second, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := CrossCheck(tt.gps, tt.peers, 500*ms)
			if d != tt.disagree || ok != tt.ok {
				t.Errorf("CrossCheck = %v, %v; want %v, %v", d, ok, tt.disagree, tt.ok)
			}
		})
	}
}
