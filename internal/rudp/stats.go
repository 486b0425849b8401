package rudp

import "time"

// Stats counts a Sender's work.
type Stats struct {
	// Items counts the items the receiver acknowledged in full.
	Items int
	// Bytes counts the content bytes acknowledged: texts and files, not
	// names or headers.
	Bytes int64
	// Frames counts datagrams sent, of every type, retransmissions
	// included; WireBytes their bytes.
	Frames    uint64
	WireBytes uint64
	// Retransmissions counts frames sent again, after a NACK or a timeout.
	Retransmissions uint64
	// NACKs counts the NACKs received for the frame outstanding.
	NACKs uint64
	// Timeouts counts the retransmission timeouts that expired.
	Timeouts uint64
	// Corrupted counts DAT frames sent damaged on purpose (CorruptEvery).
	Corrupted uint64
	// KeepAlives counts the KPA frames sent.
	KeepAlives uint64
	// Received counts the datagrams received; Dropped those that were not
	// valid frames or not for a sender, Stale the valid answers that did
	// not answer what was outstanding (duplicates, late ones).
	Received, Dropped, Stale uint64
	// SRTT and RTTVar are the smoothed round-trip time and its variation
	// (RFC 6298), from the ACKs of frames sent once; zero before the
	// first. RTTSamples counts those ACKs.
	SRTT, RTTVar time.Duration
	RTTSamples   uint64
	// RTO is the retransmission timeout in force.
	RTO time.Duration

	// Extended reports a session in the extended mode, Sealed one with a
	// secret, Legacy one in the legacy protocol (asked for, or fallen
	// back to).
	Extended, Sealed, Legacy bool
	// Cipher is what a sealed session's frames are sealed with: "AESGCM"
	// (AES-256-GCM) or "ChaChaPoly" (ChaCha20-Poly1305); empty when not
	// sealed.
	Cipher string
	// Cwnd is the congestion window in fragments (extended).
	Cwnd int
	// Acks counts the SACKs received; Lost the fragments taken for lost
	// (by later acks or a timeout); LossEvents the window reductions;
	// Replays the sealed frames dropped as replays (extended).
	Acks, Lost, LossEvents, Replays uint64
	// Probes counts tail loss probes: the oldest fragment in flight sent
	// again after two round trips without an ack.
	Probes uint64
	// Resumed counts content bytes not sent because the receiver had them
	// from an earlier, interrupted transfer.
	Resumed int64
}

// InboxStats counts an Inbox's work.
type InboxStats struct {
	// Datagrams counts what arrived; Malformed the datagrams that were not
	// frames (wire.Parse failed, other than on the crc of a DAT) or did
	// not fit their transfer.
	Datagrams, Malformed uint64
	// ACKs and NACKs count the answers sent; a NACK answers a DAT whose
	// crc failed.
	ACKs, NACKs uint64
	// Duplicates counts DATs received again and re-ACKed without storing;
	// Repeats INFs received again and re-ACKed without restarting.
	Duplicates, Repeats uint64
	// Dropped counts valid frames answered with nothing: a DAT out of
	// order or from a peer with no transfer, a stray ACK.
	Dropped uint64
	// Texts and Files count the messages delivered and files stored;
	// Bytes their content bytes.
	Texts, Files uint64
	Bytes        uint64
	// Refused, Failed, Aborted and Gone count the transfers and peers
	// reported with those events.
	Refused, Failed, Aborted, Gone uint64
	// PeersRefused counts datagrams from new peers refused because
	// MaxPeers peers, or MaxPerAddr from their address, were already
	// there and none could be evicted.
	PeersRefused uint64
	// Evicted counts peers forgotten to make room for a new one, having
	// moved no data for IdleEvict (extended: or having no transfer).
	Evicted uint64
	// Resumed counts content bytes found in partial files and not
	// received again (extended mode).
	Resumed uint64
	// Peers is the number of peers known now, Active the transfers in
	// progress now.
	Peers, Active int
}

// add returns the sum of two InboxStats.
func (a InboxStats) add(b InboxStats) InboxStats {
	a.Datagrams += b.Datagrams
	a.Malformed += b.Malformed
	a.ACKs += b.ACKs
	a.NACKs += b.NACKs
	a.Duplicates += b.Duplicates
	a.Repeats += b.Repeats
	a.Dropped += b.Dropped
	a.Texts += b.Texts
	a.Files += b.Files
	a.Bytes += b.Bytes
	a.Refused += b.Refused
	a.Failed += b.Failed
	a.Aborted += b.Aborted
	a.Gone += b.Gone
	a.PeersRefused += b.PeersRefused
	a.Evicted += b.Evicted
	a.Resumed += b.Resumed
	a.Peers += b.Peers
	a.Active += b.Active
	return a
}
