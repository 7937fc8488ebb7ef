// Command fill adds to the end-to-end test's store, which `outflow scan
// --store` of the demo capture filled with its devices, flows and
// entities, what no command writes from that capture, through the store's
// Writer and the resolver's store adapter:
//
//   - the demo devices' groups, as an inventory would know them, and the
//     entities that own or host their peers;
//
//   - the DNS queries a filtering resolver would have logged for those
//     devices (the test runs no resolver): each name of a flow of the scan
//     report (`outflow scan --json --all`), asked just before the flow,
//     decided by the real policy package with e2e/policy.yaml and the
//     built-in catalog;
//
//   - the policy's rules, app audits (`outflow audit --json`) and inventory
//     rows decided by the same policy.
//
//     go run ./e2e/fill -store /tmp/e2e.db -scan scan.json -policy e2e/policy.yaml [-audit audit.json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
	"github.com/outflow-dev/outflow/internal/store/querylogsink"
	"github.com/outflow-dev/outflow/internal/store/scanfeed"
)

// report is the part of docs/output.md this helper reads.
type report struct {
	Devices []struct {
		Address  string `json:"address"`
		MAC      string `json:"mac"`
		Hostname string `json:"hostname"`
		Vendor   *struct{ Entity, Name string }
		Flows    []struct {
			Peer   string    `json:"peer"`
			Name   string    `json:"name"`
			Entity string    `json:"entity"`
			First  time.Time `json:"first_seen"`
		} `json:"flows"`
	} `json:"devices"`
}

type auditReport struct {
	Apps []struct {
		File     string `json:"file"`
		SHA256   string `json:"sha256"`
		Package  string `json:"package"`
		Version  string `json:"version_name"`
		Label    string `json:"label"`
		Signers  []struct{ Subject string }
		Findings []struct {
			ID       string `json:"id"`
			Severity string `json:"severity"`
			Category string `json:"category"`
			Title    string `json:"title"`
			Evidence []struct {
				Kind, Value, Note string
			} `json:"evidence"`
		} `json:"findings"`
	} `json:"apps"`
}

// groups and platforms of the demo's devices, as an inventory would know them.
var groups = map[string]string{
	"192.168.50.10": "staff", "192.168.50.11": "staff", "192.168.50.12": "field",
	"192.168.50.20": "finance", "192.168.50.30": "facilities", "192.168.50.40": "facilities",
}

// inventory: apps installed on the demo's devices.
var inventory = []struct{ dev, app, version string }{
	{"192.168.50.10", "com.zhiliaoapp.musically", "34.1.2"},
	{"192.168.50.11", "com.tencent.mm", "8.0.50"},
	{"192.168.50.11", "dji.go.v5", "1.14.2"},
	{"192.168.50.11", "org.mozilla.firefox", "128.0"},
	{"192.168.50.20", "com.einnovation.temu", "2.80.0"},
}

func main() {
	path := flag.String("store", "", "store file")
	scanFile := flag.String("scan", "", "scan report (outflow scan --json --all)")
	policyFile := flag.String("policy", "e2e/policy.yaml", "policy file")
	auditFile := flag.String("audit", "", "audit report (outflow audit --json), optional")
	auditDevice := flag.String("audit-device", "192.168.50.11", "device the audited apps were found on")
	flag.Parse()
	if *path == "" || *scanFile == "" {
		flag.Usage()
		os.Exit(1)
	}
	if err := run(*path, *scanFile, *policyFile, *auditFile, *auditDevice); err != nil {
		log.Fatal(err)
	}
}

