// Package notify sends a fleet check's news to a webhook: a reminder a set
// time before the deadline for each device still due, and a notice when
// a device becomes overdue or is seen reaching a banned entity after the
// deadline. Each event is sent once: a Memory remembers what was sent, and
// an event whose POST failed is sent again on the next run.
//
// Two body formats: generic JSON ({"events": [...]}) and Slack's incoming
// webhook ({"text": ...}).
//
// It imports the fleet report model only; it must never import an
// inventory parser, a store backend or a command package.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/fleet"
)

// Event kinds.
const (
	Reminder = "reminder" // due, and the deadline is within a reminder's time
	Overdue  = "overdue"  // the deadline passed with the app installed
	Traffic  = "traffic"  // traffic to the banned entity after the deadline
)

// Event is one notification.
type Event struct {
	Kind        string     `json:"kind"`
	Key         string     `json:"key"` // what Memory remembers
	Device      string     `json:"device"`
	DeviceName  string     `json:"device_name,omitempty"`
	Owner       string     `json:"owner,omitempty"`
	Platform    string     `json:"platform,omitempty"`
	AppID       string     `json:"app_id,omitempty"`
	AppName     string     `json:"app_name,omitempty"`
	Entity      string     `json:"entity"`
	OwnerChain  []string   `json:"owner_chain"`
	Rule        string     `json:"rule"`
	Basis       string     `json:"basis,omitempty"`
	Deadline    *time.Time `json:"deadline"`
	TimeLeft    string     `json:"time_left,omitempty"`
	TrafficLast *time.Time `json:"traffic_last,omitempty"`
}

// Memory remembers the events sent. A store-backed one can replace the
// state file when the store keeps notifications.
type Memory interface {
	Sent(key string) bool
	Remember(keys []string, at time.Time) error
}

// Formats.
const (
	FormatJSON  = "json"
	FormatSlack = "slack"
)

// Config configures a Notifier.
type Config struct {
	URL    string
	Format string // FormatJSON (default) or FormatSlack
	// Before: remind this long before a deadline (several: one reminder
	// each). Default 72h.
	Before []time.Duration
	// Batch is how many events one POST carries. Default 50.
	Batch int
	// Timeout bounds each POST. Default 10s.
	Timeout time.Duration
}

// DefaultConfig reminds 72 hours before a deadline, in JSON.
func DefaultConfig() Config {
	return Config{Format: FormatJSON, Before: []time.Duration{72 * time.Hour}, Batch: 50, Timeout: 10 * time.Second}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("notify: webhook %q: not an http(s) URL", c.URL)
	}
	if c.Format != FormatJSON && c.Format != FormatSlack {
		return fmt.Errorf("notify: format %q: want json or slack", c.Format)
	}
	for _, b := range c.Before {
		if b <= 0 {
			return fmt.Errorf("notify: reminder time %v: must be positive", b)
		}
	}
	return nil
}

// Plan lists the events a report calls for that mem has not seen yet:
// for each installed app still due, one reminder for the shortest reminder
// time the deadline is within (so a first run a day before the deadline
// sends the one-day reminder, not also the week's); for each overdue app;
// for each traffic flag. An event's key names its rule, device, app and
// deadline: a moved deadline is news again.
func Plan(rep *fleet.Report, before []time.Duration, mem Memory) []Event {
	bs := slices.Clone(before)
	slices.Sort(bs)
	var out []Event
	for _, d := range rep.Devices {
		for _, a := range d.Apps {
			ev := Event{Device: d.Device, DeviceName: d.Name, Owner: d.Owner, Platform: d.Platform, AppID: a.AppID, AppName: a.Name,
				Entity: a.Entity, OwnerChain: a.OwnerChain, Rule: a.Rule, Basis: a.Basis, Deadline: a.Deadline}
			dl := "none"
			if a.Deadline != nil {
				dl = strconv.FormatInt(a.Deadline.Unix(), 10)
			}
			installed := a.AppID != "" && a.Removed == nil
			switch {
			case installed && a.Verdict == fleet.Due && a.Deadline != nil:
				left := a.Deadline.Sub(rep.Generated)
				i := slices.IndexFunc(bs, func(b time.Duration) bool { return left <= b })
				if i < 0 {
					break
				}
				e := ev
				e.Kind, e.TimeLeft = Reminder, a.TimeLeft
				e.Key = key(Reminder, bs[i].String(), a.Rule, d.Device, a.AppID, dl)
				if !mem.Sent(e.Key) {
					out = append(out, e)
				}
			case installed && a.Verdict == fleet.Overdue:
				e := ev
				e.Kind = Overdue
				e.Key = key(Overdue, a.Rule, d.Device, a.AppID, dl)
				if !mem.Sent(e.Key) {
					out = append(out, e)
				}
			}
			if a.Traffic != nil {
				e := ev
				e.Kind = Traffic
				t := a.Traffic.Last
				e.TrafficLast = &t
				e.Key = key(Traffic, a.Rule, d.Device, a.Traffic.Entity, dl)
				if !mem.Sent(e.Key) {
					out = append(out, e)
				}
			}
		}
	}
	return out
}

