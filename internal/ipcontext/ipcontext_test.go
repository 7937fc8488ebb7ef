package ipcontext

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCSVRanges(t *testing.T) {
	dir := t.TempDir()
	asn := filepath.Join(dir, "asn-ipv4.csv")
	cc := filepath.Join(dir, "country.csv")
	os.WriteFile(asn, []byte("8.8.8.0,8.8.8.255,15169,Google LLC\n71.18.8.0,71.18.9.255,11983,Tiktok U.S. Data Security Inc.\n"), 0o644)
	os.WriteFile(cc, []byte("71.18.0.0,71.18.255.255,US\n"), 0o644)
	db, err := Open(asn, cc)
	if err != nil {
		t.Fatal(err)
	}
	got := db.Lookup(netip.MustParseAddr("71.18.8.1"))
	if got.ASN != 11983 || got.Country != "US" || !strings.Contains(got.String(), "AS11983 Tiktok") {
		t.Fatalf("got %+v", got)
	}
	if c := db.Lookup(netip.MustParseAddr("1.1.1.1")); c != (Context{}) {
		t.Fatalf("unknown address got %+v", c)
	}
}

func TestCSVErrorsNameTheLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.csv")
	os.WriteFile(p, []byte("8.8.8.0,8.8.8.255,15169,Google\n8.8.9.0,nope,1,x\n"), 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "x.csv:2") {
		t.Fatalf("got %v", err)
	}
}

func TestSharedDatabaseIfInstalled(t *testing.T) {
	p := "../../node_modules/@ip-location-db/asn/asn-ipv4.csv"
	if _, err := os.Stat(p); err != nil {
		t.Skip("@ip-location-db/asn not installed (npm install --no-save @ip-location-db/asn)")
	}
	db, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if c := db.Lookup(netip.MustParseAddr("8.8.8.8")); c.ASN != 15169 {
		t.Fatalf("8.8.8.8: %+v", c)
	}
}

func FuzzCSV(f *testing.F) {
	f.Add("8.8.8.0,8.8.8.255,15169,Google LLC\n")
	f.Add("2001::,2001::ff,1,x\n1.0.0.0,1.0.0.9,CN\n")
	f.Fuzz(func(t *testing.T, s string) {
		db := &DB{}
		if db.readCSV("f", strings.NewReader(s)) == nil {
			db.Lookup(netip.MustParseAddr("8.8.8.8"))
		}
	})
}
