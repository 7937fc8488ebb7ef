//go:build !linux

package sensorcmd

import "errors"

func openEthernet(string) (ethHandle, error) {
	return nil, errors.New("live capture needs Linux (AF_PACKET)")
}
