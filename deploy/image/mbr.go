package image

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// partition is one primary MBR partition table entry.
type partition struct {
	Index  int   // 1-based, as in /dev/mmcblk0p1
	Type   byte  // 0x0c FAT32 LBA, 0x83 Linux, ...
	Offset int64 // bytes from the start of the image
	Size   int64 // bytes
}

const sectorSize = 512

// readMBR reads the primary partitions of an MBR (DOS) partition table,
// which is what Raspberry Pi OS images use: the firmware only boots FAT
// partitions found through one.
func readMBR(r io.ReaderAt) ([]partition, error) {
	var mbr [sectorSize]byte
	if _, err := r.ReadAt(mbr[:], 0); err != nil {
		return nil, fmt.Errorf("read partition table: %w", err)
	}
	if mbr[510] != 0x55 || mbr[511] != 0xaa {
		return nil, errors.New("no MBR partition table (boot signature missing)")
	}
	var parts []partition
	for i := range 4 {
		e := mbr[446+16*i : 446+16*(i+1)]
		typ := e[4]
		start := binary.LittleEndian.Uint32(e[8:])
		n := binary.LittleEndian.Uint32(e[12:])
		if typ == 0 || n == 0 {
			continue
		}
		if typ == 0xee {
			return nil, errors.New("GPT partition table: Raspberry Pi OS images use MBR")
		}
		parts = append(parts, partition{Index: i + 1, Type: typ,
			Offset: int64(start) * sectorSize, Size: int64(n) * sectorSize})
	}
	return parts, nil
}

func isFAT(t byte) bool {
	return t == 0x0b || t == 0x0c || t == 0x0e || t == 0x06 || t == 0x04 || t == 0x01
}

// bootAndRoot picks the FAT boot partition and the Linux root partition:
// the first of each, as in every Raspberry Pi OS image.
func bootAndRoot(parts []partition) (boot, root partition, err error) {
	var haveBoot, haveRoot bool
	for _, p := range parts {
		switch {
		case isFAT(p.Type) && !haveBoot:
			boot, haveBoot = p, true
		case p.Type == 0x83 && !haveRoot:
			root, haveRoot = p, true
		}
	}
	if !haveBoot || !haveRoot {
		return boot, root, fmt.Errorf("want a FAT boot and a Linux root partition, found %d partitions without both", len(parts))
	}
	return boot, root, nil
}
