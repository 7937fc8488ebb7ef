package policy

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const devicePolicy = `groups:
  - name: cameras
    macs: [a4:c1:38, "00-1A-2B-3C-4D-5E"]
  - name: kiosks
    hostnames: ["kiosk-*", lobby.example.org, "*.lab.example."]
  - name: one
    macs: [0200.5e10.0001]
    hostnames: ["Printer-?"]
rules:
  - {action: block, entities: x, groups: [cameras, kiosks, one]}
`

func TestDeviceGroups(t *testing.T) {
	p, err := Parse("p.yaml", []byte(devicePolicy))
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasDeviceGroups() {
		t.Fatal("HasDeviceGroups is false")
	}
	mac := func(s string) MAC {
		m, n, err := ParseMAC(s)
		if err != nil || n != 6 {
			t.Fatalf("ParseMAC(%q) = %v, %d, %v", s, m, n, err)
		}
		return m
	}
	tests := []struct {
		name   string
		client Client
		want   []string
	}{
		{"vendor prefix", Client{MAC: mac("a4:c1:38:01:02:03")}, []string{"cameras"}},
		{"exact MAC, any notation", Client{MAC: mac("00:1a:2b:3c:4d:5e")}, []string{"cameras"}},
		{"MAC next to the exact one", Client{MAC: mac("00:1a:2b:3c:4d:5f")}, nil},
		{"Cisco notation, locally administered", Client{MAC: mac("02:00:5e:10:00:01")}, []string{"one"}},
		{"exact hostname", Client{Hostname: "lobby.example.org"}, []string{"kiosks"}},
		{"glob, one label", Client{Hostname: "kiosk-12"}, []string{"kiosks"}},
		{"suffix glob crosses labels", Client{Hostname: "a.b.lab.example"}, []string{"kiosks"}},
		{"suffix glob needs the dot", Client{Hostname: "lab.example"}, nil},
		{"? is one character", Client{Hostname: "printer-3"}, []string{"one"}},
		{"? is not two", Client{Hostname: "printer-33"}, nil},
		{"both", Client{MAC: mac("a4:c1:38:00:00:01"), Hostname: "kiosk-1"}, []string{"cameras", "kiosks"}},
		{"address alone", Client{Addr: netip.MustParseAddr("10.0.0.1")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := p.ClientGroups(tc.client)
			var got []string
			for _, g := range p.Groups {
				if p.In(m, g.Name) {
					got = append(got, g.Name)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
	// The resolver joins what it finds apart: address groups and device groups.
	byAddr := p.ClientGroups(Client{Addr: netip.MustParseAddr("10.0.0.1")})
	byDev := p.ClientGroups(Client{Hostname: "kiosk-1"})
	if !p.In(byAddr.Or(byDev), "kiosks") {
		t.Error("Or lost a group")
	}
}

func TestNoDeviceGroups(t *testing.T) {
	p, err := Parse("p.yaml", []byte("groups:\n  - {name: g, addresses: [10.0.0.0/8]}\nrules:\n  - {action: block, entities: x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.HasDeviceGroups() {
		t.Error("HasDeviceGroups without macs or hostnames")
	}
}

func TestDeviceParseErrors(t *testing.T) {
	rules := "rules:\n  - {action: block, entities: x}\n"
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"bad MAC on its item's line", "groups:\n  - name: g\n    macs:\n      - a4:c1:38\n      - zz:00:00:00:00:00\n", `p.yaml:5: group g: "zz:00:00:00:00:00" is not a MAC address (aa:bb:cc:dd:ee:ff) or vendor prefix (aa:bb:cc)`},
		{"flow list", "groups:\n  - name: g\n    macs: [a4:c1]\n", `p.yaml:3: group g: "a4:c1" is not a MAC address`},
		{"EUI-64 is not a MAC", "groups:\n  - name: g\n    macs: [00:00:00:00:fe:80:00:01]\n", "is not a MAC address"},
		{"multicast", "groups:\n  - name: g\n    macs: [01:00:5e:00:00:01]\n", `p.yaml:3: group g: "01:00:5e:00:00:01" is a multicast address`},
		{"local prefix", "groups:\n  - name: g\n    macs: [\"02:00:00\"]\n", "is a locally administered prefix"},
		{"zero MAC", "groups:\n  - name: g\n    macs: [00:00:00:00:00:00]\n", "is the zero MAC"},
		{"bad hostname", "groups:\n  - name: g\n    hostnames:\n      - ok\n      - \"bad name\"\n", `p.yaml:5: group g: hostname "bad name": use letters`},
		{"bracket glob", "groups:\n  - name: g\n    hostnames: ['kiosk-[12]']\n", `p.yaml:3: group g: hostname "kiosk-[12]"`},
		{"empty label", "groups:\n  - name: g\n    hostnames: [a..b]\n", `hostname "a..b"`},
		{"unknown key lists the new ones", "groups:\n  - name: g\n    mac: [a4:c1:38]\n", "allowed: addresses, client_names, device_tags, doh_paths, hostnames, macs, name, owners, platforms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWith("p.yaml", []byte(tc.yaml+rules), Options{Open: func(string) (io.ReadCloser, error) { return nil, errors.New("no files") }})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseMAC(t *testing.T) {
	tests := []struct {
		in   string
		want MAC
		n    int
	}{
		{"A4:C1:38:01:02:03", MAC{0xa4, 0xc1, 0x38, 1, 2, 3}, 6},
		{"a4-c1-38-01-02-03", MAC{0xa4, 0xc1, 0x38, 1, 2, 3}, 6},
		{"a4c1.3801.0203", MAC{0xa4, 0xc1, 0x38, 1, 2, 3}, 6},
		{"a4:c1:38", MAC{0xa4, 0xc1, 0x38}, 3},
		{"A4-C1-38", MAC{0xa4, 0xc1, 0x38}, 3},
	}
	for _, tc := range tests {
		m, n, err := ParseMAC(tc.in)
		if err != nil || m != tc.want || n != tc.n {
			t.Errorf("ParseMAC(%q) = %v, %d, %v; want %v, %d", tc.in, m, n, err, tc.want, tc.n)
		}
	}
	for _, bad := range []string{"", "a4:c1", "a4:c1-38", "a4:c1:38:01", "g4:c1:38", "a4c138"} {
		if _, _, err := ParseMAC(bad); err == nil {
			t.Errorf("ParseMAC(%q) succeeded", bad)
		}
	}
}
