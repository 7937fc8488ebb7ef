// Package store is outflow's record: what left the network, what was
// asked and blocked, which apps were audited and what the fleet runs. It
// defines the two interfaces every backend implements — Writer, which takes
// batches, and Reader, which answers the questions of reports and of the
// dashboard — and the plain row and result types they exchange, so that a
// second backend (ClickHouse) can be added without touching a caller.
//
// The embedded backend is internal/store/sqlite; internal/store/backend
// opens one by path. This package is a leaf: it must never import another
// outflow package, a backend, a command or a renderer.
package store

import (
	"context"
	"iter"
	"time"
)

// Writer stores batches. Write is atomic: when it returns nil every row of
// the batch is durable (it survives a kill -9 and, with synchronous=full, a
// power loss); when it returns an error none of it is stored. Reads through
// the same store see it at once; a backend may bring rollups up to date a
// little later for readers in other processes (SQLite: at most 2 s).
// Write must not keep b or anything it points to after it returns; it sets
// the ID of the batch's audits.
type Writer interface {
	Write(ctx context.Context, b *Batch) error
	Close() error
}

// Reader answers reports and the dashboard. Every method honours the
// filter's period and selections where they apply (each method's comment
// says which), and returns at most Filter.Limit rows (DefaultLimit when 0).
// Results are sorted as the comment says, most important first.
type Reader interface {
	// Overview: totals per entity over the filter's period and over the
	// last day, week and month before its end; the daily trend; bytes by
	// the owners' jurisdiction and by the hosting networks.
	Overview(ctx context.Context, f Filter) (*Overview, error)
	// Devices: each device seen in the period with its exposures
	// (without evidence), most bytes to entities of concern first.
	Devices(ctx context.Context, f Filter) ([]DeviceSummary, error)
	// Device: one device (by ID) with its exposures and their evidence,
	// names, queries and apps. ErrNotFound if the store never saw it.
	Device(ctx context.Context, id string, f Filter) (*DeviceDetail, error)
	// Flows: the stored flow rows (drill-down), newest first.
	Flows(ctx context.Context, f Filter) ([]Flow, error)
	// Names: names seen in flows and asked in queries, most bytes first.
	// Without a device or name selection, the names of entities of
	// concern only (those are kept in rollups; the rest are found
	// through the devices' detail rows).
	Names(ctx context.Context, f Filter) ([]NameCount, error)
	// Queries: the stored query rows (drill-down), newest first.
	Queries(ctx context.Context, f Filter) ([]Query, error)
	// Blocked: blocked queries by rule and group, most first.
	Blocked(ctx context.Context, f Filter) ([]BlockedCount, error)
	// Overdue: clients still asking for blocked names after the rule's
	// deadline, most queries first.
	Overdue(ctx context.Context, f Filter) ([]OverdueClient, error)
	// Due: rules whose deadline is after the end of the period, with
	// what still hits them ("due" verdicts), nearest deadline first.
	Due(ctx context.Context, f Filter) ([]DueRule, error)
	// Audits: app audits, newest first.
	Audits(ctx context.Context, f Filter) ([]AuditSummary, error)
	// Audit: one audit with its findings. ErrNotFound if absent.
	Audit(ctx context.Context, id int64) (*Audit, error)
	// Inventory: inventory rows, most recently seen first.
	Inventory(ctx context.Context, f Filter) ([]InventoryItem, error)
	// Entities: the entity facts the store holds (all of them, by ID).
	Entities(ctx context.Context) ([]Entity, error)
	// Search: devices, names, entities, lists, rules and apps whose key
	// or label contains q (case-insensitive), at most limit hits.
	Search(ctx context.Context, q string, limit int) ([]Hit, error)
	// Info: what the store holds, for a status page.
	Info(ctx context.Context) (*Info, error)
	Close() error
}

// Store is a backend that writes and reads.
type Store interface {
	Writer
	Reader
}

