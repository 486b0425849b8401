package e2e

import (
	"regexp"
	"testing"
	"time"
)

// rdateDate matches the date rdate -p prints, as ctime does but with the
// zone: "Sat Nov  1 22:06:05 UTC 2026".
var rdateDate = regexp.MustCompile(`[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ \d{4}`)

// TestRdate asks the time services for the time with rdate, over RFC 868
// (TCP and UDP) and SNTP, and checks the date it prints.
func TestRdate(t *testing.T) {
	t.Parallel()
	rdate := peer(t, "rdate")
	srv := startServer(t, "", []string{"rfc868/tcp", "rfc868/udp", "sntp/udp"}, "serve", "--random-ports", "--json", "--only", "time")
	if tcp, udp := srv.addr(t, "rfc868/tcp"), srv.addr(t, "rfc868/udp"); tcp != udp {
		t.Errorf("rfc868: tcp on %s but udp on %s; want the same port", tcp, udp)
	}
	tests := []struct {
		name     string
		flags    []string
		endpoint string
	}{
		{"RFC 868 over TCP", nil, "rfc868/tcp"},
		{"RFC 868 over UDP", []string{"-u"}, "rfc868/udp"},
		{"SNTP", []string{"-n"}, "sntp/udp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := srv.hostPort(t, tt.endpoint)
			args := append(append([]string{"-p"}, tt.flags...), "-o", port, host)
			r := run(t, command{path: rdate, args: args, env: []string{"TZ=UTC"}})
			r.wantCode(t, 0)
			date := rdateDate.FindString(r.stdout)
			if date == "" {
				t.Fatalf("rdate printed no date:\nstdout: %q\nstderr: %q", r.stdout, r.stderr)
			}
			got, err := time.Parse("Mon Jan _2 15:04:05 MST 2006", date)
			if err != nil {
				t.Fatalf("rdate's date %q: %v", date, err)
			}
			checkNear(t, "rdate's date", got)
		})
	}
}
