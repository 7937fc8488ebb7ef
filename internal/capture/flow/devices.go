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
	Hostname string  // from DHCP option 12/81 or an mDNS announcement
	NameFrom string  // "dhcp" or "mdns"
	mac      [6]byte // what MAC holds, without an allocation of its own
}

// Devices maps inside addresses to what is known of them.
type Devices struct {
	byAddr map[netip.Addr]*Device
	byMAC  map[[6]byte]string // DHCP hostnames by client MAC, before the address is known
}

func newDevices() *Devices {
	return &Devices{byAddr: map[netip.Addr]*Device{}, byMAC: map[[6]byte]string{}}
}

func (ds *Devices) get(a netip.Addr) *Device {
	d := ds.byAddr[a]
	if d == nil {
		d = &Device{Addr: a}
		ds.byAddr[a] = d
	}
	return d
}

func (ds *Devices) mac(a netip.Addr, mac [6]byte) {
	if a.IsUnspecified() {
		return // a DHCP client before it has an address
	}
	if d := ds.byAddr[a]; d != nil && d.MAC != nil {
		return // the first MAC seen, or DHCP's, stays
	}
	d := ds.get(a)
	d.setMAC(mac)
	if d.Hostname == "" {
		if h := ds.byMAC[mac]; h != "" {
			d.Hostname, d.NameFrom = h, "dhcp"
		}
	}
}

func (ds *Devices) name(a netip.Addr, name, from string) {
	d := ds.get(a)
	if d.Hostname == "" || d.NameFrom == "mdns" && from == "dhcp" {
		d.Hostname, d.NameFrom = name, from
	}
}

func (d *Device) setMAC(mac [6]byte) {
	if d.MAC != nil {
		// DHCP's after another: a slice of its own, for whoever has the
		// one before
		d.MAC = net.HardwareAddr(append([]byte(nil), mac[:]...))
		return
	}
	d.mac = mac
	d.MAC = net.HardwareAddr(d.mac[:])
}

// Lookup returns what is known of an address, or nil.
func (ds *Devices) Lookup(a netip.Addr) *Device { return ds.byAddr[a] }

// All returns the devices sorted by address.
func (ds *Devices) All() []*Device {
	out := make([]*Device, 0, len(ds.byAddr))
	for _, d := range ds.byAddr {
		out = append(out, d)
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
			d := ds.get(a)
			d.setMAC(mac)
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
