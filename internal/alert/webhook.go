package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhook body formats.
const (
	FormatJSON  = "json"
	FormatSlack = "slack"
	FormatTeams = "teams"
)

// WebhookConfig is one webhook sink.
type WebhookConfig struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Format string `yaml:"format"` // json (default), slack or teams
	// Timeout of one POST (default 10 s).
	Timeout time.Duration `yaml:"timeout"`
}

func (c WebhookConfig) name(i int) string {
	if c.Name != "" {
		return c.Name
	}
	return "webhook-" + strconv.Itoa(i)
}

// Validate checks the URL and the format.
func (c WebhookConfig) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("alert: webhook %q: url must be an http or https URL with a host", c.Name)
	}
	switch c.Format {
	case "", FormatJSON, FormatSlack, FormatTeams:
	default:
		return fmt.Errorf("alert: webhook %q: format %q: want json, slack or teams", c.Name, c.Format)
	}
	return nil
}

type webhook struct {
	cfg  WebhookConfig
	name string
	http *http.Client
}

func newWebhook(c WebhookConfig, i int, h *http.Client) *webhook {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	return &webhook{cfg: c, name: c.name(i), http: h}
}

func (w *webhook) Name() string { return w.name }
func (w *webhook) Close() error { return nil }

func (w *webhook) Send(ctx context.Context, a *Alert) error {
	body, err := WebhookBody(w.cfg.Format, a)
	if err != nil {
		return Permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("alert: webhook %s: %w", w.name, err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.http.Do(req)
	if err != nil {
		return fmt.Errorf("alert: webhook %s: %w", w.name, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return fmt.Errorf("alert: webhook %s: %s", w.name, resp.Status)
	}
	return Permanent(fmt.Errorf("alert: webhook %s: %s", w.name, resp.Status))
}

// WebhookBody is the POST body of an alert in a format.
func WebhookBody(format string, a *Alert) ([]byte, error) {
	switch format {
	case FormatSlack:
		return json.Marshal(map[string]string{"text": SlackText(a)})
	case FormatTeams:
		return json.Marshal(teamsCard(a))
	}
	b := *a
	b.Summary = a.Text()
	return json.Marshal(&b)
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// SlackText is the alert in Slack mrkdwn: a bold title and the summary,
// with &, < and > escaped as Slack requires (so that a device name cannot
// become a link or a mention).
func SlackText(a *Alert) string {
	return "*" + slackEscaper.Replace(a.Title()) + "*\n" + slackEscaper.Replace(a.Text())
}

// Adaptive Card TextBlocks render a markdown subset: escape its marks so
// that names show as written.
var teamsEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`, "#", `\#`, "`", "\\`", "~", `\~`, "<", "&lt;", ">", "&gt;")

func teamsCard(a *Alert) map[string]any {
	e := teamsEscaper.Replace
	facts := []map[string]string{}
	add := func(k, v string) {
		if v != "" {
			facts = append(facts, map[string]string{"title": k, "value": e(oneLine(v))})
		}
	}
	add("Device", a.Device.String())
	add("Device name", a.DeviceName)
	add("Entity", a.EntityName+" ("+a.Entity+")")
	add("Jurisdiction", a.Jurisdiction)
	add("Rule", a.Rule)
	if !a.Deadline.IsZero() {
		add("Deadline", a.Deadline.UTC().Format("2006-01-02"))
	}
	for _, ev := range a.Evidence {
		add("Evidence", ev.Kind+": "+ev.Value)
	}
	if a.Bytes > 0 {
		add("Bytes", strconv.FormatUint(a.Bytes, 10))
	}
	add("Site", a.Site)
	add("Time", a.Time.UTC().Format(time.RFC3339))
	card := map[string]any{
		"type":    "AdaptiveCard",
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"version": "1.4",
		"body": []any{
			map[string]any{"type": "TextBlock", "text": e(a.Title()), "weight": "Bolder", "size": "Medium", "wrap": true},
			map[string]any{"type": "TextBlock", "text": e(a.Text()), "wrap": true},
			map[string]any{"type": "FactSet", "facts": facts},
		},
	}
	return map[string]any{"type": "message", "attachments": []any{
		map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": card},
	}}
}
