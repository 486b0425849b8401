package cli

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/suite"
)

// TestPortInUse checks that a port in use is reported with what to do:
// the flag that moves it, and the --except that frees it in the suite.
func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	tcpAddr, udpAddr := l.Addr().String(), pc.LocalAddr().String()
	_, tcpPort, _ := net.SplitHostPort(tcpAddr)
	data := t.TempDir()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"echo", "serve", "--listen", tcpAddr}, []string{"port " + tcpPort + " is in use", "use --listen 127.0.0.1:0", "is 'netkit serve' running?"}},
		{[]string{"time", "serve", "--listen", "127.0.0.1:0", "--daytime", tcpAddr, "--rfc868", "127.0.0.1:0", "--sntp", "127.0.0.1:0"}, []string{"use --daytime 127.0.0.1:0"}},
		{[]string{"chat", "serve", "--console=false", "--listen", tcpAddr}, []string{"use --listen 127.0.0.1:0"}},
		{[]string{"udp", "recv", "--dir", data, "--listen", udpAddr}, []string{"UDP port", "use --listen 127.0.0.1:0"}},
		{[]string{"serve", "--only", "hello", "--port", "hello=" + tcpPort}, []string{"port " + tcpPort + " (hello) is in use", "--port hello=PORT", "--except hello"}},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		args := tt.args
		if tt.args[0] != "udp" {
			args = append(args, "--data", data)
		}
		err := Run(ctx, args, IO{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
		cancel()
		if err == nil || ExitCode(err) != 1 {
			t.Errorf("%v: %v (exit %d), want a failure", tt.args, err, ExitCode(err))
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q does not say %q", tt.args, err, w)
			}
		}
	}
}

// TestOnlyExceptEveryKey checks that --only and --except take every name
// of the suite's table, and that serve --help names each.
func TestOnlyExceptEveryKey(t *testing.T) {
	var help strings.Builder
	if err := Run(context.Background(), []string{"serve", "--help"}, IO{Stdout: &help, Stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	for _, k := range suiteKeys() {
		if !strings.Contains(help.String(), "\n  "+k+" ") {
			t.Errorf("serve --help does not list %s", k)
		}
		for _, fl := range []string{"--only", "--except"} {
			svcs, want, err := pickServices(map[bool]string{true: k}[fl == "--only"], map[bool]string{true: k}[fl == "--except"])
			if err != nil || len(svcs) == 0 {
				t.Errorf("%s %s: %v", fl, k, err)
				continue
			}
			if want[k] != (fl == "--only") {
				t.Errorf("%s %s: port %s wanted = %v", fl, k, k, want[k])
			}
		}
	}
}

func suiteKeys() []string { return suite.Keys() }
