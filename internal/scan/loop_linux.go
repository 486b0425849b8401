package scan

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"
)

// A loop is one event loop: it owns an epoll instance, a share of the
// descriptor budget and a slice of the ports, and probes them on every
// target. Nothing in it is shared with other loops but the rate limiter
// and the output channel.
type loop struct {
	t       Timing
	targets []Target
	names   []string // each target's Host(), formatted once
	// bestTry is, per target and shared by the loops, the highest try of
	// a probe the host answered: silence is retried only one try past it,
	// as nmap does, so a host whose answers all come at the first try has
	// each silent port probed twice, not 1 + Retries times, until a retry
	// proves useful.
	bestTry []atomic.Uint32
	ports   []Port
	hosts   []hostState
	work    []int32 // hosts that may have something to send
	rr      int     // round-robin position in work
	group   rttEstimator
	lim     *rate.Limiter
	out     chan<- []Result
	free    chan []Result // batches the consumer is done with, for reuse
	batch   []Result
	flushed time.Time

	epfd      int
	slots     []slot // by descriptor
	deadlines deadlineHeap
	inflight  int
	budget    int // probes in flight allowed now
	maxBudget int
	pauseTill int64 // after local trouble, send nothing before this
	recovered int   // completions since the budget was last cut

	base time.Time
	sa4  unix.RawSockaddrInet4
	sa6  unix.RawSockaddrInet6
	buf  []byte
	oob  []byte

	probes, retries, localWait int
	err                        error
}

type hostState struct {
	next     int32     // next index into ports
	retry    []pending // silent ports to probe again
	inflight int32
	cwnd     float64
	ssthresh float64
	rtt      rttEstimator
	lastSend int64
	queued   bool // in loop.work
}

type pending struct {
	port  int32
	tries uint8
}

type slot struct {
	host  int32
	port  int32
	tries uint8
	used  bool
	icmp  bool // IP_RECVERR is set: ICMP errors can be read
	gen   uint32
	sent  int64
}

const (
	loopBatch     = 256
	flushEvery    = 20 * time.Millisecond
	maxWaitMillis = 50
	launchBurst   = 512
)

func newLoop(t Timing, targets []Target, ports []Port, budget int, lim *rate.Limiter, out chan<- []Result, free chan []Result, bestTry []atomic.Uint32) *loop {
	l := &loop{
		t: t, targets: targets, names: make([]string, len(targets)), ports: ports, lim: lim, out: out, free: free, bestTry: bestTry,
		hosts:  make([]hostState, len(targets)),
		work:   make([]int32, len(targets)),
		budget: budget, maxBudget: budget,
		buf: make([]byte, 512),
		oob: make([]byte, 512),
	}
	for i := range l.hosts {
		l.hosts[i] = hostState{cwnd: float64(t.InitialWindow), ssthresh: float64(t.MaxWindow), queued: true}
		l.work[i] = int32(i)
	}
	return l
}

func (l *loop) now() int64 { return int64(time.Since(l.base)) }

func (l *loop) run(ctx context.Context) {
	l.base = time.Now()
	l.flushed = l.base
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	for tries := 0; err != nil && isLocalTrouble(err) && tries < 500; tries++ {
		// Out of descriptors before the first probe: wait for some to
		// free rather than fail the scan (bounded: 5 s).
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
		epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	}
	if err != nil {
		l.err = err
		return
	}
	l.epfd = epfd
	defer l.cleanup()
	events := make([]unix.EpollEvent, 256)
	done := ctx.Done()
	for {
		select {
		case <-done:
			return
		default:
		}
		wait := l.launch()
		if l.inflight == 0 && len(l.work) == 0 {
			return
		}
		ms := 0
		if wait > 0 {
			ms = int((wait + int64(time.Millisecond) - 1) / int64(time.Millisecond))
			ms = min(ms, maxWaitMillis)
		}
		// Drain every ready event before expiring anything, so that an
		// answer that came in time is never taken for silence.
		for {
			n, err := unix.EpollWait(l.epfd, events, ms)
			if err != nil && err != unix.EINTR {
				l.err = err
				return
			}
			for i := range max(n, 0) {
				l.complete(int(events[i].Fd), events[i].Events)
			}
			if n < len(events) {
				break
			}
			ms = 0
		}
		l.expire()
		if len(l.batch) > 0 && time.Since(l.flushed) > flushEvery {
			if !l.flush(ctx) {
				return
			}
		}
	}
}

