package fleet

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/policy"
)

// Config tunes a Checker.
type Config struct {
	// Now is the check's clock: verdicts and time left are computed
	// against it (zero: time.Now() when the report is made).
	Now time.Time
	// All lists every device in the report, not only those with a
	// banned app or a traffic flag.
	All bool
	// MaxProblems bounds the malformed records kept for the report
	// (all are counted). 0 means 20.
	MaxProblems int
}

// Checker reads inventory items one at a time, keeping per device only
// what concerns the policy, and makes the report. It is not safe for
// concurrent use.
type Checker struct {
	cfg    Config
	pol    *policy.Policy
	at     *attribute.Attributor
	match  *Matcher
	future []time.Time // distinct deadlines of block rules, ascending

	devices  map[string]*device
	order    []*device
	last     *device
	inputs   []*Input
	items    int
	bad      int
	contacts []Contact
	cur      int // index in inputs of the source being added
}

type device struct {
	id, name, owner, platform string
	tags                      []string
	apps                      []*appState
	// Source index each field came from: the first source that has a
	// value wins, whatever order concurrent parsers deliver in.
	nameSrc, ownerSrc, platSrc int32
}

type appState struct {
	it        inventory.Item
	m         Match
	removed   bool
	removedAt time.Time
	src       int // the last source to list it wins
}

// New returns a Checker of inventories against a policy, attributing apps
// with at.
func New(p *policy.Policy, at *attribute.Attributor, cfg Config) *Checker {
	if cfg.MaxProblems <= 0 {
		cfg.MaxProblems = 20
	}
	c := &Checker{cfg: cfg, pol: p, at: at, devices: map[string]*device{}}
	c.match = NewMatcher(at, func(a attribute.Attribution) bool { return p.Relevant(a, nil) })
	for _, r := range p.Rules {
		if r.Action == policy.Block && !r.Effective.IsZero() && !slices.ContainsFunc(c.future, r.Effective.Equal) {
			c.future = append(c.future, r.Effective)
		}
	}
	slices.SortFunc(c.future, time.Time.Compare)
	return c
}

// SetNow moves the check's clock (fleet watch re-checks as time passes).
func (c *Checker) SetNow(t time.Time) { c.cfg.Now = t }

// Visitor returns the visit function for one input: it adds items and
// counts them and the malformed records into the returned Input, which
// the caller completes with the format and any read error.
func (c *Checker) Visitor(file string) (inventory.Visit, *Input) {
	in := &Input{File: file}
	idx := len(c.inputs)
	c.inputs = append(c.inputs, in)
	return func(it inventory.Item, err error) error {
		c.cur = idx
		if err != nil {
			c.malformed(in, err)
			return nil
		}
		in.Items++
		c.Add(&it)
		return nil
	}, in
}

// malformed counts a malformed record of an input and keeps the first
// few for the report.
func (c *Checker) malformed(in *Input, err error) {
	c.bad++
	in.Malformed++
	if len(in.Problems) < c.cfg.MaxProblems {
		in.Problems = append(in.Problems, err.Error())
	}
}

