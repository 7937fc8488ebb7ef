package dnsmsg

import "net/netip"

// RR is a Record copied out of its message, for callers off the hot path.
type RR struct {
	Section  Section
	Name     string
	Type     uint16
	Class    uint16
	TTL      uint32
	Addr     netip.Addr
	Target   string
	Priority uint16
	Hints    []netip.Addr
	ECH      bool
}

// Decoded is a whole message copied out, as Decode returns it.
type Decoded struct {
	Header
	QName         string
	QType, QClass uint16
	EDNS          bool
	RCode         uint16
	Records       []RR
}

// Decode parses msg into freshly allocated values: convenient where
// allocation does not matter (tests, logs, one-off tools). Hot paths use
// Parse.
func Decode(msg []byte) (*Decoded, error) {
	var m Message
	d := &Decoded{}
	err := Parse(msg, &m, func(r *Record) bool {
		rr := RR{
			Section:  r.Section,
			Name:     r.Name.String(),
			Type:     r.Type,
			Class:    r.Class,
			TTL:      r.TTL,
			Addr:     r.Addr,
			Priority: r.Priority,
			ECH:      r.ECH,
		}
		if r.Target.Len() > 0 {
			rr.Target = r.Target.String()
		}
		if h := r.Hints(); len(h) > 0 {
			rr.Hints = append([]netip.Addr(nil), h...)
		}
		d.Records = append(d.Records, rr)
		return true
	})
	if err != nil {
		return nil, err
	}
	d.Header = m.Header
	if m.Header.QDCount > 0 {
		d.QName = m.Question.Name.String()
	}
	d.QType, d.QClass = m.Question.Type, m.Question.Class
	d.EDNS, d.RCode = m.EDNS, m.RCode
	return d, nil
}
