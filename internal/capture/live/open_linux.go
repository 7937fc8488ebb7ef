package live

import "github.com/gopacket/gopacket/pcapgo"

// Open opens an AF_PACKET socket on the interface.
func Open(name string) (Handle, error) { return pcapgo.NewEthernetHandle(name) }