// DefaultLimit bounds result rows when Filter.Limit is 0; MaxLimit bounds
// them always.
const (
	DefaultLimit = 100
	MaxLimit     = 100000
)

// Filter selects rows. Zero fields select everything. Selections of the
// same field are ORed, different fields ANDed.
//
// Rollups count whole hours: a period is widened to whole hours, and one
// of 48 hours or more to whole UTC days. Detail rows (Flows, Queries) are
// selected exactly.
type Filter struct {
	Since time.Time // inclusive; zero: from the start
	Until time.Time // exclusive; zero: now (the backend's clock)

	Devices  []string // device IDs (an address, or an inventory ID)
	Groups   []string // device or client groups
	Entities []string // entity IDs; the owner entity of a flow or query
	Lists    []string // list IDs: entities on any of these lists
	Names    []string // names, matched as suffixes at a label boundary
	Rules    []string // policy rule IDs
	Verdicts []string // allow, monitor, due, block

	// Concern keeps only flows attributed to an entity (Entity != "").
	Concern bool

	Limit  int
	Offset int
}

// Traffic are summed counters.
type Traffic struct {
	BytesOut   uint64 `json:"bytes_out"`
	BytesIn    uint64 `json:"bytes_in"`
	PacketsOut uint64 `json:"packets_out"`
	PacketsIn  uint64 `json:"packets_in"`
	Flows      uint64 `json:"flows"`
}

// Add sums o into t.
func (t *Traffic) Add(o Traffic) {
	t.BytesOut += o.BytesOut
	t.BytesIn += o.BytesIn
	t.PacketsOut += o.PacketsOut
	t.PacketsIn += o.PacketsIn
	t.Flows += o.Flows
}

// Batch is what one Write stores. Dimension rows (Entities, Devices,
// Rules) are upserted: a later write replaces the facts of the same ID
// (empty fields keep the old value).
type Batch struct {
	Entities  []Entity
	Devices   []Device
	Rules     []Rule
	Flows     []Flow
	Queries   []Query
	Audits    []Audit
	Inventory []InventoryItem
	// Bypass rows are kept by backends that implement Bypasses (SQLite);
	// the others drop them.
	Bypass []Bypass
	// More are flow rows built one at a time as the writer takes them,
	// after Flows: a producer that holds many sums in a compact form (the
	// sensor's and scan's feed) need not hold every row twice to write it.
	// Writers read flows through AllFlows.
	More FlowRows
}

// FlowRows are flow rows a writer takes one at a time.
type FlowRows struct {
	// N is how many rows Each yields.
	N int
	// Each yields the rows, the same ones each time it is called. The
	// *Flow (but not the strings and slices it holds) is valid only until
	// the next one.
	Each func(yield func(*Flow) bool)
}

// FlowCount is the number of flow rows: Flows and More.
func (b *Batch) FlowCount() int { return len(b.Flows) + b.More.N }

// AllFlows yields Flows, then More.
func (b *Batch) AllFlows() iter.Seq[*Flow] {
	return func(yield func(*Flow) bool) {
		for i := range b.Flows {
			if !yield(&b.Flows[i]) {
				return
			}
		}
		if b.More.Each != nil {
			b.More.Each(yield)
		}
	}
}

// Len is the number of rows in the batch.
func (b *Batch) Len() int {
	return len(b.Entities) + len(b.Devices) + len(b.Rules) + b.FlowCount() + len(b.Queries) + len(b.Audits) + len(b.Inventory) + len(b.Bypass)
}

// Reset empties the batch, keeping its capacity.
func (b *Batch) Reset() {
	b.Entities, b.Devices, b.Rules = b.Entities[:0], b.Devices[:0], b.Rules[:0]
	b.Flows, b.Queries, b.Audits, b.Inventory = b.Flows[:0], b.Queries[:0], b.Audits[:0], b.Inventory[:0]
	b.Bypass = b.Bypass[:0]
	b.More = FlowRows{}
}