func key(parts ...string) string { return strings.Join(parts, "|") }

// Notifier posts events to a webhook.
type Notifier struct {
	cfg    Config
	mem    Memory
	client *http.Client
}

// New returns a Notifier; client nil means a default client.
func New(cfg Config, mem Memory, client *http.Client) (*Notifier, error) {
	def := DefaultConfig()
	if cfg.Format == "" {
		cfg.Format = def.Format
	}
	if len(cfg.Before) == 0 {
		cfg.Before = def.Before
	}
	if cfg.Batch <= 0 {
		cfg.Batch = def.Batch
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Notifier{cfg: cfg, mem: mem, client: client}, nil
}

// Notify sends the events a report calls for, in batches, remembering each
// batch once the webhook accepted it (any 2xx answer). It stops at the
// first failure: what was not sent is sent on the next run. It returns
// the number of events sent.
func (n *Notifier) Notify(ctx context.Context, rep *fleet.Report) (int, error) {
	evs := Plan(rep, n.cfg.Before, n.mem)
	sent := 0
	for len(evs) > 0 {
		k := min(n.cfg.Batch, len(evs))
		b := evs[:k]
		if err := n.post(ctx, rep, b); err != nil {
			return sent, err
		}
		keys := make([]string, len(b))
		for i, e := range b {
			keys[i] = e.Key
		}
		if err := n.mem.Remember(keys, rep.Generated); err != nil {
			return sent, err
		}
		sent += k
		evs = evs[k:]
	}
	return sent, nil
}

func (n *Notifier) post(ctx context.Context, rep *fleet.Report, evs []Event) error {
	var body []byte
	var err error
	if n.cfg.Format == FormatSlack {
		body, err = json.Marshal(map[string]string{"text": SlackText(evs)})
	} else {
		body, err = json.Marshal(struct {
			Source    string    `json:"source"`
			Generated time.Time `json:"generated"`
			Policy    string    `json:"policy"`
			Events    []Event   `json:"events"`
		}{"outflow fleet", rep.Generated, rep.Policy, evs})
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "outflow-fleet")
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
	}
	return nil
}

// StatusError is a webhook's refusal.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("notify: webhook answered %d %s: %q", e.Code, http.StatusText(e.Code), e.Body)
}

// ErrStatus matches any StatusError with errors.Is.
var ErrStatus = errors.New("notify: webhook refused")

// Is makes errors.Is(err, ErrStatus) true.
func (e *StatusError) Is(target error) bool { return target == ErrStatus }

// SlackText is the message for Slack: one line per event, with Slack's
// control characters escaped.
func SlackText(evs []Event) string {
	var b strings.Builder
	counts := map[string]int{}
	for _, e := range evs {
		counts[e.Kind]++
	}
	var parts []string
	for _, k := range []string{Overdue, Traffic, Reminder} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	fmt.Fprintf(&b, "*outflow fleet*: %s\n", strings.Join(parts, ", "))
	for _, e := range evs {
		who := e.Device
		if e.Owner != "" {
			who += " (" + e.Owner + ")"
		}
		app := e.AppName
		if app == "" {
			app = e.AppID
		}
		dl := "no deadline"
		if e.Deadline != nil {
			dl = "deadline " + e.Deadline.UTC().Format("2006-01-02 15:04 MST")
		}
		var line string
		switch e.Kind {
		case Reminder:
			line = fmt.Sprintf("DUE in %s: %s must remove %s (%s), rule %s, %s", e.TimeLeft, who, app, strings.Join(e.OwnerChain, " > "), e.Rule, dl)
		case Overdue:
			line = fmt.Sprintf("OVERDUE: %s still has %s (%s), rule %s, %s", who, app, strings.Join(e.OwnerChain, " > "), e.Rule, dl)
		default:
			line = fmt.Sprintf("TRAFFIC: %s reached %s after the deadline (last %s), rule %s, %s", who, strings.Join(e.OwnerChain, " > "),
				e.TrafficLast.UTC().Format("2006-01-02 15:04 MST"), e.Rule, dl)
		}
		b.WriteString("• " + slackEscape(line) + "\n")
	}
	return b.String()
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackEscape(s string) string { return slackEscaper.Replace(s) }
