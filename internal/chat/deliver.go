package chat

import (
	"fmt"
	"runtime"
	"time"
)

// Delivery: queueing events for members, and the rounds in which a big
// room's writers are started.

// send queues e for m without blocking, and reports whether it fit. The
// caller holds h.mu.
func (h *Hub) send(m *Member, e *Event) bool {
	return !m.gone && m.q.push(e)
}

// Tell sends e to m alone (errors, help, who). A member whose queue is full
// misses it.
func (h *Hub) Tell(m *Member, e *Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.send(m, e) && !m.gone {
		h.drop(m, leaveSlow)
	}
}

func (h *Hub) stamp(e *Event) *Event {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.Origin == "" {
		e.Origin = h.origin
		e.Seq = h.seq.Add(1)
	}
	return e
}

// broadcast delivers e to everyone here and publishes it to the other
// instances. The caller holds h.mu.
func (h *Hub) broadcast(e *Event) {
	h.stamp(e)
	h.deliver(e)
	if h.bus != nil {
		h.bus.Publish(e)
	}
}

// deliver gives e to every member here and keeps it in the history if it
// is a message. Members whose queues are full are dropped, and their
// leaving is announced in turn. The caller holds h.mu.
func (h *Hub) deliver(e *Event) {
	if h.histCap > 0 && (e.Type == TypeMsg || e.Type == TypeMe) {
		if len(h.history) == h.histCap {
			copy(h.history, h.history[1:])
			h.history = h.history[:h.histCap-1]
		}
		h.history = append(h.history, e)
	}
	var slow []*Member
	later := h.writeEvery > 0 && h.big()
	for _, m := range h.members {
		ok, asleep := m.q.pushLater(e, later)
		switch {
		case !ok:
			slow = append(slow, m)
		case asleep && !m.asleep:
			m.asleep = true
			h.asleep = append(h.asleep, m)
		}
	}
	if len(h.asleep) > 0 && h.wakeTimer == nil {
		h.wakeTimer = h.clock.AfterFunc(h.nextRound(), h.wakeAll)
	}
	for _, m := range slow {
		h.drop(m, leaveSlow)
	}
}

// big reports whether the room is big enough for its joins and leaves to
// be batched and its deliveries written in rounds. The caller holds h.mu.
func (h *Hub) big() bool {
	return h.batchAbove >= 0 && len(h.members) > h.batchAbove
}

// wakeAll starts the writers of the members sent events since the last
// round. Rounds do not overlap: wakeTimer stays set while one runs, and
// what comes in meanwhile waits for the next, which starts roundGap after
// this one did, or at once if this one took longer. So the busier the
// room, the more events each write carries.
func (h *Hub) wakeAll() {
	h.mu.Lock()
	h.lastRound = h.clock.Now()
	ms := h.asleep
	h.asleep = nil
	for _, m := range ms {
		m.asleep = false
	}
	h.mu.Unlock()
	for i, m := range ms {
		m.q.wake()
		if i%wakeChunk == wakeChunk-1 {
			// Let those started write before starting more: most write
			// at once and end, so that a round over 10,000 members has
			// a few dozen writers alive at a time rather than 10,000,
			// each with a goroutine and a stack the runtime keeps.
			runtime.Gosched()
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.wakeTimer = nil
	if len(h.asleep) > 0 {
		h.wakeTimer = h.clock.AfterFunc(h.nextRound(), h.wakeAll)
	}
}

// nextRound is how long to wait before the next round: writeEvery after a
// quiet spell, which gathers a burst, and otherwise until roundGap after
// the last round started. The caller holds h.mu.
func (h *Hub) nextRound() time.Duration {
	return max(h.writeEvery, h.roundGap()-h.clock.Now().Sub(h.lastRound))
}

// roundGap is the time from the start of one round of writes to the start
// of the next: writeEvery, or more in a room so big that a round costs
// more, so that writing takes about half a core at most however fast the
// messages come. The caller holds h.mu.
func (h *Hub) roundGap() time.Duration {
	return max(h.writeEvery, min(time.Duration(len(h.members))*roundPerMember, maxRoundGap))
}

// wakeChunk is how many writers a round starts before letting them run.
const wakeChunk = 32

// roundPerMember is about twice what a write costs, most of it the system
// call, on a small machine; maxRoundGap bounds the wait it adds.
const (
	roundPerMember = 10 * time.Microsecond
	maxRoundGap    = 100 * time.Millisecond
)

// drop removes m, closes its queue and announces why. The caller holds h.mu.
func (h *Hub) drop(m *Member, reason string) {
	if m.gone {
		return
	}
	h.remove(m)
	if m.hangup != nil && reason == leaveSlow {
		go m.hangup()
	}
	h.logger.Info("dropped", "nick", m.nick, "peer", m.Addr, "reason", reason)
	h.announce(change{nick: m.nick, reason: reason})
}

// Say sends a message from m to everyone.
func (h *Hub) Say(m *Member, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !m.gone {
		h.flushFor(m.nick)
		h.broadcast(&Event{Type: TypeMsg, From: m.nick, Text: text})
	}
}

// Me sends an action from m to everyone.
func (h *Hub) Me(m *Member, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !m.gone {
		h.flushFor(m.nick)
		h.broadcast(&Event{Type: TypeMe, From: m.nick, Text: text})
	}
}

// Private sends text from m to the member called to, and a copy to m.
func (h *Hub) Private(m *Member, to, text string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flushFor(m.nick, to)
	dst, ok := h.members[foldNick(to)]
	if !ok {
		if h.bus != nil && h.bus.Holds(to) {
			e := h.stamp(&Event{Type: TypePrivate, From: m.nick, To: to, Text: text})
			h.bus.Publish(e)
			h.send(m, e)
			return nil
		}
		return fmt.Errorf("%w: %q", ErrNoSuchUser, to)
	}
	e := h.stamp(&Event{Type: TypePrivate, From: m.nick, To: dst.nick, Text: text})
	if !h.send(dst, e) {
		h.drop(dst, leaveSlow)
	}
	if dst != m {
		h.send(m, e)
	}
	return nil
}
