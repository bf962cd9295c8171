package gps

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// pmtkSaved is what a MediaTek module reported before it was changed: the
// PMTK314 output rates (PMTK514) and the fix interval (PMTK500), the two
// settings it can be asked for and so set back.
type pmtkSaved struct {
	output   string // "PMTK314,..." as it was; "" unknown
	interval string // "PMTK220,..." as it was; "" unknown
}

// pmtkQuery asks cmd and returns the fields of the reply that starts with
// reply, or "" without one.
func (x *exchange) pmtkQuery(cmd, reply string) (string, error) {
	if err := x.send(pmtk(cmd)); err != nil {
		return "", err
	}
	var fields string
	_, err := x.await(func(_ *UBXFrame, line string) bool {
		if !strings.HasPrefix(line, "$"+reply+",") {
			return false
		}
		fields = strings.TrimPrefix(trimChecksum(line), "$"+reply+",")
		return true
	})
	return fields, err
}

// pmtkSave reads the settings the plan changes that can be set back.
func (x *exchange) pmtkSave() (pmtkSaved, error) {
	var s pmtkSaved
	out, err := x.pmtkQuery("PMTK414", "PMTK514")
	if err != nil {
		return s, err
	}
	if out != "" {
		s.output = "PMTK314," + out
	}
	iv, err := x.pmtkQuery("PMTK400", "PMTK500")
	if err != nil {
		return s, err
	}
	if f := strings.Split(iv, ","); f[0] != "" {
		s.interval = "PMTK220," + f[0]
	}
	return s, nil
}

// pmtkCommand sends body and waits for its PMTK001.
func (x *exchange) pmtkCommand(body string) error {
	if err := x.send(pmtk(body)); err != nil {
		return err
	}
	cmd := body
	if i := strings.IndexByte(body, ','); i >= 0 {
		cmd = body[:i]
	}
	var acked bool
	var why string
	ok, err := x.await(func(_ *UBXFrame, line string) bool {
		var answered bool
		acked, why, answered = pmtkAck(line, cmd)
		return answered
	})
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("no PMTK001 answer within %v", x.timeout)
	case !acked:
		return fmt.Errorf("the receiver refused it: %s", why)
	}
	return nil
}

// runPMTK sends the MediaTek plan. On a failure the output rates and fix
// interval are set back as the module reported them before; the PPS
// settings, which it cannot be asked for, are named.
func (x *exchange) runPMTK(steps []ConfigStep, baud int, progress func(string)) error {
	saved, err := x.pmtkSave()
	if err != nil {
		return err
	}
	var done []ConfigStep
	fail := func(step ConfigStep, err error) error {
		var restored, left []string
		for _, d := range done {
			back := ""
			switch d.pmtkCmd {
			case "PMTK314":
				back = saved.output
			case "PMTK220":
				back = saved.interval
			}
			if back != "" && x.pmtkCommand(back) == nil {
				restored = append(restored, d.pmtkCmd)
				continue
			}
			left = append(left, d.Desc)
		}
		what := "nothing had been changed"
		switch {
		case len(left) > 0:
			what = "left changed, not saved (power-cycle the receiver to drop them): " + strings.Join(left, "; ")
			if len(restored) > 0 {
				what += "; restored " + strings.Join(restored, ", ")
			}
		case len(restored) > 0:
			what = "restored " + strings.Join(restored, ", ") + " as they were"
		}
		return fmt.Errorf("%s: %w; %s", step.Desc, err, what)
	}
	for _, step := range steps {
		if step.BaudAfter != 0 {
			if err := x.send(step.Bytes); err != nil {
				return fail(step, err)
			}
			time.Sleep(100 * time.Millisecond) // the command leaves at the old rate
			if err := x.port.SetBaud(step.BaudAfter); err != nil {
				return fail(step, err)
			}
			x.resetInput()
			if _, err := x.identify(ReceiverMediaTek, step.BaudAfter); err != nil {
				_ = x.port.SetBaud(baud)
				x.resetInput()
				return fail(step, errors.New("no answer at the new rate"))
			}
			done = append(done, step)
			progress(step.Desc)
			continue
		}
		if err := x.pmtkCommand(strings.TrimSpace(trimChecksum(string(step.Bytes)))[1:]); err != nil {
			return fail(step, err)
		}
		done = append(done, step)
		progress(step.Desc)
	}
	return nil
}
