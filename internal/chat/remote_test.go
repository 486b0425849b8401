package chat

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/nats-io/nats.go"

	"github.com/netkit/netkit/internal/testwait"
)

// badRemoteEvents are events another instance, or anyone who can publish
// on the NATS subject, might send that local input could never make: each
// must be dropped.
var badRemoteEvents = []struct {
	name string
	e    *Event
}{
	{"escape in a message", &Event{Type: TypeMsg, From: "mallory", Text: "\x1b[2Jwiped"}},
	{"newline in a message", &Event{Type: TypeMsg, From: "mallory", Text: "hi\n<alice> forged"}},
	{"bidi override", &Event{Type: TypeMsg, From: "mallory", Text: "abc\u202edcba"}},
	{"message too long", &Event{Type: TypeMsg, From: "mallory", Text: strings.Repeat("a", MaxTextLen+1)}},
	{"empty message", &Event{Type: TypeMsg, From: "mallory"}},
	{"nick with a space", &Event{Type: TypeMsg, From: "not a nick", Text: "hi"}},
	{"nick with an escape", &Event{Type: TypeMe, From: "\x1b[31mred", Text: "waves"}},
	{"no sender", &Event{Type: TypeMsg, Text: "hi"}},
	{"look-alike admin", &Event{Type: TypeMsg, From: "аdmin", Text: "I am the admin"}},
	{"nick too long", &Event{Type: TypeJoin, Nick: strings.Repeat("x", MaxNickLen+1)}},
	{"unnormalized nick", &Event{Type: TypeJoin, Nick: "Ｂｏｂ"}},
	{"bad nick in a batch", &Event{Type: TypeJoin, Users: []string{"ok", "bad nick"}}},
	{"join of nobody", &Event{Type: TypeJoin}},
	{"leave reason with a newline", &Event{Type: TypeLeave, Nick: "bob", Text: "quit\n*** alice left"}},
	{"rename to an invalid nick", &Event{Type: TypeNick, Nick: "bob", NewNick: "b b"}},
	{"kick by an invalid nick", &Event{Type: TypeKick, Nick: "bob", By: "r\u202eoot"}},
	{"system notice with a bell", &Event{Type: TypeSystem, Text: "ding\x07"}},
	{"an error for someone else", &Event{Type: TypeError, Text: "you are banned"}},
	{"a welcome", &Event{Type: TypeWelcome, Nick: "alice", Users: []string{"alice"}}},
	{"a who with addresses", &Event{Type: TypeWho, Users: []string{"alice"}, Addrs: map[string]string{"alice": "1.2.3.4"}}},
	{"unknown type", &Event{Type: "shout", From: "mallory", Text: "HI"}},
	{"private without addressee", &Event{Type: TypePrivate, From: "mallory", Text: "psst"}},
	{"ban of an invalid nick", &Event{Type: typeBan, Nick: "a b", By: "ops", Until: time.Now().Add(time.Hour)}},
	{"ban of a bad range", &Event{Type: typeBan, Text: "10.0.0.1/99", By: "ops", Until: time.Now().Add(time.Hour)}},
	{"ban of nothing", &Event{Type: typeBan, By: "ops", Until: time.Now().Add(time.Hour)}},
}

