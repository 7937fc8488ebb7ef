// Package render holds what every human-facing output of outflow shares,
// so that the terminal, the CSV, the dashboard and the HTML report never
// disagree: byte units, a writer that keeps its first error, and (in its
// sub-packages) the charts and the world map that the dashboard and the
// report both draw from one dataset.
//
// It and its sub-packages write text and markup only and must never import
// the store, a handler or a command (the core's attribution types are
// what they name).
package render

import (
	"strconv"
	"strings"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
)

// Bytes formats a byte count for people in binary units, one decimal:
// "512 B", "69.8 KiB", "1.2 MiB". Every output uses it, so a figure reads
// the same in the CLI, the dashboard and the report.
func Bytes(n uint64) string {
	const unit = 1 << 10
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	b := strconv.AppendFloat(make([]byte, 0, 12), float64(n)/float64(div), 'f', 1, 64)
	return string(append(append(b, ' ', "KMGTPE"[exp]), 'i', 'B'))
}

// Entity names an entity the one way every output does: its name, the
// jurisdiction it is registered in, and, when different, the one its
// ultimate controlling owner is in: "TikTok Pte. Ltd., SG — controlled
// from CN". An empty name falls back to the id, never to nothing.
func Entity(id, name, registered, controlling string) string {
	if name == "" {
		name = id
	}
	j := Jurisdictions(registered, controlling)
	switch {
	case j == "":
		return name
	case strings.HasPrefix(j, "controlled"):
		return name + " — " + j
	}
	return name + ", " + j
}

// Jurisdictions is the registered and controlling jurisdiction as every
// output writes them: "SG — controlled from CN", or "CN" when they agree.
func Jurisdictions(registered, controlling string) string {
	registered, controlling = strings.ToUpper(registered), strings.ToUpper(controlling)
	switch {
	case controlling == "" || controlling == registered:
		return registered
	case registered == "":
		return "controlled from " + controlling
	}
	return registered + " — controlled from " + controlling
}

// Unverified is the mark every output puts after a catalog fact that is
// reported but not confirmed.
const Unverified = "(unverified)"

// List names a list membership, marked when the fact is unverified:
// "bis-entity-list(unverified)".
func List(id string, unverified bool) string {
	if unverified {
		return id + Unverified
	}
	return id
}

// ListIDs joins an attribution's list memberships with sep, each marked
// when its entry is unverified.
func ListIDs(ls []attribute.ListRef, sep string) string {
	ids := make([]string, 0, len(ls))
	for _, l := range ls {
		ids = append(ids, List(l.ID, l.Status == string(catalog.Unverified)))
	}
	return strings.Join(ids, sep)
}

// NetworkOnly reports whether an exposure's role says that only the
// network is known: the address belongs to a cloud, CDN or carrier, and
// the service behind it is not identified.
func NetworkOnly(role string) bool { return role == "host" || role == "carrier" }

// AtNetwork is how every output names a network-only exposure, kept apart
// from named services: "at an address of China Telecom Corporation
// Limited, CN; service not identified". entity is the entity as Entity
// renders it.
func AtNetwork(entity string) string {
	return "at an address of " + entity + "; service not identified"
}

// Role is a role as the outputs word it: a network-only role says so
// ("network only: host"); the others are their names.
func Role(role string) string {
	switch role {
	case "host", "carrier":
		return "network only: " + role
	case "device-maker":
		return "device made"
	case "chip-maker":
		return "chip made"
	}
	return role
}