// Add takes one inventory item. Items of a device need not be adjacent;
// a later item of the same device and app replaces an earlier one, and an
// item marked Removed (osquery differential) records the removal.
func (c *Checker) Add(it *inventory.Item) {
	c.items++
	d := c.last
	if d == nil || d.id != it.Device {
		d = c.devices[it.Device]
		if d == nil {
			// Every string kept beyond the item is a copy: parsers cut
			// strings from shared arena chunks, and one kept string
			// keeps its whole chunk (of other items' strings) alive.
			id := strings.Clone(it.Device)
			d = &device{id: id}
			c.devices[id] = d
			c.order = append(c.order, d)
		}
		c.last = d
	}
	cur := int32(c.cur)
	if it.DeviceName != "" && (d.name == "" || cur < d.nameSrc) {
		d.name, d.nameSrc = strings.Clone(it.DeviceName), cur
	}
	if it.Owner != "" && (d.owner == "" || cur < d.ownerSrc) {
		d.owner, d.ownerSrc = strings.Clone(it.Owner), cur
	}
	if it.Platform != "" && d.platform != it.Platform {
		// The device's own system, not the browser an extension is in.
		switch {
		case d.platform == "", isBrowser(d.platform) && !isBrowser(it.Platform):
			d.platform, d.platSrc = strings.Clone(it.Platform), cur
		case cur < d.platSrc && isBrowser(d.platform) == isBrowser(it.Platform):
			d.platform, d.platSrc = strings.Clone(it.Platform), cur
		}
	}
	if len(it.Tags) > 0 && !sameSlice(d.tags, it.Tags) {
		d.tags = mergeTags(d.tags, it.Tags)
	}
	m, ok := c.match.Match(it)
	if !ok {
		return
	}
	var st *appState
	for _, s := range d.apps {
		if s.it.AppID == it.AppID && s.it.Kind == it.Kind && s.it.Publisher == it.Publisher {
			st = s
			break
		}
	}
	if st == nil {
		st = &appState{src: c.cur}
		d.apps = append(d.apps, st)
	}
	if c.cur < st.src {
		return // a later source already said
	}
	st.it, st.m, st.src = cloneItem(it), m, c.cur
	st.removed = it.Removed
	if it.Removed {
		st.removedAt = it.Seen
	}
}

func isBrowser(p string) bool { return p == inventory.Chrome || p == inventory.Firefox }

func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0] || slices.Equal(a, b))
}

// cloneItem copies an item's strings (see Add).
func cloneItem(it *inventory.Item) inventory.Item {
	c := *it
	for _, p := range []*string{&c.Device, &c.DeviceName, &c.Owner, &c.Platform, &c.Kind, &c.AppID, &c.Name, &c.Version, &c.Publisher, &c.Source} {
		*p = strings.Clone(*p)
	}
	c.Tags = cloneTags(c.Tags)
	return c
}

func cloneTags(ts []string) []string {
	if ts == nil {
		return nil
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = strings.Clone(t)
	}
	return out
}

// mergeTags is the union of a device's tags from several rows, sorted so
// that it does not depend on their order.
func mergeTags(have, add []string) []string {
	if len(have) == 0 {
		return cloneTags(add)
	}
	if !slices.ContainsFunc(add, func(t string) bool { return !slices.Contains(have, t) }) {
		return have
	}
	out := slices.Clone(have)
	for _, t := range add {
		if !slices.Contains(out, t) {
			out = append(out, strings.Clone(t))
		}
	}
	slices.Sort(out)
	return out
}

type decision struct {
	v        DeviceVerdict
	rule     *policy.Rule
	deadline time.Time
}

type decKey struct {
	m    policy.Membership
	e    *catalog.Entity
	role catalog.Role
}

// decide is the verdict for an installed app of a device: overdue when a
// block rule is in force, due when one has a deadline ahead (whether or
// not its warning period has begun: the fleet must know early what to
// remove), nothing when no block rule covers it for this device.
func (c *Checker) decide(cache map[decKey]decision, m policy.Membership, a attribute.Attribution, now time.Time) (decision, bool) {
	k := decKey{m, a.Entity, a.Role}
	if d, ok := cache[k]; ok {
		return d, d.rule != nil
	}
	var d decision
	v := c.pol.DecideFor(m, a, nil, now)
	switch v.Action {
	case policy.Block:
		d = decision{Overdue, v.Rule, v.Deadline}
	case policy.Due:
		d = decision{Due, v.Rule, v.Deadline}
	default:
		for _, t := range c.future {
			if !t.After(now) {
				continue
			}
			// The strictest rule at t blocks only if a rule in force
			// by t matches; scanning deadlines in order finds the
			// nearest.
			if v := c.pol.DecideFor(m, a, nil, t); v.Action == policy.Block {
				d = decision{Due, v.Rule, v.Deadline}
				break
			}
		}
	}
	cache[k] = d
	return d, d.rule != nil
}

