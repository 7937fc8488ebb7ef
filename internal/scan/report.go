package scan

import (
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/scan/bypass"
)

// Report is the result of a scan; docs/output.md documents its JSON form.
type Report struct {
	Generated string      `json:"generated"`
	Inputs    []Input     `json:"inputs"`
	Devices   []Device    `json:"devices"`
	Totals    []Total     `json:"totals"`
	Warnings  []string    `json:"warnings"`
	Stats     Stats       `json:"stats"`
	Catalog   CatalogInfo `json:"catalog"`
	// each, for a report from FinishStream, builds the devices in turn
	// (EachDevice), and sums Totals and the devices' Warnings on its
	// first walk; Devices is then nil.
	each func(func(*Device) error) error
}

// CatalogInfo says which catalog answered.
type CatalogInfo struct {
	Entities int    `json:"entities"`
	Assets   int    `json:"assets"`
	At       string `json:"ownership_as_of"`
}

// Input is one capture read.
type Input struct {
	Name    string `json:"name"`
	Packets int    `json:"packets"`
	Bytes   int64  `json:"bytes"`
	Link    string `json:"link_type"`
	Error   string `json:"error,omitempty"`
}

// Device is one inside address and what it talked to.
type Device struct {
	Address  string  `json:"address"`
	MAC      string  `json:"mac"`
	Vendor   *Vendor `json:"vendor"`
	Hostname string  `json:"hostname,omitempty"`
	// OnLink: the address is outside the inside ranges (--local), but the
	// capture showed it on its own link ("arp", "dhcp" or "ndp"), so it
	// was taken as a device all the same.
	OnLink    string     `json:"on_link,omitempty"`
	Exposures []Exposure `json:"exposures"`
	Other     Counts     `json:"other"` // flows to no entity of concern
	// Bypass is how the device resolved names around the network's
	// resolver (internal/scan/bypass); hidden names stay in Hidden.
	Bypass []bypass.Entry `json:"bypass"`
	Hidden []Hidden       `json:"hidden,omitempty"`
	// LooksLikeServer, when set: most of the device's flows were
	// answered on its own server ports; its peers are then its clients
	// (a warning says so, and how to name the inside with --local).
	LooksLikeServer *Server    `json:"looks_like_server,omitempty"`
	Flows           []FlowLine `json:"flows,omitempty"` // with --all
}

// Vendor is the device's hardware maker by its MAC OUI.
type Vendor struct {
	Entity string              `json:"entity"`
	Name   string              `json:"name"`
	Role   string              `json:"role"`
	Lists  []attribute.ListRef `json:"lists"`
	Source string              `json:"source"`
}

// Counts are traffic totals.
type Counts struct {
	BytesOut   uint64 `json:"bytes_out"`
	BytesIn    uint64 `json:"bytes_in"`
	PacketsOut uint64 `json:"packets_out"`
	PacketsIn  uint64 `json:"packets_in"`
	Flows      int    `json:"flows"`
}

// Exposure is a device's traffic to one entity.
type Exposure struct {
	Entity       string              `json:"entity"`
	Name         string              `json:"name"`
	Jurisdiction string              `json:"jurisdiction"`                       // registered
	Controlling  string              `json:"controlling_jurisdiction,omitempty"` // of the ultimate owner
	OwnerChain   []string            `json:"owner_chain"`
	Minority     []string            `json:"minority_owners,omitempty"`
	Role         string              `json:"role"`
	Lists        []attribute.ListRef `json:"lists"`
	Counts
	FirstSeen  string               `json:"first_seen"`
	LastSeen   string               `json:"last_seen"`
	Evidence   []attribute.Evidence `json:"evidence"`
	HostedBy   []string             `json:"hosted_by,omitempty"`
	Confidence string               `json:"confidence"`
	Unverified bool                 `json:"unverified,omitempty"`
}

// Hidden is traffic whose name could not be seen.
type Hidden struct {
	Reason  string `json:"reason"`
	Peer    string `json:"peer"`
	Name    string `json:"visible_name,omitempty"`
	Flows   int    `json:"flows"`
	Entity  string `json:"entity,omitempty"` // who the address or outer name points at, if anyone
	Context string `json:"context,omitempty"`
}

// FlowLine is one flow, for --all.
type FlowLine struct {
	Proto  string `json:"proto"`
	Device string `json:"device"` // address:port of the device side
	Peer   string `json:"peer"`
	Name   string `json:"name,omitempty"`
	Entity string `json:"entity,omitempty"`
	Role   string `json:"role,omitempty"`
	Counts
	First   string `json:"first_seen"`
	Last    string `json:"last_seen"`
	Context string `json:"context,omitempty"` // from --ip-db: the address's AS and country, context only
	Tunnel  string `json:"tunnel,omitempty"`  // the outermost tunnel and its ends: the path, not a device
	// Protocol is an application protocol recognised by its payload
	// (oicq, tuya-lan, mqtt): what the flow is, an owner only through
	// the catalog.
	Protocol string `json:"protocol,omitempty"`
}

// Total is one entity over all devices.
type Total struct {
	Entity       string              `json:"entity"`
	Name         string              `json:"name"`
	Jurisdiction string              `json:"jurisdiction"`                       // registered
	Controlling  string              `json:"controlling_jurisdiction,omitempty"` // of the ultimate owner
	Role         string              `json:"role"`
	Lists        []attribute.ListRef `json:"lists"`
	Devices      int                 `json:"devices"`
	Counts
}

// Stats are the scan's counters.
type Stats struct {
	Packets       uint64 `json:"packets"`
	NotIP         uint64 `json:"not_ip"`
	Flows         uint64 `json:"flows"`
	FlowsEvicted  uint64 `json:"flows_evicted_early"`
	Fragments     uint64 `json:"fragments"`
	ConcernFlows  uint64 `json:"flows_of_concern"`
	Reassembled   uint64 `json:"client_hellos_reassembled"`
	ExportedFlows uint64 `json:"exported_flows,omitempty"` // NetFlow/IPFIX records read (--flow-exports)
	LoggedFlows   uint64 `json:"logged_flows,omitempty"`   // conversations read from Zeek or Suricata logs
}
