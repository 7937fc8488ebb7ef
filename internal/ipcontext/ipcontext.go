// Package ipcontext gives context for any address from a database the user
// supplies: the announcing AS and its holder, and a country. It reads
// MaxMind-format MMDB files (ASN or country databases, through
// oschwald/maxminddb-golang) and the "start,end,asn,org" or
// "start,end,country" range CSVs of @ip-location-db.
//
// Context is shown beside attributions, never used to make one: the
// country of an address says where a server answers, not who receives the
// data. Nothing requires a database.
//
// It must never import the catalog, attribute or any source or sink.
package ipcontext

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"
	"github.com/oschwald/maxminddb-golang/v2"
	"go4.org/netipx"
)

// Context is what the databases say of an address. Zero fields are unknown.
type Context struct {
	ASN     uint32 `json:"asn,omitempty"`
	Org     string `json:"as_org,omitempty"`
	Country string `json:"country,omitempty"`
}

// DB answers from one or more databases; the first that knows a field wins.
type DB struct {
	mmdbs []*maxminddb.Reader
	asn   *bart.Table[uint32] // index into orgs/asns
	cc    *bart.Table[uint16] // index into countries
	asns  []uint32
	orgs  []string
	ccs   []string
}

// Open loads each file by its kind: .mmdb, or a range CSV.
func Open(paths ...string) (*DB, error) {
	db := &DB{}
	for _, p := range paths {
		if strings.HasSuffix(strings.ToLower(p), ".mmdb") {
			r, err := maxminddb.Open(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			db.mmdbs = append(db.mmdbs, r)
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		err = db.readCSV(p, f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return db, nil
}

// readCSV reads ranges; 4 fields are start,end,asn,org, 3 are
// start,end,country.
func (db *DB) readCSV(name string, r io.Reader) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	orgIndex := map[string]uint32{}
	ccIndex := map[string]uint16{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < 3 {
			return fmt.Errorf("%s:%d: want start,end,asn,org or start,end,country", name, line)
		}
		from, err1 := netip.ParseAddr(rec[0])
		to, err2 := netip.ParseAddr(rec[1])
		rng := netipx.IPRangeFrom(from, to)
		if err1 != nil || err2 != nil || !rng.IsValid() {
			if line == 1 {
				continue // a header row
			}
			return fmt.Errorf("%s:%d: bad range %q-%q", name, line, rec[0], rec[1])
		}
		switch len(rec) {
		case 3:
			cc := strings.ToUpper(rec[2])
			i, ok := ccIndex[cc]
			if !ok {
				i = uint16(len(db.ccs))
				db.ccs = append(db.ccs, cc)
				ccIndex[cc] = i
			}
			if db.cc == nil {
				db.cc = new(bart.Table[uint16])
			}
			for _, p := range rng.Prefixes() {
				db.cc.Insert(p, i)
			}
		default:
			n, err := strconv.ParseUint(rec[2], 10, 32)
			if err != nil {
				return fmt.Errorf("%s:%d: AS number %q", name, line, rec[2])
			}
			key := rec[2] + "\x00" + rec[3]
			i, ok := orgIndex[key]
			if !ok {
				i = uint32(len(db.asns))
				db.asns = append(db.asns, uint32(n))
				db.orgs = append(db.orgs, rec[3])
				orgIndex[key] = i
			}
			if db.asn == nil {
				db.asn = new(bart.Table[uint32])
			}
			for _, p := range rng.Prefixes() {
				db.asn.Insert(p, i)
			}
		}
	}
}

// mmdbRecord covers the fields of MaxMind's GeoLite2-ASN and -Country and
// of the ip-location-db country MMDBs.
type mmdbRecord struct {
	ASN         uint32 `maxminddb:"autonomous_system_number"`
	Org         string `maxminddb:"autonomous_system_organization"`
	CountryCode string `maxminddb:"country_code"`
	Country     struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
}

// Lookup returns the context of an address.
func (db *DB) Lookup(a netip.Addr) Context {
	var c Context
	if db == nil || !a.IsValid() {
		return c
	}
	a = a.Unmap()
	if db.asn != nil {
		if i, ok := db.asn.Lookup(a); ok {
			c.ASN, c.Org = db.asns[i], db.orgs[i]
		}
	}
	if db.cc != nil {
		if i, ok := db.cc.Lookup(a); ok {
			c.Country = db.ccs[i]
		}
	}
	for _, r := range db.mmdbs {
		var rec mmdbRecord
		if err := r.Lookup(a).Decode(&rec); err != nil {
			continue
		}
		if c.ASN == 0 && rec.ASN != 0 {
			c.ASN, c.Org = rec.ASN, rec.Org
		}
		if c.Country == "" {
			c.Country = rec.CountryCode
			if c.Country == "" {
				c.Country = rec.Country.ISOCode
			}
		}
	}
	return c
}

// String formats a context for people.
func (c Context) String() string {
	var parts []string
	if c.ASN != 0 {
		parts = append(parts, fmt.Sprintf("AS%d %s", c.ASN, c.Org))
	}
	if c.Country != "" {
		parts = append(parts, "country "+c.Country)
	}
	return strings.Join(parts, ", ")
}

// Close releases the MMDB files.
func (db *DB) Close() error {
	for _, r := range db.mmdbs {
		_ = r.Close()
	}
	return nil
}
