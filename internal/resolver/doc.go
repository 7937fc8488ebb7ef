// Package resolver is outflow's filtering DNS resolver: it answers clients
// over UDP, TCP, DNS over TLS and DNS over HTTPS, asks the catalog and the
// policy about the question name, every CNAME and HTTPS/SVCB target of the
// answer and every answer address, and refuses what the policy blocks. It
// caches answers (prefetch, serve-stale), forwards misses to upstreams
// with failover, limits each client's rate, logs every query to the query
// log, exports Prometheus metrics, and reloads policy and catalog on
// SIGHUP or when their files change, keeping the old ones if the new ones
// are broken.
//
// The hot path (a cache hit or a blocked name over UDP) works on the
// packet's bytes with the wire package and does not allocate; the miss
// path uses miekg/dns. A cache entry remembers the policy's verdict on
// its answer for a few client groups (verdict in handle.go), valid for
// one policy generation and until the next rule deadline, so that a
// repeated hit does not ask the catalog or the policy again. Nothing is logged per query except to the query
// log. On Linux each UDP worker has its own SO_REUSEPORT socket, taken out
// of Go's network poller and read and written with blocking recvmmsg and
// sendmmsg, up to 32 datagrams a call (listen_batch.go, mmsg_linux.go):
// written by hand because no library batches without allocating a source
// address per datagram, and the poller's edge-triggered EPOLLOUT wake-up
// on every sent datagram costs more than answering from the cache.
//
// It is a sink of the core: it imports catalog, attribute and policy, and
// must never import a command package, the store or the web UI.
package resolver
