package statustest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"stratum1/internal/testenv"
)

// Charts are the ids of the dashboard's history charts.
var Charts = []string{"chart-offset", "chart-jitter", "chart-freq", "chart-rps"}

// Dashboard is what headless Chromium rendered of the page: the counts the
// page's script writes into data-* attributes, the visible facts, and the
// whole DOM for anything else.
type Dashboard struct {
	State       string            // body data-state: the state of the last /api/status, or DOWN
	StateText   string            // the big state text
	Updates     int               // times the status was rendered
	Facts       map[string]string // text of the fact fields by id: f-source, f-offset...
	ChartPoints map[string]int    // samples plotted, by chart id
	Sats        int               // satellites on the sky plot
	SatsUsed    int               // of which used in the fix
	PeerRows    int               // rows of the sources table
	DOM         string
	Screenshot  string // path of the PNG, "" if none was asked for
}

// chromiumFlags keep the browser from touching the network beyond the
// page's own server or the machine beyond its throwaway profile.
func chromiumFlags(profile string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars", "--mute-audio",
		"--user-data-dir=" + profile,
	}
}

// LoadDashboard opens baseURL (the status server's root, e.g.
// "http://127.0.0.1:8123/") in headless Chromium, lets its script run for a
// few seconds of virtual time and returns what it rendered. When screenshot
// is not "", a 1280x1500 PNG of the page is written there.
func LoadDashboard(t testing.TB, baseURL, screenshot string) Dashboard {
	t.Helper()
	chromium := testenv.Tool(t, "chromium")
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		args = append(chromiumFlags(t.TempDir()), args...)
		cmd := exec.CommandContext(ctx, chromium, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, tail(stderr.Bytes(), 2000))
		}
		return stdout.Bytes()
	}
	dom := run("--virtual-time-budget=6000", "--dump-dom", baseURL)
	d, err := ParseDashboard(dom)
	if err != nil {
		t.Fatalf("parse the dashboard's DOM: %v", err)
	}
	if screenshot != "" {
		if err := os.MkdirAll(filepath.Dir(screenshot), 0o755); err != nil {
			t.Fatal(err)
		}
		run("--virtual-time-budget=6000", "--window-size=1280,1500", "--screenshot="+screenshot, baseURL)
		if fi, err := os.Stat(screenshot); err != nil || fi.Size() == 0 {
			t.Fatalf("chromium wrote no screenshot at %s: %v", screenshot, err)
		}
		d.Screenshot = screenshot
	}
	return d
}

// ArtifactPath returns where a test should keep a file worth looking at
// after the run: under $STRATUM1_ARTIFACTS when set, else the test's
// temporary directory (removed after the test).
func ArtifactPath(t testing.TB, name string) string {
	if dir := os.Getenv("STRATUM1_ARTIFACTS"); dir != "" {
		return filepath.Join(dir, name)
	}
	return filepath.Join(t.TempDir(), name)
}

// Problems lists what is wrong with a dashboard that should show a working
// daemon with at least minPoints samples of history in every chart.
func (d Dashboard) Problems(minPoints int) []string {
	var p []string
	if d.State == "" || d.State == "DOWN" {
		p = append(p, fmt.Sprintf("state %q: the page did not render a status", d.State))
	}
	if d.Updates < 1 {
		p = append(p, "the status was never rendered")
	}
	if d.StateText == "" || d.StateText == "…" {
		p = append(p, "the big state text is empty")
	}
	for _, c := range Charts {
		if n := d.ChartPoints[c]; n < minPoints {
			p = append(p, fmt.Sprintf("%s plots %d samples, want at least %d", c, n, minPoints))
		}
	}
	return p
}

// ParseDashboard reads the rendered DOM.
func ParseDashboard(dom []byte) (Dashboard, error) {
	root, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		return Dashboard{}, err
	}
	d := Dashboard{DOM: string(dom), Facts: map[string]string{}, ChartPoints: map[string]int{}}
	var walk func(n *html.Node, inPeers bool)
	walk = func(n *html.Node, inPeers bool) {
		if n.Type == html.ElementNode {
			id := attr(n, "id")
			switch {
			case n.Data == "body":
				d.State = attr(n, "data-state")
				d.Updates, _ = strconv.Atoi(attr(n, "data-updates"))
			case id == "state":
				d.StateText = textOf(n)
			case strings.HasPrefix(id, "f-"):
				d.Facts[id] = textOf(n)
			case strings.HasPrefix(id, "chart-"):
				d.ChartPoints[id], _ = strconv.Atoi(attr(n, "data-points"))
			case id == "sky":
				d.Sats, _ = strconv.Atoi(attr(n, "data-sats"))
				d.SatsUsed, _ = strconv.Atoi(attr(n, "data-used"))
			case id == "peers":
				inPeers = true
			case inPeers && n.Data == "tr" && n.Parent != nil && n.Parent.Data == "tbody":
				d.PeerRows++
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inPeers)
		}
	}
	walk(root, false)
	if d.State == "" && d.StateText == "" {
		return d, fmt.Errorf("no dashboard in the page: %.300s", dom)
	}
	return d, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
