// Command stratum1 is a GPS/PPS stratum-1 NTP server for the Raspberry Pi.
// One binary; the first argument names the subcommand.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"run":      {"run the daemon from a config file", cmdRun},
		"sim":      {"run the whole appliance on a simulated receiver", cmdSim},
		"replay":   {"play a recording (run/sim --record) through the time path and print its decisions", cmdReplay},
		"version":  {"print the version", cmdVersion},
		"gps":      {"decode NMEA captures, watch or configure a receiver (gps decode|watch|configure)", cmdGPS},
		"pps":      {"watch the pulse-per-second input (pps watch)", cmdPPS},
		"status":   {"show the running daemon's tracking summary", cmdStatus},
		"peers":    {"list the running daemon's time sources, as ntpq -p", cmdPeers},
		"check":    {"check a Raspberry Pi's set-up and say what to fix", cmdCheck},
		"bench":    {"load-test an NTP server and measure its answers", cmdBench},
		"setup-pi": {"apply the Raspberry Pi boot configuration", cmdSetupPi},
		"image":    {"build a ready-to-flash Raspberry Pi OS image", cmdImage},
		"nts-cert": {"write a self-signed NTS certificate and key for a LAN server", cmdNTSCert},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "stratum1: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "stratum1 %s: %v\n", args[0], err)
		return 1
	}
}

// errUsage reports bad command-line arguments; the flag package has already
// printed why.
var errUsage = errors.New("usage")

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: stratum1 <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("stratum1 "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, mapping a parse failure to errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func cmdVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "stratum1 %s\n", version)
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// writeJSON prints v as indented JSON, the --json output of the commands.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
