package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// DefaultServerURL is where the command-line tools look for the daemon.
const DefaultServerURL = "http://127.0.0.1:8123"

// ErrNoDaemon is wrapped by Fetch's error when nothing answers at the URL.
var ErrNoDaemon = errors.New("no stratum1 daemon is running there")

// Fetch reads the daemon's snapshot from the status server at baseURL, for
// `stratum1 status` and `stratum1 peers`. Its errors say what to do: start
// the daemon, wait for it, or ask from an allowed address.
func Fetch(ctx context.Context, baseURL string) (Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	url := strings.TrimSuffix(baseURL, "/") + "/api/status"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Snapshot{}, fmt.Errorf("status server URL %q: %w", baseURL, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return Snapshot{}, fmt.Errorf("%w: nothing listens at %s (start it with `systemctl start stratum1` or try `stratum1 sim`; "+
				"if it runs with another [http] listen address, pass --server)", ErrNoDaemon, baseURL)
		}
		return Snapshot{}, fmt.Errorf("ask %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return Snapshot{}, fmt.Errorf("read %s: %w", url, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusServiceUnavailable:
		return Snapshot{}, fmt.Errorf("the daemon at %s is starting and has no status yet; try again in a few seconds", baseURL)
	case http.StatusForbidden:
		return Snapshot{}, fmt.Errorf("%s refused: the status server answers only loopback, private and link-local addresses", baseURL)
	default:
		return Snapshot{}, fmt.Errorf("%s: HTTP %s: %.200s", url, resp.Status, body)
	}
	var s Snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		return Snapshot{}, fmt.Errorf("%s does not look like a stratum1 status server: %w", baseURL, err)
	}
	return s, nil
}
