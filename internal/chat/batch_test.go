package chat

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/testwait"
)

// until collects m's lines up to and including the first equal to last,
// failing after 5 seconds.
func until(t *testing.T, m *Member, last string) []string {
	t.Helper()
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(got, last) {
		if time.Now().After(deadline) {
			t.Fatalf("never got %q; got %q", last, got)
		}
		got = append(got, recv(t, m, 1)...)
	}
	return got
}

// roster follows a who-list as a client does, from the lines it is sent.
type roster map[string]bool

func (r roster) apply(lines ...string) {
	for _, l := range lines {
		rc, ok := ParseRoster(l)
		if !ok {
			continue
		}
		if rc.Set != nil {
			clear(r)
			for _, n := range rc.Set {
				r[n] = true
			}
		}
		for _, n := range rc.Remove {
			delete(r, n)
		}
		for _, n := range rc.Add {
			r[n] = true
		}
	}
}

func (r roster) String() string {
	var names []string
	for n := range r {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// fill joins members u0, u1, ... to h and returns them, with every
// member's queue emptied.
func fill(t *testing.T, h *Hub, n int) []*Member {
	t.Helper()
	var ms []*Member
	for i := range n {
		m := h.NewMember(netip.Addr{}, nil)
		if err := h.Join(context.Background(), m, fmt.Sprintf("u%d", i)); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	// A message from the last marks the end of the joins for everyone.
	last := ms[len(ms)-1]
	h.Say(last, "filled")
	for _, m := range ms {
		until(t, m, "<"+h.Nick(last)+"> filled")
	}
	return ms
}

// quiet waits until h has no batching window open.
func quiet(t *testing.T, h *Hub) {
	t.Helper()
	testwait.For(t, "the batching window to close", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.window == nil
	})
}

func TestHubBatchesBurst(t *testing.T) {
	h := NewHub(HubConfig{BatchAbove: 4, BatchWindow: 300 * time.Millisecond, History: -1})
	ms := fill(t, h, 6)
	watcher := ms[0]
	// In a quiet room the first join of a burst is announced at once,
	// and the rest of the burst together when the window ends.
	quiet(t, h)
	var burst []*Member
	for i := range 6 {
		m := h.NewMember(netip.Addr{}, nil)
		if err := h.Join(context.Background(), m, fmt.Sprintf("b%d", i)); err != nil {
			t.Fatal(err)
		}
		burst = append(burst, m)
	}
	want := []string{"*** b0 joined", "*** joined: b1, b2, b3, b4, b5"}
	if got := recv(t, watcher, 2); !slices.Equal(got, want) {
		t.Errorf("watcher got %q, want %q", got, want)
	}
	// Leaves in a burst, with their reasons.
	quiet(t, h)
	h.Leave(burst[0], "quit")
	h.Leave(burst[1], "quit")
	h.Leave(burst[2], "timeout")
	h.Leave(burst[3], "quit")
	want = []string{"*** b0 left (quit)", "*** left (quit): b1, b3", "*** b2 left (timeout)"}
	if got := recv(t, watcher, 3); !slices.Equal(got, want) {
		t.Errorf("watcher got %q, want %q", got, want)
	}
	// A newcomer of the burst ends up with the right who-list.
	r := roster{}
	r.apply(until(t, burst[5], "*** b2 left (timeout)")...)
	if got, want := r.String(), "b4,b5,u0,u1,u2,u3,u4,u5"; got != want {
		t.Errorf("b5's who-list = %q, want %q", got, want)
	}
}

func TestHubSmallRoomNotBatched(t *testing.T) {
	h := NewHub(HubConfig{BatchAbove: 8, BatchWindow: time.Hour, History: -1})
	ms := fill(t, h, 1)
	var want []string
	var joined []*Member
	for i := 1; i <= 8; i++ {
		m := h.NewMember(netip.Addr{}, nil)
		if err := h.Join(context.Background(), m, fmt.Sprintf("u%d", i)); err != nil {
			t.Fatal(err)
		}
		joined = append(joined, m)
		want = append(want, fmt.Sprintf("*** u%d joined", i))
	}
	h.Leave(joined[0], "quit")
	h.Leave(joined[1], "quit")
	want = append(want, "*** u1 left (quit)", "*** u2 left (quit)")
	if got := recv(t, ms[0], len(want)); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q: one line each, at once", got, want)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.window != nil || len(h.pending) > 0 {
		t.Errorf("a window is open in a room of %d", len(h.members))
	}
}

// TestHubBatchOrder checks that nobody is heard from before their join is
// announced, nor about after their leave, whatever batch it waits in.
func TestHubBatchOrder(t *testing.T) {
	h := NewHub(HubConfig{BatchAbove: 2, BatchWindow: time.Hour, History: -1})
	ms := fill(t, h, 4)
	watcher := ms[0]
	a, b := h.NewMember(netip.Addr{}, nil), h.NewMember(netip.Addr{}, nil)
	h.Join(context.Background(), a, "alice")
	h.Join(context.Background(), b, "bob")
	h.Say(a, "hi")
	want := []string{"*** joined: alice, bob", "<alice> hi"}
	if got := recv(t, watcher, 2); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// A message from someone not waiting leaves the batch waiting.
	c := h.NewMember(netip.Addr{}, nil)
	h.Join(context.Background(), c, "carol")
	h.Say(a, "again")
	if got := recv(t, watcher, 1); got[0] != "<alice> again" {
		t.Errorf("got %q, want alice's message alone", got)
	}
	// A rename, a private message and a kick of someone waiting.
	tests := []struct {
		name string
		do   func()
		want []string
	}{
		{"rename", func() { h.Rename(context.Background(), c, "caroline") }, []string{"*** carol joined", "*** carol is now known as caroline"}},
		{"private", func() {
			d := h.NewMember(netip.Addr{}, nil)
			h.Join(context.Background(), d, "dave")
			h.Private(d, "u0", "psst")
		}, []string{"*** dave joined", "[private] <dave> to u0: psst"}},
		{"kick", func() {
			e := h.NewMember(netip.Addr{}, nil)
			h.Join(context.Background(), e, "erin")
			h.Kick("admin", "erin", "no")
		}, []string{"*** erin joined", "*** erin was kicked by admin (no)"}},
		{"action", func() {
			h.Leave(b, "quit")
			f := h.NewMember(netip.Addr{}, nil)
			h.Join(context.Background(), f, "frank")
			h.Me(f, "waves")
		}, []string{"*** bob left (quit)", "*** frank joined", "* frank waves"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			if got := recv(t, watcher, len(tt.want)); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestHubBatchLeaveOfPendingJoin has someone leave while their join still
// waits in the batch: both are announced, in order, so that those whose
// welcome listed them drop them again.
func TestHubBatchLeaveOfPendingJoin(t *testing.T) {
	h := NewHub(HubConfig{BatchAbove: 2, BatchWindow: time.Hour, History: -1})
	ms := fill(t, h, 4)
	watcher := ms[0]
	a := h.NewMember(netip.Addr{}, nil)
	h.Join(context.Background(), a, "alice")
	c := h.NewMember(netip.Addr{}, nil)
	h.Join(context.Background(), c, "carol") // carol's welcome lists alice
	h.Leave(a, "quit")
	h.Announce("flush")
	want := []string{"*** joined: alice, carol", "*** alice left (quit)", "*** flush"}
	if got := recv(t, watcher, len(want)); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	lines := until(t, c, "*** flush")
	if !strings.Contains(lines[0], "alice") {
		t.Errorf("carol's welcome %q does not list alice", lines[0])
	}
	r := roster{}
	r.apply(lines...)
	if got, want := r.String(), "carol,u0,u1,u2,u3"; got != want {
		t.Errorf("carol's who-list = %q, want %q", got, want)
	}

	// Out and back in within one window, then out again: each in turn.
	b := h.NewMember(netip.Addr{}, nil)
	h.Join(context.Background(), b, "bob")
	h.Leave(b, "quit")
	b = h.NewMember(netip.Addr{}, nil)
	h.Join(context.Background(), b, "bob")
	h.Leave(b, "timeout")
	h.Join(context.Background(), h.NewMember(netip.Addr{}, nil), "bob")
	h.Announce("flush 2")
	want = []string{"*** bob joined", "*** bob left (quit)", "*** bob joined", "*** bob left (timeout)", "*** bob joined", "*** flush 2"}
	if got := recv(t, watcher, len(want)); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	r.apply(until(t, c, "*** flush 2")...)
	if got, want := r.String(), "bob,carol,u0,u1,u2,u3"; got != want {
		t.Errorf("carol's who-list = %q, want %q", got, want)
	}
}

// TestHubCloseFlushesBatch checks that joins waiting in a batch are
// announced before the goodbye.
func TestHubCloseFlushesBatch(t *testing.T) {
	h := NewHub(HubConfig{BatchAbove: 2, BatchWindow: time.Hour, History: -1})
	ms := fill(t, h, 4)
	h.Join(context.Background(), h.NewMember(netip.Addr{}, nil), "alice")
	h.Close()
	want := []string{"*** alice joined", "*** server shutting down; goodbye"}
	if got := recv(t, ms[0], 3); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q and the end", got, want)
	}
}

// TestHubNamesSorted checks the sorted list of who is here that welcomes
// and /who are made from, as people join, leave and rename.
func TestHubNamesSorted(t *testing.T) {
	h := NewHub(HubConfig{History: -1})
	ms := map[string]*Member{}
	for _, n := range []string{"zed", "Bob", "alice", "carol", "Dave", "eve"} {
		m := h.NewMember(netip.Addr{}, nil)
		if err := h.Join(context.Background(), m, n); err != nil {
			t.Fatal(err)
		}
		ms[n] = m
	}
	h.Leave(ms["carol"], "quit")
	h.Kick("admin", "eve", "")
	if err := h.Rename(context.Background(), ms["zed"], "Adam"); err != nil {
		t.Fatal(err)
	}
	want := "Adam,alice,Bob,Dave"
	if got := strings.Join(h.Who(), ","); got != want {
		t.Errorf("Who = %q, want %q", got, want)
	}
	names, count := h.whoLocked(2)
	if strings.Join(names, ",") != "Adam,alice" || count != 4 {
		t.Errorf("whoLocked(2) = %q, %d", names, count)
	}
	newcomer := h.NewMember(netip.Addr{}, nil)
	h.Join(context.Background(), newcomer, "frank")
	if got := recv(t, newcomer, 1)[0]; got != "*** welcome, frank; here (5): Adam, alice, Bob, Dave, frank" {
		t.Errorf("welcome %q", got)
	}
}

// TestHubBatchWindowOnClock runs the batching window and the write rounds
// on a clock that moves only when told: the burst is announced exactly
// when the window ends, with no sleeping, and no round is left pending.
func TestHubBatchWindowOnClock(t *testing.T) {
	clock := newFakeClock()
	h := NewHub(HubConfig{BatchAbove: 4, BatchWindow: time.Second, History: -1, Clock: clock})
	ms := fill(t, h, 6)
	clock.Advance(time.Hour) // every window and round so far is over
	watcher := ms[0]
	for i := range 6 {
		m := h.NewMember(netip.Addr{}, nil)
		if err := h.Join(context.Background(), m, fmt.Sprintf("b%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := recv(t, watcher, 1); !slices.Equal(got, []string{"*** b0 joined"}) {
		t.Fatalf("first of the burst: %q", got)
	}
	clock.Advance(time.Second - time.Millisecond)
	if n := watcher.q.len(); n != 0 {
		t.Fatalf("%d events before the window ended", n)
	}
	clock.Advance(time.Millisecond)
	if watcher.q.len() == 0 {
		t.Fatal("the burst was not announced the moment the window ended")
	}
	if got, want := recv(t, watcher, 1), []string{"*** joined: b1, b2, b3, b4, b5"}; !slices.Equal(got, want) {
		t.Errorf("when the window ended: %q, want %q", got, want)
	}
	clock.Advance(DefaultWriteEvery)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.asleep) != 0 || h.wakeTimer != nil {
		t.Errorf("after the round: %d asleep, timer set %v", len(h.asleep), h.wakeTimer != nil)
	}
}
