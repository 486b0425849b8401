package cli

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/netkit/netkit/internal/rudp"
)

// Progress and formatting shared by netkit udp send and recv: the
// progress line, the closing summary, byte counts for people, and text
// from the network made safe for a terminal.

// udpSummary is the result of udp send, as --json prints it.
type udpSummary struct {
	To              string  `json:"to"`
	Items           int     `json:"items"`
	Bytes           int64   `json:"bytes"`
	Seconds         float64 `json:"seconds"`
	MBPerSecond     float64 `json:"mb_per_s"`
	Frames          uint64  `json:"frames"`
	Retransmissions uint64  `json:"retransmissions"`
	NACKs           uint64  `json:"nacks"`
	Timeouts        uint64  `json:"timeouts"`
	Corrupted       uint64  `json:"corrupted,omitempty"`
	KeepAlives      uint64  `json:"keepalives,omitempty"`
	SRTTms          float64 `json:"srtt_ms"`
	Mode            string  `json:"mode"`
	Cipher          string  `json:"cipher,omitempty"`
	Lost            uint64  `json:"lost,omitempty"`
	LossEvents      uint64  `json:"loss_events,omitempty"`
	Resumed         int64   `json:"resumed_bytes,omitempty"`
	Error           string  `json:"error,omitempty"`
}

func summarize(addr string, st rudp.Stats, elapsed time.Duration) udpSummary {
	sec := elapsed.Seconds()
	sum := udpSummary{
		To: addr, Items: st.Items, Bytes: st.Bytes, Seconds: sec,
		Frames: st.Frames, Retransmissions: st.Retransmissions, NACKs: st.NACKs, Timeouts: st.Timeouts,
		Corrupted: st.Corrupted, KeepAlives: st.KeepAlives,
		SRTTms: float64(st.SRTT) / float64(time.Millisecond),
		Mode:   "extended", Cipher: st.Cipher, Lost: st.Lost, LossEvents: st.LossEvents, Resumed: st.Resumed,
	}
	switch {
	case st.Legacy:
		sum.Mode = "legacy"
	case st.Sealed:
		sum.Mode = "extended, sealed"
	}
	if sec > 0 {
		sum.MBPerSecond = float64(st.Bytes) / 1e6 / sec
	}
	return sum
}

func (s udpSummary) line() string {
	l := fmt.Sprintf("sent %d %s, %d bytes, to %s in %.2f s: %.2f MB/s, %d frames, %d retransmissions, %d NACKs, srtt %.3f ms (%s",
		s.Items, plural(s.Items, "item"), s.Bytes, s.To, s.Seconds, s.MBPerSecond, s.Frames, s.Retransmissions, s.NACKs, s.SRTTms, s.Mode)
	if s.Resumed > 0 {
		l += fmt.Sprintf(", resumed: %d bytes were there already", s.Resumed)
	}
	return l + ")"
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// showProgress redraws one line on w (a terminal) until stop: the file in
// flight, bytes, rate, time left and retransmissions.
func showProgress(w io.Writer, s *rudp.Session, start time.Time, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		p, st := s.Progress(), s.Stats()
		if !p.Active || !p.File {
			continue
		}
		rate := float64(st.Bytes) / time.Since(start).Seconds()
		eta := "?"
		if rate > 0 {
			eta = (time.Duration(float64(p.Size-p.Done)/rate) * time.Second).Round(time.Second).String()
		}
		fmt.Fprintf(w, "\r\033[K%s  %s / %s  %.2f MB/s  ETA %s  %d retransmissions",
			terminalSafe(p.Name), humanBytes(p.Done), humanBytes(p.Size), rate/1e6, eta, st.Retransmissions)
	}
}

// humanBytes writes n bytes for a person: 512 B, 1.5 KiB, 30.0 MiB.
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// terminalSafe shows s with its control characters (but newlines and
// tabs) and invalid UTF-8 escaped, so a text from the network cannot
// drive the terminal it is printed on.
func terminalSafe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
