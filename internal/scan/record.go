package scan

import (
	"cmp"
	"net/netip"
	"slices"
)

// record holds what a scan found for its report in two bytes a port per
// host, with banners apart: a /16 with 1,000 ports each takes 130 MB,
// where keeping every Result would take 80 bytes a port.
type record struct {
	ports []Port                  // the ports asked for, then any others seen
	index [protoCount][]int32     // proto -> port number -> index in ports, +1
	order []int32                 // port indexes by protocol, then number
	hosts map[netip.Addr]*hostRec // by address
	n     int                     // results recorded
	count [stateCount]int         // results by state
}

// hostRec is one host's results, by port index.
type hostRec struct {
	cells   []cell // State 0: no result for that port
	banners map[int32]string
	n       int
}

type cell struct {
	state  State
	reason Reason
}

// Bounds of the enums a cell stores.
const (
	protoCount = int(UDP) + 1
	stateCount = 256
)

func (rec *record) init(ports []Port) {
	rec.ports = slices.Clone(ports)
	for p := range rec.index {
		rec.index[p] = make([]int32, 1<<16)
	}
	for i, p := range rec.ports {
		rec.index[p.Proto][p.Number] = int32(i) + 1
	}
	rec.hosts = map[netip.Addr]*hostRec{}
}

// add records x.
func (rec *record) add(x Result) {
	i := rec.index[x.Proto][x.Port] - 1
	if i < 0 {
		i = int32(len(rec.ports))
		rec.ports = append(rec.ports, Port{x.Port, x.Proto})
		rec.index[x.Proto][x.Port] = i + 1
		rec.order = nil
	}
	h := rec.hosts[x.Addr]
	if h == nil {
		h = &hostRec{}
		rec.hosts[x.Addr] = h
	}
	if int(i) >= len(h.cells) {
		h.cells = slices.Grow(h.cells, len(rec.ports)-len(h.cells))[:len(rec.ports)]
	}
	if old := h.cells[i].state; old != 0 {
		rec.count[old]-- // a port reported again: the last answer stands
	} else {
		h.n++
		rec.n++
	}
	h.cells[i] = cell{x.State, x.Reason}
	rec.count[x.State]++
	if x.Banner != "" {
		if h.banners == nil {
			h.banners = map[int32]string{}
		}
		h.banners[i] = x.Banner
	}
}

// each calls fn with every result of the host at addr, by protocol and
// port.
func (rec *record) each(t Target, fn func(Result)) {
	h := rec.hosts[t.Addr]
	if h == nil {
		return
	}
	if rec.order == nil {
		rec.order = make([]int32, len(rec.ports))
		for i := range rec.order {
			rec.order[i] = int32(i)
		}
		slices.SortFunc(rec.order, func(a, b int32) int {
			pa, pb := rec.ports[a], rec.ports[b]
			return cmp.Or(cmp.Compare(pa.Proto, pb.Proto), cmp.Compare(pa.Number, pb.Number))
		})
	}
	host := t.Host()
	for _, i := range rec.order {
		if int(i) >= len(h.cells) || h.cells[i].state == 0 {
			continue
		}
		c, p := h.cells[i], rec.ports[i]
		fn(Result{Host: host, Addr: t.Addr, Port: p.Number, Proto: p.Proto, State: c.state, Reason: c.reason, Banner: h.banners[i]})
	}
}
