package loglevel

import (
	"bytes"
	"strings"
	"testing"
)

func TestSetChangesWhatIsLogged(t *testing.T) {
	var buf bytes.Buffer
	log, lv := NewLogger(&buf, "info")
	for _, tt := range []struct {
		set      string
		changed  bool
		ok       bool
		debug    bool // a debug line is written
		info     bool
		warnOnly bool
	}{
		{"", false, true, false, true, false}, // "" is info, unchanged
		{"debug", true, true, true, true, false},
		{"debug", false, true, true, true, false},
		{"WARN", true, true, false, false, true},
		{"loud", false, false, false, false, true}, // refused: stays warn
		{"error", true, true, false, false, false},
		{"info", true, true, false, true, false},
	} {
		changed, err := lv.Set(tt.set)
		if (err == nil) != tt.ok || changed != tt.changed {
			t.Errorf("Set(%q) = %v, %v; want changed=%v ok=%v", tt.set, changed, err, tt.changed, tt.ok)
		}
		buf.Reset()
		log.Debug("d-line")
		log.Info("i-line")
		log.Warn("w-line")
		out := buf.String()
		if strings.Contains(out, "d-line") != tt.debug || strings.Contains(out, "i-line") != tt.info {
			t.Errorf("after Set(%q) at %v: logged %q", tt.set, lv.Level(), out)
		}
		if tt.warnOnly != (strings.Contains(out, "w-line") && !strings.Contains(out, "i-line")) {
			t.Errorf("after Set(%q) at %v: logged %q", tt.set, lv.Level(), out)
		}
	}
}