func (c *Checker) membership(d *device) policy.Membership {
	return c.pol.ClientGroups(policy.Client{Owner: d.owner, Platform: d.platform, Tags: d.tags})
}

// inScope reports whether a rule applies to a device's groups.
func (c *Checker) inScope(m policy.Membership, r *policy.Rule) bool {
	for _, g := range r.Except.Groups {
		if c.pol.In(m, g) {
			return false
		}
	}
	if len(r.Groups) == 0 {
		return true
	}
	for _, g := range r.Groups {
		if c.pol.In(m, g) {
			return true
		}
	}
	return false
}

// Report makes the report of everything added so far. It may be called
// again after more items (fleet watch).
func (c *Checker) Report() *Report {
	now := c.cfg.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := &Report{Generated: now, Policy: c.pol.File, Devices: []Device{}}
	for _, in := range c.inputs {
		r := *in
		r.Problems = slices.Clone(in.Problems)
		rep.Inputs = append(rep.Inputs, r)
		for _, p := range in.Problems {
			if len(rep.Problems) < c.cfg.MaxProblems {
				rep.Problems = append(rep.Problems, p)
			}
		}
	}
	rep.Summary.Devices, rep.Summary.Items, rep.Summary.Malformed = len(c.order), c.items, c.bad

	var blockRules []*policy.Rule
	for _, r := range c.pol.Rules {
		if r.Action == policy.Block {
			blockRules = append(blockRules, r)
		}
	}
	type ruleCount struct{ scope, due, overdue, flagged int }
	counts := make([]ruleCount, len(blockRules))
	cache := map[decKey]decision{}
	traffic := c.trafficByDevice()

	for _, d := range c.order {
		m := c.membership(d)
		dev := Device{Device: d.id, Name: d.name, Owner: d.owner, Platform: d.platform, Tags: d.tags, Group: c.pol.GroupName(m), Apps: []App{}}
		for _, st := range d.apps {
			dc, ok := c.decide(cache, m, st.m.Attribution, now)
			if !ok {
				continue
			}
			app := c.app(st, dc, now)
			dev.Apps = append(dev.Apps, app)
		}
		for _, ct := range traffic[d] {
			c.applyTraffic(&dev, m, ct)
		}
		sortApps(dev.Apps)
		// Per rule: the worst state of the device under it.
		worst := make(map[*policy.Rule]DeviceVerdict, len(dev.Apps))
		flaggedBy := map[*policy.Rule]bool{}
		for _, a := range dev.Apps {
			r := c.ruleByID(a.Rule)
			if a.Verdict > dev.Verdict {
				dev.Verdict = a.Verdict
			}
			if a.Verdict > worst[r] {
				worst[r] = a.Verdict
			}
			if a.Traffic != nil {
				dev.Flagged = true
				flaggedBy[r] = true
			}
		}
		for i, r := range blockRules {
			if !c.inScope(m, r) && worst[r] == Compliant && !flaggedBy[r] {
				continue
			}
			counts[i].scope++
			switch worst[r] {
			case Due:
				counts[i].due++
			case Overdue:
				counts[i].overdue++
			}
			if flaggedBy[r] {
				counts[i].flagged++
			}
		}
		switch dev.Verdict {
		case Due:
			rep.Summary.Due++
		case Overdue:
			rep.Summary.Overdue++
		default:
			rep.Summary.Compliant++
		}
		if dev.Flagged {
			rep.Summary.Flagged++
		}
		if len(dev.Apps) > 0 || c.cfg.All {
			rep.Devices = append(rep.Devices, dev)
		}
	}
	for i, r := range blockRules {
		rs := RuleSummary{Rule: r.ID, Basis: r.Basis, Devices: counts[i].scope, Due: counts[i].due,
			Overdue: counts[i].overdue, Flagged: counts[i].flagged}
		rs.Compliant = rs.Devices - rs.Due - rs.Overdue
		if !r.Effective.IsZero() {
			t := r.Effective
			rs.Deadline = &t
			rs.TimeLeft = Left(t.Sub(now))
			if rs.Due > 0 && t.After(now) && (rep.Summary.NextDeadline == nil || t.Before(*rep.Summary.NextDeadline)) {
				rep.Summary.NextDeadline = &t
				rep.Summary.TimeLeft = rs.TimeLeft
			}
		}
		rep.Rules = append(rep.Rules, rs)
	}
	sortDevices(rep.Devices)
	return rep
}

