package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"stratum1/deploy/bootcfg"
	"stratum1/deploy/image"
)

// cmdImage writes a ready-to-flash Raspberry Pi OS image with stratum1
// installed, without root or loop mounts.
func cmdImage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("image", stderr)
	in := fs.String("in", "", "Raspberry Pi OS Lite image to start from (uncompressed .img)")
	out := fs.String("out", "", "image to write")
	deb := fs.String("deb", "", "stratum1 .deb for the Pi's architecture (arm64 or armhf) to install")
	bin := fs.String("binary", "", "instead of --deb: a stratum1 binary built for the Pi")
	hostname := fs.String("hostname", "", "host name of the appliance (default: keep the image's)")
	var servers stringList
	fs.Var(&servers, "server", "upstream NTP server or pool name (repeatable)")
	sshKey := fs.String("ssh-key", "", "authorized_keys file for root; enables SSH")
	pin := fs.Int("gpio-pin", bootcfg.DefaultGPIOPin, "BCM GPIO pin the PPS signal is wired to")
	bt := fs.String("bt", "auto", "Bluetooth on the PL011 UART: auto (disable), disable, miniuart or keep")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "stratum1 image: need --in and --out, and no other arguments")
		return errUsage
	}
	mode, err := bootcfg.ParseBTMode(*bt)
	if err != nil {
		fmt.Fprintf(stderr, "stratum1 image: --bt: %v\n", err)
		return errUsage
	}
	o := image.Options{In: *in, Out: *out, Deb: *deb, Binary: *bin, Hostname: *hostname,
		Servers: servers, Boot: bootcfg.Options{GPIOPin: *pin, BT: mode}, Log: stdout}
	if *sshKey != "" {
		if o.SSHKeys, err = os.ReadFile(*sshKey); err != nil {
			return err
		}
	}
	if err := image.Build(ctx, o); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: flash it with Raspberry Pi Imager (\"Use custom\") or dd\n", *out)
	return nil
}
