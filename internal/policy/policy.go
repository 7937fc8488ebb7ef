package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gaissmai/bart"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/catalog/domainset"
)

// Action is what a verdict does with a query. Larger is stricter: when
// several rules match, the strictest wins.
type Action uint8

// Actions, from the mildest.
const (
	Allow   Action = iota
	Monitor        // answered and logged as a match
	Due            // a block rule whose deadline is ahead: answered and logged
	Block          // refused with the rule's answer
)

var actionNames = [...]string{Allow: "allow", Monitor: "monitor", Due: "due", Block: "block"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// MarshalText names the action in JSON.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// AnswerMode is how a blocked query is answered.
type AnswerMode uint8

// Answer modes.
const (
	NXDomain  AnswerMode = iota // the name does not exist
	Refused                     // the server refuses to answer
	Null                        // A 0.0.0.0, AAAA ::, other types no data
	BlockPage                   // A/AAAA the block page's address, other types no data
)

var modeNames = [...]string{NXDomain: "nxdomain", Refused: "refused", Null: "null", BlockPage: "blockpage"}

func (m AnswerMode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "unknown"
}

// Answer is a rule's answer to a blocked query.
type Answer struct {
	Mode AnswerMode
	V4   netip.Addr // block page IPv4 address (BlockPage)
	V6   netip.Addr // block page IPv6 address (BlockPage), optional
}

// Client is what the resolver knows of who asks. Zero fields are unknown.
type Client struct {
	Addr     netip.Addr
	DoHPath  string // URL path of a DNS-over-HTTPS query
	Name     string // client name: TLS server name of DoT/DoH, lowercase
	Owner    string // fleet inventory: the device's owner
	Platform string // fleet inventory: android, ios, windows, ...
	Tags     []string
	MAC      MAC    // from the neighbour table or a DHCP lease; zero: unknown
	Hostname string // from a DHCP lease: lowercase, no trailing dot
}

// Decision is the policy's answer for one attribution.
type Decision struct {
	Action   Action
	Rule     *Rule     // nil for Allow
	Deadline time.Time // the rule's effective time: when a due match becomes a block
	Answer   Answer
}

// Rule is one rule of a policy, as written, with its compiled matchers.
type Rule struct {
	ID            string // the rule's id, or "rule-N" with N its line
	Line          int
	Action        Action // Block or Monitor
	Entities      []string
	Lists         []string
	Jurisdictions []string
	Names         []string // inline names (names_file is counted in NameCount)
	NamesFile     string
	NameCount     int
	Groups        []string
	Basis         string
	Effective     time.Time // zero: in force from the start
	Warning       time.Duration
	Hosted        bool // also match what the entity only hosts or carries
	Except        Exceptions
	Answer        Answer

	idx        int
	groups     GroupSet // zero: every client
	except     GroupSet // groups and client exceptions
	from       time.Time
	catalogAny bool // has entity, list or jurisdiction targets
}

// Exceptions exempt clients or names from a rule, until Until when it is
// set (an allow-list entry granted for a while).
type Exceptions struct {
	Names   []string
	Groups  []string
	Clients []string
	Until   time.Time
}

// MaxGroups bounds the groups of a policy, counting one hidden group for
// each rule with client exceptions.
const MaxGroups = 256

// MaxRules bounds the rules of a policy.
const MaxRules = 256

// GroupSet is a set of groups (or rules) by index.
type GroupSet [4]uint64

func (s *GroupSet) add(i int)          { s[i>>6] |= 1 << (i & 63) }
func (s GroupSet) has(i int) bool      { return s[i>>6]&(1<<(i&63)) != 0 }
func (s GroupSet) any(o GroupSet) bool { return s[0]&o[0]|s[1]&o[1]|s[2]&o[2]|s[3]&o[3] != 0 }
func (s GroupSet) or(o GroupSet) GroupSet {
	return GroupSet{s[0] | o[0], s[1] | o[1], s[2] | o[2], s[3] | o[3]}
}

// Empty reports a set with no member.
func (s GroupSet) Empty() bool { return s == GroupSet{} }

// Group is a named set of clients.
type Group struct {
	Name        string
	Line        int
	Addresses   []netip.Prefix
	DoHPaths    []string
	ClientNames []string
	DeviceTags  []string
	Owners      []string
	Platforms   []string
	MACs        []MAC
	OUIs        []OUI    // vendor prefixes of MACs
	Hostnames   []string // lowercase; '*' and '?' are wildcards
	hidden      bool     // a rule's client exceptions
}

// Policy is a compiled policy. It is read-only and safe for concurrent use.
type Policy struct {
	File string
	// AllowEmpty is the file's allow_empty: it may have no rules.
	AllowEmpty bool
	Groups     []*Group
	Rules      []*Rule

	addrs     bart.Table[GroupSet]
	dohPaths  map[string]GroupSet
	names     map[string]GroupSet
	tags      map[string]GroupSet
	owners    map[string]GroupSet
	platforms map[string]GroupSet
	hasFleet  bool
	macs      map[MAC]GroupSet
	ouis      map[OUI]GroupSet
	hosts     map[string]GroupSet
	hostGlobs []hostGlob
	hasDevice bool

	ruleNames   *nameSet   // value: index into nameRules
	exceptNames *nameSet   // the same, for rules' name exceptions
	nameRules   []GroupSet // sets of rule indexes
}

// ErrNoRules is the error of a policy without rules that does not say
// allow_empty: true. Such a policy allows everything, which is what an
// empty or truncated file looks like, so an enforcer must not run on it.
var ErrNoRules = errors.New("policy has no rules")

// RequireRules returns ErrNoRules (wrapped with the file) when p has no
// rule and was not written with allow_empty: true. Parse already refuses
// such a file; this is for policies built otherwise (Quick with no
// target).
func (p *Policy) RequireRules() error {
	if len(p.Rules) == 0 && !p.AllowEmpty {
		return fmt.Errorf("policy: %s: %w", p.File, ErrNoRules)
	}
	return nil
}

// Membership is the groups a client is in.
type Membership struct{ set GroupSet }

// ClientGroups computes a client's groups once, for several Decide calls.
func (p *Policy) ClientGroups(c Client) Membership {
	var s GroupSet
	if c.Addr.IsValid() {
		if v, ok := p.addrs.Lookup(c.Addr.Unmap()); ok {
			s = v
		}
	}
	if c.DoHPath != "" {
		s = s.or(p.dohPaths[c.DoHPath])
	}
	if c.Name != "" {
		s = s.or(p.names[c.Name])
	}
	if p.hasFleet {
		if c.Owner != "" {
			s = s.or(p.owners[c.Owner])
		}
		if c.Platform != "" {
			s = s.or(p.platforms[c.Platform])
		}
		for _, t := range c.Tags {
			s = s.or(p.tags[t])
		}
	}
	if p.hasDevice {
		s = s.or(p.deviceGroups(c.MAC, c.Hostname))
	}
	return Membership{s}
}

// GroupName is the name of the first group (in file order) of a
// membership, or "" when the client is in none.
func (p *Policy) GroupName(m Membership) string {
	for i, g := range p.Groups {
		if !g.hidden && m.set.has(i) {
			return g.Name
		}
	}
	return ""
}

// In reports whether the membership includes the named group.
func (p *Policy) In(m Membership, group string) bool {
	for i, g := range p.Groups {
		if g.Name == group && !g.hidden {
			return m.set.has(i)
		}
	}
	return false
}

// Decide is the verdict for one attribution of a query by a client. name
// is the queried name (or the CNAME being checked); it is matched against
// the rules' names and name exceptions. a may be the zero Attribution.
func (p *Policy) Decide(c Client, a attribute.Attribution, name string, now time.Time) Decision {
	var buf [domainset.MaxName + 1]byte
	b, _ := domainset.Normalize(buf[:0], name)
	return p.DecideFor(p.ClientGroups(c), a, b, now)
}

// DecideFor is Decide for a client's precomputed groups and a name already
// normalised (lowercase, no trailing dot; see domainset.Normalize).
func (p *Policy) DecideFor(m Membership, a attribute.Attribution, name []byte, now time.Time) Decision {
	return p.DecideAnswer(m, a, name, name, now)
}

// DecideAnswer is DecideFor for a part of a query's answer: name is the
// CNAME or target being checked (nil for an address), qname the question,
// whose exceptions also cover its answer (an excepted name stays reachable
// through its CDN).
func (p *Policy) DecideAnswer(m Membership, a attribute.Attribution, name, qname []byte, now time.Time) Decision {
	var hit, exempt GroupSet
	if p.ruleNames.Len() > 0 || p.exceptNames.Len() > 0 {
		hit, exempt = p.nameMatches(name)
		if string(qname) != string(name) {
			_, qexempt := p.nameMatches(qname)
			exempt = exempt.or(qexempt)
		}
	}
	if a.Entity == nil && hit.Empty() {
		return Decision{}
	}
	var best Decision
	for _, r := range p.Rules {
		if !r.groups.Empty() && !r.groups.any(m.set) {
			continue
		}
		if (r.except.any(m.set) || exempt.has(r.idx)) && (r.Except.Until.IsZero() || now.Before(r.Except.Until)) {
			continue
		}
		if !r.from.IsZero() && now.Before(r.from) {
			continue
		}
		if !hit.has(r.idx) && !r.matches(a) {
			continue
		}
		act := r.Action
		if act == Block && !r.Effective.IsZero() && now.Before(r.Effective) {
			act = Due
		}
		if act > best.Action {
			best = Decision{Action: act, Rule: r, Deadline: r.Effective, Answer: r.Answer}
			if act == Block {
				break
			}
		}
	}
	return best
}

// Relevant reports whether any rule could ever match the attribution or
// name, for some client at some time: the resolver's cache keeps only the
// relevant parts of an answer to re-check on every hit.
func (p *Policy) Relevant(a attribute.Attribution, name []byte) bool {
	if p.ruleNames.Len() > 0 {
		if hit, _ := p.nameMatches(name); !hit.Empty() {
			return true
		}
	}
	if a.Entity == nil {
		return false
	}
	for _, r := range p.Rules {
		if r.matches(a) {
			return true
		}
	}
	return false
}

// nameMatches returns the rules that list the name or a parent of it, and
// the rules that except it.
func (p *Policy) nameMatches(name []byte) (hit, exempt GroupSet) {
	for i := 0; i < len(name); {
		s := name[i:]
		if v, ok := p.ruleNames.lookup(s); ok {
			hit = hit.or(p.nameRules[v])
		}
		if v, ok := p.exceptNames.lookup(s); ok {
			exempt = exempt.or(p.nameRules[v])
		}
		j := 0
		for j < len(s) && s[j] != '.' {
			j++
		}
		if j == len(s) {
			break
		}
		i += j + 1
	}
	return hit, exempt
}

// matches reports whether the rule's entity, list or jurisdiction targets
// cover the attribution. Hosting and carrying roles count only for rules
// that say hosted: true; a chip maker never does.
func (r *Rule) matches(a attribute.Attribution) bool {
	e := a.Entity
	if e == nil || !r.catalogAny {
		return false
	}
	switch a.Role {
	case catalog.RoleHost, catalog.RoleCarrier:
		if !r.Hosted {
			return false
		}
	case catalog.RoleChip:
		return false
	}
	for _, link := range e.Chain {
		for _, id := range r.Entities {
			if link.ID == id {
				return true
			}
		}
		for _, j := range r.Jurisdictions {
			if link.Jurisdiction == j {
				return true
			}
		}
	}
	if len(r.Entities) == 0 && len(e.Chain) == 0 {
		for _, j := range r.Jurisdictions {
			if e.Jurisdiction == j {
				return true
			}
		}
	}
	for _, m := range e.Memberships {
		for _, id := range r.Lists {
			if m.List.ID == id {
				return true
			}
		}
	}
	if len(e.Chain) == 0 {
		for _, id := range r.Entities {
			if e.ID == id {
				return true
			}
		}
	}
	return false
}
