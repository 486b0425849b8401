package timeproto

import (
	"fmt"
	"time"
)

// Defaults that ServerInfo's zero fields stand for. They present a local,
// undisciplined clock the way chrony's "local" directive does: far enough
// down the strata that a client with any real source prefers it.
const (
	DefaultStratum   = 10
	DefaultPrecision = -20 // 2^-20 s, about 1 µs: modest for time.Now on common systems
)

// defaultRefID is what a zero ServerInfo.RefID stands for. It is not an
// exported variable so that no package can change every server's answer.
var defaultRefID = [4]byte{'L', 'O', 'C', 'L'}

// ServerInfo describes how a server presents its clock, a local clock that
// nothing disciplines. The zero value works: each zero field stands for the
// default given on it.
type ServerInfo struct {
	// Stratum is the server's distance from a reference clock; 0 means
	// DefaultStratum, since stratum 0 on the wire is a kiss-o'-death.
	Stratum uint8
	// RefID identifies the reference; all zeros means "LOCL".
	RefID [4]byte
	// RefTime is when the clock was last set. The zero time means "now"
	// (the receive time of each request), as a local reference is always
	// in step with itself; some NTP clients take a zero reference
	// timestamp to mean the server was never synchronized.
	RefTime time.Time
	// Precision is log2 seconds of the clock's resolution; 0 means
	// DefaultPrecision (a 1-second clock cannot be described).
	Precision int8
	// RootDispersion is the error the server admits to; 0 is allowed.
	RootDispersion time.Duration
}

// Reply builds the server-mode answer to req, received at recv and sent at
// xmit, as RFC 4330 section 5 lays out: leap 0, version copied from the
// request, mode 4 (server), poll copied, OrigTime set to the request's
// XmitTime, RecvTime and XmitTime set from recv and xmit, root delay 0, and
// the rest from info. Only client-mode (3) requests are answered: any other
// mode is ErrMode, and the server must drop the packet rather than reply,
// since answering broadcast or server packets invites loops and
// amplification. Version 0 or above 4 is ErrVersion.
//
// For the best timestamps a server takes recv as soon as the datagram is
// read and xmit just before it is written, appending with Packet.Append in
// between.
func Reply(req Packet, recv, xmit time.Time, info ServerInfo) (Packet, error) {
	if err := checkVersion(req.Version); err != nil {
		return Packet{}, err
	}
	if req.Mode != ModeClient {
		return Packet{}, fmt.Errorf("%w %d in request", ErrMode, req.Mode)
	}
	p := Packet{
		Leap:           LeapNone,
		Version:        req.Version,
		Mode:           ModeServer,
		Stratum:        info.Stratum,
		Poll:           req.Poll,
		Precision:      info.Precision,
		RootDispersion: DurationOf(info.RootDispersion),
		RefID:          info.RefID,
		RefTime:        TimestampOf(info.RefTime),
		OrigTime:       req.XmitTime,
		RecvTime:       TimestampOf(recv),
		XmitTime:       TimestampOf(xmit),
	}
	if p.Stratum == 0 {
		p.Stratum = DefaultStratum
	}
	if p.Precision == 0 {
		p.Precision = DefaultPrecision
	}
	if p.RefID == [4]byte{} {
		p.RefID = defaultRefID
	}
	if info.RefTime.IsZero() {
		p.RefTime = p.RecvTime
	}
	return p, nil
}

// NewRequest builds an SNTP client request (version 4, mode 3) carrying xmit
// as its transmit timestamp, all other fields zero. Keep it: CheckReply needs
// it to match the answer.
func NewRequest(xmit time.Time) Packet {
	return Packet{
		Version:  MaxVersion,
		Mode:     ModeClient,
		XmitTime: TimestampOf(xmit),
	}
}

// KissError is the error CheckReply returns for a kiss-o'-death reply. It
// unwraps to ErrKissOfDeath.
type KissError struct {
	// Code is the four ASCII characters of the reference ID, such as
	// "RATE" (poll less often) or "DENY" and "RSTR" (stop asking).
	Code string
}

func (e *KissError) Error() string {
	return fmt.Sprintf("%s %q", ErrKissOfDeath, e.Code)
}

func (e *KissError) Unwrap() error { return ErrKissOfDeath }

// CheckReply reports whether resp is a usable answer to req, with the
// checks of RFC 4330 section 5 in an order that resists forgery: mode 4
// (server) or 5 (broadcast) else ErrMode; version 1 to 4 else ErrVersion;
// OrigTime equal to the request's XmitTime else ErrOrigin; stratum not 0
// else a *KissError (ErrKissOfDeath); leap not 3 else ErrUnsynchronized; and
// a nonzero XmitTime else ErrZeroTransmit. The kiss-o'-death check comes
// after the origin check so that only a reply to our own request can tell
// the client to back off.
func CheckReply(req, resp Packet) error {
	if resp.Mode != ModeServer && resp.Mode != ModeBroadcast {
		return fmt.Errorf("%w %d in reply", ErrMode, resp.Mode)
	}
	if err := checkVersion(resp.Version); err != nil {
		return err
	}
	if resp.OrigTime != req.XmitTime {
		return ErrOrigin
	}
	if resp.Stratum == 0 {
		return &KissError{Code: string(resp.RefID[:])}
	}
	if resp.Leap == LeapUnsynchronized {
		return ErrUnsynchronized
	}
	if resp.XmitTime == 0 {
		return ErrZeroTransmit
	}
	return nil
}

// Offset returns the server clock's offset from the client's and the round
// trip delay, by the formulas of RFC 4330 section 5:
//
//	offset = ((t2 - t1) + (t3 - t4)) / 2
//	delay  = (t4 - t1) - (t3 - t2)
//
// where t1 is when the client sent the request, t2 when the server received
// it, t3 when the server sent the reply and t4 when the client received it.
// A positive offset means the server is ahead. If t1 and t4 both carry
// monotonic clock readings, as values from time.Now do, t4 - t1 is measured
// on the monotonic clock, immune to steps of the client's wall clock.
// Times within the 136 years a Timestamp spans cannot overflow.
func Offset(t1, t2, t3, t4 time.Time) (offset, delay time.Duration) {
	offset = half(t2.Sub(t1), t3.Sub(t4))
	delay = t4.Sub(t1) - t3.Sub(t2)
	return offset, delay
}

// half returns (a + b) / 2 without overflowing when a and b are both near
// the limits that time.Time.Sub saturates at.
func half(a, b time.Duration) time.Duration {
	return a/2 + b/2 + (a%2+b%2)/2
}
