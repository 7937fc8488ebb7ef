package catalog

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Date is a calendar date as written in the catalog: YYYY-MM-DD, or a
// coarser YYYY-MM or YYYY where the source gives no day.
type Date struct {
	T    time.Time
	Text string
}

// ParseDate accepts YYYY-MM-DD, YYYY-MM and YYYY.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2006-01", "2006"} {
		if len(s) == len(layout) {
			if t, err := time.Parse(layout, s); err == nil {
				return Date{T: t, Text: s}, nil
			}
		}
	}
	return Date{}, fmt.Errorf("date %q is not YYYY-MM-DD, YYYY-MM or YYYY", s)
}

// IsZero reports an absent date.
func (d Date) IsZero() bool { return d.Text == "" }

func (d Date) String() string { return d.Text }

// MarshalText writes the date as it was given.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.Text), nil }

// UnmarshalYAML parses a date, naming the line of a bad one.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// UnmarshalText parses a date.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Role says what an entity is to an observation: the owner of the service
// or app, or only the network or hardware under it.
type Role string

// Roles an asset can give its entity.
const (
	RoleService    Role = "app-owner" // runs the service or app the device uses
	RoleSDK        Role = "sdk-owner" // its code is embedded in someone's app
	RoleHost       Role = "host"      // hosts or serves others' content (cloud, CDN)
	RoleCarrier    Role = "carrier"   // carries traffic (telecom operator)
	RoleDevice     Role = "device-maker"
	RoleChip       Role = "chip-maker" // made a component, says nothing of the data's owner
	RoleSigner     Role = "signer"     // signed an app
	RoleUnassigned Role = ""
)

var validRoles = map[Role]bool{RoleService: true, RoleSDK: true, RoleHost: true, RoleCarrier: true, RoleDevice: true, RoleChip: true, RoleSigner: true}

// Status is how well a fact is established.
type Status string

// Statuses, from the strongest.
const (
	Verified     Status = "verified"     // read in a primary source
	Listed       Status = "listed"       // listed by a named secondary source
	Corroborated Status = "corroborated" // several independent secondary sources
	SingleSource Status = "single-source"
	Unverified   Status = "unverified" // reported, not confirmed: reports must say so
)

var validStatus = map[Status]bool{Verified: true, Listed: true, Corroborated: true, SingleSource: true, Unverified: true}

// Source is a document facts are taken from.
type Source struct {
	ID      string `yaml:"id" json:"id"`
	Title   string `yaml:"title" json:"title"`
	URL     string `yaml:"url" json:"url,omitempty"`
	Date    Date   `yaml:"date" json:"date"`
	Licence string `yaml:"licence" json:"licence,omitempty"`
	Note    string `yaml:"note" json:"note,omitempty"`
	Pos     Pos    `yaml:"-" json:"-"`
}

// Pos is where a fact was read: file and line.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Entity is an organisation.
type Entity struct {
	ID           string       `yaml:"id" json:"id"`
	Name         string       `yaml:"name" json:"name"`
	Aka          []string     `yaml:"aka" json:"aka,omitempty"`
	Jurisdiction string       `yaml:"jurisdiction" json:"jurisdiction"`
	Incorporated string       `yaml:"incorporated" json:"incorporated,omitempty"`
	Roles        []Role       `yaml:"roles" json:"roles,omitempty"`
	Parents      []ParentLink `yaml:"parents" json:"parents,omitempty"`
	Note         string       `yaml:"note" json:"note,omitempty"`
	Source       string       `yaml:"source" json:"source"`
	AsOf         Date         `yaml:"as_of" json:"as_of"`
	Status       Status       `yaml:"status" json:"status,omitempty"`

	Pos Pos `yaml:"-" json:"-"`

	// Filled by Compile.
	Chain       []*Entity    `yaml:"-" json:"-"` // the entity, then its controlling parents up to the ultimate one
	Minority    []ParentLink `yaml:"-" json:"-"` // non-controlling owners anywhere on the chain
	Memberships []Membership `yaml:"-" json:"-"` // lists of every link of the chain
	Children    []*Entity    `yaml:"-" json:"-"`
}

