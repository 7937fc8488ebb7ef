package flow

import (
	"net"
	"net/netip"
	"sort"
)

// Device is what the capture says of one inside address.
type Device struct {
	Addr     netip.Addr
	MAC      net.HardwareAddr
	Hostname string // from DHCP option 12/81 or an mDNS announcement
	NameFrom string // "dhcp" or "mdns"
}

// Devices maps inside addresses to what is known of them.
type Devices struct {
	byAddr map[netip.Addr]known
	byMAC  map[[6]byte]string // DHCP hostnames by client MAC, before the address is known
}

// known is a Device as the map holds it: a capture of tens of thousands
// of devices (bench/scan/distinct.sh 400) kept one allocation of a
// Device and one of its MAC for each, 5.7 MB in all, where this is
// 24 bytes in the map.
type known struct {
	hostname string
	mac      [6]byte
	hasMAC   bool
	nameFrom uint8 // nameDHCP, nameMDNS or 0
}

const (
	nameDHCP = 1 + iota
	nameMDNS
)

var nameFroms = [...]string{"", "dhcp", "mdns"}

func newDevices() *Devices {
	return &Devices{byAddr: map[netip.Addr]known{}, byMAC: map[[6]byte]string{}}
}

func (ds *Devices) mac(a netip.Addr, mac [6]byte) {
	if a.IsUnspecified() {
		return // a DHCP client before it has an address
	}
	d := ds.byAddr[a]
	if d.hasMAC {
		return // the first MAC seen, or DHCP's, stays
	}
	d.mac, d.hasMAC = mac, true
	if d.hostname == "" {
		if h := ds.byMAC[mac]; h != "" {
			d.hostname, d.nameFrom = h, nameDHCP
		}
	}
	ds.byAddr[a] = d
}

func (ds *Devices) name(a netip.Addr, name, from string) {
	f := uint8(nameMDNS)
	if from == "dhcp" {
		f = nameDHCP
	}
	d := ds.byAddr[a]
	if d.hostname == "" || d.nameFrom == nameMDNS && f == nameDHCP {
		d.hostname, d.nameFrom = name, f
	}
	ds.byAddr[a] = d
}

func (k known) device(a netip.Addr) *Device {
	d := &Device{Addr: a, Hostname: k.hostname, NameFrom: nameFroms[k.nameFrom]}
	if k.hasMAC {
		d.MAC = net.HardwareAddr(append([]byte(nil), k.mac[:]...))
	}
	return d
}

// Lookup returns what is known of an address, or nil.
func (ds *Devices) Lookup(a netip.Addr) *Device {
	k, ok := ds.byAddr[a]
	if !ok {
		return nil
	}
	return k.device(a)
}

// All returns the devices sorted by address.
func (ds *Devices) All() []*Device {
	out := make([]*Device, 0, len(ds.byAddr))
	for a, k := range ds.byAddr {
		out = append(out, k.device(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

// dhcp reads a BOOTP/DHCP message (RFC 2131/2132) for the client's MAC,
// the address it gets or asks for, and its host name (option 12, or the
// name part of option 81). It returns the client's address, if any.
func (ds *Devices) dhcp(b []byte) (client netip.Addr) {
	if len(b) < 240 || b[1] != 1 || b[2] != 6 || string(b[236:240]) != "\x63\x82\x53\x63" {
		return netip.Addr{}
	}
	var mac [6]byte
	copy(mac[:], b[28:34])
	yi, _ := netip.AddrFromSlice(b[16:20])
	ci, _ := netip.AddrFromSlice(b[12:16])
	var host string
	var req netip.Addr
	for i := 240; i < len(b); {
		opt := b[i]
		if opt == 255 {
			break
		}
		if opt == 0 {
			i++
			continue
		}
		if i+1 >= len(b) {
			break
		}
		l := int(b[i+1])
		if i+2+l > len(b) {
			break
		}
		v := b[i+2 : i+2+l]
		switch opt {
		case 12:
			host = cleanName(v)
		case 81:
			if host == "" && len(v) > 3 {
				host = cleanName(v[3:])
			}
		case 50:
			if l == 4 {
				req, _ = netip.AddrFromSlice(v)
			}
		}
		i += 2 + l
	}
	if host != "" {
		ds.byMAC[mac] = host
	}
	for _, a := range []netip.Addr{yi, req, ci} {
		if a.IsValid() && !a.IsUnspecified() {
			d := ds.byAddr[a]
			d.mac, d.hasMAC = mac, true
			ds.byAddr[a] = d
			if host != "" {
				ds.name(a, host, "dhcp")
			}
			return a
		}
	}
	return netip.Addr{}
}

// cleanName keeps a host name printable and short; names in captures are
// untrusted.
func cleanName(v []byte) string {
	if len(v) > 63 {
		v = v[:63]
	}
	out := make([]byte, 0, len(v))
	for _, c := range v {
		if c == 0 {
			break
		}
		if c > ' ' && c < 0x7f {
			out = append(out, c)
		}
	}
	return string(out)
}
