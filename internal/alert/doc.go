// Package alert delivers alerts to people and SIEMs: the first time a
// device talks to an entity of concern, traffic to an entity past a policy
// deadline, traffic from a device whose group's policy blocks the entity.
// Whoever detects the event builds an Alert and calls Notifier.Raise; this
// package decides whether it goes out and takes it there.
//
// Raise never blocks. An alert is deduplicated (one per kind, device,
// entity and rule per Config.Dedupe.Period, in bounded memory), rate
// limited (a token bucket; the overflow is counted), then queued to every
// sink. Each sink has its own bounded queue and goroutine, and retries a
// failed send with exponential backoff; a full queue drops the alert and
// counts it. Sinks:
//
//   - webhook: a generic JSON body (the Alert), Slack's {"text": ...} with
//     mrkdwn's &, < and > escaped, or a Microsoft Teams Adaptive Card (the
//     body Teams workflows take; the older MessageCard connectors are
//     retired).
//   - syslog: RFC 5424 over UDP (a datagram an alert) or TCP (octet
//     counting, RFC 6587), the fields in structured data, the summary as
//     the message; or, format cef, a CEF line as the message.
//   - file: CEF or JSON lines appended to a file a SIEM agent collects.
//
// Deduplication is in memory: a restart may send an alert again, which is
// the safe side. Kind is part of the key, as "first contact" and "past the
// deadline" are different news about the same device and entity.
//
// It must never import the store, the web UI, a command package, or the
// catalog and policy (an Alert carries their answers as plain values).
package alert
