package quic

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// ServerInitialKeys derives the keys protecting the server's Initial
// packets.
func ServerInitialKeys(version uint32, dcid []byte) (Keys, error) {
	return initialKeys(version, dcid, "server in")
}