func (l *loop) cleanup() {
	for fd := range l.slots {
		if l.slots[fd].used {
			rawClose(fd)
		}
	}
	unix.Close(l.epfd)
	if len(l.batch) > 0 {
		l.out <- l.batch
		l.batch = nil
	}
}

func (l *loop) flush(ctx context.Context) bool {
	select {
	case l.out <- l.batch:
	case <-ctx.Done():
		return false
	}
	l.batch = l.newBatch()
	l.flushed = time.Now()
	return true
}

// newBatch returns an empty batch, one the consumer gave back if any.
func (l *loop) newBatch() []Result {
	select {
	case b := <-l.free:
		return b[:0]
	default:
		return make([]Result, 0, loopBatch)
	}
}

func (l *loop) emit(r Result) {
	l.batch = append(l.batch, r)
	if len(l.batch) >= loopBatch {
		l.out <- l.batch
		l.batch = l.newBatch()
		l.flushed = time.Now()
	}
}

// launch sends probes while the budget, the hosts' windows and the rate
// allow, and returns how long the loop may wait for events (0: poll).
func (l *loop) launch() int64 {
	now := l.now()
	wait := int64(maxWaitMillis) * int64(time.Millisecond)
	if d := l.deadlines.next(); d >= 0 {
		wait = min(wait, max(d-now, 0))
	}
	if now < l.pauseTill {
		return min(wait, l.pauseTill-now)
	}
	launched := 0
	for idle := 0; len(l.work) > 0 && idle < len(l.work) && launched < launchBurst; {
		if l.inflight >= l.budget {
			return wait
		}
		if l.rr >= len(l.work) {
			l.rr = 0
		}
		hi := l.work[l.rr]
		h := &l.hosts[hi]
		if len(h.retry) == 0 && int(h.next) >= len(l.ports) {
			// Nothing left to send; a timeout may queue it again.
			h.queued = false
			l.work[l.rr] = l.work[len(l.work)-1]
			l.work = l.work[:len(l.work)-1]
			continue
		}
		if float64(h.inflight) >= h.cwnd || (l.t.ScanDelay > 0 && h.lastSend != 0 && now-h.lastSend < int64(l.t.ScanDelay)) {
			if l.t.ScanDelay > 0 && h.lastSend != 0 {
				wait = min(wait, max(int64(l.t.ScanDelay)-(now-h.lastSend), 0))
			}
			l.rr++
			idle++
			continue
		}
		if l.lim != nil {
			r := l.lim.ReserveN(time.Now(), 1)
			if d := r.Delay(); d > 0 {
				r.Cancel()
				return min(wait, int64(d))
			}
		}
		var p pending
		if n := len(h.retry); n > 0 {
			p = h.retry[n-1]
			h.retry = h.retry[:n-1]
		} else {
			p = pending{port: h.next, tries: 0}
			h.next++
		}
		if !l.send(hi, p, now) {
			// Local trouble: put it back and wait for the pause.
			h.retry = append(h.retry, p)
			return min(wait, max(l.pauseTill-now, 0))
		}
		h.lastSend = now
		launched++
		idle = 0
		l.rr++
	}
	if launched >= launchBurst {
		return 0
	}
	return wait
}

