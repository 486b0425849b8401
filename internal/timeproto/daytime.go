package timeproto

import "time"

// daytimeLayout follows the example in RFC 867, with the zone always UTC so
// that clients need not know the server's zone.
const daytimeLayout = "Monday, January 2, 2006 15:04:05-UTC\r\n"

// AppendDaytime appends t as an RFC 867 daytime line, in UTC and ending in
// "\r\n", for example "Saturday, November 21, 2026 22:04:05-UTC\r\n".
func AppendDaytime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, daytimeLayout)
}

// MaxDaytimeLen bounds the daytime line ParseDaytime reads.
const MaxDaytimeLen = 256

// daytimeLayouts are the formats ParseDaytime reads: netkit's, then the
// ones common daytime servers send. Those without a zone are taken as UTC.
var daytimeLayouts = []string{
	daytimeLayout,
	"Monday, January 2, 2006 15:04:05-MST\r\n",
	time.RFC3339,
	time.RFC1123,
	time.RFC1123Z,
	time.UnixDate,
	time.ANSIC,
	"02 JAN 2006 15:04:05 MST", // NIST style without the extras
}

// ParseDaytime reads an RFC 867 daytime line, in netkit's format or one of
// the common others (RFC 3339, RFC 1123, Unix date, ctime).
func ParseDaytime(line []byte) (time.Time, error) {
	if len(line) > MaxDaytimeLen {
		return time.Time{}, ErrDaytime
	}
	s := string(trimEOL(line))
	for _, l := range daytimeLayouts {
		if t, err := time.Parse(trimLayoutEOL(l), s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, ErrDaytime
}

func trimLayoutEOL(l string) string {
	for len(l) > 0 && (l[len(l)-1] == '\n' || l[len(l)-1] == '\r') {
		l = l[:len(l)-1]
	}
	return l
}
