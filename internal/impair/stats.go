package impair

// Stats is a snapshot of a Relay's counters.
type Stats struct {
	// Seed is the seed the relay's decisions come from.
	Seed int64 `json:"seed"`
	// Up counts client-to-target datagrams, Down target-to-client ones.
	Up   DirStats `json:"up"`
	Down DirStats `json:"down"`
	// Sessions is the number of client addresses with a session now.
	Sessions int `json:"sessions"`
	// SessionsOpened and SessionsExpired count sessions begun and ended
	// for idleness.
	SessionsOpened  uint64 `json:"sessions_opened"`
	SessionsExpired uint64 `json:"sessions_expired"`
	// SessionsRefused counts datagrams dropped because they came from a
	// new client address while the session table was full (or a socket
	// toward the target could not be opened). They are not in Up.
	SessionsRefused uint64 `json:"sessions_refused"`
}

// DirStats counts the datagrams going one way. Received datagrams end up
// forwarded (once, or twice if duplicated), lost, rate-dropped, overflowed,
// oversize, failed (Errors) or still waiting to be sent.
type DirStats struct {
	// Received and ReceivedBytes count datagrams taken in to relay.
	Received      uint64 `json:"received"`
	ReceivedBytes uint64 `json:"received_bytes"`
	// Forwarded and ForwardedBytes count datagrams sent on, duplicates
	// included. A datagram is counted as its write starts, so whoever
	// receives it finds it counted.
	Forwarded      uint64 `json:"forwarded"`
	ForwardedBytes uint64 `json:"forwarded_bytes"`
	// Lost counts datagrams dropped by Impairment.Loss.
	Lost uint64 `json:"lost"`
	// Duplicated counts datagrams sent twice.
	Duplicated uint64 `json:"duplicated"`
	// Reordered counts datagrams held back that another overtook.
	Reordered uint64 `json:"reordered"`
	// Corrupted counts datagrams with a bit flipped.
	Corrupted uint64 `json:"corrupted"`
	// Delayed counts datagrams given a delay above zero.
	Delayed uint64 `json:"delayed"`
	// RateQueued counts datagrams that waited for the rate limit;
	// RateDropped those dropped because its queue was full.
	RateQueued  uint64 `json:"rate_queued"`
	RateDropped uint64 `json:"rate_dropped"`
	// Overflow counts datagrams dropped because the relay already held
	// Relay.MaxQueue bytes waiting in this direction.
	Overflow uint64 `json:"overflow"`
	// Oversize counts datagrams longer than Relay.MaxDatagram, dropped.
	Oversize uint64 `json:"oversize"`
	// Errors counts datagrams the socket would not send, and errors the
	// target's side reported (ICMP port unreachable: nothing listening).
	Errors uint64 `json:"errors"`
}