// TestRemoteEventsChecked is defect 8 of issue 11: what arrives from
// NATS is checked as local input is (length, control and format
// characters, nicknames), and what fails is dropped, counted and logged,
// as an attacker publishing on the room's subject would find.
func TestRemoteEventsChecked(t *testing.T) {
	ns := startNATS(t)
	log := &recordLog{msg: "dropped invalid events from NATS"}
	hub := NewHub(HubConfig{History: -1})
	bus, err := ConnectNATS(t.Context(), ns.ClientURL(), hub, slog.New(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	alice := hub.NewMember(netip.MustParseAddr("192.0.2.1"), nil)
	mustJoin(t, hub, alice, "alice")
	recv(t, alice, 1) // the welcome

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	publish := func(data []byte) {
		t.Helper()
		if err := nc.Publish(natsEventSubject, data); err != nil {
			t.Fatal(err)
		}
	}
	for i, tt := range badRemoteEvents {
		e := tt.e
		e.Origin, e.Seq, e.Time = "0badc0ffee00", uint64(i+1), time.Now()
		if e.Type == TypeError {
			e.To = "alice"
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		publish(b)
	}
	publish([]byte("not json"))
	publish([]byte("{\"type\":\"msg\",\"from\":\"mallory\",\"text\":\"a\xffb\",\"origin\":\"x\"}"))
	publish([]byte(`{"type":"msg","from":"mallory","text":"` + strings.Repeat("a", 70000) + `","origin":"x"}`))
	good := Event{Type: TypeMsg, From: "bob", Text: "a fine line 👩‍💻", Origin: "0badc0ffee00", Seq: 999, Time: time.Now()}
	b, _ := json.Marshal(&good)
	publish(b)
	// The good event comes after every bad one, from one publisher on one
	// subject: whatever alice got before it came from a bad one.
	got := until(t, alice, "<bob> a fine line 👩‍💻")
	if len(got) != 1 {
		t.Errorf("alice got %q, want only the fine line", got)
	}
	want := uint64(len(badRemoteEvents) + 3)
	testwait.For(t, `bus.Dropped() == want`, func() bool { return bus.Dropped() == want })
	if n := hub.Len(); n != 1 {
		t.Errorf("%d members, want alice alone", n)
	}
	if hub.Bans() != nil && len(hub.Bans()) != 0 {
		t.Errorf("bans from bad events: %v", hub.Bans())
	}
	// One summary line for the burst, not a line an event.
	recs := log.records()
	if len(recs) == 0 || len(recs) > 2 {
		t.Fatalf("%d log lines for %d dropped events, want 1 or 2", len(recs), want)
	}
	if recs[0].Level != slog.LevelWarn || attr(recs[0], "reason") == "" {
		t.Errorf("log line %v reason=%q, want WARN with a reason", recs[0].Level, attr(recs[0], "reason"))
	}
}

// TestCheckRemoteTakesLocalEvents checks the other side: every event a hub
// publishes passes the checks of the others.
func TestCheckRemoteTakesLocalEvents(t *testing.T) {
	pub := &recordBus{}
	h := NewHub(HubConfig{History: -1, BatchAbove: 2, BatchWindow: time.Hour})
	h.SetBus(pub)
	ms := make([]*Member, 5)
	for i, n := range []string{"alice", "Élodie", "bob_2", "d.e-f", "日本語"} {
		ms[i] = h.NewMember(netip.MustParseAddr("192.0.2.1"), nil)
		mustJoin(t, h, ms[i], n)
	}
	console := h.NewMember(netip.Addr{}, nil)
	console.Admin = true
	mustJoin(t, h, console, AdminNick)
	text, _ := CleanText([]byte("  \tmixed 👩‍💻 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f می\u200cخواهم " + strings.Repeat("x", MaxTextLen-100)))
	h.Say(ms[0], text)
	h.Me(console, "waves")
	h.Announce("maintenance at noon")
	h.Leave(ms[1], "quit: "+strings.Repeat("y", MaxTextLen))
	h.Leave(ms[2], "quit")
	h.Rename(context.Background(), ms[3], "newname")
	h.Kick(AdminNick, "日本語", "banned for 1m0s")
	h.Ban(console, "192.0.2.0/24", time.Minute)
	h.Unban("192.0.2.0/24")
	h.Close()
	if len(pub.events) < 8 {
		t.Fatalf("only %d events published", len(pub.events))
	}
	for _, e := range pub.events {
		data := e.JSON()
		if _, err := DecodeRemote(data); err != nil {
			t.Errorf("published %s, which the others refuse: %v", data, err)
		}
	}
}

// recordBus is a Bus that keeps what is published.
type recordBus struct{ events []*Event }

func (b *recordBus) Publish(e *Event)                    { b.events = append(b.events, e) }
func (b *recordBus) Claim(context.Context, string) error { return nil }
func (b *recordBus) Release(string)                      {}
func (b *recordBus) Names() []string                     { return nil }
func (b *recordBus) Holds(string) bool                   { return false }

func TestDecodeRemote(t *testing.T) {
	for _, tt := range badRemoteEvents {
		e := tt.e
		e.Origin, e.Seq = "0badc0ffee00", 1
		if e.Type == TypeError {
			e.To = "alice"
		}
		b, _ := json.Marshal(e)
		if _, err := DecodeRemote(b); !errors.Is(err, ErrBadEvent) {
			t.Errorf("%s: DecodeRemote(%s) = %v, want ErrBadEvent", tt.name, b, err)
		}
	}
	ok := []byte(`{"type":"msg","from":"bob","text":"hi","origin":"abc","seq":3,"time":"2026-01-02T03:04:05Z"}`)
	e, err := DecodeRemote(ok)
	if err != nil || e.From != "bob" || e.Text != "hi" {
		t.Fatalf("DecodeRemote(%s) = %+v, %v", ok, e, err)
	}
	// Every prefix of a valid event is refused cleanly.
	for i := range len(ok) {
		if _, err := DecodeRemote(ok[:i]); err == nil {
			t.Errorf("prefix %q accepted", ok[:i])
		}
	}
}

// FuzzRemoteEvent feeds what might come from NATS to a hub with a member,
// through DecodeRemote and Hub.Remote as NATSBus does: nothing panics,
// and what reaches the member is clean, one line an event (a ban list
// aside), from a valid nickname.
func FuzzRemoteEvent(f *testing.F) {
	seeds := []string{
		`{"type":"msg","from":"bob","text":"hi","origin":"abc","seq":3}`,
		`{"type":"me","from":"bob","text":"waves","origin":"abc","seq":4}`,
		`{"type":"private","from":"bob","to":"alice","text":"psst","origin":"abc","seq":5}`,
		`{"type":"join","users":["a","b"],"origin":"abc","seq":6}`,
		`{"type":"leave","nick":"b","text":"quit","origin":"abc","seq":7}`,
		`{"type":"nick","nick":"b","new_nick":"c","origin":"abc","seq":8}`,
		`{"type":"kick","nick":"c","by":"admin","text":"spam","origin":"abc","seq":9}`,
		`{"type":"kick-request","nick":"alice","by":"ops","text":"bye","origin":"abc","seq":10}`,
		`{"type":"ban","nick":"alice","by":"ops","until":"2999-01-01T00:00:00Z","origin":"abc","seq":11}`,
		`{"type":"ban","text":"192.0.2.0/24","by":"ops","until":"2999-01-01T00:00:00Z","origin":"abc","seq":12}`,
		`{"type":"unban","text":"192.0.2.0/24","origin":"abc","seq":13}`,
		`{"type":"system","text":"maintenance","origin":"abc","seq":14}`,
		`{"type":"msg","from":"bob","text":"\u001b[2J","origin":"abc","seq":15}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := NewHub(HubConfig{History: -1})
		alice := h.NewMember(netip.MustParseAddr("192.0.2.1"), nil)
		if err := h.Join(context.Background(), alice, "alice"); err != nil {
			t.Fatal(err)
		}
		alice.Take(nil)
		e, err := DecodeRemote(data)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error %v is not ErrBadEvent", err)
			}
			return
		}
		h.Remote(e)
		h.Close()
		batch, _ := alice.Take(nil)
		for _, got := range batch {
			line := string(got.Line())
			if strings.Count(line, "\n") != 1 && got.Type != TypeBans {
				t.Fatalf("event %s made %q, not one line", data, line)
			}
			for _, r := range strings.TrimSuffix(line, "\n") {
				if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) && r != '\u200d' && r != '\u200c' && (r < 0xE0020 || r > 0xE007F) {
					t.Fatalf("event %s made %q, with %U", data, line, r)
				}
			}
		}
	})
}
