package alert

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// SyslogConfig is one syslog sink.
type SyslogConfig struct {
	Name    string `yaml:"name"`
	Network string `yaml:"network"` // udp (default) or tcp
	Address string `yaml:"address"` // host:port
	// Format: rfc5424 (default: fields in structured data) or cef (a CEF
	// line as the message).
	Format   string `yaml:"format"`
	Facility int    `yaml:"facility"` // 1 to 23; 0: 13 (log audit)
	Hostname string `yaml:"hostname"` // default: os.Hostname
	AppName  string `yaml:"app_name"` // default outflow
	// SDID names the structured data element. 32473 is IANA's example
	// enterprise number; an organisation with its own uses it.
	SDID string `yaml:"sd_id"`
	// MaxUDP bounds a datagram; longer messages are cut (default 8192).
	MaxUDP  int           `yaml:"max_udp"`
	Timeout time.Duration `yaml:"timeout"`
}

func (c SyslogConfig) name(i int) string {
	if c.Name != "" {
		return c.Name
	}
	return "syslog-" + strconv.Itoa(i)
}

// Validate checks the settings.
func (c SyslogConfig) Validate() error {
	if c.Network != "" && c.Network != "udp" && c.Network != "tcp" {
		return fmt.Errorf("alert: syslog %q: network %q: want udp or tcp", c.Name, c.Network)
	}
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		return fmt.Errorf("alert: syslog %q: address: %w", c.Name, err)
	}
	if c.Format != "" && c.Format != "rfc5424" && c.Format != "cef" {
		return fmt.Errorf("alert: syslog %q: format %q: want rfc5424 or cef", c.Name, c.Format)
	}
	if c.Facility < 0 || c.Facility > 23 {
		return fmt.Errorf("alert: syslog %q: facility %d: want 0 to 23", c.Name, c.Facility)
	}
	if c.SDID != "" && !validSDName(c.SDID) {
		return fmt.Errorf("alert: syslog %q: sd_id %q: want printable ASCII without space, =, ] or \"", c.Name, c.SDID)
	}
	return nil
}

type syslogSink struct {
	cfg  SyslogConfig
	name string
	mu   sync.Mutex
	conn net.Conn
}

