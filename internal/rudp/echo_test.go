package rudp

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// startEcho runs an RFC 862 echo on 127.0.0.1:0: every datagram goes back
// to its sender as it came.
func startEcho(t *testing.T) *net.UDPAddr {
	t.Helper()
	pc := listenUDP(t)
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			pc.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr)
}

// junk is what startJunk answers with: datagrams of every kind a sender
// must not take for an answer.
var junk = [][]byte{
	[]byte("junk"),
	enc(wire.ACK, 0, 0, 0, ""),         // a KPA's answer, none outstanding
	enc(wire.ACK, 7, 9, 4, ""),         // an ACK of no frame sent
	enc(wire.INF, 0, 1, 4, "T"),        // not for a sender
	enc(wire.DAT, 1, 1, 2, "hi"),       // nor this
	xframe(0, 1, wire.SACK, nil),       // malformed body
	xframe(0, 2, wire.PONG, nil),       // no PING outstanding
	xframe(0, 3, wire.DATA, []byte{1}), // not for a sender
}

// startJunk runs a peer that floods whoever writes to it with junk, a
// datagram every millisecond, until the test ends.
func startJunk(t *testing.T) *net.UDPAddr {
	t.Helper()
	pc := listenUDP(t)
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		_, from, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		for i := 0; ; i++ {
			if _, err := pc.WriteToUDPAddrPort(junk[i%len(junk)], from); errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr)
}

// TestSendToEcho checks issue 13's item 1: a sender pointed at a UDP echo
// service recognises its own frames coming back and says so, in every
// mode, well within its timeout.
func TestSendToEcho(t *testing.T) {
	addr := startEcho(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			opt := m.send(fast)
			opt.Timeout = 3 * time.Second
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			start := time.Now()
			_, err := Send(ctx, dialUDP(t, addr), []Item{Text("hi")}, opt)
			if !errors.Is(err, ErrEcho) {
				t.Fatalf("Send = %v after %v, want ErrEcho", err, time.Since(start).Round(time.Millisecond))
			}
			if took := time.Since(start); took > opt.Timeout {
				t.Errorf("gave up after %v, past the timeout of %v", took, opt.Timeout)
			}
		})
	}
}

// TestSendToJunk checks that answers that are not valid replies, however
// many, are no answer: the sender gives up with ErrPeerGone once its
// timeout has passed since it began, the extended offer and its legacy
// fallback together.
func TestSendToJunk(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := startJunk(t)
			opt := m.send(fast)
			opt.Timeout = 1500 * time.Millisecond // past HelloWait: the fallback happens
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			start := time.Now()
			_, err := Send(ctx, dialUDP(t, addr), []Item{Text("hi")}, opt)
			took := time.Since(start)
			if !errors.Is(err, ErrPeerGone) {
				t.Fatalf("Send = %v after %v, want ErrPeerGone", err, took.Round(time.Millisecond))
			}
			if took < opt.Timeout || took > opt.Timeout+2*time.Second {
				t.Errorf("gave up after %v, want just over %v", took, opt.Timeout)
			}
		})
	}
}

// TestMachinesTakeEchoForNoReceiver drives both sending machines with a
// fake clock: the frame just sent, coming back, ends the session with
// ErrEcho at once; junk does not move the timeout.
func TestMachinesTakeEchoForNoReceiver(t *testing.T) {
	t.Run("legacy echo", func(t *testing.T) {
		s := mustSender(t, SendOptions{}, Text("hi"))
		inf := one(t, s.Tick(t0))
		s.Handle(inf, t0.Add(ms))
		if !s.Done() || !errors.Is(s.Err(), ErrEcho) {
			t.Errorf("done %v, Err = %v; want ErrEcho", s.Done(), s.Err())
		}
	})
	for _, secret := range []string{"", "a secret"} {
		t.Run("extended echo, secret "+secret, func(t *testing.T) {
			s := mustXSender(t, SendOptions{Secret: secret}, Text("hi"))
			hello := s.Tick(t0).Datagrams[0]
			s.Handle(hello, t0.Add(ms))
			if !s.Done() || !errors.Is(s.Err(), ErrEcho) {
				t.Errorf("done %v, Err = %v; want ErrEcho", s.Done(), s.Err())
			}
		})
	}
	t.Run("legacy junk", func(t *testing.T) {
		s := mustSender(t, SendOptions{Timeout: time.Second}, Text("hi"))
		s.Tick(t0)
		for now := t0; now.Before(t0.Add(time.Second)); now = now.Add(10 * ms) {
			for _, b := range junk {
				s.Handle(b, now)
			}
			s.Tick(now)
		}
		s.Tick(t0.Add(time.Second))
		if !s.Done() || !errors.Is(s.Err(), ErrPeerGone) {
			t.Errorf("done %v, Err = %v; want ErrPeerGone", s.Done(), s.Err())
		}
	})
	t.Run("extended junk, fallback", func(t *testing.T) {
		s := mustXSender(t, SendOptions{Timeout: 2 * time.Second}, Text("hi"))
		s.Tick(t0)
		end := t0.Add(2 * time.Second)
		for now := t0; now.Before(end); now = now.Add(10 * ms) {
			for _, b := range junk {
				s.Handle(b, now)
			}
			s.Tick(now)
		}
		if !s.Legacy() {
			t.Fatal("no fallback after HelloWait")
		}
		s.Tick(end)
		if !s.Done() || !errors.Is(s.Err(), ErrPeerGone) {
			t.Errorf("done %v, Err = %v; want ErrPeerGone at the Timeout from the first HELLO", s.Done(), s.Err())
		}
	})
}
