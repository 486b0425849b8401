package rudp

import (
	"net/netip"
	"strconv"
	"time"
)

// Output is what a state machine (Sender, Inbox) asks of its driver after
// a call: datagrams to send, in order, events to report, and when to call
// Tick next. Its slices belong to the machine and are valid only until the
// next call on it; a driver sends and reports them before that.
type Output struct {
	// Datagrams go to the peer: a Sender's receiver, or for an Inbox the
	// address of the datagram being handled (Tick sends nothing).
	Datagrams [][]byte
	// To, when not empty, holds where each of Datagrams goes: an
	// XInbox's acks held back go to many peers.
	To []netip.AddrPort
	// Events are the transfers that ended and the peers that came and
	// went, in order.
	Events []Event
	// Deadline is when Tick must be called at the latest; the zero time
	// means no timer is needed. Calling Tick early, or again, is harmless.
	Deadline time.Time
}

// EventKind says what an Event reports.
type EventKind uint8

// The kinds of Event. On a Sender only EventText and EventFile occur, once
// per item the receiver acknowledged in full.
const (
	// EventText is a text message received (Inbox) or delivered (Sender).
	EventText EventKind = iota + 1
	// EventFile is a file stored (Inbox) or delivered (Sender).
	EventFile
	// EventRefused is a transfer the receiver refused with FIN: Err says
	// why (a bad or reserved name, ErrTooLarge, shutting down).
	EventRefused
	// EventFailed is a transfer the receiver could not complete on its
	// side, a write error for instance; the sender was told with FIN.
	EventFailed
	// EventAborted is a transfer the sender cut short (a new INF, a FIN)
	// or the receiver dropped as it closed; what it had stored is gone.
	EventAborted
	// EventGone is a peer silent past the timeout, forgotten with any
	// unfinished transfer (Name is set then); Err is ErrPeerGone.
	EventGone
	// EventEnd is a peer that ended its session with FIN.
	EventEnd
)

var eventNames = [...]string{
	EventText: "text", EventFile: "file", EventRefused: "refused", EventFailed: "failed",
	EventAborted: "aborted", EventGone: "gone", EventEnd: "end",
}

// String returns the kind's lower-case name ("text", "file", ...).
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one thing a state machine reports: a transfer that ended, well
// or not, or a peer that went away.
type Event struct {
	Kind EventKind
	// Peer is the other side (an Inbox's sender; zero on a Sender's events,
	// whose driver knows its one peer).
	Peer netip.AddrPort
	// Text is the message of an EventText.
	Text string
	// Name is the file's name as sent, when the event concerns a file whose
	// name is known.
	Name string
	// Path is where an EventFile was stored: a name in the receiver's
	// folder, Name itself or Name with a suffix such as " (1)".
	Path string
	// Size is the content's length in bytes: of a text or a file delivered,
	// or what had arrived of one cut short.
	Size int64
	// Err says why for EventRefused, EventFailed, EventAborted and
	// EventGone.
	Err error
}
