package scan

// deadline is when the probe on descriptor fd times out; gen tells a live
// entry from one whose probe already ended (the descriptor may be reused).
type deadline struct {
	at  int64
	fd  int32
	gen uint32
}

// deadlineHeap is a binary min-heap of deadlines, typed to avoid
// container/heap's interface boxing on the hot path.
type deadlineHeap []deadline

func (h *deadlineHeap) push(d deadline) {
	*h = append(*h, d)
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a[p].at <= a[i].at {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h deadlineHeap) peek() (deadline, bool) {
	if len(h) == 0 {
		return deadline{}, false
	}
	return h[0], true
}

// next is the earliest deadline, or -1 when there is none.
func (h deadlineHeap) next() int64 {
	if len(h) == 0 {
		return -1
	}
	return h[0].at
}

func (h *deadlineHeap) pop() deadline {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && a[l].at < a[m].at {
			m = l
		}
		if r < n && a[r].at < a[m].at {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}