// send starts one probe; false means local trouble, with l.pauseTill set.
func (l *loop) send(hi int32, p pending, now int64) bool {
	t := &l.targets[hi]
	port := l.ports[p.port]
	v6 := t.Addr.Is6() && !t.Addr.Is4In6()
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	}
	typ := unix.SOCK_STREAM
	if port.Proto == UDP {
		typ = unix.SOCK_DGRAM
	}
	fd, err := rawSocket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	if err != nil {
		l.trouble(err, now)
		return false
	}
	// ICMP errors are read from the socket's error queue to tell a
	// port-unreachable from a reset and an admin-prohibited from a host
	// unreachable. Loopback is left out: it costs two system calls a port
	// where they matter most, and the state is the same either way.
	loopback := t.Addr.IsLoopback()
	if v6 {
		if !loopback {
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
		}
		l.sa6.Family = unix.AF_INET6
		l.sa6.Addr = t.Addr.As16()
		l.sa6.Port = htons(port.Number)
		err = rawConnect6(fd, &l.sa6)
	} else {
		if !loopback {
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_RECVERR, 1)
		}
		l.sa4.Family = unix.AF_INET
		l.sa4.Addr = t.Addr.Unmap().As4()
		l.sa4.Port = htons(port.Number)
		err = rawConnect4(fd, &l.sa4)
	}
	if port.Proto == UDP && err == nil {
		_, err = unix.Write(fd, udpPayload(port.Number))
	}
	if err != nil && err != unix.EINPROGRESS && err != unix.EINTR && isLocalTrouble(err) {
		rawClose(fd)
		l.trouble(err, now)
		return false
	}
	if fd >= len(l.slots) {
		grown := make([]slot, max(fd+1, 2*len(l.slots), 1024))
		copy(grown, l.slots)
		l.slots = grown
	}
	s := &l.slots[fd]
	s.gen++
	*s = slot{host: hi, port: p.port, tries: p.tries + 1, used: true, gen: s.gen, sent: now, icmp: !loopback}
	l.inflight++
	l.hosts[hi].inflight++
	l.probes++
	if p.tries > 0 {
		l.retries++
	}
	switch {
	case err != nil && err != unix.EINPROGRESS && err != unix.EINTR:
		// Answered before connect returned (a refusal, no route...).
		l.finish(fd, err, l.now())
		return true
	case err == nil && port.Proto == TCP:
		l.finish(fd, nil, l.now())
		return true
	case port.Proto == TCP && loopback:
		// On loopback the handshake has run by the time connect returns:
		// ask before paying for epoll.
		if soerr, e := rawSoError(fd); e == nil && soerr != 0 {
			l.finish(fd, soerr, l.now())
			return true
		}
		if rawConnected(fd) {
			l.finish(fd, nil, l.now())
			return true
		}
	}
	ev := unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(fd)}
	if port.Proto == UDP {
		ev.Events = unix.EPOLLIN
	}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.release(fd)
		l.hosts[hi].retry = append(l.hosts[hi].retry, p)
		l.trouble(err, now)
		return true
	}
	l.deadlines.push(deadline{at: now + l.timeout(hi), fd: int32(fd), gen: s.gen})
	return true
}

func (l *loop) timeout(hi int32) int64 {
	h := &l.hosts[hi]
	if h.rtt.samples > 0 {
		return h.rtt.timeout(&l.t)
	}
	return l.group.timeout(&l.t)
}

// isLocalTrouble reports errors that say nothing about the target: this
// host is short of descriptors, ephemeral ports, buffers or memory.
func isLocalTrouble(err error) bool {
	switch err {
	case unix.EMFILE, unix.ENFILE, unix.EADDRNOTAVAIL, unix.ENOBUFS, unix.ENOMEM, unix.EAGAIN, unix.EADDRINUSE:
		return true
	}
	return false
}

// trouble slows the loop after local trouble: the budget drops to what is
// in flight now, and nothing is sent for a moment.
func (l *loop) trouble(err error, now int64) {
	l.localWait++
	if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
		l.budget = max(1, l.inflight)
	} else {
		l.budget = max(1, l.inflight*7/8)
	}
	l.recovered = 0
	pause := int64(time.Millisecond)
	if l.inflight == 0 {
		pause = 10 * int64(time.Millisecond)
	}
	l.pauseTill = now + pause
}

// complete handles an epoll event on fd.
func (l *loop) complete(fd int, events uint32) {
	if fd >= len(l.slots) || !l.slots[fd].used {
		return
	}
	now := l.now()
	port := l.ports[l.slots[fd].port]
	if port.Proto == UDP && events&unix.EPOLLIN != 0 {
		// Reading takes a pending ICMP error too (as ECONNREFUSED).
		_, err := unix.Read(fd, l.buf)
		switch {
		case err == nil:
			l.finishUDPAnswer(fd, now)
		case err == unix.EAGAIN || err == unix.EINTR:
		default:
			l.finish(fd, err, now)
		}
		return
	}
	soerr, err := rawSoError(fd)
	if err != nil {
		soerr = unix.EIO
	}
	l.finish(fd, errnoErr(soerr), now)
}

