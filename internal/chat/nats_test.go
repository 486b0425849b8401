package chat

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/testwait"
)

// startNATS runs a real NATS server with JetStream, in process, on a random
// port.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

type instance struct {
	hub  *Hub
	bus  *NATSBus
	addr string
}

func startInstances(t *testing.T, url string, n int) []instance {
	t.Helper()
	var out []instance
	for range n {
		hub := NewHub(HubConfig{})
		bus, err := ConnectNATS(t.Context(), url, hub, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(bus.Close)
		addr, _ := startChat(t, &Handler{Hub: hub}, service.Limits{})
		out = append(out, instance{hub: hub, bus: bus, addr: addr})
	}
	return out
}

func TestNATSThreeInstances(t *testing.T) {
	ns := startNATS(t)
	in := startInstances(t, ns.ClientURL(), 3)

	users := make([]*chatClient, 3)
	for i := range in {
		users[i] = join(t, in[i].addr, fmt.Sprintf("user%d", i))
	}
	// Everyone hears every later join, from every instance; from two
	// instances, in either order.
	users[0].expectAll("*** user1 joined", "*** user2 joined")
	users[1].expect("*** user2 joined")

	// Nicknames are unique across instances, whatever the case.
	dup := connect(t, in[2].addr)
	dup.send("USER0")
	dup.expect("error: nickname is taken: \"USER0\" (on another server)")

	// Each message reaches each user exactly once.
	for i, u := range users {
		u.send(fmt.Sprintf("hello from %d", i))
	}
	for _, u := range users {
		seen := map[string]int{}
		for len(seen) < 3 {
			line := u.line()
			if strings.HasPrefix(line, "<user") {
				seen[line]++
			}
		}
		for line, n := range seen {
			if n != 1 {
				t.Errorf("%q delivered %d times", line, n)
			}
		}
	}
	// A marker message proves nothing else (no duplicate) was queued in
	// between.
	users[2].send("marker")
	for _, u := range users {
		if got := u.line(); got != "<user2> marker" {
			t.Errorf("expected the marker next, got %q", got)
		}
	}

	// /who lists users on every instance, once each instance has seen the
	// others' claims (a key-value watch, which may lag a join). The
	// private message below needs instance 0 to know user2 is there.
	users[1].expectWho("*** here (3): user0, user1, user2")
	users[0].expectWho("*** here (3): user0, user1, user2")

	// A private message crosses instances and reaches only its addressee.
	users[0].send("/msg user2 just between us")
	users[2].expect("[private] <user0> to user2: just between us")
	users[0].expect("[private] <user0> to user2: just between us")
	users[1].send("check")
	users[1].expect("<user1> check")
	if got := users[2].line(); got != "<user1> check" {
		t.Errorf("user2 got %q", got)
	}

	// A kick on one instance removes a user on another.
	if err := in[0].hub.Kick("admin", "user1", "cross-server"); err != nil {
		t.Fatal(err)
	}
	users[1].expect("*** user1 was kicked by admin (cross-server)")
	users[1].closed()
	users[2].expect("*** user1 was kicked by admin (cross-server)")
	users[0].expect("*** user1 was kicked by admin (cross-server)")

	// The nickname is free again everywhere once its holder left.
	testwait.For(t, `!in[2].bus.Holds("user1")`, func() bool { return !in[2].bus.Holds("user1") })
	again := join(t, in[2].addr, "user1")
	again.send("back")
	users[0].expect("<user1> back")
}

// expectAll reads lines until it has seen every one of want, in any order.
func (c *chatClient) expectAll(want ...string) {
	c.t.Helper()
	missing := make(map[string]bool)
	for _, w := range want {
		missing[w] = true
	}
	for range 100 {
		delete(missing, c.line())
		if len(missing) == 0 {
			return
		}
	}
	c.t.Fatalf("never got %q", want)
}

// expectWho asks /who until the answer is want, for at most 10 seconds.
func (c *chatClient) expectWho(want string) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.send("/who")
		got := c.line()
		for !strings.HasPrefix(got, "*** here (") {
			got = c.line()
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("/who = %q, want %q", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNATSLost(t *testing.T) {
	ns := startNATS(t)
	in := startInstances(t, ns.ClientURL(), 2)
	a := join(t, in[0].addr, "alice")
	a2 := join(t, in[0].addr, "alan")
	join(t, in[1].addr, "bob")
	a.expect("*** alan joined")
	a.expect("*** bob joined")

	ns.Shutdown()
	a.expect("*** lost contact with the other chat servers*")
	// Local users still talk to each other.
	a2.send("still here?")
	a.expect("<alan> still here?")
	// And new local users can still join.
	join(t, in[0].addr, "carol")
	a.expect("*** carol joined")
}

func TestClaimWithoutBus(t *testing.T) {
	h := NewHub(HubConfig{})
	m := h.NewMember(netip.Addr{}, nil)
	if err := h.Join(context.Background(), m, "solo"); err != nil {
		t.Fatal(err)
	}
	if err := h.Join(context.Background(), h.NewMember(netip.Addr{}, nil), "SOLO"); !errors.Is(err, ErrNickTaken) {
		t.Errorf("got %v", err)
	}
}

// TestNATSBatch checks that a batch of joins made on one instance reaches
// the members of another once, in order with the messages around it.
func TestNATSBatch(t *testing.T) {
	ns := startNATS(t)
	var hubs []*Hub
	for _, cfg := range []HubConfig{{BatchAbove: 2, BatchWindow: 300 * time.Millisecond, History: -1}, {History: -1}} {
		h := NewHub(cfg)
		bus, err := ConnectNATS(t.Context(), ns.ClientURL(), h, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(bus.Close)
		hubs = append(hubs, h)
	}
	a, b := hubs[0], hubs[1]
	ms := fill(t, a, 4)
	bob := b.NewMember(netip.Addr{}, nil)
	if err := b.Join(context.Background(), bob, "bob"); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		until(t, m, "*** bob joined")
	}
	// Whatever A published before reaches bob before this.
	a.Say(ms[3], "ready")
	until(t, bob, "<u3> ready")
	for _, m := range ms {
		until(t, m, "<u3> ready")
	}

	quiet(t, a)
	var burst []*Member
	for i := range 6 {
		m := a.NewMember(netip.Addr{}, nil)
		if err := a.Join(context.Background(), m, fmt.Sprintf("x%d", i)); err != nil {
			t.Fatal(err)
		}
		burst = append(burst, m)
	}
	a.Say(burst[5], "marker")
	want := []string{"*** x0 joined", "*** joined: x1, x2, x3, x4, x5", "<x5> marker"}
	if got := until(t, bob, "<x5> marker"); !slices.Equal(got, want) {
		t.Errorf("bob on the other instance got %q, want %q", got, want)
	}
	if got := until(t, ms[0], "<x5> marker"); !slices.Equal(got, want) {
		t.Errorf("u0 on the same instance got %q, want %q", got, want)
	}
	// A second marker proves nothing came twice in between.
	b.Say(bob, "end")
	if got := until(t, bob, "<bob> end"); !slices.Equal(got, []string{"<bob> end"}) {
		t.Errorf("bob then got %q, want only his own message", got)
	}
}

// TestNATSBans is the last part of defect 8 of issue 11: bans and unbans
// reach every instance, as kicks do. An admin on one instance bans a
// nickname held on the other, then an address, and lifts both.
func TestNATSBans(t *testing.T) {
	const token = "tok-12345678"
	ns := startNATS(t)
	var hubs []*Hub
	var addrs []string
	for range 2 {
		hub := NewHub(HubConfig{History: -1})
		bus, err := ConnectNATS(t.Context(), ns.ClientURL(), hub, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(bus.Close)
		addr, _ := startChat(t, &Handler{Hub: hub, AdminToken: token}, service.Limits{})
		hubs = append(hubs, hub)
		addrs = append(addrs, addr)
	}
	ops := join(t, addrs[0], "ops")
	ops.send("/auth " + token)
	ops.expect("*** you are an admin now*")
	trent := join(t, addrs[1], "trent")
	bob := join(t, addrs[1], "bob")
	ops.expect("*** trent joined")
	ops.expect("*** bob joined")
	ops.expectWho("*** here (3): bob, ops, trent")

	ops.send("/ban trent 1h")
	trent.expect("*** trent was kicked by ops (banned for *")
	trent.closed()
	bob.expect("*** trent was kicked by ops (banned for *")
	// The kick comes back from the other instance, in either order with
	// the answer to the ban.
	ops.expectAny("*** banned the nickname trent for 1h0m0s", "*** trent was kicked by ops (banned for *")
	// Kept out of the other instance too, under any case.
	again := connect(t, addrs[1])
	again.send("Trent")
	again.expect("error: banned: the nickname trent until *")
	if got := hubs[1].Bans(); len(got) != 1 || got[0].String() != "the nickname trent" || got[0].By != "ops" {
		t.Errorf("bans on the other instance: %v", got)
	}

	// An address: everyone from it goes, on every instance, but the
	// admin who asked.
	ops.send("/ban 127.0.0.1 1h")
	bob.expect("*** bob was kicked by ops (banned for *")
	bob.closed()
	ops.expect("*** banned the address 127.0.0.1 for 1h0m0s (your own address is in it*")
	late := connect(t, addrs[1])
	late.send("carol")
	late.expect("error: banned: the address 127.0.0.1 until *")

	// Unbans reach the other instance as well.
	ops.send("/unban 127.0.0.1")
	ops.expect("*** unbanned the address 127.0.0.1")
	ops.send("/unban trent")
	ops.expect("*** unbanned the nickname trent")
	testwait.For(t, `len(hubs[1].Bans()) == 0`, func() bool { return len(hubs[1].Bans()) == 0 })
	join(t, addrs[1], "trent")
	ops.expect("*** trent joined")
}

// expectAny reads lines until it has seen one matching each of want, in
// any order; a want ending in "*" matches lines starting with the rest.
func (c *chatClient) expectAny(want ...string) {
	c.t.Helper()
	missing := slices.Clone(want)
	for range 100 {
		got := c.line()
		missing = slices.DeleteFunc(missing, func(w string) bool {
			return got == w || strings.HasSuffix(w, "*") && strings.HasPrefix(got, strings.TrimSuffix(w, "*"))
		})
		if len(missing) == 0 {
			return
		}
	}
	c.t.Fatalf("never got %q", missing)
}

// TestNATSBansReachLaterInstances checks that a ban holds on an instance
// started after it was made, and an unban on one started after it.
func TestNATSBansReachLaterInstances(t *testing.T) {
	ns := startNATS(t)
	connect := func(clock *fakeClock) (*Hub, *NATSBus) {
		t.Helper()
		h := NewHub(HubConfig{History: -1, Clock: clock})
		bus, err := ConnectNATS(t.Context(), ns.ClientURL(), h, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(bus.Close)
		return h, bus
	}
	bans := func(h *Hub) string {
		var got []string
		for _, b := range h.Bans() {
			got = append(got, b.String())
		}
		return strings.Join(got, "|")
	}
	first, firstBus := connect(newFakeClock())
	console := first.NewMember(netip.Addr{}, nil)
	console.Admin = true
	mustJoin(t, first, console, AdminNick)
	trent := first.NewMember(netip.MustParseAddr("198.51.100.7"), nil)
	mustJoin(t, first, trent, "trent")
	for _, target := range []string{"trent", "192.0.2.0/24", "203.0.113.9"} {
		if _, err := first.Ban(console, target, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := first.Ban(console, "198.51.100.0/24", time.Minute); err != nil {
		t.Fatal(err)
	}
	first.Unban("203.0.113.9")
	firstBus.releases.Wait() // the bans are stored

	// An instance whose clock is past the short ban: it gets the others
	// before it serves.
	clock := newFakeClock()
	clock.Advance(2 * time.Minute)
	later, _ := connect(clock)
	if got, want := bans(later), "the addresses 192.0.2.0/24|the nickname trent"; got != want {
		t.Errorf("bans on the later instance %q, want %q", got, want)
	}
	if err := later.Join(context.Background(), later.NewMember(netip.MustParseAddr("192.0.2.44"), nil), "newcomer"); !errors.Is(err, ErrBanned) {
		t.Errorf("join from a banned range on the later instance: %v", err)
	}
	if err := later.Join(context.Background(), later.NewMember(netip.MustParseAddr("203.0.113.9"), nil), "unbanned"); err != nil {
		t.Errorf("join from an unbanned address on the later instance: %v", err)
	}

	// Lifted on the first instance: gone on the later one, and never
	// seen by a third.
	first.Unban("192.0.2.0/24")
	testwait.For(t, "the unban on the later instance", func() bool { return bans(later) == "the nickname trent" })
	firstBus.releases.Wait()
	third, _ := connect(clock)
	if got := bans(third); got != "the nickname trent" {
		t.Errorf("bans on a third instance %q, want the nickname alone", got)
	}
}

func TestConnectNATSHidesPassword(t *testing.T) {
	hub := NewHub(HubConfig{History: -1})
	defer hub.Close()
	// Nothing listens on port 1: the connect fails, and says where.
	_, err := ConnectNATS(t.Context(), "nats://ops:s3cret-pass@127.0.0.1:1", hub, nil)
	if err == nil {
		t.Fatal("connected to nothing")
	}
	if strings.Contains(err.Error(), "s3cret-pass") || !strings.Contains(err.Error(), "ops:xxxxx@127.0.0.1:1") {
		t.Errorf("error %q: want the URL with its password hidden", err)
	}
}
