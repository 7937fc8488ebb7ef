// Package fleetreport renders a fleet check for people (terminal text), for
// programs (JSON, documented in docs/inventory.md) and for an IT
// ticketing system (CSV, one row per device and app to remove).
//
// It is a sink: it imports only the fleet report model and must never
// import an inventory parser, the store or a command package.
package fleetreport

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/render"
	"github.com/outflow-dev/outflow/internal/safetext"
)

// JSON writes the report as one indented JSON document.
func JSON(w io.Writer, r *fleet.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// CSVHeader is the first row of CSV output.
var CSVHeader = []string{"device", "device_name", "owner", "platform", "group", "app_id", "app_name", "version", "publisher",
	"entity", "entity_name", "owner_chain", "rule", "basis", "verdict", "deadline", "time_left", "traffic_after_deadline", "matched_by", "source"}

// CSV writes one row per device and app to remove (due or overdue), and
// one per device flagged for traffic after a deadline.
func CSV(w io.Writer, r *fleet.Report) error {
	cw := safetext.NewCSVWriter(w)
	_ = cw.Write(CSVHeader)
	for _, d := range r.Devices {
		for _, a := range d.Apps {
			if a.Verdict == fleet.Compliant && a.Traffic == nil {
				continue
			}
			traffic := ""
			if a.Traffic != nil {
				traffic = stamp(a.Traffic.Last)
			}
			_ = cw.Write([]string{d.Device, d.Name, d.Owner, d.Platform, d.Group, a.AppID, a.Name, a.Version, a.Publisher,
				a.Entity, a.EntityName, strings.Join(a.OwnerChain, ">"), a.Rule, a.Basis, a.Verdict.String(),
				deadline(a.Deadline), a.TimeLeft, traffic, a.By, a.Source})
		}
	}
	cw.Flush()
	return cw.Error()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func deadline(t *time.Time) string {
	if t == nil {
		return ""
	}
	return stamp(*t)
}

// Text writes the terminal report: inputs, one line per rule with its
// counts, then each device that is not compliant (and, with all, every
// device listed), worst first.
func Text(w io.Writer, r *fleet.Report) error {
	ew := &render.ErrWriter{W: w}
	// Device, app and publisher names come from inventories: untrusted.
	p := func(f string, a ...any) { safetext.Fprintf(ew, f, a...) }
	s := r.Summary
	p("outflow fleet check: %d input(s), %d items, %d devices", len(r.Inputs), s.Items, s.Devices)
	if s.Malformed > 0 {
		p(", %d malformed record(s)", s.Malformed)
	}
	p("\npolicy %s, as of %s\n", r.Policy, r.Generated.UTC().Format("2006-01-02 15:04 MST"))
	for _, in := range r.Inputs {
		if in.Error != "" {
			p("  unreadable: %s\n", in.Error)
		}
	}
	p("\n%d overdue, %d due, %d compliant", s.Overdue, s.Due, s.Compliant)
	if s.Flagged > 0 {
		p(", %d with traffic after a deadline", s.Flagged)
	}
	if s.NextDeadline != nil {
		p("; next deadline %s (in %s)", s.NextDeadline.UTC().Format("2006-01-02 15:04 MST"), s.TimeLeft)
	}
	p("\n\n")
	if len(r.Rules) > 0 {
		p("%-24s %-20s %8s %8s %9s %6s %8s %8s\n", "RULE", "DEADLINE", "LEFT", "DEVICES", "COMPLIANT", "DUE", "OVERDUE", "TRAFFIC")
		for _, rs := range r.Rules {
			dl, left := "in force", rs.TimeLeft
			if rs.Deadline != nil {
				dl = rs.Deadline.UTC().Format("2006-01-02 15:04Z")
			}
			if left == "" {
				left = "-"
			}
			p("%-24s %-20s %8s %8d %9d %6d %8d %8d\n", rs.Rule, dl, left, rs.Devices, rs.Compliant, rs.Due, rs.Overdue, rs.Flagged)
		}
		p("\n")
	}
	for _, d := range r.Devices {
		label := strings.ToUpper(d.Verdict.String())
		if d.Flagged && d.Verdict == fleet.Compliant {
			label = "TRAFFIC"
		}
		p("%-9s %s", label, d.Device)
		var info []string
		for _, x := range []string{d.Name, d.Owner, d.Platform} {
			if x != "" {
				info = append(info, x)
			}
		}
		if len(info) > 0 {
			p(" (%s)", strings.Join(info, ", "))
		}
		p("\n")
		for _, a := range d.Apps {
			p("    %s\n", AppLine(a))
		}
	}
	if len(r.Problems) > 0 {
		p("\nmalformed records (first %d of %d):\n", len(r.Problems), s.Malformed)
		for _, pr := range r.Problems {
			p("  %s\n", pr)
		}
	}
	return ew.Err
}

// AppLine is one app of a device as the terminal report shows it.
func AppLine(a fleet.App) string {
	var b strings.Builder
	switch {
	case a.AppID == "":
		b.WriteString("(no app listed)")
	case a.Name != "" && a.Name != a.AppID:
		fmt.Fprintf(&b, "%s [%s]", a.Name, a.AppID)
	default:
		b.WriteString(a.AppID)
	}
	if a.Version != "" {
		b.WriteString(" " + a.Version)
	}
	fmt.Fprintf(&b, " -> %s", strings.Join(a.OwnerChain, " > "))
	if a.By != "" {
		fmt.Fprintf(&b, " by %s", a.By)
		if a.Unverified {
			b.WriteString(" (unverified catalog fact)")
		}
	}
	fmt.Fprintf(&b, "; rule %s", a.Rule)
	if a.Basis != "" {
		fmt.Fprintf(&b, " (%s)", a.Basis)
	}
	switch {
	case a.Removed != nil && !a.Removed.IsZero():
		fmt.Fprintf(&b, "; removed %s", a.Removed.UTC().Format("2006-01-02 15:04Z"))
	case a.Removed != nil:
		b.WriteString("; removed")
	case a.Verdict == fleet.Due:
		fmt.Fprintf(&b, "; due %s, %s left", a.Deadline.UTC().Format("2006-01-02 15:04Z"), a.TimeLeft)
	case a.Verdict == fleet.Overdue && a.Deadline != nil:
		fmt.Fprintf(&b, "; overdue since %s", a.Deadline.UTC().Format("2006-01-02 15:04Z"))
	case a.Verdict == fleet.Overdue:
		b.WriteString("; in force, remove now")
	}
	if a.Traffic != nil {
		fmt.Fprintf(&b, "; traffic to %s after the deadline, last %s (%s)", a.Traffic.Entity, a.Traffic.Last.UTC().Format("2006-01-02 15:04Z"), a.Traffic.Via)
	}
	if a.Source != "" {
		b.WriteString("  @" + a.Source)
	}
	return b.String()
}
