package arsc

import (
	"fmt"

	"github.com/outflow-dev/outflow/internal/appaudit/axml"
)

const maxHops = 8

func (t *Table) pkg(id uint32) *Package {
	for _, p := range t.Packages {
		if p.ID == id>>24 {
			return p
		}
	}
	return nil
}

// Value returns the value of resource id in the default configuration, or,
// when the default has none, in a configuration without a locale, or else
// the first configuration that has one. References are not followed.
func (t *Table) Value(id uint32) (axml.Value, error) {
	p := t.pkg(id)
	if p == nil {
		return axml.Value{}, fmt.Errorf("arsc: %#08x: no package %#02x: %w", id, id>>24, ErrNotFound)
	}
	typ, idx := uint8(id>>16), int(id&0xffff)
	var best axml.Value
	rank := 0 // 3 default, 2 no locale, 1 any
	for _, tc := range p.types {
		if tc.id != typ {
			continue
		}
		v, _, ok := tc.value(idx)
		if !ok {
			continue
		}
		r := 1
		switch {
		case tc.isDefault:
			r = 3
		case tc.noLocale:
			r = 2
		}
		if r > rank {
			best, rank = v, r
			if r == 3 {
				break
			}
		}
	}
	if rank == 0 {
		return axml.Value{}, fmt.Errorf("arsc: %#08x: %w", id, ErrNotFound)
	}
	if best.Type == axml.TypeString {
		s, err := t.strings.Get(int(best.Data))
		if err != nil {
			return best, fmt.Errorf("arsc: %#08x: %w", id, err)
		}
		best.Str = s
	}
	return best, nil
}

// ResolveString returns the string that resource id stands for, following
// references (a label that points at another string) up to 8 hops. It
// satisfies axml.Resolver.
func (t *Table) ResolveString(id uint32) (string, bool) {
	if t == nil {
		return "", false
	}
	for range maxHops {
		v, err := t.Value(id)
		if err != nil {
			return "", false
		}
		switch {
		case v.Type == axml.TypeString:
			return v.Str, true
		case v.IsReference() && v.Data != 0:
			id = v.Data
		default:
			return "", false
		}
	}
	return "", false
}

var _ axml.Resolver = (*Table)(nil)

// Name returns "type/key" for a resource id ("string/app_name").
func (t *Table) Name(id uint32) (string, bool) {
	p := t.pkg(id)
	if p == nil {
		return "", false
	}
	typ, idx := uint8(id>>16), int(id&0xffff)
	for _, tc := range p.types {
		if tc.id != typ {
			continue
		}
		if _, key, ok := tc.value(idx); ok {
			tn, err1 := p.tnames.Get(int(typ) - 1)
			kn, err2 := p.keys.Get(int(key))
			if err1 != nil || err2 != nil {
				return "", false
			}
			return tn + "/" + kn, true
		}
	}
	return "", false
}

// StringResource is one string-typed resource in the default configuration.
type StringResource struct {
	ID    uint32
	Name  string // "string/app_name"; empty if the key pool is unreadable
	Value string
}

// StringResources lists the string values of the default configuration of
// every type (strings, but also string-typed values elsewhere, such as a
// URL in an <item type="string"> of another type), in id order.
func (t *Table) StringResources() []StringResource {
	var out []StringResource
	for _, p := range t.Packages {
		for _, tc := range p.types {
			if !tc.isDefault {
				continue
			}
			tn, _ := p.tnames.Get(int(tc.id) - 1)
			for _, idx := range tc.indices() {
				v, key, ok := tc.value(idx)
				if !ok || v.Type != axml.TypeString {
					continue
				}
				s, err := t.strings.Get(int(v.Data))
				if err != nil {
					continue
				}
				r := StringResource{ID: p.ID<<24 | uint32(tc.id)<<16 | uint32(idx), Value: s}
				if kn, err := p.keys.Get(int(key)); err == nil && tn != "" {
					r.Name = tn + "/" + kn
				}
				out = append(out, r)
			}
		}
	}
	return out
}

// Strings returns every string of the table's value pool: the values of all
// configurations and the paths of file resources. Strings that fail to
// decode are left out; the total is bounded by the pool's size.
func (t *Table) Strings() ([]string, error) {
	all, _, err := t.strings.All(0)
	if err != nil {
		return nil, fmt.Errorf("arsc: %w", err)
	}
	return all, nil
}

// indices lists the entry indices a type chunk may hold.
func (tc *typeChunk) indices() []int {
	if tc.flags&flagSparse != 0 {
		n := min(len(tc.index)/4, tc.entryCount)
		out := make([]int, n)
		for m := range out {
			out[m] = int(le16(tc.index, 4*m))
		}
		return out
	}
	out := make([]int, min(tc.entryCount, 0x10000))
	for i := range out {
		out[i] = i
	}
	return out
}
