package peer

import (
	"math"
	"sort"
	"time"
)

// candidate is what selection needs to know of one usable association.
// Offset is θ, the peer's clock minus ours.
type candidate struct {
	offset   time.Duration
	rootDist time.Duration
	jitter   time.Duration
	stratum  uint8
}

// Tally codes, as ntpq prints them.
const (
	tallySys      = '*' // system peer
	tallyCand     = '+' // survivor, combined
	tallyOutlier  = '-' // true-chimer discarded by clustering
	tallyFalse    = 'x' // falseticker
	tallyUnusable = ' ' // not a candidate
)

// selection is the outcome of selectPeers over a list of candidates.
type selection struct {
	ok     bool
	tally  []byte        // per candidate
	sys    int           // index of the system peer, -1 when !ok
	offset time.Duration // combined θ
	jitter time.Duration // selection jitter of the survivors
}

// selectPeers runs RFC 5905's selection (the intersection algorithm, which
// finds the true-chimers), clustering (which drops the outliers among them)
// and combining (the survivors' offsets weighted by 1/root distance).
// prevSys is the previous system peer, kept while it survives so that the
// system peer does not hop between equals; -1 for none.
func selectPeers(c []candidate, prevSys int) selection {
	sel := selection{tally: make([]byte, len(c)), sys: -1}
	for i := range sel.tally {
		sel.tally[i] = tallyFalse
	}
	truechimers := intersect(c)
	if len(truechimers) == 0 {
		return sel
	}

	// Order by merit: stratum first, then root distance.
	sort.Slice(truechimers, func(i, j int) bool {
		a, b := c[truechimers[i]], c[truechimers[j]]
		if a.stratum != b.stratum {
			return a.stratum < b.stratum
		}
		return a.rootDist < b.rootDist
	})
	survivors := truechimers
	for _, i := range truechimers {
		sel.tally[i] = tallyOutlier
	}
	// Clustering: drop the survivor whose offset is furthest from the
	// others while that spread exceeds the best peer jitter.
	for len(survivors) > cmin {
		worst, worstJit := -1, 0.0
		minPeerJit := math.Inf(1)
		for _, i := range survivors {
			var sum float64
			for _, j := range survivors {
				d := (c[j].offset - c[i].offset).Seconds()
				sum += d * d
			}
			jit := math.Sqrt(sum / float64(len(survivors)-1))
			if jit > worstJit {
				worst, worstJit = i, jit
			}
			minPeerJit = min(minPeerJit, c[i].jitter.Seconds())
		}
		if worstJit <= minPeerJit {
			break
		}
		out := survivors[:0:0]
		for _, i := range survivors {
			if i != worst {
				out = append(out, i)
			}
		}
		survivors = out
	}

	sel.ok = true
	sel.sys = survivors[0]
	for _, i := range survivors {
		sel.tally[i] = tallyCand
		if i == prevSys {
			sel.sys = prevSys
		}
	}
	sel.tally[sel.sys] = tallySys

	// Combine, weighting each survivor by the inverse of its root distance.
	var wsum, osum float64
	for _, i := range survivors {
		w := 1 / max(c[i].rootDist.Seconds(), minDisp.Seconds())
		wsum += w
		osum += w * c[i].offset.Seconds()
	}
	combined := osum / wsum
	var jsum float64
	for _, i := range survivors {
		w := 1 / max(c[i].rootDist.Seconds(), minDisp.Seconds())
		d := c[i].offset.Seconds() - c[sel.sys].offset.Seconds()
		jsum += w * d * d
	}
	sel.offset = seconds(combined)
	sel.jitter = seconds(math.Sqrt(jsum / wsum))
	return sel
}

// intersect is Marzullo's algorithm as RFC 5905 (A.5.5.1) refines it: the
// smallest interval that contains the offsets of a majority of candidates
// and intersects all their correctness intervals [θ-λ, θ+λ]. It returns the
// candidates whose intervals overlap that intersection: the true-chimers.
func intersect(c []candidate) []int {
	type edge struct {
		v   time.Duration
		typ int // -1 lower, 0 midpoint, +1 upper
	}
	n := len(c)
	if n == 0 {
		return nil
	}
	edges := make([]edge, 0, 3*n)
	for _, p := range c {
		edges = append(edges,
			edge{p.offset - p.rootDist, -1},
			edge{p.offset, 0},
			edge{p.offset + p.rootDist, +1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].v != edges[j].v {
			return edges[i].v < edges[j].v
		}
		return edges[i].typ < edges[j].typ
	})
	var low, high time.Duration
	found := false
	for allow := 0; 2*allow < n; allow++ {
		midpoints := 0
		chime := 0
		low = time.Duration(math.MaxInt64)
		for _, e := range edges {
			chime -= e.typ
			if chime >= n-allow {
				low = e.v
				break
			}
			if e.typ == 0 {
				midpoints++
			}
		}
		chime = 0
		high = time.Duration(math.MinInt64)
		for k := len(edges) - 1; k >= 0; k-- {
			e := edges[k]
			chime += e.typ
			if chime >= n-allow {
				high = e.v
				break
			}
			if e.typ == 0 {
				midpoints++
			}
		}
		// More midpoints outside than falsetickers allowed: the interval
		// would be vouched for by a falseticker, so allow one more.
		if midpoints > allow {
			continue
		}
		if low <= high {
			found = true
			break
		}
	}
	if !found {
		return nil
	}
	var out []int
	for i, p := range c {
		if p.offset+p.rootDist >= low && p.offset-p.rootDist <= high {
			out = append(out, i)
		}
	}
	return out
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// CrossCheck reports whether a GPS offset disagrees with the peers: whether
// it is more than threshold away from the offsets of a strict majority of
// the true-chimers. Both offsets are the system clock minus the source, as
// in Selection. ok is false when there is no true-chimer to judge by; the
// caller decides how many true-chimers it needs before it believes them
// over the GPS.
func CrossCheck(gpsOffset time.Duration, truechimers []time.Duration, threshold time.Duration) (disagree, ok bool) {
	if len(truechimers) == 0 {
		return false, false
	}
	against := 0
	for _, o := range truechimers {
		d := gpsOffset - o
		if d > threshold || d < -threshold {
			against++
		}
	}
	return 2*against > len(truechimers), true
}
