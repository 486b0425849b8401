package chat

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/netkit/netkit/internal/service"
)

func TestNormalizeNick(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
		why      string // in the error message
	}{
		{"alice", "alice", nil, ""},
		{"Ｂｏｂ", "Bob", nil, ""},             // fullwidth: NFKC
		{"e\u0301lodie", "élodie", nil, ""}, // decomposed: NFC
		{"ﬁsh", "fish", nil, ""},
		{"さくら太郎", "さくら太郎", nil, ""}, // Hiragana with Han, as Japanese
		{"Дмитрий", "Дмитрий", nil, ""},
		{"\u0430dmin", "", ErrNickReserved, `"аdmin" looks like the reserved name "admin"`},
		{"\u0391DMIN", "", ErrNickReserved, `looks like the reserved name "admin"`},
		{"r00t", "", ErrNickReserved, `looks like the reserved name "root"`},
		{"\u0430lice", "", ErrNickInvalid, "mixes scripts (Cyrillic and Latin)"},
		{"bobδ", "", ErrNickInvalid, "mixes scripts (Greek and Latin)"},
		{"a\u202eb", "", ErrNickInvalid, "is not allowed there"},
		{"a\u200bb", "", ErrNickInvalid, "is not allowed there"},
		{"한국中国", "한국中国", nil, ""},
		{"ひらがな한국", "", ErrNickInvalid, "mixes scripts"},
	}
	for _, tt := range tests {
		got, err := NormalizeNick(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.why != "" && (err == nil || !strings.Contains(err.Error(), tt.why))) {
			t.Errorf("NormalizeNick(%q) = %q, %v; want %q, %v (%s)", tt.in, got, err, tt.want, tt.err, tt.why)
		}
	}
}

// TestLookAlikeNicksRefused is defect 4 of issue 11: look-alike
// nicknames cannot pass for someone in the room or for the admin.
func TestLookAlikeNicksRefused(t *testing.T) {
	h := NewHub(HubConfig{History: -1})
	ctx := context.Background()
	for _, n := range []string{"alice", "coco", "élodie"} {
		if err := h.Join(ctx, h.NewMember(netip.Addr{}, nil), n); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		nick string
		err  error
		why  string
	}{
		{"ALICE", ErrNickTaken, `"ALICE"`},
		{"Ａｌｉｃｅ", ErrNickTaken, `"Alice"`},
		{"e\u0301lodie", ErrNickTaken, `"élodie"`},
		{"aIice", ErrNickConfusable, `"aIice" looks like "alice", who is here`},
		{"сосо", ErrNickConfusable, `"сосо" looks like "coco", who is here`}, // Cyrillic
		{"\u0430lice", ErrNickInvalid, "mixes scripts"},
		{"\u0430dmin", ErrNickReserved, "looks like the reserved name"},
	}
	for _, tt := range tests {
		err := h.Join(ctx, h.NewMember(netip.Addr{}, nil), tt.nick)
		if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("Join(%q) = %v, want %v with %q", tt.nick, err, tt.err, tt.why)
		}
	}
	// Renaming to a look-alike is refused too, and one's own name in
	// another case is allowed.
	bob := h.NewMember(netip.Addr{}, nil)
	h.Join(ctx, bob, "bob")
	if err := h.Rename(ctx, bob, "aIice"); !errors.Is(err, ErrNickConfusable) {
		t.Errorf("Rename to aIice = %v, want ErrNickConfusable", err)
	}
	if err := h.Rename(ctx, bob, "Bob"); err != nil {
		t.Errorf("Rename to Bob = %v", err)
	}
	// Once alice leaves, the name is free again, look-alikes included.
	h.Leave(hubMember(h, "alice"), "quit")
	if err := h.Join(ctx, h.NewMember(netip.Addr{}, nil), "aIice"); err != nil {
		t.Errorf("Join(aIice) after alice left = %v", err)
	}
}

// TestLookAlikeAdminOverTCP is the attack as written: "аdmin" with a
// Cyrillic "а" joins over TCP, and must be refused with a clear reason.
func TestLookAlikeAdminOverTCP(t *testing.T) {
	hub := NewHub(HubConfig{})
	addr, _ := startChat(t, &Handler{Hub: hub}, service.Limits{})
	c := connect(t, addr)
	c.send("\u0430dmin")
	c.expect(`error: nickname is reserved: "аdmin" looks like the reserved name "admin"`)
	c.expect("Choose a nickname:")
	alice := join(t, addr, "alice")
	_ = alice
	c.send("\u0430lice")
	c.expect(`error: invalid nickname: "аlice" mixes scripts (Cyrillic and Latin); use one`)
}
