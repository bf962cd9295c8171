package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Outliers are pulses whose timestamps come late: the interrupt latency of
// a busy SoC. A share Rate of the pulses is delayed by an exponentially
// distributed latency of mean Size (most of them by less than Size, one in
// twenty by more than three times it), on top of the Gaussian jitter: the
// edges' error is then heavy-tailed, as a real Pi's is, where the Gaussian
// jitter alone is not.
type Outliers struct {
	Rate float64
	Size time.Duration
}

// ParseOutliers parses RATE@SIZE, e.g. "1%@200us"; "0%" or "" is none.
func ParseOutliers(s string) (Outliers, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Outliers{}, nil
	}
	r, z, ok := strings.Cut(s, "@")
	rate, err := ParsePercent(r)
	if err != nil || !(rate >= 0 && rate <= 1) {
		return Outliers{}, fmt.Errorf("%q: want RATE@SIZE with RATE a percentage in [0, 100%%], e.g. 1%%@200us", s)
	}
	if !ok {
		if rate == 0 {
			return Outliers{}, nil
		}
		return Outliers{}, fmt.Errorf("%q: want RATE@SIZE, e.g. 1%%@200us", s)
	}
	size, err := time.ParseDuration(z)
	if err != nil || size <= 0 || size > time.Second/4 {
		return Outliers{}, fmt.Errorf("%q: want RATE@SIZE with SIZE a duration in (0, 250ms], e.g. 1%%@200us", s)
	}
	return Outliers{Rate: rate, Size: size}, nil
}

func (o Outliers) String() string {
	if o.Rate == 0 {
		return "0%"
	}
	return FormatPercent(o.Rate) + "@" + o.Size.String()
}

// latency draws one pulse's extra latency. It draws nothing from rng when
// there are no outliers, so that runs without them stay as they were.
func (o Outliers) latency(rng *rand.Rand) time.Duration {
	if o.Rate <= 0 || rng.Float64() >= o.Rate {
		return 0
	}
	return time.Duration(rng.ExpFloat64() * float64(o.Size))
}

// OutliersFlag is a flag.Value for Outliers.
type OutliersFlag struct{ P *Outliers }

func (f OutliersFlag) String() string {
	if f.P == nil {
		return ""
	}
	return f.P.String()
}

func (f OutliersFlag) Set(s string) error {
	v, err := ParseOutliers(s)
	if err == nil {
		*f.P = v
	}
	return err
}