// Entity is what the store keeps of a catalog entity, so that reports
// read without the catalog (and keep the facts as they were when seen).
type Entity struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Jurisdiction of the data's owner: the entity's own, or its
	// controlling parent's (ISO 3166 alpha-2, upper case).
	Jurisdiction string `json:"jurisdiction"`
	// Registered is where the entity itself is incorporated (TikTok
	// Pte. Ltd.: SG, controlled from CN); empty when not recorded.
	Registered string `json:"registered_jurisdiction,omitempty"`
	// Unverified names the Lists whose entry for this entity the catalog
	// marks unverified: every output marks them so.
	Unverified []string `json:"unverified_lists,omitempty"`
	OwnerChain []string `json:"owner_chain,omitempty"` // entity IDs, the entity first
	Lists      []string `json:"lists,omitempty"`       // list IDs the chain is on
	Kind       string   `json:"kind,omitempty"`        // company, state, infrastructure...
}

// Device is what is known of a device. ID is how flows, queries and
// inventories name it: its address for a capture or a resolver client, the
// inventory's ID otherwise.
type Device struct {
	ID       string `json:"id"`
	MAC      string `json:"mac,omitempty"`
	Name     string `json:"name,omitempty"`   // hostname or inventory name
	Vendor   string `json:"vendor,omitempty"` // hardware maker (entity ID or name)
	Group    string `json:"group,omitempty"`
	Owner    string `json:"owner,omitempty"`
	Platform string `json:"platform,omitempty"`
}

// Rule is a policy rule as the store needs it for the enforcement views.
type Rule struct {
	ID       string    `json:"id"`
	Action   string    `json:"action"` // block, monitor
	Basis    string    `json:"basis,omitempty"`
	Deadline time.Time `json:"deadline,omitempty"` // when due becomes block; zero: in force
	Groups   []string  `json:"groups,omitempty"`
	Entities []string  `json:"entities,omitempty"`
	Lists    []string  `json:"lists,omitempty"`
}

// Evidence is one indicator behind an attribution.
type Evidence struct {
	Kind   string `json:"kind"`  // tls-sni, dns-answer, asn, cert-org...
	Value  string `json:"value"` // the name, address, organisation
	Rule   string `json:"rule,omitempty"`
	Source string `json:"source,omitempty"` // catalog source ID
	// First and Last are when the store saw this evidence for the device
	// and entity (read side only).
	First time.Time `json:"first,omitempty"`
	Last  time.Time `json:"last,omitempty"`
}

