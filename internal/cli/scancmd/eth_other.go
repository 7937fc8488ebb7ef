//go:build !linux

package scancmd

import "errors"

func openEthernet(string) (ethHandle, error) {
	return nil, errors.New("live capture needs Linux (AF_PACKET); scan a capture file instead")
}
