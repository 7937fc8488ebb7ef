package alert

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Kind is what happened.
type Kind string

// Kinds of alert.
const (
	// FirstContact: a device talked to an entity of concern for the first time.
	FirstContact Kind = "first_contact"
	// PastDeadline: traffic to an entity after the policy's deadline.
	PastDeadline Kind = "past_deadline"
	// GroupBlocked: traffic from a device whose group's policy blocks the entity.
	GroupBlocked Kind = "group_blocked"
	// Bypass: a device resolved names around the network's resolver (DNS
	// over HTTPS, TLS or QUIC, an HTTP-DNS service, a hard-coded address
	// of an entity of concern); Rule is the bypass kind and the peer.
	Bypass Kind = "bypass"
)

// Evidence is what named the entity: kind (sni, dns, asn...) and value.
type Evidence struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Alert is one event to deliver.
type Alert struct {
	Time         time.Time  `json:"time"`
	Kind         Kind       `json:"kind"`
	Site         string     `json:"site,omitempty"`
	Device       netip.Addr `json:"device"`
	DeviceName   string     `json:"device_name,omitempty"`
	Entity       string     `json:"entity"`
	EntityName   string     `json:"entity_name,omitempty"`
	Jurisdiction string     `json:"jurisdiction,omitempty"`
	Rule         string     `json:"rule,omitempty"`
	Deadline     time.Time  `json:"deadline,omitzero"`
	Evidence     []Evidence `json:"evidence,omitempty"`
	Bytes        uint64     `json:"bytes,omitempty"`
	// Summary is the human line; empty: Text builds one.
	Summary string `json:"summary"`
}

// Severity is the RFC 5424 severity: 4 (warning) for blocked or overdue
// traffic, 5 (notice) for a first contact.
func (a *Alert) Severity() int {
	if a.Kind == FirstContact {
		return 5
	}
	return 4
}

// cefSeverity maps to CEF's 0 (low) to 10 (very high).
func (a *Alert) cefSeverity() int {
	switch a.Kind {
	case FirstContact:
		return 5
	case PastDeadline:
		return 8
	}
	return 7
}

// Title is a short name of the kind.
func (a *Alert) Title() string {
	switch a.Kind {
	case FirstContact:
		return "First contact with an entity of concern"
	case PastDeadline:
		return "Traffic past the policy deadline"
	case GroupBlocked:
		return "Traffic the device's group policy blocks"
	case Bypass:
		return "Device resolved names around the network's resolver"
	}
	return "outflow alert: " + string(a.Kind)
}

// Text is the human line: Summary, or one built from the fields.
func (a *Alert) Text() string {
	if a.Summary != "" {
		return oneLine(a.Summary)
	}
	var b strings.Builder
	dev := a.Device.String()
	if a.DeviceName != "" {
		dev = a.DeviceName + " (" + dev + ")"
	}
	ent := a.Entity
	if a.EntityName != "" {
		ent = a.EntityName
	}
	if a.Jurisdiction != "" {
		ent += " [" + a.Jurisdiction + "]"
	}
	switch a.Kind {
	case FirstContact:
		fmt.Fprintf(&b, "%s talked to %s for the first time", dev, ent)
	case PastDeadline:
		fmt.Fprintf(&b, "%s sent traffic to %s after the deadline %s", dev, ent, a.Deadline.UTC().Format("2006-01-02"))
	case GroupBlocked:
		fmt.Fprintf(&b, "%s sent traffic to %s, which its group's policy blocks", dev, ent)
	case Bypass:
		switch {
		case strings.HasPrefix(a.Rule, "hardcoded-address"):
			fmt.Fprintf(&b, "%s connected to %s at an address it got no DNS answer for (%s)", dev, ent, a.Rule)
		case ent == "":
			fmt.Fprintf(&b, "%s resolved names around the network's resolver (%s) through a service not in the catalog", dev, a.Rule)
		default:
			fmt.Fprintf(&b, "%s resolved names around the network's resolver (%s) through %s", dev, a.Rule, ent)
		}
	default:
		fmt.Fprintf(&b, "%s: %s and %s", a.Kind, dev, ent)
	}
	if a.Bytes > 0 {
		fmt.Fprintf(&b, " (%d bytes)", a.Bytes)
	}
	if a.Rule != "" && a.Kind != Bypass {
		b.WriteString("; rule " + a.Rule)
	}
	if len(a.Evidence) > 0 {
		b.WriteString("; seen by " + a.Evidence[0].Kind + " " + a.Evidence[0].Value)
	}
	if a.Site != "" {
		b.WriteString("; site " + a.Site)
	}
	return oneLine(b.String())
}

// oneLine replaces line breaks and other control characters by spaces:
// every output is one line.
func oneLine(s string) string {
	if strings.IndexFunc(s, isCtl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isCtl(r) {
			return ' '
		}
		return r
	}, s)
}

func isCtl(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 }

// key is what deduplicates: the device is keyed by site and address, as
// the sensor keys it (10.0.0.5 at two sites is two devices).
func (a *Alert) key() string {
	return string(a.Kind) + "\x00" + a.Site + "\x00" + a.Device.String() + "\x00" + a.Entity + "\x00" + a.Rule
}
