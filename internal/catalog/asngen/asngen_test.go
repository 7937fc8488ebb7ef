package asngen

import (
	"strings"
	"testing"
)

func TestScanSplitsRangesIntoPrefixes(t *testing.T) {
	in := "71.18.0.0,71.18.7.255,396986,Bytedance Inc.\n71.18.8.0,71.18.9.255,11983,Tiktok U.S. Data Security Inc.\n8.8.8.0,8.8.8.255,15169,Google LLC\n1.0.0.0,1.0.0.2,11983,odd\n"
	rows, err := Scan("t.csv", strings.NewReader(in), Want{396986: {Entity: "bytedance"}, 11983: {Entity: "tiktok-usds"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Entity+" "+r.Prefix.String())
	}
	want := "bytedance 71.18.0.0/21,tiktok-usds 71.18.8.0/23,tiktok-usds 1.0.0.0/31,tiktok-usds 1.0.0.2/32"
	if strings.Join(got, ",") != want {
		t.Fatalf("got %s\nwant %s", strings.Join(got, ","), want)
	}
}

func TestScanNamesBadLine(t *testing.T) {
	_, err := Scan("t.csv", strings.NewReader("1.0.0.0,1.0.0.255,1,x\nbad,1.0.0.0,1,x\n"), Want{1: {Entity: "x"}})
	if err == nil || !strings.Contains(err.Error(), "t.csv:2") {
		t.Fatalf("error %v does not name t.csv:2", err)
	}
}

func FuzzScan(f *testing.F) {
	f.Add("71.18.0.0,71.18.7.255,396986,Bytedance Inc.\n")
	f.Add("2001::,2001::ffff,1,x\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Scan("f", strings.NewReader(s), Want{396986: {Entity: "b"}, 1: {Entity: "x"}})
	})
}