// Flow is a device's traffic to one peer in one hour: raw flows are
// summed into it by whoever writes (a scan writes one row per device,
// peer, name, entity and hour).
type Flow struct {
	// Hour is the start of the hour (UTC). Writers may leave it zero:
	// First's hour is used.
	Hour  time.Time `json:"hour"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`

	Device string `json:"device"`
	Group  string `json:"group,omitempty"`
	Proto  string `json:"proto,omitempty"` // tcp, udp
	Peer   string `json:"peer"`            // address
	Port   uint16 `json:"port,omitempty"`
	Name   string `json:"name,omitempty"` // best name seen for the peer

	Entity string `json:"entity,omitempty"` // owner entity; "" for none of concern
	Role   string `json:"role,omitempty"`   // owner, host, carrier...
	// Host is the hosting network of the peer (an entity ID, or "AS123
	// Name" when not in the catalog); HostCountry its registration.
	Host        string `json:"host,omitempty"`
	HostCountry string `json:"host_country,omitempty"`

	Verdict string `json:"verdict,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Source  string `json:"source,omitempty"` // capture file, sensor

	Traffic

	// Evidence for Device×Entity, written to the evidence table
	// (deduplicated); not returned by Reader.Flows.
	Evidence []Evidence `json:"evidence,omitempty"`
}

// Query is one DNS query the resolver answered.
type Query struct {
	Time     time.Time     `json:"time"`
	Client   string        `json:"client"` // device ID: the client address
	Group    string        `json:"group,omitempty"`
	Proto    string        `json:"proto,omitempty"`
	Name     string        `json:"name"`
	Type     uint16        `json:"type"`
	RCode    uint16        `json:"rcode"`
	Verdict  string        `json:"verdict,omitempty"` // allow, monitor, due, block
	Rule     string        `json:"rule,omitempty"`
	Entity   string        `json:"entity,omitempty"`
	Reason   string        `json:"reason,omitempty"`   // qname, cname, target, address
	Deadline time.Time     `json:"deadline,omitempty"` // the rule's, for due and block
	Latency  time.Duration `json:"latency,omitempty"`
	Cached   bool          `json:"cached,omitempty"`
}

// Audit is one app audit.
type Audit struct {
	ID       int64     `json:"id"` // assigned by the store; ignored on write
	Time     time.Time `json:"time"`
	Device   string    `json:"device,omitempty"` // where the app was found, if known
	App      string    `json:"app"`              // package name
	Version  string    `json:"version,omitempty"`
	Label    string    `json:"label,omitempty"`
	SHA256   string    `json:"sha256,omitempty"`
	Signer   string    `json:"signer,omitempty"`
	Entity   string    `json:"entity,omitempty"` // the app's owner entity of concern
	Verdict  string    `json:"verdict,omitempty"`
	Source   string    `json:"source,omitempty"` // file audited
	Findings []Finding `json:"findings"`
}

// Finding is one rule that fired on an app.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity string   `json:"severity"` // info, low, medium, high
	Category string   `json:"category,omitempty"`
	Title    string   `json:"title"`
	Entity   string   `json:"entity,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
}

// AuditSummary is an audit without its findings.
type AuditSummary struct {
	ID         int64          `json:"id"`
	Time       time.Time      `json:"time"`
	Device     string         `json:"device,omitempty"`
	App        string         `json:"app"`
	Version    string         `json:"version,omitempty"`
	Label      string         `json:"label,omitempty"`
	Entity     string         `json:"entity,omitempty"`
	Verdict    string         `json:"verdict,omitempty"`
	Findings   int            `json:"findings"`
	BySeverity map[string]int `json:"by_severity"`
}

// InventoryItem is one app (or component) on one device, as an inventory
// saw it. A later write of the same Device and App updates it.
type InventoryItem struct {
	Device  string    `json:"device"`
	Owner   string    `json:"owner,omitempty"` // the device's user, from the inventory: whom to chase
	Group   string    `json:"group,omitempty"`
	App     string    `json:"app"`
	Version string    `json:"version,omitempty"`
	Entity  string    `json:"entity,omitempty"`
	Verdict string    `json:"verdict,omitempty"` // fleet check's word: compliant, due, overdue, removed
	Rule    string    `json:"rule,omitempty"`
	Seen    time.Time `json:"seen"`
	Source  string    `json:"source,omitempty"`
}

// Overview is the first page of the dashboard and of a report.
type Overview struct {
	Since time.Time `json:"since"` // the period, as resolved
	Until time.Time `json:"until"`

	Entities []EntityTotal `json:"entities"`
	// Trend is bytes out per day and entity over the period (at most the
	// last 92 days), oldest first; Entity "" sums the rest.
	Trend []TrendPoint `json:"trend"`
	// ByJurisdiction: traffic by the owner entity's jurisdiction.
	ByJurisdiction []AreaTotal `json:"by_jurisdiction"`
	// ByHost: traffic by hosting network (Flow.Host) and its country.
	ByHost []HostTotal `json:"by_host"`

	Devices        int     `json:"devices"`         // devices with traffic to an entity in the period
	DevicesSeen    int     `json:"devices_seen"`    // all devices with traffic in the period
	Queries        uint64  `json:"queries"`         // queries in the period
	QueriesBlocked uint64  `json:"queries_blocked"` // of which blocked
	Concern        Traffic `json:"concern"`         // to entities of concern in the period
	Other          Traffic `json:"other"`           // to no entity of concern
}

