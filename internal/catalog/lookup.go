package catalog

import (
	"net"
	"net/netip"

	"github.com/outflow-dev/outflow/internal/catalog/domainset"
)

// The Lookup methods return the asset that matches, or nil. None of them
// allocates, but to make an asset of the compiled catalog the first time
// it is returned (and the block of 64 pointers that keeps it).

// LookupDomain finds the most specific domain asset for a hostname: the
// longest listed suffix at a label boundary, else a listed label anywhere
// before the last two labels ("weixin." in hkminorshort.weixin.qq.com).
func (ix *Index) LookupDomain(name string) *Asset {
	var buf [domainset.MaxName + 1]byte
	b, ok := domainset.Normalize(buf[:0], name)
	if !ok {
		return nil
	}
	return ix.LookupDomainBytes(b)
}

// LookupDomainBytes is LookupDomain for an already normalised name.
func (ix *Index) LookupDomainBytes(b []byte) *Asset {
	if v, _, ok := ix.domains.Lookup(b); ok {
		return ix.asset(v)
	}
	if len(ix.labels) == 0 {
		return nil
	}
	for start := 0; start < len(b); {
		end := start
		for end < len(b) && b[end] != '.' {
			end++
		}
		if end == len(b) {
			break // the last label is a TLD, never a pattern
		}
		if v, ok := ix.labels[string(b[start:end])]; ok {
			return ix.asset(v)
		}
		start = end + 1
	}
	return nil
}

// LookupAddr finds the prefix asset that holds an address (longest match).
func (ix *Index) LookupAddr(a netip.Addr) *Asset {
	if c := ix.compiled; c != nil {
		v := c.tab.lookup(a.Unmap())
		switch {
		case v == 0:
			return nil
		case v&lazyBit != 0:
			return c.asset(v &^ lazyBit)
		}
		return ix.asset(v - 1) // nil out of range: a corrupt blob
	}
	ix.lazyOnce.Do(ix.loadLazy)
	v, ok := ix.prefixes.Lookup(a.Unmap())
	if !ok {
		return nil
	}
	if v&lazyBit != 0 {
		return ix.lazyAssets[v&^lazyBit]
	}
	return ix.asset(v)
}

// LookupASN finds the asset for an AS number.
func (ix *Index) LookupASN(asn uint32) *Asset {
	if v, ok := ix.asns[asn]; ok {
		return ix.asset(v)
	}
	return nil
}

// LookupCertOrg finds a certificate subject organisation (case and spacing
// folded by the caller with NormalizeOrg, or given as in the certificate).
func (ix *Index) LookupCertOrg(org string) *Asset {
	if v, ok := ix.certOrgs[org]; ok {
		return ix.asset(v)
	}
	if v, ok := ix.certOrgs[NormalizeOrg(org)]; ok {
		return ix.asset(v)
	}
	return nil
}

// LookupProgram finds a desktop program publisher or name.
func (ix *Index) LookupProgram(name string) *Asset {
	if v, ok := ix.programs[NormalizeOrg(name)]; ok {
		return ix.asset(v)
	}
	return nil
}

// LookupProtocol finds the owner of an application protocol recognised by
// its payload (a sniff/signature ID such as "oicq").
func (ix *Index) LookupProtocol(id string) *Asset {
	if v, ok := ix.protocols[id]; ok {
		return ix.asset(v)
	}
	return nil
}

// LookupApp finds an Android package name or iOS bundle id, exactly.
func (ix *Index) LookupApp(id string) *Asset {
	if v, ok := ix.apps[id]; ok {
		return ix.asset(v)
	}
	return nil
}

// LookupSDK finds the longest catalogued package prefix of a Java class or
// package name, at a dot boundary. It accepts dotted names
// (com.sina.weibo.sdk.cmd.WbAppActivator) and DEX descriptors
// (Lcom/sina/weibo/sdk/cmd/WbAppActivator;).
func (ix *Index) LookupSDK(class string) *Asset {
	var buf [512]byte
	if len(class) > 2 && class[0] == 'L' && class[len(class)-1] == ';' {
		in := class[1 : len(class)-1]
		if len(in) > len(buf) {
			return nil
		}
		b := buf[:len(in)]
		for i := 0; i < len(in); i++ {
			if in[i] == '/' {
				b[i] = '.'
			} else {
				b[i] = in[i]
			}
		}
		return ix.lookupDotted(b)
	}
	if len(class) > len(buf) {
		return nil
	}
	return ix.lookupDotted(buf[:copy(buf[:], class)])
}

func (ix *Index) lookupDotted(b []byte) *Asset {
	for end := len(b); end > 0; {
		if v, ok := ix.sdks[string(b[:end])]; ok {
			return ix.asset(v)
		}
		end--
		for end > 0 && b[end] != '.' {
			end--
		}
	}
	return nil
}

// LookupMAC finds the most specific OUI assignment (MA-S, MA-M, then MA-L)
// of a hardware address.
func (ix *Index) LookupMAC(mac net.HardwareAddr) *Asset {
	if len(mac) < 6 {
		return nil
	}
	v := uint64(mac[0])<<40 | uint64(mac[1])<<32 | uint64(mac[2])<<24 | uint64(mac[3])<<16 | uint64(mac[4])<<8 | uint64(mac[5])
	if id, ok := ix.ouis[0][v>>12]; ok {
		return ix.asset(id)
	}
	if id, ok := ix.ouis[1][v>>20]; ok {
		return ix.asset(id)
	}
	if id, ok := ix.ouis[2][v>>24]; ok {
		return ix.asset(id)
	}
	return nil
}

// DomainCount is the number of domain names indexed.
func (ix *Index) DomainCount() int { return ix.domains.Len() }

// AddDomains adds extra names (a blocklist) to the index, each attributed
// to an asset that stands for the list. It is for building the index, not
// for use while it is being read.
func (ix *Index) AddDomains(a *Asset, names func(yield func(string) bool)) (added int, err error) {
	id := ix.addAsset(a)
	for n := range names {
		ok, err := ix.domains.Add(n, id)
		if err != nil {
			return added, err
		}
		if ok {
			added++
		}
	}
	ix.domains.Trim()
	return added, nil
}
