package netflow

import (
	"errors"
	"fmt"

	nf "github.com/netsampler/goflow2/v2/decoders/netflow"
)

// templates is one exporter's templates, keyed by version, observation
// domain and template id like goflow2's BasicTemplateSystem, with what
// that one lacks for hostile or long-lived exporters: withdrawal (RFC 7011
// 8.1: a template record with no fields; template id 2 or 3 withdraws all
// of a domain), a bound on how many an exporter may define, and refusal of
// a template whose records take no bytes (goflow2 would loop forever
// decoding a set with it). It records which templates arrived during a
// datagram so that sets held for them can be decoded.
type templates struct {
	m     map[uint64]any
	max   int
	added []uint64
	// counted by the caller's stats
	withdrawn, refused uint64
}

var _ nf.NetFlowTemplateSystem = (*templates)(nil)

var errTooManyTemplates = errors.New("too many templates from this exporter")

func tkey(version uint16, domain uint32, id uint16) uint64 {
	return uint64(version)<<48 | uint64(domain)<<16 | uint64(id)
}

func newTemplates(max int) *templates { return &templates{m: map[uint64]any{}, max: max} }

func (t *templates) GetTemplates() nf.FlowBaseTemplateSet {
	out := make(nf.FlowBaseTemplateSet, len(t.m))
	for k, v := range t.m {
		out[k] = v
	}
	return out
}

func (t *templates) AddTemplate(version uint16, domain uint32, id uint16, tmpl any) error {
	var scopes, fields []nf.Field
	switch tr := tmpl.(type) {
	case nf.TemplateRecord:
		fields = tr.Fields
	case nf.IPFIXOptionsTemplateRecord:
		scopes, fields = tr.Scopes, tr.Options
	case nf.NFv9OptionsTemplateRecord:
		scopes, fields = tr.Scopes, tr.Options
	}
	k := tkey(version, domain, id)
	if len(scopes) == 0 && len(fields) == 0 {
		t.withdrawn++
		if version == 10 && (id == 2 || id == 3) {
			for key := range t.m {
				if key>>16 == k>>16 {
					delete(t.m, key)
				}
			}
			return nil
		}
		delete(t.m, k)
		return nil
	}
	if id < 256 {
		t.refused++
		return fmt.Errorf("template id %d is reserved", id)
	}
	if !consumes(scopes) && !consumes(fields) {
		t.refused++
		return fmt.Errorf("template %d: its records take no bytes", id)
	}
	if _, ok := t.m[k]; !ok && len(t.m) >= t.max {
		t.refused++
		return errTooManyTemplates
	}
	if tr, ok := tmpl.(nf.TemplateRecord); ok {
		// kept as a type goflow2 does not know: it hands the data sets on
		// raw, and rawData reads them without allocating per record
		tmpl = dataTemplate{fields: tr.Fields, min: nf.GetTemplateSize(version, tr.Fields)}
	}
	t.m[k] = tmpl
	t.added = append(t.added, k)
	return nil
}

// consumes reports whether a record of these fields takes at least one
// byte: a fixed length above zero, or a variable length (which reads its
// length byte).
func consumes(fs []nf.Field) bool {
	for _, f := range fs {
		if f.Length > 0 {
			return true
		}
	}
	return false
}

func (t *templates) GetTemplate(version uint16, domain uint32, id uint16) (any, error) {
	if v, ok := t.m[tkey(version, domain, id)]; ok {
		return v, nil
	}
	return nil, nf.ErrorTemplateNotFound
}

func (t *templates) RemoveTemplate(version uint16, domain uint32, id uint16) (any, error) {
	k := tkey(version, domain, id)
	if v, ok := t.m[k]; ok {
		delete(t.m, k)
		return v, nil
	}
	return nil, nf.ErrorTemplateNotFound
}

// dataTemplate is a data template as the decoder keeps it. goflow2's
// DecodeDataSet builds a slice of fields with an interface value each for
// every record (ten allocations for a ten-field record: a fifth of the
// sensor's CPU on IPFIX, BenchmarkExportedRecords); given a template type
// it does not know, it leaves the set raw, and Decoder.rawData reads it in
// place. Templates and options data are still decoded by goflow2.
type dataTemplate struct {
	fields []nf.Field
	min    int // the bytes of the fixed-length fields: a shorter tail is padding
}
