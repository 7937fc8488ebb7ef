// Package scanreport renders a scan report for people (a terminal table),
// for programs (JSON, documented in docs/output.md) and for spreadsheets
// (CSV, one row per device and entity).
//
// It is a sink and must never import a source, the flow tracker or a
// command package.
package scanreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/render"
	"github.com/outflow-dev/outflow/internal/safetext"
	"github.com/outflow-dev/outflow/internal/scan"
)

// JSON writes the report as one indented JSON document, byte for byte
// what json.Encoder with SetEscapeHTML(false) and SetIndent("", "  ")
// writes for it. The devices are encoded one at a time as
// Report.EachDevice yields them, each into a buffer reused for the next,
// and the rest of the report around them: the whole document was once
// built in memory, then indented into a second buffer, which on the
// ten-times-larger capture of bench/scan/distinct.sh (a 32 MB report)
// took more memory than the scan.
func JSON(w io.Writer, r *scan.Report) error { return writeJSON(w, r, false) }

// JSONConcurrent is JSON with the devices encoded and written on a second
// goroutine while the report builds the next ones (sums them, attributes
// a spilled device's flows again, sorts its exposures): the same bytes,
// for a scan on more than one core (--workers), where that was a serial
// tenth of the command's time.
func JSONConcurrent(w io.Writer, r *scan.Report) error { return writeJSON(w, r, true) }

// errStopped ends a walk whose devices can no longer be written.
var errStopped = errors.New("scanreport: stopped")

func writeJSON(w io.Writer, r *scan.Report, concurrent bool) error {
	// The report without its devices, indented, has "devices": [] as its
	// third member on a line of its own (no string in a JSON document
	// holds a raw newline), where the devices go. What comes after them
	// (totals, warnings) is encoded after them: a streamed report sums
	// it as its devices are walked.
	const slot = "\n  \"devices\": []"
	around := func() ([]byte, int, error) {
		rest := *r
		rest.Devices = []scan.Device{}
		var b bytes.Buffer
		if err := new(indenter).indented(&b, &rest, ""); err != nil {
			return nil, 0, err
		}
		i := bytes.Index(b.Bytes(), []byte(slot))
		if i < 0 {
			return nil, 0, errors.New("scanreport: no devices member in the report's JSON")
		}
		return b.Bytes(), i + len(slot) - 1, nil
	}
	doc, at, err := around()
	if err != nil {
		return err
	}
	if _, err := w.Write(doc[:at]); err != nil {
		return err
	}
	var buf bytes.Buffer
	var in indenter
	n := 0
	write := func(d *scan.Device) error {
		buf.Reset()
		if n == 0 {
			buf.WriteString("\n    ")
		} else {
			buf.WriteString(",\n    ")
		}
		n++
		if err := in.indented(&buf, d, "    "); err != nil {
			return err
		}
		// indented ends in the encoder's newline
		_, err := w.Write(buf.Bytes()[:buf.Len()-1])
		return err
	}
	if concurrent {
		err = writeConcurrently(r, write)
	} else {
		err = r.EachDevice(write)
	}
	if err != nil {
		return err
	}
	if n > 0 {
		if _, err := io.WriteString(w, "\n  "); err != nil {
			return err
		}
	}
	if doc, at, err = around(); err != nil {
		return err
	}
	_, err = w.Write(doc[at:])
	return err
}

// writeConcurrently walks r's devices on this goroutine and hands them,
// in order and a run at a time, to write on another; the first error of
// either ends both. A device is handed on as a copy: the walk builds
// every device anew and changes nothing it shares with the ones before
// (the entities' summaries, a kept device's flow lines).
//
// A run holds up to runDevices devices or, with --all, until it holds
// runFlows flow lines (a spilled device holds up to 10,000): a hand-off
// wakes the other goroutine, and one a device made the concurrent
// writer slower than one goroutine on the 3,261 devices of the 40-copy
// capture of bench/scan/distinct.sh.
func writeConcurrently(r *scan.Report, write func(*scan.Device) error) error {
	const (
		runDevices = 64
		runFlows   = 5000
	)
	full := make(chan []scan.Device, 1)
	free := make(chan []scan.Device, 2)
	for range cap(free) {
		free <- make([]scan.Device, 0, runDevices)
	}
	done := make(chan error, 1)
	var failed atomic.Bool
	go func() {
		var err error
		for run := range full {
			for i := range run {
				if err == nil {
					if err = write(&run[i]); err != nil {
						failed.Store(true)
					}
				}
			}
			clear(run) // let the flow lines go
			free <- run[:0]
		}
		done <- err
	}()
	run, flows := <-free, 0
	err := r.EachDevice(func(d *scan.Device) error {
		if failed.Load() {
			return errStopped
		}
		run = append(run, *d)
		if flows += len(d.Flows); len(run) == runDevices || flows >= runFlows {
			full <- run
			run, flows = <-free, 0
		}
		return nil
	})
	if len(run) > 0 {
		full <- run
	}
	close(full)
	if werr := <-done; werr != nil {
		return werr
	}
	return err
}

