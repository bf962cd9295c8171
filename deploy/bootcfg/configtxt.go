package bootcfg

import (
	"strconv"
	"strings"
)

// config is config.txt split into lines, each marked with whether the
// firmware applies it on this board. The firmware evaluates [filter]
// sections: lines before the first filter and after [all] apply everywhere;
// model filters ([pi4], [cm4], ...) apply when they match the board; any
// other filter ([HDMI:1], [EDID=...], [gpio4=1], [none], serial numbers) is
// a condition this code cannot evaluate, so its lines count as not applying.
type config struct {
	lines []line
	model string
	// tailActive says whether a line appended at the end would apply on
	// every board (the file ends outside any conditional section).
	tailActive bool
}

type line struct {
	text   string
	active bool
}

func parseConfig(text, model string) *config {
	c := &config{model: model}
	unconditional := true // no filter since the start or the last [all]
	active := true
	for _, t := range splitLines(text) {
		s := strings.TrimSpace(t)
		if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			f := strings.ToLower(strings.TrimSpace(s[1 : len(s)-1]))
			if f == "all" {
				unconditional, active = true, true
			} else {
				unconditional = false
				active = active && filterMatches(f, model)
			}
			c.lines = append(c.lines, line{text: t, active: false})
			continue
		}
		c.lines = append(c.lines, line{text: t, active: active})
	}
	c.tailActive = unconditional
	return c
}

// splitLines splits text into lines without their terminators.
func splitLines(text string) []string {
	if text == "" {
		return nil
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

func (c *config) String() string {
	var b strings.Builder
	for _, l := range c.lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// filterMatches evaluates a model filter against the board model; unknown
// filters and unknown boards do not match.
func filterMatches(filter, model string) bool {
	m := strings.ToLower(model)
	if m == "" {
		return false
	}
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(m, s) {
				return true
			}
		}
		return false
	}
	switch filter {
	case "pi0":
		return has("pi zero")
	case "pi0w":
		return has("pi zero w")
	case "pi02":
		return has("pi zero 2")
	case "pi1":
		return has("pi model", "compute module rev")
	case "pi2":
		return has("pi 2")
	case "pi3":
		return has("pi 3", "compute module 3")
	case "pi3+":
		return has("pi 3 model b plus", "pi 3 model a plus")
	case "pi4":
		return has("pi 4", "compute module 4")
	case "pi400":
		return has("pi 400")
	case "cm4":
		return has("compute module 4")
	case "pi5":
		return has("pi 5", "compute module 5")
	case "pi500":
		return has("pi 500")
	case "cm5":
		return has("compute module 5")
	}
	return false
}

// keyValue splits an active "key=value" line; comments and blanks give ok false.
func keyValue(text string) (key, val string, ok bool) {
	s := strings.TrimSpace(text)
	if s == "" || strings.HasPrefix(s, "#") {
		return "", "", false
	}
	key, val, ok = strings.Cut(s, "=")
	if !ok {
		return "", "", false
	}
	val, _, _ = strings.Cut(val, "#")
	return strings.TrimSpace(key), strings.TrimSpace(val), true
}

// value returns the effective value of key: its last active setting.
func (c *config) value(key string) (string, bool) {
	i := c.find(key)
	if i < 0 {
		return "", false
	}
	_, v, _ := keyValue(c.lines[i].text)
	return v, true
}

// find returns the index of the last active line setting key, or -1.
func (c *config) find(key string) int {
	for i := len(c.lines) - 1; i >= 0; i-- {
		if !c.lines[i].active {
			continue
		}
		if k, _, ok := keyValue(c.lines[i].text); ok && k == key {
			return i
		}
	}
	return -1
}

// overlay returns the index of the last active dtoverlay line loading name
// (or its pre-Bookworm "pi3-" alias), or -1.
func (c *config) overlay(name string) int {
	for i := len(c.lines) - 1; i >= 0; i-- {
		if !c.lines[i].active {
			continue
		}
		k, v, ok := keyValue(c.lines[i].text)
		if !ok || k != "dtoverlay" {
			continue
		}
		n, _, _ := strings.Cut(v, ",")
		n = strings.TrimSpace(n)
		if n == name || n == "pi3-"+name {
			return i
		}
	}
	return -1
}

// overlayPin returns the gpiopin parameter of a pps-gpio dtoverlay line;
// the overlay's own default is 18.
func overlayPin(text string) int {
	_, v, _ := keyValue(text)
	params := strings.Split(v, ",")
	for _, p := range params[1:] {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && k == "gpiopin" {
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				return -1
			}
			return n
		}
	}
	return DefaultGPIOPin
}

// withPin rewrites the gpiopin parameter of a pps-gpio dtoverlay line,
// keeping its other parameters (edge, pull-up) as the user set them.
func withPin(text string, pin int) string {
	_, v, _ := keyValue(text)
	params := strings.Split(v, ",")
	out := []string{strings.TrimSpace(params[0])}
	set := false
	for _, p := range params[1:] {
		p = strings.TrimSpace(p)
		if k, _, _ := strings.Cut(p, "="); k == "gpiopin" {
			p = "gpiopin=" + strconv.Itoa(pin)
			set = true
		}
		out = append(out, p)
	}
	if !set {
		out = append(out, "gpiopin="+strconv.Itoa(pin))
	}
	return "dtoverlay=" + strings.Join(out, ",")
}
