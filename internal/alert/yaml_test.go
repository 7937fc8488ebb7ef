package alert

import (
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/yamlconf"
)

func TestYAMLConfig(t *testing.T) {
	c := DefaultConfig()
	in := "dedupe:\n  period: 1h\nretry:\n  initial: 2s\nwebhooks:\n  - url: https://hooks.slack.com/x\n    format: slack\nsyslog:\n  - address: 127.0.0.1:514\n    network: tcp\n    format: cef\n"
	if err := yamlconf.Decode("alerts.yaml", []byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if c.Dedupe.Period != time.Hour || c.Retry.Initial != 2*time.Second || c.Queue != 1000 || c.Webhooks[0].Format != "slack" || c.Syslog[0].Format != "cef" {
		t.Fatalf("%+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	err := yamlconf.Decode("alerts.yaml", []byte("webhooks:\n  - urll: x\n"), &c)
	if err == nil || !strings.Contains(err.Error(), `alerts.yaml:2:5: unknown key "urll" in webhooks[0]; allowed: format, name, timeout, url`) {
		t.Fatalf("unknown key: %v", err)
	}
}
