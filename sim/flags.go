package sim

import "strings"

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

// StepsFlag is a repeatable flag.Value for SIZE@START[/RAMP].
type StepsFlag struct{ P *[]Step }

func (f StepsFlag) String() string {
	if f.P == nil {
		return ""
	}
	var s []string
	for _, x := range *f.P {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

func (f StepsFlag) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		st, err := ParseStep(part)
		if err != nil {
			return err
		}
		*f.P = append(*f.P, st)
	}
	return nil
}

// WindowsFlag is a repeatable flag.Value for LENGTH@START.
type WindowsFlag struct{ P *[]Window }

func (f WindowsFlag) String() string {
	if f.P == nil {
		return ""
	}
	var s []string
	for _, x := range *f.P {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

func (f WindowsFlag) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		w, err := ParseWindow(part)
		if err != nil {
			return err
		}
		*f.P = append(*f.P, w)
	}
	return nil
}