// EntityTotal is one entity's traffic.
type EntityTotal struct {
	Entity  Entity  `json:"entity"`
	Period  Traffic `json:"period"`
	Day     Traffic `json:"day"`   // the 24 hours before Until
	Week    Traffic `json:"week"`  // the 7 days before Until
	Month   Traffic `json:"month"` // the 30 days before Until
	Devices int     `json:"devices"`
	Queries uint64  `json:"queries"`
	Blocked uint64  `json:"blocked"`
}

// TrendPoint is one day of one entity.
type TrendPoint struct {
	Day    time.Time `json:"day"`
	Entity string    `json:"entity"`
	Traffic
}

// AreaTotal is traffic attributed to one country.
type AreaTotal struct {
	Country  string   `json:"country"` // ISO 3166 alpha-2; "" unknown
	Entities []string `json:"entities"`
	Devices  int      `json:"devices"`
	Traffic
}

// HostTotal is traffic to one hosting network.
type HostTotal struct {
	Host    string `json:"host"`
	Country string `json:"country,omitempty"`
	Traffic
}

// Exposure is a device's traffic to one entity.
type Exposure struct {
	Entity   string     `json:"entity"`
	Role     string     `json:"role,omitempty"`
	First    time.Time  `json:"first"`
	Last     time.Time  `json:"last"`
	Evidence []Evidence `json:"evidence,omitempty"`
	Traffic
}

// DeviceSummary is a device and its exposures.
type DeviceSummary struct {
	Device    Device     `json:"device"`
	Exposures []Exposure `json:"exposures"`
	Concern   Traffic    `json:"concern"` // to entities
	Total     Traffic    `json:"total"`
	Queries   uint64     `json:"queries"`
	Blocked   uint64     `json:"blocked"`
	Last      time.Time  `json:"last"`
}

// DeviceDetail is one device's page.
type DeviceDetail struct {
	DeviceSummary
	Names     []NameCount     `json:"names"`
	Blocked   []BlockedCount  `json:"blocked_by_rule"`
	Inventory []InventoryItem `json:"inventory"`
	Audits    []AuditSummary  `json:"audits"`
}

// NameCount is one name with what was seen of it.
type NameCount struct {
	Name   string `json:"name"`
	Entity string `json:"entity,omitempty"`
	// Devices that saw or asked for it; counted only with a device or
	// name selection (0 otherwise).
	Devices int       `json:"devices"`
	Queries uint64    `json:"queries"`
	Blocked uint64    `json:"blocked"`
	Last    time.Time `json:"last"`
	Traffic
}

// BlockedCount is blocked queries of one rule and group.
type BlockedCount struct {
	Rule     string    `json:"rule"`
	Group    string    `json:"group"`
	Entities []string  `json:"entities"`
	Queries  uint64    `json:"queries"`
	Clients  int       `json:"clients"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// OverdueClient is a client that kept asking for a blocked name after the
// rule's deadline.
type OverdueClient struct {
	Client   string    `json:"client"`
	Name     string    `json:"name,omitempty"` // the device's name, if known
	Group    string    `json:"group"`
	Rule     string    `json:"rule"`
	Deadline time.Time `json:"deadline"`
	Entities []string  `json:"entities"`
	Queries  uint64    `json:"queries"` // after the deadline, in the period
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	Names    []string  `json:"names"` // a few of the names asked
}

// DueRule is a rule not yet in force and what still hits it.
type DueRule struct {
	Rule     Rule      `json:"rule"`
	Entities []string  `json:"entities"`
	Clients  []string  `json:"clients"` // the first of them, most queries first
	NClients int       `json:"clients_total"`
	Queries  uint64    `json:"queries"`
	Apps     int       `json:"apps"` // inventory rows with verdict due for this rule
	Last     time.Time `json:"last"`
}

// Hit is one search result.
type Hit struct {
	Kind   string `json:"kind"` // device, name, entity, list, rule, app
	Key    string `json:"key"`  // the ID to filter on
	Label  string `json:"label"`
	Detail string `json:"detail,omitempty"`
}

// Info is what a store holds.
type Info struct {
	Backend    string    `json:"backend"`
	Path       string    `json:"path,omitempty"`
	Schema     int       `json:"schema"`
	Size       int64     `json:"size"`
	Flows      int64     `json:"flows"`
	Queries    int64     `json:"queries"`
	Audits     int64     `json:"audits"`
	Inventory  int64     `json:"inventory"`
	Devices    int64     `json:"devices"`
	Entities   int64     `json:"entities"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	PrunedThru time.Time `json:"pruned_through,omitempty"`
}

