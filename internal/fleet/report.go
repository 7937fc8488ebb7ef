package fleet

import (
	"fmt"
	"time"
)

// DeviceVerdict is what a fleet check finds for one banned app on one
// device; a device's is the worst of its apps'.
type DeviceVerdict uint8

// Verdicts, from the mildest.
const (
	Compliant DeviceVerdict = iota // not installed (any more)
	Due                            // installed, the deadline is ahead
	Overdue                        // installed after the deadline (or under a rule in force with none)
)

var verdictNames = [...]string{Compliant: "compliant", Due: "due", Overdue: "overdue"}

func (v DeviceVerdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "unknown"
}

// MarshalText names the verdict in JSON.
func (v DeviceVerdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Report is the result of a check. Its JSON form is documented in
// docs/inventory.md ("Checking a fleet").
type Report struct {
	Generated time.Time     `json:"generated"` // the check's clock
	Policy    string        `json:"policy"`
	Inputs    []Input       `json:"inputs,omitempty"`
	Summary   Summary       `json:"summary"`
	Rules     []RuleSummary `json:"rules"`
	// Devices with at least one banned app (installed or removed) or a
	// traffic flag; every device when the check was asked for all.
	Devices []Device `json:"devices"`
	// Problems are the first malformed records of all inputs, in input
	// order (each input's are in Inputs too).
	Problems []string `json:"problems,omitempty"`
}

// Input is one inventory read.
type Input struct {
	File      string `json:"file"`
	Format    string `json:"format"`
	Items     int    `json:"items"`
	Malformed int    `json:"malformed"`
	Error     string `json:"error,omitempty"` // the input could not be read (to its end)
	// Problems are its first malformed records, "file:line: cause".
	Problems []string `json:"problems,omitempty"`
}

// Summary counts devices by their worst verdict.
type Summary struct {
	Devices   int `json:"devices"`
	Items     int `json:"items"`
	Malformed int `json:"malformed"`
	Compliant int `json:"compliant"`
	Due       int `json:"due"`
	Overdue   int `json:"overdue"`
	// Flagged: devices with traffic to a banned entity after the deadline
	// (whatever their inventory says).
	Flagged int `json:"traffic_after_deadline"`
	// NextDeadline is the nearest deadline still ahead with devices due.
	NextDeadline *time.Time `json:"next_deadline,omitempty"`
	TimeLeft     string     `json:"time_left,omitempty"`
}

// Concern reports whether any device is due, overdue or flagged.
func (s Summary) Concern() bool { return s.Due+s.Overdue+s.Flagged > 0 }

// RuleSummary is one block rule and the devices under it.
type RuleSummary struct {
	Rule     string     `json:"rule"`
	Basis    string     `json:"basis,omitempty"`
	Deadline *time.Time `json:"deadline,omitempty"`
	TimeLeft string     `json:"time_left,omitempty"` // until the deadline, when ahead
	// Devices the rule applies to (by its groups), and of those how many
	// are compliant, due or overdue for it, and flagged for its entities.
	Devices   int `json:"devices"`
	Compliant int `json:"compliant"`
	Due       int `json:"due"`
	Overdue   int `json:"overdue"`
	Flagged   int `json:"traffic_after_deadline"`
}

// Device is one device and its banned apps.
type Device struct {
	Device   string        `json:"device"`
	Name     string        `json:"name,omitempty"`
	Owner    string        `json:"owner,omitempty"`
	Platform string        `json:"platform,omitempty"`
	Tags     []string      `json:"tags,omitempty"`
	Group    string        `json:"group,omitempty"` // first policy group
	Verdict  DeviceVerdict `json:"verdict"`         // the worst of its apps
	Flagged  bool          `json:"traffic_after_deadline,omitempty"`
	Apps     []App         `json:"apps"`
}

// App is one banned app on one device (or, for a traffic flag without an
// installed app, the entity the traffic reached).
type App struct {
	AppID      string   `json:"app_id"`
	Name       string   `json:"name,omitempty"`
	Version    string   `json:"version,omitempty"`
	Kind       string   `json:"kind,omitempty"`
	Publisher  string   `json:"publisher,omitempty"`
	Entity     string   `json:"entity"`
	EntityName string   `json:"entity_name,omitempty"`
	OwnerChain []string `json:"owner_chain"`
	Lists      []string `json:"lists,omitempty"`
	By         string   `json:"matched_by,omitempty"` // app-id, app-id-prefix, publisher
	Confidence string   `json:"confidence,omitempty"`
	Catalog    string   `json:"catalog_rule,omitempty"`
	Unverified bool     `json:"unverified,omitempty"` // the catalog fact is unverified

	Rule     string        `json:"rule"`
	Basis    string        `json:"basis,omitempty"`
	Verdict  DeviceVerdict `json:"verdict"`
	Deadline *time.Time    `json:"deadline"` // null: in force with no deadline
	TimeLeft string        `json:"time_left,omitempty"`
	Removed  *time.Time    `json:"removed,omitempty"` // when the inventory said it was uninstalled
	Source   string        `json:"source,omitempty"`  // file:line

	Traffic *Traffic `json:"traffic_after_deadline,omitempty"`
}

// Traffic is what the store saw of a device reaching a banned entity
// after the deadline.
type Traffic struct {
	Entity string    `json:"entity"`
	Last   time.Time `json:"last"`
	Via    string    `json:"via"` // flows, dns
}

// Left formats the time until a deadline for people: "3d4h", "5h20m",
// "12m"; "" when it has passed.
func Left(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "<1m"
	}
	days, h, m := d/(24*time.Hour), (d%(24*time.Hour))/time.Hour, (d%time.Hour)/time.Minute
	switch {
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}
