package sensorcmd

import "github.com/gopacket/gopacket/pcapgo"

func openEthernet(name string) (ethHandle, error) { return pcapgo.NewEthernetHandle(name) }