// ParentLink is an ownership link. A share of 0 means "not stated" and is
// taken as control; a share under 50 is a minority stake and does not put
// the child under the parent's chain.
type ParentLink struct {
	ID     string  `yaml:"id" json:"id"`
	Share  float64 `yaml:"share" json:"share,omitempty"`
	Since  Date    `yaml:"since" json:"since,omitempty"`
	Until  Date    `yaml:"until" json:"until,omitempty"`
	Source string  `yaml:"source" json:"source"`
	AsOf   Date    `yaml:"as_of" json:"as_of"`
	Note   string  `yaml:"note" json:"note,omitempty"`
	Status Status  `yaml:"status" json:"status,omitempty"`
	Child  string  `yaml:"-" json:"child,omitempty"`
}

// Controlling reports whether the parent controls the child.
func (p ParentLink) Controlling() bool { return p.Share == 0 || p.Share > 50 }

// Current reports whether the link holds at t.
func (p ParentLink) Current(t time.Time) bool {
	if !p.Since.IsZero() && t.Before(p.Since.T) {
		return false
	}
	return p.Until.IsZero() || t.Before(p.Until.T)
}

// List is an official list or law that names entities or countries.
type List struct {
	ID        string      `yaml:"id" json:"id"`
	Name      string      `yaml:"name" json:"name"`
	Issuer    string      `yaml:"issuer" json:"issuer"`
	Basis     string      `yaml:"basis" json:"basis"`
	URL       string      `yaml:"url" json:"url,omitempty"`
	Date      Date        `yaml:"date" json:"date"`
	Source    string      `yaml:"source" json:"source"`
	Status    Status      `yaml:"status" json:"status,omitempty"`
	Note      string      `yaml:"note" json:"note,omitempty"`
	Countries []string    `yaml:"countries" json:"countries,omitempty"`
	Entries   []ListEntry `yaml:"entries" json:"entries,omitempty"`
	Pos       Pos         `yaml:"-" json:"-"`
}

// ListEntry puts one entity on a list.
type ListEntry struct {
	Entity string `yaml:"entity" json:"entity"`
	Added  Date   `yaml:"added" json:"added"`
	Scope  string `yaml:"scope" json:"scope,omitempty"`
	Source string `yaml:"source" json:"source,omitempty"`
	Status Status `yaml:"status" json:"status,omitempty"`
	Note   string `yaml:"note" json:"note,omitempty"`
	Line   int    `yaml:"-" json:"-"`
}

// Membership is one entity of a chain being on one list.
type Membership struct {
	List   *List
	Entry  *ListEntry
	Entity *Entity // the link of the chain that is listed
}

// AssetKind is what an asset identifies.
type AssetKind string

// Asset kinds.
const (
	KindDomain     AssetKind = "domain"       // suffix at a label boundary
	KindLabel      AssetKind = "domain-label" // a label anywhere before the suffix: "weixin." matches weixin.qq.com
	KindASN        AssetKind = "asn"
	KindPrefix     AssetKind = "prefix" // IPv4 or IPv6 CIDR, usually announced by a catalogued ASN
	KindCertOrg    AssetKind = "cert-org"
	KindAndroidApp AssetKind = "android-app"
	KindIOSApp     AssetKind = "ios-app"
	KindSDK        AssetKind = "sdk"      // Java/Kotlin package prefix
	KindOUI        AssetKind = "oui"      // MA-L, MA-M or MA-S prefix, hex with its bit length
	KindProgram    AssetKind = "program"  // desktop program publisher or name
	KindProtocol   AssetKind = "protocol" // an application protocol recognised by its payload (sniff/signature IDs)
)

// Asset is one catalogued fact that points at an entity.
type Asset struct {
	Entity *Entity   `json:"-"`
	Kind   AssetKind `json:"kind"`
	Value  string    `json:"value"`
	Role   Role      `json:"role"`
	Name   string    `json:"name,omitempty"` // product, app or SDK name the fact is about
	Source *Source   `json:"-"`
	AsOf   Date      `json:"as_of"`
	Status Status    `json:"status"`
	Note   string    `json:"note,omitempty"`
	Pos    Pos       `json:"-"`
}

// Rule is how reports name the catalog rule behind an attribution.
func (a *Asset) Rule() string { return string(a.Kind) + ":" + a.Value }
