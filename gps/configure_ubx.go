package gps

import (
	"fmt"
	"time"
)

// ubxAwaitAck waits for ACK-ACK or ACK-NAK to f.
func (x *exchange) ubxAwaitAck(f UBXFrame) error {
	var acked, answered bool
	ok, err := x.await(func(r *UBXFrame, _ string) bool {
		if r == nil {
			return false
		}
		acked, answered = r.ack(f.Class, f.ID)
		return answered
	})
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("no answer to %s within %v", f.Name(), x.timeout)
	case !acked:
		return fmt.Errorf("the receiver refused %s (ACK-NAK)", f.Name())
	}
	return nil
}

// ubxPollOf is the poll request that reads back what frame f sets.
func ubxPollOf(f UBXFrame) (UBXFrame, bool) {
	if f.Class != ubxClassCFG {
		return UBXFrame{}, false
	}
	switch f.ID {
	case ubxCFGNav5:
		return ubxPoll(ubxClassCFG, ubxCFGNav5), true
	case ubxCFGTP5:
		return UBXFrame{Class: ubxClassCFG, ID: ubxCFGTP5, Payload: f.Payload[:1]}, true
	case ubxCFGMsg:
		return UBXFrame{Class: ubxClassCFG, ID: ubxCFGMsg, Payload: f.Payload[:2]}, true
	}
	return UBXFrame{}, false
}

// ubxCurrent polls what f would change and returns it as the frame that
// sets it back.
func (x *exchange) ubxCurrent(f UBXFrame) (UBXFrame, error) {
	poll, ok := ubxPollOf(f)
	if !ok {
		return UBXFrame{}, fmt.Errorf("%s cannot be read back", f.Name())
	}
	if err := x.send(poll.Encode()); err != nil {
		return UBXFrame{}, err
	}
	var cur UBXFrame
	got, err := x.await(func(r *UBXFrame, _ string) bool {
		if r == nil || r.Class != poll.Class || r.ID != poll.ID || len(r.Payload) <= len(poll.Payload) {
			if r != nil {
				if _, answered := r.ack(poll.Class, poll.ID); answered {
					cur.Class = 0xFF // refused the poll
					return true
				}
			}
			return false
		}
		cur = *r
		return true
	})
	switch {
	case err != nil:
		return UBXFrame{}, err
	case !got:
		return UBXFrame{}, fmt.Errorf("no answer to the %s poll within %v", f.Name(), x.timeout)
	case cur.Class == 0xFF:
		return UBXFrame{}, fmt.Errorf("the receiver refused to report its %s (ACK-NAK)", f.Name())
	}
	// A u-blox acknowledges the poll too, after its answer: take that
	// ACK now, or it could later pass for the acknowledgement of the
	// setting that follows.
	wait := x.timeout
	x.timeout = min(wait, 300*time.Millisecond)
	_, err = x.await(func(r *UBXFrame, _ string) bool {
		if r == nil {
			return false
		}
		_, answered := r.ack(poll.Class, poll.ID)
		return answered
	})
	x.timeout = wait
	return cur, err
}

// runUBX sends the u-blox plan, restoring on failure.
func (x *exchange) runUBX(steps []ConfigStep, baud int, progress func(string)) error {
	var undo []UBXFrame
	fail := func(step ConfigStep, err error) error {
		restored := x.ubxRestore(undo)
		return fmt.Errorf("%s: %w; %s, nothing saved", step.Desc, err, restored)
	}
	for _, step := range steps {
		f := step.frame
		if step.BaudAfter != 0 {
			if err := x.ubxBaud(step, baud); err != nil {
				return fail(step, err)
			}
			baud = step.BaudAfter
			progress(step.Desc)
			continue
		}
		if f.ID != ubxCFGCfg {
			cur, err := x.ubxCurrent(f)
			if err != nil {
				return fail(step, err)
			}
			undo = append(undo, cur)
		}
		if err := x.send(step.Bytes); err != nil {
			return fail(step, err)
		}
		if err := x.ubxAwaitAck(f); err != nil {
			return fail(step, err)
		}
		progress(step.Desc)
	}
	return nil
}

// ubxBaud moves both ends to a new rate and checks the receiver answers
// there; if not, both go back to the old rate.
func (x *exchange) ubxBaud(step ConfigStep, old int) error {
	if err := x.send(step.Bytes); err != nil {
		return err
	}
	// The receiver answers at the old rate or not at all, then switches
	// once its output has drained.
	_, _ = x.await(func(r *UBXFrame, _ string) bool {
		if r == nil {
			return false
		}
		_, answered := r.ack(step.frame.Class, step.frame.ID)
		return answered
	})
	if err := x.port.SetBaud(step.BaudAfter); err != nil {
		return err
	}
	if x.ubxAlive() {
		return nil
	}
	if err := x.port.SetBaud(old); err != nil {
		return err
	}
	if x.ubxAlive() {
		return fmt.Errorf("the receiver stayed at %d baud", old)
	}
	return fmt.Errorf("no answer at %d or %d baud after the change", step.BaudAfter, old)
}

// ubxAlive polls MON-VER and reports whether it was answered.
func (x *exchange) ubxAlive() bool {
	x.resetInput()
	if x.send(ubxPoll(ubxClassMON, ubxMONVer).Encode()) != nil {
		return false
	}
	ok, _ := x.await(func(r *UBXFrame, _ string) bool {
		return r != nil && r.Class == ubxClassMON && r.ID == ubxMONVer
	})
	return ok
}

// ubxRestore sends back the settings read before each change, newest
// first, and says how that went.
func (x *exchange) ubxRestore(undo []UBXFrame) string {
	if len(undo) == 0 {
		return "nothing had been changed"
	}
	failed := 0
	for i := len(undo) - 1; i >= 0; i-- {
		if x.send(undo[i].Encode()) != nil || x.ubxAwaitAck(undo[i]) != nil {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Sprintf("%d of the %d settings changed before it could not be restored (power-cycle the receiver to drop them)", failed, len(undo))
	}
	return fmt.Sprintf("the %d settings changed before it were restored", len(undo))
}
