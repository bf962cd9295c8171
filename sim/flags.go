package sim

import (
	"fmt"
	"strings"
)

// PPMFlag is a flag.Value for a frequency with its unit.
type PPMFlag struct{ P *float64 }

func (f PPMFlag) String() string {
	if f.P == nil {
		return ""
	}
	return FormatPPM(*f.P)
}

func (f PPMFlag) Set(s string) error {
	v, err := ParsePPM(s)
	if err == nil {
		*f.P = v
	}
	return err
}

// PercentFlag is a flag.Value for a fraction given in percent.
type PercentFlag struct{ P *float64 }

func (f PercentFlag) String() string {
	if f.P == nil {
		return ""
	}
	return FormatPercent(*f.P)
}

func (f PercentFlag) Set(s string) error {
	v, err := ParsePercent(s)
	if err == nil {
		*f.P = v
	}
	return err
}

// ListFlag is a repeatable flag.Value whose every use adds one or more
// comma-separated values of T.
type ListFlag[T fmt.Stringer] struct {
	P     *[]T
	Parse func(string) (T, error)
}

// StepsFlag collects SIZE@START[/RAMP] temperature steps into p.
func StepsFlag(p *[]Step) ListFlag[Step] { return ListFlag[Step]{P: p, Parse: ParseStep} }

// WindowsFlag collects LENGTH@START windows into p.
func WindowsFlag(p *[]Window) ListFlag[Window] { return ListFlag[Window]{P: p, Parse: ParseWindow} }

func (f ListFlag[T]) String() string {
	if f.P == nil {
		return ""
	}
	var s []string
	for _, x := range *f.P {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

func (f ListFlag[T]) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		v, err := f.Parse(part)
		if err != nil {
			return err
		}
		*f.P = append(*f.P, v)
	}
	return nil
}
