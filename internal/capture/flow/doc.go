// Package flow tracks conversations in decoded packets: both directions of
// a TCP or UDP conversation in one record, bytes and packets each way,
// first and last seen, and the names learned for the far end (TLS and QUIC
// SNI, HTTP Host, the certificate subject, and DNS answers the device
// received). It also learns devices: the MAC of each inside address and its
// DHCP or mDNS name. It decides which end of a flow is the device when the
// flow begins (Tracker.deviceIsDst): the inside end; when neither end is
// inside, the capture's hub (hubs.go, the one piece of cross-flow state
// that orientation reads besides the on-link addresses); then the
// handshake and the server's port.
//
// Memory is bounded: the flow table, the DNS memory and the fragment table
// have fixed capacities; idle flows are evicted and handed to the sink, and
// every eviction for lack of room is counted.
//
// The tracker never attributes: it hands finished flows to a sink, which
// asks the attribution core. It must never import the catalog, attribute,
// or any report package.
package flow
