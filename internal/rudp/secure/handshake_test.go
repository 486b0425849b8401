package secure

import (
	"bytes"
	"errors"
	"testing"
)

var (
	pskA     = [KeyLen]byte{1, 2, 3}
	pskB     = [KeyLen]byte{1, 2, 4}
	prologue = []byte("netkit rudp secure v1")
)

// hello starts a handshake and returns the Initiator and its message 1.
func hello(t testing.TB, psk [KeyLen]byte, prologue, payload []byte) (*Initiator, []byte) {
	t.Helper()
	ini, err := NewInitiator(psk, prologue)
	if err != nil {
		t.Fatal(err)
	}
	msg1, err := ini.Hello(nil, payload)
	if err != nil {
		t.Fatal(err)
	}
	return ini, msg1
}

// pair runs a handshake under pskA and returns the initiator's keys and the
// responder's.
func pair(t testing.TB) (ini, resp *Keys) {
	t.Helper()
	in, msg1 := hello(t, pskA, prologue, nil)
	_, msg2, resp, err := Respond(pskA, prologue, msg1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ini, err = in.Finish(msg2); err != nil {
		t.Fatal(err)
	}
	return ini, resp
}

func TestHandshake(t *testing.T) {
	tests := []struct {
		name         string
		prologue     []byte
		hello, reply []byte
		dst1, dst2   []byte // prefixes Hello and Respond must append to
	}{
		{name: "no payloads"},
		{name: "payloads both ways", prologue: prologue, hello: []byte("file.txt 1234"), reply: []byte("ok")},
		{name: "appends to dst", hello: []byte("hi"), reply: []byte("ho"), dst1: []byte("head1"), dst2: []byte("h2")},
		{name: "largest payloads", hello: bytes.Repeat([]byte{'h'}, MaxPayload), reply: bytes.Repeat([]byte{'r'}, MaxPayload)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ini, err := NewInitiator(pskA, tt.prologue)
			if err != nil {
				t.Fatal(err)
			}
			msg1, err := ini.Hello(bytes.Clone(tt.dst1), tt.hello)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(msg1, tt.dst1) {
				t.Errorf("Hello dropped dst %q", tt.dst1)
			}
			msg1 = msg1[len(tt.dst1):]
			if got, want := len(msg1), HandshakeOverhead+len(tt.hello); got != want {
				t.Errorf("len(msg1) = %d, want %d", got, want)
			}
			if len(tt.hello) > 0 && bytes.Contains(msg1, tt.hello) {
				t.Error("msg1 carries its payload in the clear")
			}

			got1, msg2, rk, err := Respond(pskA, tt.prologue, msg1, tt.reply, bytes.Clone(tt.dst2))
			if err != nil {
				t.Fatalf("Respond: %v", err)
			}
			if !bytes.Equal(got1, tt.hello) {
				t.Errorf("Respond payload = %q, want %q", got1, tt.hello)
			}
			if !bytes.HasPrefix(msg2, tt.dst2) {
				t.Errorf("Respond dropped dst %q", tt.dst2)
			}
			msg2 = msg2[len(tt.dst2):]
			if got, want := len(msg2), HandshakeOverhead+len(tt.reply); got != want {
				t.Errorf("len(msg2) = %d, want %d", got, want)
			}

			got2, ik, err := ini.Finish(msg2)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if !bytes.Equal(got2, tt.reply) {
				t.Errorf("Finish payload = %q, want %q", got2, tt.reply)
			}

			for _, d := range []struct {
				name     string
				from, to *Keys
			}{{"initiator to responder", ik, rk}, {"responder to initiator", rk, ik}} {
				frame := d.from.Seal(nil, 7, []byte("ad"), []byte(d.name))
				got, err := d.to.Open(nil, 7, []byte("ad"), frame)
				if err != nil || string(got) != d.name {
					t.Errorf("%s: Open = %q, %v; want %q", d.name, got, err, d.name)
				}
			}
		})
	}
}

// TestHandshakeFresh checks that every handshake has keys of its own, even
// between the same two parties with the same payloads.
func TestHandshakeFresh(t *testing.T) {
	ik1, _ := pair(t)
	_, rk2 := pair(t)
	frame := ik1.Seal(nil, 0, nil, []byte("hello"))
	if _, err := rk2.Open(nil, 0, nil, frame); !errors.Is(err, ErrAuth) {
		t.Errorf("frame of one session opened in another: err = %v, want ErrAuth", err)
	}
}

func TestRespondRejects(t *testing.T) {
	_, good := hello(t, pskA, prologue, []byte("payload"))
	_, wrongKey := hello(t, pskB, prologue, []byte("payload"))
	_, wrongPrologue := hello(t, pskA, []byte("netkit rudp secure v2"), []byte("payload"))
	_, noPrologue := hello(t, pskA, nil, []byte("payload"))
	flip := func(i int) []byte {
		m := bytes.Clone(good)
		m[i] ^= 0x80
		return m
	}
	tests := []struct {
		name string
		msg1 []byte
		want error
	}{
		{"wrong passphrase", wrongKey, ErrAuth},
		{"other prologue", wrongPrologue, ErrAuth},
		{"no prologue", noPrologue, ErrAuth},
		{"ephemeral key altered", flip(0), ErrAuth},
		{"payload altered", flip(dhLen), ErrAuth},
		{"tag altered", flip(len(good) - 1), ErrAuth},
		{"byte appended", append(bytes.Clone(good), 0), ErrAuth},
		{"empty", nil, ErrMalformed},
		{"ephemeral key only", good[:dhLen], ErrMalformed},
		{"too long", make([]byte, 65536), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, msg2, k, err := Respond(pskA, prologue, tt.msg1, []byte("reply"), nil)
			if !errors.Is(err, tt.want) {
				t.Errorf("Respond error = %v, want %v", err, tt.want)
			}
			if payload != nil || msg2 != nil || k != nil {
				t.Errorf("Respond = %q, %x, %v with its error; want nothing", payload, msg2, k)
			}
		})
	}
}

