// Package impair is a UDP relay that makes a network worse on purpose: it
// stands between clients and one target, forwards datagrams both ways, and
// on the way loses, duplicates, reorders, corrupts, delays and rate-limits
// them, in the manner of Linux netem, which this package replaces where the
// kernel has none. Tests and benchmarks put it in front of a server to see a
// protocol recover; a student runs it (netkit impair) to watch that happen.
//
// The relay is NAT-like. One socket faces the clients; each client address
// gets a session with its own connected socket toward the target, so the
// target's replies on that socket go back to that client. The session table
// is bounded (Relay.MaxSessions) and sessions idle for Relay.IdleTimeout
// expire.
//
// Each direction, upstream (client to target) and downstream (target to
// client), has its own Impairment, its own counters and its own random
// source, a PCG seeded from Relay.Seed, so one seed gives the same decisions
// for the same sequence of datagrams. Datagrams that must wait (delay,
// jitter, reordering, a rate limit) go to one scheduler goroutine per
// direction, which keeps them in a min-heap ordered by due time and
// releases them with one reused timer; the bytes it may hold are bounded
// (Relay.MaxQueue) and what does not fit is dropped and counted.
//
// A direction with no impairment is a straight copy: the datagram is
// written from the buffer it was read into, and nothing is allocated per
// datagram on any path (waiting datagrams live in pooled buffers).
package impair
