//go:build !linux

package live

import "errors"

// Open says live capture needs Linux.
func Open(string) (Handle, error) {
	return nil, errors.New("live capture needs Linux (AF_PACKET); read a capture file instead")
}
