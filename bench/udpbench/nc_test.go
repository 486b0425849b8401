package main

import (
	"testing"
)

func TestTCPListening(t *testing.T) {
	text := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:A123 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2558971 1 0000000079f60c81 100 0 0 10 0\n" +
		"   1: 0100007F:1F90 0100007F:A123 01 00000000:00000000 00:00000000 00000000     0        0 2558972 1 0000000079f60c82 100 0 0 10 0\n"
	tests := []struct {
		port int
		want bool
	}{
		{0xA123, true},
		{0x1F90, false}, // established, not listening
		{8081, false},
		{0, false},
	}
	for _, tt := range tests {
		if got := tcpListening(text, tt.port); got != tt.want {
			t.Errorf("tcpListening(port %d) = %v, want %v", tt.port, got, tt.want)
		}
	}
}