func (l *loop) finishUDPAnswer(fd int, now int64) {
	s := l.slots[fd]
	l.account(s, now, true)
	l.emit(l.result(s, Open, ReasonUDPResponse, now))
	l.release(fd)
}

// finish turns the outcome of a connect (err nil: connected) into a
// result, or into a retry when it was local trouble.
func (l *loop) finish(fd int, err error, now int64) {
	s := l.slots[fd]
	port := l.ports[s.port]
	var st State
	var why Reason
	switch {
	case err == nil && port.Proto == TCP:
		st, why = Open, ReasonSynAck
		_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &linger0)
		if selfConnect(fd) {
			// Connected to itself: the kernel chose the target's port as
			// the source port. Nothing listens there.
			st, why = Closed, ReasonConnRefused
		}
	case err == nil:
		// A UDP socket with nothing to read yet: wait for the timeout.
		return
	case err == unix.ECONNREFUSED:
		st, why = Closed, ReasonConnRefused
		if l.icmpReason(fd) == ReasonPortUnreach {
			why = ReasonPortUnreach
		}
		if port.Proto == UDP {
			why = ReasonPortUnreach
		}
	case err == unix.EHOSTUNREACH:
		st, why = Filtered, ReasonHostUnreach
		if r := l.icmpReason(fd); r == ReasonAdminProhib {
			why = r
		}
	case err == unix.ENETUNREACH, err == unix.EAFNOSUPPORT:
		st, why = Filtered, ReasonNetUnreach
	case err == unix.EACCES, err == unix.EPERM:
		st, why = Filtered, ReasonLocalProhibit
	case err == unix.ETIMEDOUT:
		l.timedOut(fd, now)
		return
	case isLocalTrouble(err):
		hi := s.host
		l.release(fd)
		l.hosts[hi].retry = append(l.hosts[hi].retry, pending{port: s.port, tries: s.tries - 1})
		l.queue(hi)
		l.trouble(err, now)
		return
	default:
		st, why = Filtered, ReasonHostUnreach
	}
	if port.Proto == UDP && st == Filtered && why == ReasonNoResponse {
		st = OpenFiltered
	}
	l.account(s, now, true)
	l.emit(l.result(s, st, why, now))
	l.release(fd)
}

// retime gives every probe in flight, all of them sent before the loop's
// first round-trip sample and so given the initial timeout, the timeout
// that sample makes, as nmap's group timing does: discovery of a /24
// then waits about a round trip, not a whole initial timeout, on each
// address nobody holds. The deadlines already queued go stale or are
// met by then.
func (l *loop) retime() {
	for fd := range l.slots {
		s := &l.slots[fd]
		if s.used {
			l.deadlines.push(deadline{at: s.sent + l.timeout(s.host), fd: int32(fd), gen: s.gen})
		}
	}
}

// account updates the host's timing and window for an answer.
func (l *loop) account(s slot, now int64, answered bool) {
	if !answered {
		return
	}
	h := &l.hosts[s.host]
	for b := &l.bestTry[s.host]; ; {
		old := b.Load()
		if uint32(s.tries) <= old || b.CompareAndSwap(old, uint32(s.tries)) {
			break
		}
	}
	sample := now - s.sent
	first := l.group.samples == 0
	h.rtt.add(sample)
	l.group.add(sample)
	if first {
		l.retime()
	}
	if s.tries > 1 {
		// A retry was answered: the first probe or its answer was lost.
		h.ssthresh = max(h.cwnd/2, float64(min(l.t.InitialWindow, 4)))
		h.cwnd = h.ssthresh
	} else {
		l.grow(h)
	}
	if l.budget < l.maxBudget {
		l.recovered++
		if l.recovered >= 16 {
			l.budget++
			l.recovered = 0
		}
	}
}

// grow widens h's window: by one per completed probe below the slow-start
// threshold (doubling every round trip), by 1/window above it.
func (l *loop) grow(h *hostState) {
	if h.cwnd < h.ssthresh {
		h.cwnd++
	} else {
		h.cwnd += 1 / h.cwnd
	}
	h.cwnd = min(h.cwnd, float64(l.t.MaxWindow))
}

