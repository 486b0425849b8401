package chat

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/service"
)

// TestBanNickSharedAddress is defect 9 of issue 11 as a user met it:
// everyone on 127.0.0.1, a remote admin "ops" bans trent by nick. trent
// is kicked and kept out under that nick; the address is not banned, so
// ops stays and others still join from it. /who shows an admin the
// addresses, /bans what is in force with the time left.
func TestBanNickSharedAddress(t *testing.T) {
	const token = "tok-12345678"
	clock := newFakeClock()
	hub := NewHub(HubConfig{History: -1, Clock: clock})
	addr, _ := startChat(t, &Handler{Hub: hub, AdminToken: token}, service.Limits{})

	ops := join(t, addr, "ops")
	ops.send("/auth " + token)
	ops.expect("*** you are an admin now*")
	trent := join(t, addr, "trent")
	ops.expect("*** trent joined")

	ops.send("/ban trent 1m")
	trent.expect("*** trent was kicked by ops (banned for 1m0s)")
	trent.closed()
	ops.expect("*** trent was kicked by ops (banned for 1m0s)")
	ops.expect("*** banned the nickname trent for 1m0s")

	// ops is still here and heard.
	ops.send("still here")
	ops.expect("<ops> still here")
	// The address is not banned: others join from it.
	carol := join(t, addr, "carol")
	ops.expect("*** carol joined")
	// trent is, under any case.
	for _, nick := range []string{"trent", "TRENT"} {
		c := connect(t, addr)
		c.send(nick)
		c.expect("error: banned: the nickname trent until *")
	}

	// An admin's /who shows where each member is; others' does not.
	ops.send("/who")
	ops.expect("*** here (2): carol, ops")
	ops.expect("*** from: carol 127.0.0.1, ops 127.0.0.1")
	carol.send("/who")
	carol.expect("*** here (2): carol, ops")
	carol.send("/bans")
	carol.expect("error: admin only: /auth TOKEN first")
	carol.send("marker")
	carol.expect("<carol> marker") // no addresses line came before it

	// /bans lists the ban with the time left, on the hub's clock.
	clock.Advance(15 * time.Second)
	ops.send("/bans")
	ops.expect("*** bans in force (1):")
	ops.expect("***   the nickname trent, by ops, 45s left")

	// Naming an address bans it: everyone from it goes but the admin
	// issuing it, who is told.
	ops.send("/ban 127.0.0.0/8 10m")
	carol.expect("*** carol was kicked by ops (banned for 10m0s)")
	carol.closed()
	ops.expect("*** banned the addresses 127.0.0.0/8 for 10m0s (your own address is in it: you stay, but could not join again from it)")
	late := connect(t, addr)
	late.send("dave")
	late.expect("error: banned: the address 127.0.0.1 (in 127.0.0.0/8) until *")
	ops.send("/bans")
	ops.expect("*** bans in force (2):")
	ops.expect("***   the addresses 127.0.0.0/8, by ops, 10m0s left")
	ops.expect("***   the nickname trent, by ops, 45s left")

	// Unbans, by what was banned.
	ops.send("/unban 127.0.0.0/8")
	ops.expect("*** unbanned the addresses 127.0.0.0/8")
	ops.send("/unban Trent")
	ops.expect("*** unbanned the nickname trent")
	ops.send("/unban trent")
	ops.expect("*** trent was not banned")
	join(t, addr, "trent")
	ops.expect("*** trent joined")
	ops.send("/bans")
	ops.expect("*** no bans in force")
}

func TestHubBanRules(t *testing.T) {
	clock := newFakeClock()
	h := NewHub(HubConfig{History: -1, Clock: clock})
	shared := netip.MustParseAddr("192.0.2.7")
	admin := h.NewMember(shared, nil)
	admin.Admin = true
	mustJoin(t, h, admin, "ops")
	mallory := h.NewMember(shared, nil)
	mustJoin(t, h, mallory, "mallory")

	if _, err := h.Ban(admin, "ops", time.Hour); !errors.Is(err, ErrUsage) {
		t.Errorf("banning oneself: %v, want ErrUsage", err)
	}
	if _, err := h.Ban(admin, "nobody", time.Hour); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("banning someone not here: %v, want ErrNoSuchUser", err)
	}
	if _, err := h.Ban(admin, "mallory", time.Hour); err != nil {
		t.Fatal(err)
	}
	if h.Len() != 1 {
		t.Errorf("%d members after banning mallory, want ops alone", h.Len())
	}
	// The nickname and its look-alikes are out; the address is not.
	for _, nick := range []string{"mallory", "MALLORY", "ma11ory"} {
		if err := h.Join(context.Background(), h.NewMember(netip.MustParseAddr("198.51.100.1"), nil), nick); !errors.Is(err, ErrBanned) {
			t.Errorf("join as %s: %v, want ErrBanned", nick, err)
		}
	}
	other := h.NewMember(shared, nil)
	mustJoin(t, h, other, "mallory2")
	// Nor may someone here take the banned nickname.
	if err := h.Rename(context.Background(), other, "Mallory"); !errors.Is(err, ErrBanned) {
		t.Errorf("rename to a banned nickname: %v, want ErrBanned", err)
	}
	// A ban ends on its own.
	clock.Advance(time.Hour)
	if err := h.Join(context.Background(), h.NewMember(shared, nil), "mallory"); err != nil {
		t.Errorf("after the ban ended: %v", err)
	}
	// An IPv6 range, and an IPv4 address written as IPv6.
	v6 := h.NewMember(netip.MustParseAddr("2001:db8::5"), nil)
	mustJoin(t, h, v6, "six")
	if _, err := h.Ban(admin, "2001:db8::/64", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := h.Join(context.Background(), h.NewMember(netip.MustParseAddr("2001:db8::9"), nil), "six2"); !errors.Is(err, ErrBanned) {
		t.Errorf("join from a banned /64: %v", err)
	}
	if _, err := h.Ban(admin, "::ffff:203.0.113.9", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := h.Join(context.Background(), h.NewMember(netip.MustParseAddr("203.0.113.9"), nil), "four"); !errors.Is(err, ErrBanned) {
		t.Errorf("join from a banned address: %v", err)
	}
	bans := h.Bans()
	var got []string
	for _, b := range bans {
		got = append(got, b.String())
	}
	want := "the address 203.0.113.9|the addresses 2001:db8::/64"
	if strings.Join(got, "|") != want {
		t.Errorf("Bans = %q, want %q", got, want)
	}
}

func mustJoin(t *testing.T, h *Hub, m *Member, nick string) {
	t.Helper()
	if err := h.Join(context.Background(), m, nick); err != nil {
		t.Fatalf("join as %s: %v", nick, err)
	}
}
