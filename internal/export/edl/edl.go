// Package edl writes external dynamic lists as Palo Alto Networks
// firewalls (External Dynamic List, types IP and Domain) and FortiGate
// (External Threat Feed, types IP address and Domain name) fetch them: one
// entry a line, nothing else. Comment lines are left out because the two
// vendors do not agree on them; the header that other formats carry goes
// to the caller (the command prints it on standard error).
//
// The domain list writes every catalogued name twice, "name" and
// "*.name": both vendors read a leading "*." as every name under it and a
// plain name as that name only.
//
// It is a sink and must never import the catalog, a source or a command
// package.
package edl

import (
	"bufio"
	"io"

	"github.com/outflow-dev/outflow/internal/export/indicator"
)

// WriteIP writes the merged prefixes, IPv4 then IPv6, one CIDR a line
// (a single address without its /32 or /128).
func WriteIP(w io.Writer, in []indicator.Indicator) error {
	v4, v6 := indicator.Merged(in)
	bw := bufio.NewWriter(w)
	for _, p := range append(v4, v6...) {
		if p.IsSingleIP() {
			bw.WriteString(p.Addr().String())
		} else {
			bw.WriteString(p.String())
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// WriteDomain writes each name not under another listed name, and the
// wildcard for the names under it.
func WriteDomain(w io.Writer, in []indicator.Indicator) error {
	bw := bufio.NewWriter(w)
	for _, x := range indicator.Domains(in, true) {
		bw.WriteString(x.Domain + "\n*." + x.Domain + "\n")
	}
	return bw.Flush()
}
