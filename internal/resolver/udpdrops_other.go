//go:build !linux

package resolver

import (
	"errors"
	"syscall"
)

// udpDropsSupported is false: the drop counts are read from Linux's /proc.
const udpDropsSupported = false

func socketInode(syscall.RawConn) (uint64, error) { return 0, errors.ErrUnsupported }

func readUDPDrops(func(uint64) bool) (uint64, error) { return 0, errors.ErrUnsupported }