// TestHandshakeTruncated checks that every prefix of a valid handshake
// message is rejected cleanly.
func TestHandshakeTruncated(t *testing.T) {
	ini, msg1 := hello(t, pskA, prologue, []byte("payload"))
	_, msg2, _, err := Respond(pskA, prologue, msg1, []byte("reply"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := func(n int) error {
		if n < HandshakeOverhead {
			return ErrMalformed
		}
		return ErrAuth
	}
	for n := range len(msg1) {
		if _, _, _, err := Respond(pskA, prologue, msg1[:n], nil, nil); !errors.Is(err, want(n)) {
			t.Errorf("Respond(msg1[:%d]) error = %v, want %v", n, err, want(n))
		}
	}
	for n := range len(msg2) {
		if _, _, err := ini.Finish(msg2[:n]); !errors.Is(err, want(n)) {
			t.Errorf("Finish(msg2[:%d]) error = %v, want %v", n, err, want(n))
		}
	}
	if _, _, err := ini.Finish(msg2); err != nil {
		t.Errorf("Finish(msg2) after its prefixes: %v", err)
	}
}

// TestFinishRejects checks that Finish refuses a message 2 that is not the
// answer to its Hello, and that such a message does not keep it from
// reading the genuine answer after it.
func TestFinishRejects(t *testing.T) {
	flip := func(i int) func(msg2 []byte) []byte {
		return func(msg2 []byte) []byte {
			m := bytes.Clone(msg2)
			m[i] ^= 0x01
			return m
		}
	}
	tests := []struct {
		name   string
		forge  func(msg2 []byte) []byte
		answer func(t *testing.T) []byte // another message 2, or nil
		want   error
	}{
		{name: "ephemeral key altered", forge: flip(3), want: ErrAuth},
		{name: "payload altered", forge: flip(dhLen), want: ErrAuth},
		{name: "tag altered", forge: flip(dhLen + 5 + 15), want: ErrAuth},
		{name: "byte appended", forge: func(m []byte) []byte { return append(bytes.Clone(m), 0) }, want: ErrAuth},
		{name: "low-order ephemeral key", forge: func(m []byte) []byte {
			m = bytes.Clone(m)
			clear(m[:dhLen]) // the point 0: every Diffie-Hellman with it is 0
			return m
		}, want: ErrAuth},
		{name: "short", forge: func(m []byte) []byte { return m[:HandshakeOverhead-1] }, want: ErrMalformed},
		{name: "answer to another hello", answer: func(t *testing.T) []byte {
			_, other := hello(t, pskA, prologue, []byte("payload"))
			_, msg2, _, err := Respond(pskA, prologue, other, []byte("reply"), nil)
			if err != nil {
				t.Fatal(err)
			}
			return msg2
		}, want: ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ini, msg1 := hello(t, pskA, prologue, []byte("payload"))
			_, msg2, rk, err := Respond(pskA, prologue, msg1, []byte("reply"), nil)
			if err != nil {
				t.Fatal(err)
			}
			var bad []byte
			if tt.answer != nil {
				bad = tt.answer(t)
			} else {
				bad = tt.forge(msg2)
			}
			payload, k, err := ini.Finish(bad)
			if !errors.Is(err, tt.want) {
				t.Errorf("Finish error = %v, want %v", err, tt.want)
			}
			if payload != nil || k != nil {
				t.Errorf("Finish = %q, %v with its error; want nothing", payload, k)
			}

			payload, ik, err := ini.Finish(msg2)
			if err != nil {
				t.Fatalf("Finish(genuine) after a rejected message 2: %v", err)
			}
			if string(payload) != "reply" {
				t.Errorf("Finish payload = %q, want %q", payload, "reply")
			}
			frame := ik.Seal(nil, 1, nil, []byte("ping"))
			if got, err := rk.Open(nil, 1, nil, frame); err != nil || string(got) != "ping" {
				t.Errorf("Open = %q, %v; want %q", got, err, "ping")
			}
		})
	}
}

func TestInitiatorOutOfOrder(t *testing.T) {
	ini, err := NewInitiator(pskA, prologue)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ini.Finish(make([]byte, HandshakeOverhead)); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("Finish before Hello: err = %v, want ErrOutOfOrder", err)
	}
	msg1, err := ini.Hello(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ini.Hello(nil, nil); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("second Hello: err = %v, want ErrOutOfOrder", err)
	}
	_, msg2, _, err := Respond(pskA, prologue, msg1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ini.Finish(msg2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ini.Finish(msg2); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("second Finish: err = %v, want ErrOutOfOrder", err)
	}
}

func TestPayloadTooLong(t *testing.T) {
	big := make([]byte, MaxPayload+1)
	ini, err := NewInitiator(pskA, prologue)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ini.Hello(nil, big); err == nil {
		t.Error("Hello took a payload over MaxPayload")
	}
	msg1, err := ini.Hello(nil, nil)
	if err != nil {
		t.Fatalf("Hello after a refused payload: %v", err)
	}
	if _, _, _, err := Respond(pskA, prologue, msg1, big, nil); err == nil {
		t.Error("Respond took a reply over MaxPayload")
	}
}
