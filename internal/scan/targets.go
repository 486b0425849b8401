package scan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultMaxHosts is the most addresses ParseTargets expands to unless
// TargetOptions.MaxHosts says otherwise: a /16.
const DefaultMaxHosts = 65536

// TargetOptions tunes ParseTargets. The zero value resolves every address
// of a name and allows DefaultMaxHosts addresses.
type TargetOptions struct {
	// First keeps only the first address a host name resolves to.
	First bool
	// MaxHosts bounds the addresses of the whole list; 0 means
	// DefaultMaxHosts, -1 no bound.
	MaxHosts int
	// Exclude is removed from the list, in the same syntax.
	Exclude []string
	// Resolver resolves host names; nil is net.DefaultResolver.
	Resolver *net.Resolver
}

// TargetError is a target that could not be parsed or resolved.
type TargetError struct {
	Token string // the whole target as given
	Part  string // the part of it that is wrong, when there is one
	Err   error
}

func (e *TargetError) Error() string {
	if e.Part != "" && e.Part != e.Token {
		return fmt.Sprintf("scan: target %q: %q %v", e.Token, e.Part, e.Err)
	}
	return fmt.Sprintf("scan: target %q: %v", e.Token, e.Err)
}

func (e *TargetError) Unwrap() error { return e.Err }

// ErrTooManyHosts is returned when the targets expand past MaxHosts.
var ErrTooManyHosts = errors.New("scan: too many hosts")

// ParseTargets expands targets in nmap's syntax into addresses, in order,
// without duplicates:
//
//	192.168.1.7  2001:db8::1        addresses
//	10.0.0.0/24  10.1.2.3/30        CIDR blocks (host bits are masked)
//	10.0.0.1-20  10.0.0-3.1  10.0.0.*  10.0.1,3.1   ranges of octets
//	10.0.0.1-10.0.1.9               a range of addresses
//	example.com                     every address a name resolves to
func ParseTargets(ctx context.Context, specs []string, opt TargetOptions) ([]Target, error) {
	limit := opt.MaxHosts
	if limit == 0 {
		limit = DefaultMaxHosts
	}
	var ex targetSet
	for _, s := range opt.Exclude {
		for tok := range strings.SplitSeq(s, ",") {
			if tok = strings.TrimSpace(tok); tok == "" {
				continue
			}
			if err := ex.add(ctx, tok, opt, -1); err != nil {
				return nil, err
			}
		}
	}
	var set targetSet
	set.exclude = ex.seen
	for _, s := range specs {
		if err := set.add(ctx, s, opt, limit); err != nil {
			return nil, err
		}
	}
	return set.list, nil
}

type targetSet struct {
	list    []Target
	seen    map[netip.Addr]bool
	exclude map[netip.Addr]bool
}

func (ts *targetSet) push(name string, a netip.Addr, limit int, tok string) error {
	a = a.Unmap()
	if ts.seen == nil {
		ts.seen = map[netip.Addr]bool{}
	}
	if ts.seen[a] || ts.exclude[a] {
		return nil
	}
	if limit >= 0 && len(ts.list) >= limit {
		return &TargetError{Token: tok, Err: fmt.Errorf("%w: more than %d addresses (raise --max-hosts to scan more)", ErrTooManyHosts, limit)}
	}
	ts.seen[a] = true
	ts.list = append(ts.list, Target{Name: name, Addr: a})
	return nil
}

func (ts *targetSet) add(ctx context.Context, tok string, opt TargetOptions, limit int) error {
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return &TargetError{Token: tok, Err: errors.New("is empty")}
	}
	if a, err := netip.ParseAddr(tok); err == nil {
		return ts.push("", a, limit, tok)
	}
	if strings.Contains(tok, "/") {
		return ts.addPrefix(tok, limit)
	}
	if i := strings.IndexByte(tok, '-'); i > 0 {
		lo, err1 := netip.ParseAddr(tok[:i])
		hi, err2 := netip.ParseAddr(tok[i+1:])
		if err1 == nil && err2 == nil {
			return ts.addRange(tok, lo, hi, limit)
		}
	}
	if looksLikeOctets(tok) {
		return ts.addOctets(tok, limit)
	}
	if err := checkHostName(tok); err != nil {
		return err
	}
	r := opt.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", tok)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return &TargetError{Token: tok, Err: errors.New("no such host")}
		}
		return &TargetError{Token: tok, Err: err}
	}
	for i, a := range addrs {
		if opt.First && i > 0 {
			break
		}
		if err := ts.push(tok, a, limit, tok); err != nil {
			return err
		}
	}
	return nil
}

