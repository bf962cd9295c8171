package appliance

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"stratum1/config"
	"stratum1/gps"
	"stratum1/internal/loglevel"
	"stratum1/status"
)

// reconfigurable is a receiver whose configuration changes at run time
// (gps.Reader).
type reconfigurable interface {
	Reconfigure(gps.Config) (reopens bool, err error)
}

// Reload applies a new configuration to the running daemon, section by
// section, without dropping service: the access rules, the NTP listen
// addresses (new ones bound before old ones close), the log level, the
// upstream servers and pools, the GPS device, the status server (a new
// address bound before the old one closes), and the plain parameters of
// [pps] and [discipline]. applied says what changed, restart names each
// change that takes a restart to apply (or that could not be applied). A
// configuration that cannot be applied at all (new NTP addresses that
// cannot be bound, a section its part refuses) is rejected with err, and
// the running configuration stays.
func (a *Appliance) Reload(cfg config.Config) (applied, restart []string, err error) {
	a.mu.Lock()
	old := a.cfg
	a.mu.Unlock()
	changed := func(x, y any) bool { return !reflect.DeepEqual(x, y) }

	// What can fail goes first, so that a refusal leaves everything as
	// it was.
	if a.nts != nil {
		if err := a.nts.ReloadCertificate(); err != nil {
			return nil, nil, err
		}
	}
	pol, err := a.policy.Load().Reload(cfg.Access)
	if err != nil {
		return nil, nil, fmt.Errorf("access: %w", err)
	}
	if err := cfg.Discipline.Validate(); err != nil {
		return nil, nil, fmt.Errorf("discipline: %w", err)
	}
	if err := cfg.PPS.Validate(); err != nil {
		return nil, nil, fmt.Errorf("pps: %w", err)
	}
	if err := cfg.Peers.Validate(); err != nil {
		return nil, nil, fmt.Errorf("peers: %w", err)
	}
	if _, err := loglevel.Parse(cfg.Log.Level); err != nil {
		return nil, nil, fmt.Errorf("log: %w", err)
	}
	if !slices.Equal(cfg.Server.Listen, old.Server.Listen) {
		added, removed, err := a.resp.SetListen(cfg.Server.Listen)
		if err != nil {
			return nil, nil, fmt.Errorf("server.listen: %w", err)
		}
		applied = append(applied, fmt.Sprintf("server.listen %v (added %v, removed %v)", cfg.Server.Listen, added, removed))
	}
	srvOld, srvNew := old.Server, cfg.Server
	srvOld.Listen, srvNew.Listen = nil, nil
	if changed(srvOld, srvNew) {
		restart = append(restart, "server.workers/coalesce/hwtimestamp")
	}

	// [access]
	if changed(old.Access, cfg.Access) {
		applied = append(applied, "access")
	}
	a.policy.Store(pol)
	a.control.SetAllowed(pol.QueryNetworks()...)

	// [log]
	if cfg.Log.Level != old.Log.Level {
		if a.logLevel == nil {
			restart = append(restart, "log.level")
		} else if _, err := a.logLevel.Set(cfg.Log.Level); err == nil {
			applied = append(applied, "log.level "+cfg.Log.Level)
		}
	}

	// [peers]
	if changed(old.Peers, cfg.Peers) {
		switch {
		case a.peers == nil && len(cfg.Peers.Servers)+len(cfg.Peers.Pools) > 0:
			restart = append(restart, "peers (the daemon started without upstream servers)")
		case a.peers != nil:
			added, removed, err := a.peers.Reconfigure(cfg.Peers)
			if err != nil {
				restart = append(restart, "peers ("+err.Error()+")")
				break
			}
			what := "peers"
			if len(added)+len(removed) > 0 {
				what += fmt.Sprintf(" (added %q, removed %q)", added, removed)
			}
			applied = append(applied, what)
		default:
			applied = append(applied, "peers")
		}
	}

	// [gps]
	if changed(old.GPS, cfg.GPS) {
		r, ok := a.hw.GPS.(reconfigurable)
		switch {
		case (old.GPS.Device == "") != (cfg.GPS.Device == ""), a.hw.GPS == nil:
			restart = append(restart, "gps.device (adding or removing the receiver)")
		case !ok:
			restart = append(restart, "gps")
		default:
			reopens, err := r.Reconfigure(cfg.GPS)
			switch {
			case err != nil:
				restart = append(restart, "gps ("+err.Error()+")")
			case reopens:
				applied = append(applied, fmt.Sprintf("gps (reopening %s)", cfg.GPS.Device))
			default:
				applied = append(applied, "gps")
			}
		}
	}

	// [pps] and [discipline]: the plain parameters live, the devices and
	// files at the next start. The core owns them, so the loop applies
	// them, as an input the recording keeps.
	core, coreErr := a.reconfigureCore(CoreConfigOf(cfg))
	if coreErr != nil {
		restart = append(restart, "pps/discipline ("+coreErr.Error()+")")
	} else {
		restart = append(restart, prefixed("pps.", core.PPSRestart)...)
		if live(old.PPS, cfg.PPS, "Device", "Pin", "Backend", "Polarity") {
			applied = append(applied, "pps")
		}
		restart = append(restart, prefixed("discipline.", core.DisciplineRestart)...)
		if live(old.Discipline, cfg.Discipline, "DriftFile", "DriftInterval", "LeapFile", "TemperatureFile") {
			applied = append(applied, "discipline")
		}
	}

	// [http]
	httpCfg := old.HTTP
	if changed(old.HTTP, cfg.HTTP) {
		a.mu.Lock()
		srv := a.httpSrv
		a.mu.Unlock()
		switch {
		case srv == nil || cfg.HTTP.Listen == "":
			restart = append(restart, "http (switching the status server on or off)")
		default:
			moved, err := srv.Reconfigure(cfg.HTTP)
			httpCfg = cfg.HTTP
			if err != nil {
				httpCfg.Listen = old.HTTP.Listen
				restart = append(restart, fmt.Sprintf("http.listen (%v; still on %s)", err, old.HTTP.Listen))
			}
			what := "http"
			if moved {
				url := status.URL(srv.Addr())
				a.mu.Lock()
				a.httpURL = url
				a.mu.Unlock()
				what = "http.listen " + url
			}
			applied = append(applied, what)
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg.Access, a.cfg.Log = cfg.Access, cfg.Log
	a.cfg.Server.Listen = cfg.Server.Listen
	a.cfg.HTTP = httpCfg
	if a.peers != nil || len(cfg.Peers.Servers)+len(cfg.Peers.Pools) == 0 {
		a.cfg.Peers = cfg.Peers
	}
	if a.hw.GPS != nil && cfg.GPS.Device != "" {
		a.cfg.GPS = cfg.GPS
	}
	if coreErr == nil {
		p := cfg.PPS
		p.Device, p.Pin, p.Backend, p.Polarity = old.PPS.Device, old.PPS.Pin, old.PPS.Backend, old.PPS.Polarity
		a.cfg.PPS = p
		d := cfg.Discipline
		d.DriftFile, d.DriftInterval, d.LeapFile = old.Discipline.DriftFile, old.Discipline.DriftInterval, old.Discipline.LeapFile
		d.TemperatureFile = old.Discipline.TemperatureFile
		a.cfg.Discipline = d
	}
	return applied, restart, nil
}

// live reports whether x and y differ in a field other than those named.
func live[T any](x, y T, except ...string) bool {
	vx, vy := reflect.ValueOf(x), reflect.ValueOf(y)
	for i := range vx.NumField() {
		if slices.Contains(except, vx.Type().Field(i).Name) {
			continue
		}
		if !reflect.DeepEqual(vx.Field(i).Interface(), vy.Field(i).Interface()) {
			return true
		}
	}
	return false
}

func prefixed(p string, keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = p + k
	}
	return out
}

// DescribeReload is the log's wording of what a reload applied.
func DescribeReload(applied []string) string {
	if len(applied) == 0 {
		return "nothing changed"
	}
	return strings.Join(applied, "; ")
}

// reloadWait bounds how long a reload waits for the loop to take the
// core's new configuration.
const reloadWait = 5 * time.Second

// reconfigureCore hands cfg to the loop, which gives it to the core, and
// returns what the core could not apply.
func (a *Appliance) reconfigureCore(cfg CoreConfig) (Reload, error) {
	req := &reloadRequest{cfg: cfg, done: make(chan Reload, 1)}
	t := time.NewTimer(reloadWait)
	defer t.Stop()
	select {
	case a.events <- event{reload: req}:
	case <-t.C:
		return Reload{}, errors.New("the time loop did not take the configuration")
	}
	select {
	case r := <-req.done:
		return r, r.Err
	case <-t.C:
		return Reload{}, errors.New("the time loop did not apply the configuration")
	}
}
