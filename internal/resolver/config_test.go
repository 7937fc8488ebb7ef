package resolver

import (
	"strings"
	"testing"
	"time"
)

func TestExampleConfig(t *testing.T) {
	c, err := LoadConfig("testdata/resolver.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Upstream.Servers) != 3 || c.Upstream.Servers[0].ServerName != "dns.quad9.net" || c.Cache.Stale != 24*time.Hour ||
		c.QueryLog.MaxAge != 90*24*time.Hour || c.RateLimit.Burst != 2000 || c.Listen.HTTPS[0].Paths[0] != "/dns-query" ||
		c.Listen.MaxTCPPerClient != 32 || c.Listen.TCPIdle != 10*time.Second ||
		len(c.Clients.Leases) != 2 || c.Clients.Neighbours != "/proc/net/arp" || c.Clients.Refresh != 10*time.Second {
		t.Errorf("config = %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"listen: {udp: [a]}\nupstream: {servers: [{address: 127.0.0.1}]}\nchache: {}\n", `r.yaml:3:1: unknown key "chache" at top level; allowed: answers, block, cache,`},
		{"upstream: {servers: [{address: 127.0.0.1, sever_name: x}]}\n", `r.yaml:1:43: unknown key "sever_name" in upstream.servers[0]; allowed: address, ca_file, server_name`},
		{"cache: {size: lots}\n", "r.yaml:1:15: cache.size: cannot unmarshal !!str `lots` into int"},
		{"listen: {udp: [], tcp: []}\nupstream: {servers: [{address: 127.0.0.1}]}\n", "no listener"},
		{"query_log: {overflow: drop}\nupstream: {servers: [{address: 127.0.0.1}]}\n", "overflow must be shed or block"},
		{"listen: {udp: [a], tcp_idle: 0s}\nupstream: {servers: [{address: 127.0.0.1}]}\n", "tcp_idle must be positive"},
		{"listen: {udp: [a], max_tcp_per_client: -1}\nupstream: {servers: [{address: 127.0.0.1}]}\n", "max_tcp_per_client must not be negative"},
		{"clients: {refresh: -1s}\nupstream: {servers: [{address: 127.0.0.1}]}\n", "clients: refresh must not be negative"},
		{"clients: {lease: [x]}\n", `r.yaml:1:11: unknown key "lease" in clients; allowed: ipv6_neighbours, leases, neighbours, refresh`},
		{"policy: p.yaml\nblock: [x]\nupstream: {servers: [{address: 127.0.0.1}]}\n", "not both"},
	}
	for _, tc := range tests {
		_, err := ParseConfig("r.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