func (l *loop) result(s slot, st State, why Reason, now int64) Result {
	t := &l.targets[s.host]
	port := l.ports[s.port]
	if l.names[s.host] == "" {
		l.names[s.host] = t.Host()
	}
	r := Result{Host: l.names[s.host], Addr: t.Addr, Port: port.Number, Proto: port.Proto, State: st, Reason: why, Tries: int(s.tries)}
	if why != ReasonNoResponse {
		r.RTT = time.Duration(now - s.sent)
	}
	return r
}

// release closes fd and forgets its probe. Closing removes it from the
// epoll set; its deadline entry goes stale (the generation moves on).
func (l *loop) release(fd int) {
	s := &l.slots[fd]
	s.used = false
	l.inflight--
	l.hosts[s.host].inflight--
	rawClose(fd)
}

// linger0 makes close send a reset, so a connected probe leaves nothing in
// TIME_WAIT. Only connected sockets need it, so it is set when one
// connects rather than on every socket.
var linger0 = unix.Linger{Onoff: 1, Linger: 0}

func (l *loop) queue(hi int32) {
	h := &l.hosts[hi]
	if !h.queued {
		h.queued = true
		l.work = append(l.work, hi)
	}
}

// expire ends the probes whose deadline has passed: retried while tries
// remain, else filtered (TCP) or open|filtered (UDP).
func (l *loop) expire() {
	now := l.now()
	for {
		d, ok := l.deadlines.peek()
		if !ok || d.at > now {
			return
		}
		l.deadlines.pop()
		fd := int(d.fd)
		if fd >= len(l.slots) || !l.slots[fd].used || l.slots[fd].gen != d.gen {
			continue
		}
		l.timedOut(fd, now)
	}
}

func (l *loop) timedOut(fd int, now int64) {
	s := l.slots[fd]
	port := l.ports[s.port]
	l.release(fd)
	// Silence alone is no sign of congestion (a filtered port is always
	// silent), so a probe that timed out frees its place in the window
	// and widens it as an answer does; only a retry that is then answered
	// narrows it.
	h := &l.hosts[s.host]
	l.grow(h)
	if int(s.tries) <= l.t.Retries && uint32(s.tries) <= max(l.bestTry[s.host].Load(), 1) {
		l.hosts[s.host].retry = append(l.hosts[s.host].retry, pending{port: s.port, tries: s.tries})
		l.queue(s.host)
		return
	}
	st := Filtered
	if port.Proto == UDP {
		st = OpenFiltered
	}
	l.emit(l.result(s, st, ReasonNoResponse, now))
}

// icmpReason reads the ICMP error the kernel queued on fd (IP_RECVERR), if
// any, and names it.
func (l *loop) icmpReason(fd int) Reason {
	if !l.slots[fd].icmp {
		return 0
	}
	_, oobn, _, _, err := unix.Recvmsg(fd, l.buf[:0], l.oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
	if err != nil || oobn == 0 {
		return 0
	}
	msgs, err := unix.ParseSocketControlMessage(l.oob[:oobn])
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if len(m.Data) < 8 {
			continue
		}
		origin, typ, code := m.Data[4], m.Data[5], m.Data[6]
		switch {
		case origin == unix.SO_EE_ORIGIN_ICMP && typ == 3 && code == 3,
			origin == unix.SO_EE_ORIGIN_ICMP6 && typ == 1 && code == 4:
			return ReasonPortUnreach
		case origin == unix.SO_EE_ORIGIN_ICMP && typ == 3 && (code == 9 || code == 10 || code == 13),
			origin == unix.SO_EE_ORIGIN_ICMP6 && typ == 1 && code == 1:
			return ReasonAdminProhib
		case origin == unix.SO_EE_ORIGIN_ICMP && typ == 3:
			return ReasonHostUnreach
		}
	}
	return 0
}

// selfConnect reports a TCP socket connected to its own address, which
// Linux allows when it picks the destination port as the source port.
func selfConnect(fd int) bool {
	la, err1 := unix.Getsockname(fd)
	ra, err2 := unix.Getpeername(fd)
	if err1 != nil || err2 != nil {
		return false
	}
	switch a := la.(type) {
	case *unix.SockaddrInet4:
		b, ok := ra.(*unix.SockaddrInet4)
		return ok && a.Port == b.Port && a.Addr == b.Addr
	case *unix.SockaddrInet6:
		b, ok := ra.(*unix.SockaddrInet6)
		return ok && a.Port == b.Port && a.Addr == b.Addr
	}
	return false
}
