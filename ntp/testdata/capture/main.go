// Command capture records golden NTP exchanges with a real server for the
// tests in package ntp. It sends one request and writes the request, the
// reply and the client's send and receive times as JSON.
//
//	go run ./ntp/testdata/capture -server 127.0.0.1:11123 -name "chronyd 4.3" -out ntp/testdata/chronyd-v4.json
package main

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"time"
)

// Capture is the file format read by golden_test.go.
type Capture struct {
	Server   string    `json:"server"`
	Note     string    `json:"note,omitempty"`
	Request  string    `json:"request_hex"`
	Response string    `json:"response_hex"`
	T1       time.Time `json:"t1"` // just before the request was sent
	T4       time.Time `json:"t4"` // just after the reply was read
}

func main() {
	server := flag.String("server", "127.0.0.1:123", "NTP server address")
	name := flag.String("name", "", "server name and version, stored in the file")
	note := flag.String("note", "", "what this capture shows")
	version := flag.Int("version", 4, "NTP version of the request")
	ext := flag.Int("ext", 0, "append an unknown extension field of this many bytes (0: none)")
	out := flag.String("out", "", "output file")
	flag.Parse()

	req := make([]byte, 48, 48+*ext)
	req[0] = byte(*version)<<3 | 3
	req[2] = 6
	if *ext > 0 {
		f := make([]byte, *ext)
		binary.BigEndian.PutUint16(f, 0x7e01) // an unassigned field type
		binary.BigEndian.PutUint16(f[2:], uint16(*ext))
		req = append(req, f...)
	}
	c, err := net.Dial("udp", *server)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	t1 := time.Now()
	sec := uint64(t1.Unix()+2208988800) << 32
	frac := uint64(t1.Nanosecond()) << 32 / 1e9
	binary.BigEndian.PutUint64(req[40:], sec|frac)
	if _, err := c.Write(req); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 1024)
	n, err := c.Read(buf)
	t4 := time.Now()
	if err != nil {
		log.Fatal(err)
	}
	b, _ := json.MarshalIndent(Capture{*name, *note, hex.EncodeToString(req), hex.EncodeToString(buf[:n]), t1.UTC(), t4.UTC()}, "", "  ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d-byte reply\n", *out, n)
}
