// Package demo writes the demo capture: a deterministic pcap of a small
// office network in which a laptop browses TikTok, a phone syncs with DJI
// and talks to WeChat over QUIC, a DJI remote controller reaches DJI's
// servers, a desktop shops on Temu, a Hikvision camera talks to its cloud and
// everything else (a printer, Windows updates, Wikipedia, DNS over HTTPS, an
// Encrypted ClientHello) is ordinary or hides its name. `outflow demo` and
// README command one scan it; the golden tests of `outflow scan` compare
// their report with the Truth that Write returns.
//
// Frames are encoded by hand (Ethernet II, IPv4, TCP, UDP, ARP, with valid
// checksums, padded to the 60-byte Ethernet minimum as a mirror port
// captures them) rather than with gopacket's serialisers: the generator
// controls every byte, which keeps the output byte-identical for the same
// Options, and writes a 400 MB benchmark capture in a few seconds. TLS and
// QUIC handshakes come from internal/sniff/tlshello and internal/sniff/quic,
// DNS messages from miekg/dns; pcapgo writes the file.
//
// Each device's traffic is a script run as a coroutine (iter.Pull); scripts
// advance their own clocks and the writer merges them by timestamp, so
// devices overlap in time as on a real network while memory stays bounded
// by one pending frame per script whatever Options.Scale is.
//
// The package must never import the scanner, flow tracking, attribution or
// catalog packages: the Truth it reports is what the scene was built to
// contain, not what a scanner makes of it.
package demo
