package flowrec

// LikelyServerPort reports whether a port is one that servers listen on
// rather than one a client's system picks for a connection: any port
// below 1024, and the registered service ports above it that the traffic
// outflow reads uses (the idea of Zeek's likely_server_ports, narrowed to a
// short list). The capture tracker orients a flow with it when no
// handshake says who began, and scan marks a device that answers most of
// its flows on such ports as looking like a server.
//
// The list stays short on purpose: a client's own port (an ephemeral one,
// or any a carrier's NAT picks from 1024-65535) that happens to be listed
// would turn its flow around, so only ports that name a service well
// are here.
func LikelyServerPort(port uint16) bool {
	if port == 0 {
		return false
	}
	if port < 1024 {
		return true
	}
	_, ok := serverPorts[port]
	return ok
}

// serverPorts are the registered ports above 1023 taken as a server's.
var serverPorts = map[uint16]struct{}{
	1194:  {}, // OpenVPN
	1433:  {}, // Microsoft SQL Server
	1723:  {}, // PPTP
	1883:  {}, // MQTT
	3306:  {}, // MySQL
	3389:  {}, // RDP
	3478:  {}, // STUN, TURN
	3479:  {}, // STUN, TURN (alternate)
	4433:  {}, // HTTPS alternate
	5060:  {}, // SIP
	5061:  {}, // SIP over TLS
	5222:  {}, // XMPP client-to-server (push services among them)
	5223:  {}, // XMPP over TLS; Apple push (APNs)
	5228:  {}, // Google's push (FCM, GCM)
	5349:  {}, // STUN, TURN over TLS
	5353:  {}, // mDNS
	5432:  {}, // PostgreSQL
	5683:  {}, // CoAP
	6379:  {}, // Redis
	8000:  {}, // Tencent QQ (OICQ over UDP); HTTP alternate
	8008:  {}, // HTTP alternate
	8080:  {}, // HTTP alternate, proxies
	8443:  {}, // HTTPS alternate
	8883:  {}, // MQTT over TLS
	8888:  {}, // HTTP alternate
	9443:  {}, // HTTPS alternate
	27017: {}, // MongoDB
}