func run(path, scanFile, policyFile, auditFile, auditDevice string) error {
	var rep report
	if err := readJSON(scanFile, &rep); err != nil {
		return err
	}
	ix, err := catalog.Open(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	pol, err := policy.Load(policyFile)
	if err != nil {
		return err
	}
	at := attribute.New(ix)
	ctx := context.Background()
	cfg := store.DefaultConfig()
	cfg.Path = path
	cfg.Retention, cfg.RollupRetention, cfg.MaxSize = 0, 0, 0
	st, err := backend.Open(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer st.Close()

	b := &store.Batch{}
	var log []querylog.Entry // what the resolver would have logged
	seenEnt := map[string]bool{}
	var addEntity func(e *catalog.Entity)
	addEntity = func(e *catalog.Entity) {
		if e == nil || seenEnt[e.ID] {
			return
		}
		seenEnt[e.ID] = true
		for _, c := range e.Chain {
			addEntity(c) // the owners, so that pages can name them
		}
		b.Entities = append(b.Entities, scanfeed.EntityOf(e))
	}
	byID := func(id string) *catalog.Entity { return ix.Entities[id] }

	for _, d := range rep.Devices {
		if !strings.HasPrefix(d.Address, "192.168.50.") || d.Address == "192.168.50.1" {
			continue
		}
		dev := store.Device{ID: d.Address, MAC: d.MAC, Name: d.Hostname, Group: groups[d.Address]}
		if d.Vendor != nil {
			dev.Vendor = d.Vendor.Name
		}
		b.Devices = append(b.Devices, dev) // upserted over the scan's: adds the group
		for _, f := range d.Flows {
			peer, _ := splitHostPort(f.Peer)
			if a, _ := netip.ParseAddr(peer); a.IsValid() {
				if ha := at.Addr(a); ha.Found() {
					addEntity(ha.Entity)
				}
			}
			if f.Entity != "" {
				addEntity(byID(f.Entity))
			}
			// The query the device sent for the flow's name.
			if f.Name != "" && !strings.HasPrefix(f.Name, "_") {
				q := decide(pol, at, d.Address, f.Name, f.First.Add(-40*time.Millisecond))
				log = append(log, q)
				if q.Entity != "" {
					addEntity(byID(q.Entity))
				}
			}
		}
	}
	// ana-laptop keeps asking for TikTok through the day, after the ban's
	// deadline: the overdue client the test looks for.
	for h := 1; h <= 8; h++ {
		for _, n := range []string{"www.tiktok.com", "api16-normal-useast5.us.tiktokv.com"} {
			log = append(log, decide(pol, at, "192.168.50.10", n, time.Date(2026, 3, 2, 9+h, 5, 0, 0, time.UTC)))
		}
	}
	for _, r := range pol.Rules {
		sr := store.Rule{ID: r.ID, Action: r.Action.String(), Basis: r.Basis, Deadline: r.Effective, Groups: r.Groups, Entities: r.Entities, Lists: r.Lists}
		b.Rules = append(b.Rules, sr)
	}
	seen := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for _, it := range inventory {
		a := at.App(it.app)
		row := store.InventoryItem{Device: it.dev, Group: groups[it.dev], App: it.app, Version: it.version, Seen: seen, Source: "mdm export"}
		if a.Found() {
			addEntity(a.Entity)
			row.Entity = a.Entity.ID
			v := pol.Decide(policy.Client{Addr: netip.MustParseAddr(it.dev)}, a, it.app, seen)
			// fleet check's words, as it writes them to the store
			switch row.Verdict = "compliant"; v.Action.String() {
			case "block":
				row.Verdict = "overdue"
			case "due":
				row.Verdict = "due"
			}
			if v.Rule != nil {
				row.Rule = v.Rule.ID
			}
		}
		b.Inventory = append(b.Inventory, row)
	}
	if auditFile != "" {
		var ar auditReport
		if err := readJSON(auditFile, &ar); err != nil {
			return err
		}
		entRe := regexp.MustCompile(`\bentity ([a-z0-9-]+)`)
		for _, app := range ar.Apps {
			au := store.Audit{Time: seen.Add(30 * time.Minute), Device: auditDevice, App: app.Package, Version: app.Version,
				Label: app.Label, SHA256: app.SHA256, Source: app.File[strings.LastIndex(app.File, "/")+1:]}
			if len(app.Signers) > 0 {
				au.Signer = app.Signers[0].Subject
			}
			for _, f := range app.Findings {
				sf := store.Finding{Rule: f.ID, Severity: f.Severity, Category: f.Category, Title: f.Title}
				for _, ev := range f.Evidence {
					sf.Evidence = append(sf.Evidence, strings.TrimSpace(ev.Kind+": "+ev.Value))
					if m := entRe.FindStringSubmatch(ev.Note); m != nil && sf.Entity == "" {
						sf.Entity = m[1]
						addEntity(byID(m[1]))
					}
				}
				if au.Entity == "" && sf.Entity != "" && f.Severity == "high" {
					au.Entity = sf.Entity
				}
				au.Findings = append(au.Findings, sf)
			}
			if au.Entity != "" {
				a := attribute.Attribution{Entity: byID(au.Entity), Role: catalog.Role("app-owner")}
				au.Verdict = pol.Decide(policy.Client{Addr: netip.MustParseAddr(auditDevice)}, a, app.Package, au.Time).Action.String()
			}
			b.Audits = append(b.Audits, au)
		}
	}
	if err := st.Write(ctx, b); err != nil {
		return err
	}
	if err := querylogsink.New(st).Write(log); err != nil {
		return err
	}
	fmt.Printf("fill: %d devices, %d entities, %d queries, %d rules, %d audits, %d inventory rows -> %s\n",
		len(b.Devices), len(b.Entities), len(log), len(b.Rules), len(b.Audits), len(b.Inventory), path)
	return nil
}

// decide is what the resolver logs for a query: the name's attribution
// and the policy's verdict for the client at that time.
func decide(pol *policy.Policy, at *attribute.Attributor, client, name string, t time.Time) querylog.Entry {
	addr := netip.MustParseAddr(client)
	e := querylog.Entry{Time: t, Client: addr, Proto: "udp", Type: 1, Latency: 3 * time.Millisecond, Group: groups[client]}
	e.SetName([]byte(name))
	a := at.Name(attribute.DNSQuery, name)
	v := pol.Decide(policy.Client{Addr: addr}, a, name, t)
	e.Verdict = v.Action.String()
	if a.Found() {
		e.Entity = a.Entity.ID
	}
	if v.Rule != nil {
		e.Rule, e.Reason, e.Deadline = v.Rule.ID, "qname", v.Deadline
	}
	if v.Action == policy.Block {
		e.RCode = 3 // NXDOMAIN
	}
	return e
}

func splitHostPort(s string) (string, uint16) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return s, 0
	}
	return ap.Addr().String(), ap.Port()
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
