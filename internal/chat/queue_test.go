package chat

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/testwait"
)

// drainLog records what a draining queue writes, call by call.
type drainLog struct {
	mu    sync.Mutex
	calls [][]string
	fail  error // returned by every write once set
	ended chan error
}

func newDrainLog() *drainLog { return &drainLog{ended: make(chan error, 2)} }

func (d *drainLog) write(batch []*Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var texts []string
	for _, e := range batch {
		texts = append(texts, e.Text)
	}
	d.calls = append(d.calls, texts)
	return d.fail
}

func (d *drainLog) end(err error) { d.ended <- err }

func (d *drainLog) all() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, c := range d.calls {
		out = append(out, c...)
	}
	return out
}

func TestQueueDrains(t *testing.T) {
	q := newQueue(1000)
	d := newDrainLog()
	done := q.drainTo(d.write, d.end)
	var want []string
	for i := range 500 {
		s := fmt.Sprint(i)
		want = append(want, s)
		if !q.push(&Event{Text: s}) {
			t.Fatalf("push %d refused", i)
		}
	}
	// The writer ends once the queue is empty, and a later push starts
	// another.
	testwait.For(t, "the writer to end", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return !q.running
	})
	q.push(&Event{Text: "later"})
	want = append(want, "later")
	q.close()
	select {
	case err := <-d.ended:
		if err != nil {
			t.Errorf("end(%v), want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("end not called after close")
	}
	<-done
	if got := d.all(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("written out of order or not all: %d of %d", len(got), len(want))
	}
	if q.push(&Event{Text: "after"}) {
		t.Error("push after close accepted")
	}
	if len(d.ended) != 0 {
		t.Error("end called twice")
	}
}

func TestQueueDrainFails(t *testing.T) {
	q := newQueue(10)
	d := newDrainLog()
	boom := errors.New("broken pipe")
	d.fail = boom
	done := q.drainTo(d.write, d.end)
	q.push(&Event{Text: "1"})
	select {
	case err := <-d.ended:
		if !errors.Is(err, boom) {
			t.Errorf("end(%v), want %v", err, boom)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("end not called after a failed write")
	}
	<-done
	// The connection is gone: what comes next is dropped without the
	// member counting as slow, until the transport takes it out.
	for i := range 20 {
		if !q.push(&Event{Text: fmt.Sprint(i)}) {
			t.Fatalf("push %d after the failure refused", i)
		}
	}
	q.close()
	if n := len(d.all()); n != 1 {
		t.Errorf("%d events written, want 1", n)
	}
	if len(d.ended) != 0 {
		t.Error("end called twice")
	}
}

func TestQueueDrainFull(t *testing.T) {
	q := newQueue(3)
	block := make(chan struct{})
	var once sync.Once
	started := make(chan struct{})
	q.drainTo(func([]*Event) error {
		once.Do(func() { close(started) })
		<-block
		return nil
	}, func(error) {})
	q.push(&Event{}) // taken by the writer, which then blocks
	<-started
	for i := range 3 {
		if !q.push(&Event{}) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.push(&Event{}) {
		t.Error("push past the bound accepted: a member that does not read is not dropped")
	}
	close(block)
}

// TestQueueWakeLater checks that events pushed for later are written
// together once woken.
func TestQueueWakeLater(t *testing.T) {
	q := newQueue(10)
	d := newDrainLog()
	q.drainTo(d.write, d.end)
	for i := range 3 {
		ok, asleep := q.pushLater(&Event{Text: fmt.Sprint(i)}, true)
		if !ok || !asleep {
			t.Fatalf("pushLater = %v, %v; want true, true", ok, asleep)
		}
	}
	q.wake()
	testwait.For(t, `len(d.all()) == 3`, func() bool { return len(d.all()) == 3 })
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.calls) != 1 {
		t.Errorf("written in %d calls %q, want 1", len(d.calls), d.calls)
	}
}

// TestHubWriteRounds checks that in a big room the events for a member
// are written in rounds, several to a write, and in a small room at once.
func TestHubWriteRounds(t *testing.T) {
	for _, tt := range []struct {
		name       string
		batchAbove int
		maxWrites  int
	}{
		{"big room", 2, 2},
		{"small room", -1, 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHub(HubConfig{BatchAbove: tt.batchAbove, BatchWindow: time.Hour, WriteEvery: 200 * time.Millisecond, History: -1})
			ms := fill(t, h, 4)
			m := h.NewMember(netip.Addr{}, nil)
			d := newDrainLog()
			m.Drain(d.write, d.end)
			if err := h.Join(context.Background(), m, "drained"); err != nil {
				t.Fatal(err)
			}
			// The welcome is written at once; wait for its writer to end.
			testwait.For(t, "the welcome written and its writer ended", func() bool {
				m.q.mu.Lock()
				defer m.q.mu.Unlock()
				return len(d.all()) == 1 && !m.q.running
			})
			start := time.Now()
			for i := range 10 {
				h.Say(ms[0], fmt.Sprint(i))
				if tt.batchAbove < 0 {
					// One at a time: wait for each to be written.
					testwait.For(t, `len(d.all()) == i+2`, func() bool { return len(d.all()) == i+2 })
				}
			}
			testwait.For(t, "the welcome and 10 messages", func() bool { return len(d.all()) == 11 })
			if took := time.Since(start); tt.batchAbove >= 0 && took < 150*time.Millisecond {
				t.Errorf("written after %v, before the round", took)
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			if len(d.calls) > tt.maxWrites+1 {
				t.Errorf("%d writes, want at most %d", len(d.calls), tt.maxWrites+1)
			}
		})
	}
}

// TestIdleMembersHaveNoWriter checks that a member over TCP that is sent
// nothing costs one goroutine, its reader, and none for writing.
func TestIdleMembersHaveNoWriter(t *testing.T) {
	hub := NewHub(HubConfig{})
	addr, _ := startChat(t, &Handler{Hub: hub}, service.Limits{})
	const n = 50
	before := runtime.NumGoroutine()
	var conns []*chatClient
	for i := range n {
		conns = append(conns, join(t, addr, fmt.Sprintf("idle%d", i)))
	}
	// The last join reached everyone: once it is read, every writer has
	// finished.
	for _, c := range conns[:n-1] {
		c.expect(fmt.Sprintf("*** idle%d joined", n-1))
	}
	var got int
	deadline := time.Now().Add(10 * time.Second)
	for {
		// n readers on the server's side; the clients read in the
		// test's goroutine and hold none.
		got = runtime.NumGoroutine() - before
		if got <= n+2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got > n+2 {
		t.Errorf("%d goroutines for %d idle members, want about %d", got, n, n)
	}
}

// BenchmarkBroadcast measures a message said in a room of 1,000 members
// whose writes cost nothing: the hub's own work for fan-out.
func BenchmarkBroadcast(b *testing.B) {
	h := NewHub(HubConfig{History: -1, QueueLen: 1 << 20})
	var members []*Member
	for i := range 1000 {
		m := h.NewMember(netip.Addr{}, nil)
		m.Drain(func([]*Event) error { return nil }, func(error) {})
		if err := h.Join(context.Background(), m, fmt.Sprintf("m%d", i)); err != nil {
			b.Fatal(err)
		}
		members = append(members, m)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h.Say(members[i%len(members)], "hello")
	}
	b.StopTimer()
	h.Close()
}
