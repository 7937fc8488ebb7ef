// Package policytest builds a small, fixed catalog for the tests of the
// policy and the resolver, so that they do not depend on the contents of
// the built-in catalog.
//
// It is imported by tests only and must never import a source, sink or
// command package.
package policytest

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/outflow-dev/outflow/internal/catalog"
)

// At is the date the fixture's ownership is resolved for.
var At = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Files is the fixture catalog:
//
//	bytedance (CN) ── tiktok-pte (SG, controlled)
//	          └ 19.9 % ── tiktok-us (US, minority: not in the chain)
//	huawei (CN, on fcc-covered)   alibaba-cloud (CN, host)   acme (US)
//
// Names: bytedance.com, tiktok.com, tiktokcdn.com (tiktok-pte),
// tiktokusds.com (tiktok-us), huawei.com, aliyuncs.com (alibaba-cloud,
// host), acme.example (acme). Addresses: 71.18.0.0/16 and 2001:db8:bd::/48
// (bytedance, its own AS), 47.74.0.0/15 (alibaba-cloud, host). DNS
// services: httpdns.bytedance-cloud.example (an HTTP-DNS service of
// bytedance's) and dns.acme-resolver.example (acme's public resolver).
var Files = fstest.MapFS{
	"sources.yaml": {Data: []byte(`sources:
  - id: fixture
    title: Test fixture
    date: 2026-01-01
`)},
	"entities/bytedance.yaml":     {Data: entity("bytedance", "ByteDance Ltd.", "CN", "app-owner", "")},
	"entities/tiktok-pte.yaml":    {Data: entity("tiktok-pte", "TikTok Pte. Ltd.", "SG", "app-owner", "  - id: bytedance\n    source: fixture\n    as_of: 2026-01-01\n")},
	"entities/tiktok-us.yaml":     {Data: entity("tiktok-us", "TikTok USDS Joint Venture LLC", "US", "app-owner", "  - id: bytedance\n    share: 19.9\n    since: 2026-01-22\n    source: fixture\n    as_of: 2026-01-01\n")},
	"entities/huawei.yaml":        {Data: entity("huawei", "Huawei Technologies Co., Ltd.", "CN", "device-maker", "")},
	"entities/alibaba-cloud.yaml": {Data: entity("alibaba-cloud", "Alibaba Cloud", "CN", "host", "")},
	"entities/acme.yaml":          {Data: entity("acme", "Acme Inc.", "US", "app-owner", "")},
	"lists/fcc-covered.yaml": {Data: []byte(`id: fcc-covered
name: FCC Covered List
issuer: Federal Communications Commission
basis: 47 U.S.C. 1601
date: 2025-12-22
source: fixture
status: verified
entries:
  - entity: huawei
    added: 2021-03-12
`)},
	"dns-services/bytedance-httpdns.yaml": {Data: []byte(`id: bytedance-httpdns
name: ByteDance HTTPDNS
owner: bytedance
kind: httpdns
protocols: [http, https]
names: [httpdns.bytedance-cloud.example]
addresses: [192.0.2.53]
source: fixture
as_of: 2026-01-01
`)},
	"dns-services/acme-dns.yaml": {Data: []byte(`id: acme-dns
name: Acme Public DNS
owner: acme
kind: public-resolver
protocols: [doh, dot]
names: [dns.acme-resolver.example]
addresses: [198.51.100.53]
source: fixture
as_of: 2026-01-01
`)},
	"assets/fixture.csv": {Data: []byte(`entity,kind,value,role,name,source,as_of,status,note
bytedance,domain,bytedance.com,,,fixture,2026-01-01,,
tiktok-pte,domain,tiktok.com,,TikTok,fixture,2026-01-01,,
tiktok-pte,domain,tiktokcdn.com,,TikTok CDN,fixture,2026-01-01,,
tiktok-us,domain,tiktokusds.com,,,fixture,2026-01-01,,
huawei,domain,huawei.com,,,fixture,2026-01-01,,
alibaba-cloud,domain,aliyuncs.com,,,fixture,2026-01-01,,
acme,domain,acme.example,,,fixture,2026-01-01,,
bytedance,prefix,71.18.0.0/16,,AS396986,fixture,2026-01-01,,
bytedance,prefix,2001:db8:bd::/48,,AS396986,fixture,2026-01-01,,
alibaba-cloud,prefix,47.74.0.0/15,,AS45102,fixture,2026-01-01,,
`)},
}

func entity(id, name, jur, role, parents string) []byte {
	s := "id: " + id + "\nname: " + name + "\njurisdiction: " + jur + "\nroles: [" + role + "]\nsource: fixture\nas_of: 2026-01-01\n"
	if parents != "" {
		s += "parents:\n" + parents
	}
	return []byte(s)
}

// Index compiles the fixture catalog, with extra files on top.
func Index(tb testing.TB, extra ...catalog.Layer) *catalog.Index {
	tb.Helper()
	ix, err := Compile(extra...)
	if err != nil {
		tb.Fatalf("fixture catalog: %v", err)
	}
	return ix
}

// Compile is Index without a testing.TB, for fuzz and benchmark setup.
func Compile(extra ...catalog.Layer) (*catalog.Index, error) {
	layers := append([]catalog.Layer{{Name: "fixture", FS: Files}}, extra...)
	raw, err := catalog.Load(layers...)
	if err != nil {
		return nil, err
	}
	return catalog.Compile(raw, catalog.Options{At: At})
}
