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
