package chat

// Batching: in a big room, joins and leaves that come in a burst are
// announced together.

// change is a join or a leave waiting in a batch.
type change struct {
	join   bool
	nick   string
	reason string // why a leave
}

// announce tells everyone of a join or a leave: at once in a small room or
// a quiet one, else with the others of the same window. The caller holds
// h.mu.
func (h *Hub) announce(c change) {
	big := h.big()
	if len(h.pending) == 0 && (h.window == nil || !big) {
		if c.join {
			h.broadcast(&Event{Type: TypeJoin, Nick: c.nick})
		} else {
			h.broadcast(&Event{Type: TypeLeave, Nick: c.nick, Text: c.reason})
		}
		if big {
			h.openWindow()
		}
		return
	}
	h.pending = append(h.pending, c)
	h.pendingNicks[foldNick(c.nick)]++
}

// openWindow starts a batching window unless one is open. The caller holds
// h.mu.
func (h *Hub) openWindow() {
	if h.window != nil || h.closed {
		return
	}
	var t Timer
	t = h.clock.AfterFunc(h.batchWindow, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.window != t || h.closed {
			return
		}
		h.window = nil
		if len(h.pending) > 0 {
			h.flushPending()
			// The burst goes on: so does the batching.
			h.openWindow()
		}
	})
	h.window = t
}

// flushFor announces the waiting joins and leaves if any of them names one
// of nicks, before an event from or about them. The caller holds h.mu.
func (h *Hub) flushFor(nicks ...string) {
	if len(h.pending) == 0 {
		return
	}
	for _, n := range nicks {
		if h.pendingNicks[foldNick(n)] > 0 {
			h.flushPending()
			return
		}
	}
}

// flushPending announces the waiting joins and leaves, in order: each run
// of joins as one batch, each run of leaves as one batch per reason. The
// caller holds h.mu.
func (h *Hub) flushPending() {
	p := h.pending
	h.pending = nil
	clear(h.pendingNicks)
	for _, e := range batchEvents(p) {
		h.broadcast(e)
	}
}

// batchEvents turns changes into the events that announce them. A name
// appears at most once in a run of joins (joining twice takes a leave in
// between), and likewise in a run of leaves, so a run's order among its
// names does not matter, only the order of the runs.
func batchEvents(changes []change) []*Event {
	var out []*Event
	for i := 0; i < len(changes); {
		j := i + 1
		for j < len(changes) && changes[j].join == changes[i].join {
			j++
		}
		run := changes[i:j]
		if run[0].join {
			names := make([]string, len(run))
			for k, c := range run {
				names[k] = c.nick
			}
			out = append(out, listEvents(TypeJoin, "", names)...)
		} else {
			// One batch per reason, in the order the reasons came.
			var reasons []string
			byReason := make(map[string][]string)
			for _, c := range run {
				if _, ok := byReason[c.reason]; !ok {
					reasons = append(reasons, c.reason)
				}
				byReason[c.reason] = append(byReason[c.reason], c.nick)
			}
			for _, r := range reasons {
				out = append(out, listEvents(TypeLeave, r, byReason[r])...)
			}
		}
		i = j
	}
	return out
}
