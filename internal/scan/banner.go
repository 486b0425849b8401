package scan

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	defaultBannerTimeout = 2 * time.Second
	defaultBannerMax     = 256
	bannerWorkers        = 32
)

// httpPorts are ports whose services wait for the client to speak first
// with HTTP; they get a HEAD request, the others a blank line.
var httpPorts = map[uint16]bool{80: true, 81: true, 591: true, 3000: true, 5000: true, 7700: true, 8000: true, 8008: true, 8080: true, 8081: true, 8888: true, 9000: true}

// banners connects once more to every open port, reads what the service
// says first, and yields each result with its banner. When ctx is done,
// the rest are yielded without one, so that nothing found is lost.
func (s *Scanner) banners(ctx context.Context, opens []Result, yield func(Result) bool) bool {
	to := s.BannerTimeout
	if to <= 0 {
		to = defaultBannerTimeout
	}
	limit := s.BannerMax
	if limit <= 0 {
		limit = defaultBannerMax
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	done := make(chan int)
	var wg sync.WaitGroup
	for range min(bannerWorkers, len(opens)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				opens[i].Banner = grabBanner(ctx, opens[i].Addr, opens[i].Port, to, limit)
				done <- i
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range opens {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(done)
	}()
	yielded := make([]bool, len(opens))
	ok := true
	for i := range done {
		yielded[i] = true
		if ok && !yield(opens[i]) {
			ok = false
			cancel()
		}
	}
	for i, y := range yielded {
		if !y && ok && !yield(opens[i]) {
			ok = false
		}
	}
	return ok
}

// grabBanner returns what the service at addr:port says within to, or
// answers to a gentle probe, escaped; "" when it says nothing.
func grabBanner(ctx context.Context, addr netip.Addr, port uint16, to time.Duration, limit int) string {
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(addr, port).String())
	if err != nil {
		return ""
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, limit)
	// Half the time to speak first, then a probe for the rest.
	c.SetReadDeadline(time.Now().Add(to / 2))
	n, _ := c.Read(buf)
	if n == 0 && ctx.Err() == nil {
		probe := "\r\n"
		if httpPorts[port] {
			probe = "HEAD / HTTP/1.0\r\n\r\n"
		}
		c.SetDeadline(time.Time{})
		if dl, ok := ctx.Deadline(); ok {
			c.SetDeadline(dl)
		}
		if _, err := c.Write([]byte(probe)); err == nil {
			n, _ = readSome(c, buf)
		}
	}
	return EscapeBanner(buf[:n])
}

// readSome reads until buf is full, a read fails, or a pause follows what
// came: a banner is usually one write.
func readSome(c net.Conn, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	}
	return n, nil
}

// EscapeBanner makes b safe to print on one line: printable text stays,
// "\r", "\n" and "\t" become those escapes, and every other control
// character or invalid byte becomes \xNN. Trailing line ends are dropped.
func EscapeBanner(b []byte) string {
	b = []byte(strings.TrimRight(string(b), "\r\n"))
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == '\\':
			sb.WriteString(`\\`)
		case r == utf8.RuneError && size == 1, !unicode.IsPrint(r) && r != ' ':
			for _, c := range b[:size] {
				sb.WriteString(`\x`)
				if c < 0x10 {
					sb.WriteByte('0')
				}
				sb.WriteString(strconv.FormatUint(uint64(c), 16))
			}
		default:
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}