// indenter appends values' JSON, HTML characters unescaped, indented by
// two spaces under a prefix as json.Indent does (appendIndent), and the
// encoder's final newline. Its compact form goes through a scratch
// buffer and one encoder kept from one value to the next (a report's
// thousands of devices each made their own).
type indenter struct {
	raw bytes.Buffer
	enc *json.Encoder
}

func (in *indenter) indented(dst *bytes.Buffer, v any, prefix string) error {
	if in.enc == nil {
		in.enc = json.NewEncoder(&in.raw)
		in.enc.SetEscapeHTML(false)
	}
	in.raw.Reset()
	if err := in.enc.Encode(v); err != nil {
		return err
	}
	dst.Grow(in.raw.Len() * 2)
	dst.Write(appendIndent(dst.AvailableBuffer(), in.raw.Bytes(), prefix, "  "))
	return nil
}

// CSVHeader is the first row of CSV output.
var CSVHeader = []string{"device", "mac", "hostname", "vendor", "entity", "name", "jurisdiction", "owner_chain", "role", "lists",
	"bytes_out", "bytes_in", "packets_out", "packets_in", "flows", "first_seen", "last_seen", "evidence", "controlling_jurisdiction"}

// CSV writes one row per device and entity of concern.
func CSV(w io.Writer, r *scan.Report) error {
	cw := safetext.NewCSVWriter(w)
	_ = cw.Write(CSVHeader)
	err := r.EachDevice(func(d *scan.Device) error {
		vendor := ""
		if d.Vendor != nil {
			vendor = d.Vendor.Entity
		}
		for _, e := range d.Exposures {
			var ev []string
			for _, x := range e.Evidence {
				ev = append(ev, x.Kind.String()+"="+x.Value)
			}
			_ = cw.Write([]string{d.Address, d.MAC, d.Hostname, vendor, e.Entity, e.Name, e.Jurisdiction,
				strings.Join(e.OwnerChain, ">"), e.Role, listIDs(e.Lists),
				u(e.BytesOut), u(e.BytesIn), u(e.PacketsOut), u(e.PacketsIn), strconv.Itoa(e.Flows),
				e.FirstSeen, e.LastSeen, strings.Join(ev, "; "), e.Controlling})
		}
		return nil
	})
	cw.Flush()
	if err != nil {
		// the devices could not all be read back (the scan's spilled
		// flows): the rows stop short, and the caller must say so
		return err
	}
	return cw.Error()
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

func listIDs(ls []attribute.ListRef) string {
	return render.ListIDs(ls, ";")
}

// Text writes the terminal report.
func Text(w io.Writer, r *scan.Report, all bool) error {
	bw := &render.ErrWriter{W: w}
	// Names come from captures and logs: untrusted.
	p := func(f string, a ...any) { safetext.Fprintf(bw, f, a...) }
	var pk int
	for _, in := range r.Inputs {
		pk += in.Packets
	}
	p("outflow scan: %d input(s), %d packets, %d flows, %d of them to entities of concern\n", len(r.Inputs), pk, r.Stats.Flows+r.Stats.ExportedFlows+r.Stats.LoggedFlows, r.Stats.ConcernFlows)
	if r.Stats.ExportedFlows > 0 {
		p("(%d of the flows read from NetFlow/IPFIX exports: addresses only, attributed by AS)\n", r.Stats.ExportedFlows)
	}
	p("catalog: %d entities, %d assets, ownership as of %s\n\n", r.Catalog.Entities, r.Catalog.Assets, r.Catalog.At)
	shown := 0
	walkErr := r.EachDevice(func(d *scan.Device) error {
		if len(d.Exposures) == 0 && len(d.Bypass) == 0 && !all && d.Vendor == nil && d.LooksLikeServer == nil {
			return nil
		}
		shown++
		p("%s", d.Address)
		if d.Hostname != "" {
			p("  %s", d.Hostname)
		}
		if d.MAC != "" {
			p("  %s", d.MAC)
		}
		if d.Vendor != nil {
			p("  [%s by %s]", render.Role(d.Vendor.Role), d.Vendor.Name)
			if len(d.Vendor.Lists) > 0 {
				p(" on %s", listIDs(d.Vendor.Lists))
			}
		}
		if d.OnLink != "" {
			p("  (outside --local, inside by %s on the captured link)", strings.ToUpper(d.OnLink))
		}
		p("\n")
		if sv := d.LooksLikeServer; sv != nil {
			p("  (looks like a server: answered %d peer(s) on %d/%s, %d of its %d flows on its server ports; if the capture's inside is elsewhere, give --local)\n",
				sv.Peers, sv.Port, sv.Proto, sv.Served, sv.Flows)
		}
		for _, e := range d.Exposures {
			who := render.Entity(e.Entity, e.Name, e.Jurisdiction, e.Controlling)
			switch {
			case render.NetworkOnly(e.Role):
				who = render.AtNetwork(who)
			case e.Role != "app-owner":
				who += " (" + render.Role(e.Role) + ")"
			}
			p("  -> %s: %s\n", e.Entity, who)
			if len(e.OwnerChain) > 1 {
				p("     owner chain  %s\n", strings.Join(e.OwnerChain, " < "))
			}
			if len(e.Minority) > 0 {
				p("     minority     %s (not in the owner chain)\n", strings.Join(e.Minority, ", "))
			}
			if len(e.Lists) > 0 {
				p("     lists        %s\n", listIDs(e.Lists))
			}
			p("     sent %s, received %s in %d flow(s)", Bytes(e.BytesOut), Bytes(e.BytesIn), e.Flows)
			if e.FirstSeen != "" {
				p(", %s .. %s", short(e.FirstSeen), short(e.LastSeen))
			}
			p("\n")
			for _, ev := range e.Evidence {
				unv := ""
				if ev.Status == "unverified" {
					unv = " [UNVERIFIED]"
				}
				p("     evidence     %-12s %s  (rule %s, source %s)%s\n", ev.Kind, ev.Value, ev.Rule, ev.Source, unv)
			}
			if len(e.HostedBy) > 0 {
				p("     hosted by    %s\n", strings.Join(e.HostedBy, ", "))
			}
		}
		for _, b := range d.Bypass {
			p("  !! bypass (%s) to %s %s/%d", b.Kind, b.Peer, b.Proto, b.Port)
			if b.Name != "" {
				p(" (%s)", b.Name)
			}
			switch {
			case b.Service != "":
				p(", service %s of %s", b.Service, b.Owner)
			case b.Owner != "":
				p(", address of %s", b.Owner)
			default:
				p(", owner unknown")
			}
			p(", %d flow(s), sent %s, received %s\n", b.Flows, Bytes(b.BytesOut), Bytes(b.BytesIn))
			for _, ev := range b.Evidence {
				if ev.Kind == "tls-sni" || ev.Kind == "quic-sni" || ev.Kind == "http-host" {
					continue // shown on the line above
				}
				p("     evidence     %-16s %s", ev.Kind, ev.Value)
				if ev.Rule != "" {
					p("  (rule %s, source %s)", ev.Rule, ev.Source)
				}
				p("\n")
			}
		}
		for _, h := range d.Hidden {
			p("  ?? name hidden (%s) to %s", h.Reason, h.Peer)
			if h.Name != "" {
				p(" (outer name %s)", h.Name)
			}
			p(", %d flow(s): not attributed by guesswork", h.Flows)
			if h.Context != "" {
				p(" [%s]", h.Context)
			}
			p("\n")
		}
		if d.Other.Flows > 0 {
			p("     other traffic: %d flow(s), sent %s, received %s\n", d.Other.Flows, Bytes(d.Other.BytesOut), Bytes(d.Other.BytesIn))
		}
		if all {
			for _, f := range d.Flows {
				ent := f.Entity
				if ent == "" {
					ent = "-"
				}
				p("     %s %-45s %-40s %-12s out %s in %s", f.Proto, f.Peer, f.Name, ent, Bytes(f.BytesOut), Bytes(f.BytesIn))
				if f.Context != "" {
					p("  [%s]", f.Context)
				}
				if f.Tunnel != "" {
					p("  [via %s]", f.Tunnel)
				}
				if f.Protocol != "" {
					p("  [%s]", f.Protocol)
				}
				p("\n")
			}
		}
		p("\n")
		return bw.Err
	})
	if walkErr != nil && bw.Err == nil {
		// the devices could not all be read back (the scan's spilled
		// flows): no totals, no "no device" line, and the caller says so
		return walkErr
	}
	if shown == 0 {
		p("No device talked to an entity of concern.\n\n")
	}
	if len(r.Totals) > 0 {
		p("Totals by entity\n")
		p("  %-22s %-4s %-4s %-12s %8s %12s %12s %7s  %s\n", "entity", "reg", "ctl", "role", "devices", "sent", "received", "flows", "lists")
		for _, t := range r.Totals {
			p("  %-22s %-4s %-4s %-12s %8d %12s %12s %7d  %s\n", t.Entity, t.Jurisdiction, t.Controlling, t.Role, t.Devices, Bytes(t.BytesOut), Bytes(t.BytesIn), t.Flows, listIDs(t.Lists))
		}
		p("\n")
	}
	for _, wmsg := range r.Warnings {
		p("warning: %s\n", wmsg)
	}
	return bw.Err
}

func short(ts string) string {
	if len(ts) >= 19 {
		return strings.Replace(ts[:19], "T", " ", 1)
	}
	return ts
}

// Bytes formats a byte count for people, as every output does.
func Bytes(n uint64) string { return render.Bytes(n) }
