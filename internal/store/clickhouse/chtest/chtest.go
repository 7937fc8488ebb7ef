// Package chtest starts real clickhouse-server processes for tests: one
// server, or two servers as the two shards of one cluster. Each server
// gets its own configuration file (listen_host 127.0.0.1, free loopback
// ports, data, logs and users under a temporary directory), is waited for
// until it answers, and is stopped when the test ends.
//
// Under CI=true a server that cannot start fails the test; elsewhere the
// test is skipped with the reason. It must never import an outflow
// package: it knows servers, not stores.
package chtest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is one running clickhouse-server.
type Server struct {
	Dir      string // its temporary directory
	Config   string // its configuration file
	TCPPort  int    // native protocol
	HTTPPort int
	cmd      *exec.Cmd
	done     chan error
}

// Addr is host:port of the native protocol.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.TCPPort) }

// URL is a --store value naming database db on this server.
func (s *Server) URL(db string) string { return "clickhouse://" + s.Addr() + "/" + db }

// Cluster is the name of the two-shard cluster Start2 defines.
const Cluster = "outflow2"

// binary finds the server program.
func binary() (string, error) {
	for _, b := range []string{"clickhouse-server", "clickhouse"} {
		if p, err := exec.LookPath(b); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no clickhouse-server in PATH (Debian: apt-get install clickhouse-server)")
}

// unavailable fails under CI and skips elsewhere.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("clickhouse: cannot start a server (CI=true, so this fails): %v", err)
	}
	t.Skipf("clickhouse: cannot start a server, skipping: %v", err)
}

// Start starts one server and stops it at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	ss, err := start(t, 1)
	if err != nil {
		unavailable(t, err)
	}
	return ss[0]
}

// Start2 starts two servers, each a shard of cluster Cluster.
func Start2(t testing.TB) (*Server, *Server) {
	t.Helper()
	ss, err := start(t, 2)
	if err != nil {
		unavailable(t, err)
	}
	return ss[0], ss[1]
}

func start(t testing.TB, n int) ([]*Server, error) {
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	ss := make([]*Server, n)
	for i := range ss {
		dir, err := os.MkdirTemp("", "outflow-ch-")
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		ports, err := freePorts(3)
		if err != nil {
			return nil, err
		}
		ss[i] = &Server{Dir: dir, Config: filepath.Join(dir, "config.xml"), TCPPort: ports[0], HTTPPort: ports[1]}
		ss[i].done = make(chan error, 1)
		_ = ports[2]
	}
	var shards strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&shards, "<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>", s.TCPPort)
	}
	for _, s := range ss {
		if err := s.writeConfig(shards.String()); err != nil {
			return nil, err
		}
		if err := s.start(t, bin); err != nil {
			return nil, err
		}
	}
	return ss, nil
}

func (s *Server) writeConfig(shards string) error {
	users := filepath.Join(s.Dir, "users.xml")
	u := `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`
	if err := os.WriteFile(users, []byte(u), 0o600); err != nil {
		return fmt.Errorf("clickhouse: %s: %w", users, err)
	}
	c := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>%[1]s/server.log</log><errorlog>%[1]s/server.err.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[4]s</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <mlock_executable>false</mlock_executable>
  <remote_servers><%[5]s>%[6]s</%[5]s></remote_servers>
</yandex>
`, s.Dir, s.TCPPort, s.HTTPPort, users, Cluster, shards)
	if err := os.WriteFile(s.Config, []byte(c), 0o600); err != nil {
		return fmt.Errorf("clickhouse: %s: %w", s.Config, err)
	}
	return nil
}

func (s *Server) start(t testing.TB, bin string) error {
	args := []string{"--config-file=" + s.Config}
	if filepath.Base(bin) == "clickhouse" {
		args = append([]string{"server"}, args...)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = s.Dir
	out, err := os.Create(filepath.Join(s.Dir, "stdout.log"))
	if err != nil {
		return err
	}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.cmd.SysProcAttr = ownGroup()
	if err := s.cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("clickhouse: %s --config-file=%s: %w", bin, s.Config, err)
	}
	go func() { s.done <- s.cmd.Wait(); out.Close() }()
	t.Cleanup(func() { s.Stop() })
	return s.wait(30 * time.Second)
}

// wait polls the HTTP /ping until the server answers, exits, or the
// deadline passes.
func (s *Server) wait(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("clickhouse: server with %s exited (%v): %s", s.Config, err, s.logTail())
		default:
		}
		if r, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/ping", s.HTTPPort)); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("clickhouse: server with %s did not answer in %v: %s", s.Config, limit, s.logTail())
}

func (s *Server) logTail() string {
	var b []byte
	for _, f := range []string{"server.err.log", "stdout.log"} {
		x, _ := os.ReadFile(filepath.Join(s.Dir, f))
		b = append(b, x...)
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Stop stops the server (SIGTERM, then SIGKILL after 20 s) and waits
// for it. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts a stopped server again on the same ports and data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	bin, err := binary()
	if err == nil {
		s.done = make(chan error, 1)
		err = s.start(t, bin)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// freePorts finds n free loopback TCP ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// CPU is the processor time (user and system) the server has used so
// far, from /proc (0 where there is none): benchmarks report it beside
// the wall time, which on a shared machine depends on everyone's load.
func (s *Server) CPU() time.Duration {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return ProcCPU(s.cmd.Process.Pid)
}

// ProcCPU is the processor time process pid has used, from
// /proc/PID/stat (0 where there is none).
func ProcCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// the fields after the command's name, which is in parentheses
	// and may hold spaces: state is the first, utime the 12th
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	var ticks int64
	for _, x := range f[11:13] {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ
}