func (ts *targetSet) addPrefix(tok string, limit int) error {
	addr, bits, _ := strings.Cut(tok, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return &TargetError{Token: tok, Part: addr, Err: errors.New("is not an IP address (a CIDR block is ADDRESS/BITS)")}
	}
	n, err := strconv.Atoi(bits)
	if err != nil || n < 0 || n > a.BitLen() {
		return &TargetError{Token: tok, Part: "/" + bits, Err: fmt.Errorf("is not a prefix length (0-%d)", a.BitLen())}
	}
	p := netip.PrefixFrom(a, n).Masked()
	if host := a.BitLen() - n; host > 24 {
		return &TargetError{Token: tok, Err: fmt.Errorf("%w: a /%d is more addresses than any scan here can visit", ErrTooManyHosts, n)}
	}
	if limit >= 0 {
		host := a.BitLen() - n
		if host >= 62 || len(ts.list)+(1<<host) > limit {
			return &TargetError{Token: tok, Err: fmt.Errorf("%w: a /%d is more than %d addresses (raise --max-hosts to scan more)", ErrTooManyHosts, n, limit)}
		}
	}
	for x := p.Addr(); x.IsValid() && p.Contains(x); x = x.Next() {
		if err := ts.push("", x, limit, tok); err != nil {
			return err
		}
	}
	return nil
}

func (ts *targetSet) addRange(tok string, lo, hi netip.Addr, limit int) error {
	if lo.Is4() != hi.Is4() {
		return &TargetError{Token: tok, Err: errors.New("mixes IPv4 and IPv6")}
	}
	if hi.Less(lo) {
		return &TargetError{Token: tok, Err: errors.New("ends before it starts")}
	}
	for x := lo; x.IsValid() && !hi.Less(x); x = x.Next() {
		if err := ts.push("", x, limit, tok); err != nil {
			return err
		}
	}
	return nil
}

// looksLikeOctets reports a token of four dot-separated parts made only of
// digits, '-', ',' and '*': nmap's octet ranges.
func looksLikeOctets(tok string) bool {
	if strings.Count(tok, ".") != 3 {
		return false
	}
	for _, c := range tok {
		if !(c >= '0' && c <= '9' || c == '-' || c == ',' || c == '*' || c == '.') {
			return false
		}
	}
	return true
}

func (ts *targetSet) addOctets(tok string, limit int) error {
	var sets [4][]byte
	total := 1
	for i, part := range strings.Split(tok, ".") {
		vals, err := parseOctet(part)
		if err != nil {
			return &TargetError{Token: tok, Part: part, Err: err}
		}
		sets[i] = vals
		total *= len(vals)
	}
	if limit >= 0 && len(ts.list)+total > limit {
		return &TargetError{Token: tok, Err: fmt.Errorf("%w: %d addresses, more than %d (raise --max-hosts to scan more)", ErrTooManyHosts, total, limit)}
	}
	for _, a := range sets[0] {
		for _, b := range sets[1] {
			for _, c := range sets[2] {
				for _, d := range sets[3] {
					if err := ts.push("", netip.AddrFrom4([4]byte{a, b, c, d}), limit, tok); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// parseOctet parses one octet of a range: "7", "1-20", "-20", "200-",
// "1,3,5-7" or "*".
func parseOctet(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("is an empty octet")
	}
	var out []byte
	seen := [256]bool{}
	for item := range strings.SplitSeq(s, ",") {
		lo, hi := 0, 255
		switch {
		case item == "*":
		case strings.Contains(item, "-"):
			a, b, _ := strings.Cut(item, "-")
			var err error
			if a != "" {
				if lo, err = octet(a); err != nil {
					return nil, err
				}
			}
			if b != "" {
				if hi, err = octet(b); err != nil {
					return nil, err
				}
			}
			if hi < lo {
				return nil, fmt.Errorf("is a range that ends before it starts")
			}
		default:
			v, err := octet(item)
			if err != nil {
				return nil, err
			}
			lo, hi = v, v
		}
		for v := lo; v <= hi; v++ {
			if !seen[v] {
				seen[v] = true
				out = append(out, byte(v))
			}
		}
	}
	return out, nil
}

func octet(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > 255 || s == "" {
		return 0, fmt.Errorf("is not an octet (0-255)")
	}
	return v, nil
}

// checkHostName refuses what cannot be a host name, so that a typo in an
// address ("10.0.0.300", "10.0.0") is reported as such rather than sent to
// the resolver.
func checkHostName(tok string) error {
	digitsAndDots := true
	for _, c := range tok {
		if !(c >= '0' && c <= '9' || c == '.') {
			digitsAndDots = false
		}
	}
	if digitsAndDots {
		parts := strings.Split(tok, ".")
		if len(parts) != 4 {
			return &TargetError{Token: tok, Err: fmt.Errorf("is not an IPv4 address (it has %d parts, not 4)", len(parts))}
		}
		for _, p := range parts {
			if _, err := octet(p); err != nil {
				return &TargetError{Token: tok, Part: p, Err: err}
			}
		}
		return &TargetError{Token: tok, Err: errors.New("is not an IPv4 address")}
	}
	if strings.Contains(tok, ":") {
		return &TargetError{Token: tok, Err: errors.New("is not an IPv6 address")}
	}
	if len(tok) > 253 {
		return &TargetError{Token: tok, Err: errors.New("is longer than a host name can be (253 bytes)")}
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(tok, "."), ".") {
		if label == "" || len(label) > 63 {
			return &TargetError{Token: tok, Part: label, Err: errors.New("is not a host name label (1-63 bytes)")}
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return &TargetError{Token: tok, Part: label, Err: fmt.Errorf("has %q, which no host name has", c)}
			}
		}
	}
	return nil
}