func newSyslog(c SyslogConfig, i int) *syslogSink {
	if c.Network == "" {
		c.Network = "udp"
	}
	if c.Format == "" {
		c.Format = "rfc5424"
	}
	if c.Facility == 0 {
		c.Facility = 13
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	if c.AppName == "" {
		c.AppName = "outflow"
	}
	if c.SDID == "" {
		c.SDID = "outflow@32473"
	}
	if c.MaxUDP <= 0 {
		c.MaxUDP = 8192
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	return &syslogSink{cfg: c, name: c.name(i)}
}

func (s *syslogSink) Name() string { return s.name }

func (s *syslogSink) Send(ctx context.Context, a *Alert) error {
	msg := Syslog(a, s.cfg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		d := net.Dialer{Timeout: s.cfg.Timeout}
		c, err := d.DialContext(ctx, s.cfg.Network, s.cfg.Address)
		if err != nil {
			return fmt.Errorf("alert: syslog %s: %w", s.name, err)
		}
		s.conn = c
	}
	var frame []byte
	if s.cfg.Network == "tcp" {
		// RFC 6587 octet counting: the length, a space, the message.
		frame = append(strconv.AppendInt(nil, int64(len(msg)), 10), ' ')
		frame = append(frame, msg...)
	} else {
		frame = []byte(truncUTF8(msg, s.cfg.MaxUDP))
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.cfg.Timeout))
	if _, err := s.conn.Write(frame); err != nil {
		s.conn.Close()
		s.conn = nil // redial on the retry
		return fmt.Errorf("alert: syslog %s: %w", s.name, err)
	}
	return nil
}

func (s *syslogSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// Syslog is the RFC 5424 message of an alert (no trailing newline):
// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG, where MSGID is
// the kind and MSG the summary, or with Format cef, the CEF line.
func Syslog(a *Alert, c SyslogConfig) string {
	var b strings.Builder
	b.WriteByte('<')
	b.WriteString(strconv.Itoa(c.Facility*8 + a.Severity()))
	b.WriteString(">1 ")
	b.WriteString(a.Time.UTC().Format("2006-01-02T15:04:05.000000Z"))
	for _, f := range []struct {
		v   string
		max int
	}{{c.Hostname, 255}, {c.AppName, 48}, {strconv.Itoa(os.Getpid()), 128}, {string(a.Kind), 32}} {
		b.WriteByte(' ')
		b.WriteString(headerField(f.v, f.max))
	}
	b.WriteByte(' ')
	if c.Format == "cef" {
		b.WriteString("- ")
		b.WriteString(CEF(a, "1"))
		return b.String()
	}
	sdid := c.SDID
	if !validSDName(sdid) {
		sdid = "outflow@32473"
	}
	b.WriteString("[" + sdid)
	param := func(k, v string) {
		if v == "" {
			return
		}
		b.WriteString(" " + k + `="`)
		b.WriteString(sdEscaper.Replace(oneLine(v)))
		b.WriteByte('"')
	}
	param("kind", string(a.Kind))
	param("site", a.Site)
	if a.Device.IsValid() {
		param("device", a.Device.String())
	}
	param("deviceName", a.DeviceName)
	param("entity", a.Entity)
	param("entityName", a.EntityName)
	param("jurisdiction", a.Jurisdiction)
	param("rule", a.Rule)
	if !a.Deadline.IsZero() {
		param("deadline", a.Deadline.UTC().Format(time.RFC3339))
	}
	for _, e := range a.Evidence {
		param("evidence", e.Kind+":"+e.Value)
	}
	if a.Bytes > 0 {
		param("bytes", strconv.FormatUint(a.Bytes, 10))
	}
	b.WriteString("] ")
	b.WriteString(a.Text())
	return b.String()
}

// sdEscaper escapes a PARAM-VALUE (RFC 5424 section 6.3.3).
var sdEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "]", `\]`)

// headerField makes a header field PRINTUSASCII of at most max octets,
// "-" when empty.
func headerField(s string, max int) string {
	out := make([]byte, 0, min(len(s), max))
	for i := 0; i < len(s) && len(out) < max; i++ {
		if c := s[i]; c > 32 && c < 127 {
			out = append(out, c)
		} else {
			out = append(out, '_')
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return string(out)
}

func validSDName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 32 || c >= 127 || c == '=' || c == ']' || c == '"' {
			return false
		}
	}
	return true
}

func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s[max(0, len(s)-3):]) {
		s = s[:len(s)-1]
	}
	return s
}

// FileConfig is a file sink: CEF or JSON lines appended to Path.
type FileConfig struct {
	Name   string `yaml:"name"`
	Path   string `yaml:"path"`
	Format string `yaml:"format"` // cef (default) or json
}

func (c FileConfig) name(i int) string {
	if c.Name != "" {
		return c.Name
	}
	return "file-" + strconv.Itoa(i)
}

// Validate checks the settings.
func (c FileConfig) Validate() error {
	if c.Path == "" {
		return fmt.Errorf("alert: file %q: path is empty", c.Name)
	}
	if c.Format != "" && c.Format != "cef" && c.Format != FormatJSON {
		return fmt.Errorf("alert: file %q: format %q: want cef or json", c.Name, c.Format)
	}
	return nil
}

type fileSink struct {
	cfg  FileConfig
	name string
	f    *os.File
}

func newFileSink(c FileConfig, i int) *fileSink { return &fileSink{cfg: c, name: c.name(i)} }

func (s *fileSink) Name() string { return s.name }

// Send appends one line. The file is opened on first use and kept; a
// write error closes it so that the retry reopens (after a rotation).
func (s *fileSink) Send(_ context.Context, a *Alert) error {
	var line []byte
	if s.cfg.Format == FormatJSON {
		b, err := WebhookBody(FormatJSON, a)
		if err != nil {
			return Permanent(err)
		}
		line = b
	} else {
		line = []byte(CEF(a, "1"))
	}
	if s.f == nil {
		f, err := os.OpenFile(s.cfg.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("alert: file %s: %w", s.cfg.Path, err)
		}
		s.f = f
	}
	if _, err := s.f.Write(append(line, '\n')); err != nil {
		s.f.Close()
		s.f = nil
		return fmt.Errorf("alert: file %s: %w", s.cfg.Path, err)
	}
	return nil
}

func (s *fileSink) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return errors.Join(err)
}