func (c *Checker) ruleByID(id string) *policy.Rule {
	for _, r := range c.pol.Rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (c *Checker) app(st *appState, dc decision, now time.Time) App {
	s := attribute.Summarize(st.m.Attribution)
	a := App{AppID: st.it.AppID, Name: st.it.Name, Version: st.it.Version, Kind: st.it.Kind, Publisher: st.it.Publisher,
		Entity: s.Entity, EntityName: s.Name, OwnerChain: s.OwnerChain, By: st.m.By, Confidence: s.Confidence.String(),
		Catalog: s.Evidence.Rule, Unverified: s.Unverified,
		Rule: dc.rule.ID, Basis: dc.rule.Basis, Verdict: dc.v, Source: st.it.Source}
	for _, l := range s.Lists {
		a.Lists = append(a.Lists, l.ID)
	}
	if !dc.deadline.IsZero() {
		t := dc.deadline
		a.Deadline = &t
		a.TimeLeft = Left(t.Sub(now))
	}
	if st.removed {
		a.Verdict = Compliant
		a.TimeLeft = ""
		if !st.removedAt.IsZero() {
			t := st.removedAt
			a.Removed = &t
		} else {
			a.Removed = &time.Time{}
		}
	}
	return a
}

func sortDevices(ds []Device) {
	// Overdue, then flagged for traffic (a violation now, whatever the
	// inventory says), then due.
	rank := func(d *Device) int {
		switch {
		case d.Verdict == Overdue && d.Flagged:
			return 5
		case d.Verdict == Overdue:
			return 4
		case d.Flagged:
			return 3
		}
		return int(d.Verdict)
	}
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := &ds[i], &ds[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra > rb
		}
		if da, db := nearest(a), nearest(b); !da.Equal(db) {
			return da.Before(db)
		}
		return a.Device < b.Device
	})
}

// sortApps orders a device's apps by deadline, then app id and entity, so
// that the report does not depend on the order of the input rows.
func sortApps(as []App) {
	sort.SliceStable(as, func(i, j int) bool {
		a, b := &as[i], &as[j]
		if (a.Deadline == nil) != (b.Deadline == nil) {
			return a.Deadline == nil // no deadline: in force already
		}
		if a.Deadline != nil && !a.Deadline.Equal(*b.Deadline) {
			return a.Deadline.Before(*b.Deadline)
		}
		if a.AppID != b.AppID {
			return a.AppID < b.AppID
		}
		return a.Entity < b.Entity
	})
}

// nearest is a device's earliest deadline among its apps.
func nearest(d *Device) time.Time {
	var t time.Time
	for _, a := range d.Apps {
		if a.Deadline != nil && (t.IsZero() || a.Deadline.Before(t)) {
			t = *a.Deadline
		}
	}
	return t
}

// deviceKeys are the names a store may know a device by: its id and
// inventory name, lowercased, and their first DNS label.
func deviceKeys(d *device) []string {
	var ks []string
	for _, s := range []string{d.id, d.name} {
		if s == "" {
			continue
		}
		s = strings.ToLower(s)
		ks = append(ks, s)
		if i := strings.IndexByte(s, '.'); i > 0 && !isAddr(s) {
			ks = append(ks, s[:i])
		}
	}
	return ks
}