// Alert is an alert the sensor raised (internal/alert), as kept.
type Alert struct {
	ID           int64     `json:"id"`
	Time         time.Time `json:"time"`
	Kind         string    `json:"kind"` // first_contact, past_deadline, group_blocked
	Site         string    `json:"site,omitempty"`
	Device       string    `json:"device"` // the device ID (SITE/ADDRESS under a site)
	Entity       string    `json:"entity"`
	EntityName   string    `json:"entity_name,omitempty"`
	Jurisdiction string    `json:"jurisdiction,omitempty"`
	Rule         string    `json:"rule,omitempty"`
	Deadline     time.Time `json:"deadline,omitzero"`
	Evidence     string    `json:"evidence,omitempty"` // "kind value" of the strongest evidence
	Bytes        uint64    `json:"bytes,omitempty"`
	Summary      string    `json:"summary"`
}

// Alerts is implemented by backends that keep alerts (SQLite). It is not
// part of Store, so that a backend without an alert table (ClickHouse, so
// far) is still a Store: callers check for it with a type assertion.
type Alerts interface {
	// WriteAlerts stores alerts in one transaction.
	WriteAlerts(ctx context.Context, as []Alert) error
	// Alerts: the kept alerts in the filter's period, newest first; the
	// Devices, Entities and Rules selections apply.
	Alerts(ctx context.Context, f Filter) ([]Alert, error)
}

// Bypass is one way a device got around the network's resolver, as a
// scan found it (internal/scan/bypass): a kind to one peer, port and
// protocol. A later write of the same device, kind, peer, port and proto
// widens First and Last, adds the counters and keeps the newer facts.
type Bypass struct {
	Device    string           `json:"device"`
	Kind      string           `json:"kind"` // doh, dot, doq, httpdns, hardcoded-address
	Peer      string           `json:"peer"`
	Port      uint16           `json:"port,omitempty"`
	Proto     string           `json:"proto,omitempty"`
	Name      string           `json:"name,omitempty"`    // the SNI or Host the flow showed
	Service   string           `json:"service,omitempty"` // catalogued DNS service ID
	Owner     string           `json:"owner,omitempty"`   // entity ID; empty when not catalogued
	OwnerName string           `json:"owner_name,omitempty"`
	Evidence  []BypassEvidence `json:"evidence"`
	Flows     uint64           `json:"flows"`
	BytesOut  uint64           `json:"bytes_out"`
	BytesIn   uint64           `json:"bytes_in"`
	First     time.Time        `json:"first"`
	Last      time.Time        `json:"last"`
	Source    string           `json:"source,omitempty"` // capture file
}

// BypassEvidence is one reason for a Bypass.
type BypassEvidence struct {
	Kind   string `json:"kind"` // tls-sni, http-dns-request, port, dns-service, no-dns-answer...
	Value  string `json:"value"`
	Rule   string `json:"rule,omitempty"`
	Source string `json:"source,omitempty"`
}

// Bypasses is implemented by backends that keep Batch.Bypass rows
// (SQLite). Like Alerts it is not part of Store: callers check for it
// with a type assertion.
type Bypasses interface {
	// Bypass: the kept rows seen in the filter's period (First before
	// its end, Last not before its start), most recently seen first; the
	// Devices and Entities (the owner) selections apply.
	Bypass(ctx context.Context, f Filter) ([]Bypass, error)
}
