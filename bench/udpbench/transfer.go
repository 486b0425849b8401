package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// xfer is one netkit transfer to make.
type xfer struct {
	what        string
	src         source
	sealed      bool    // --secret on both ends
	legacy      bool    // --legacy --fragment-size 1428
	impair      bool    // through netkit impair
	loss        float64 // its --loss, percent
	seed        int64   // its --seed
	forceVerify bool    // check the SHA-256 even with -verify=false
}

// sendSummary is what netkit udp send --json prints.
type sendSummary struct {
	Bytes           int64   `json:"bytes"`
	Seconds         float64 `json:"seconds"`
	MBPerSecond     float64 `json:"mb_per_s"`
	Retransmissions uint64  `json:"retransmissions"`
	Timeouts        uint64  `json:"timeouts"`
	SRTTms          float64 `json:"srtt_ms"`
	Mode            string  `json:"mode"`
	Lost            uint64  `json:"lost"`
	LossEvents      uint64  `json:"loss_events"`
	Resumed         int64   `json:"resumed_bytes"`
	Error           string  `json:"error"`
}

// recvEvent is one line of netkit udp recv --json.
type recvEvent struct {
	Event string `json:"event"`
	Addr  string `json:"addr"`
	Name  string `json:"name"`
	Path  string `json:"path"`
	Size  *int64 `json:"size"`
	Error string `json:"error"`
}

// impairCounts is the last line of netkit impair --json.
type impairCounts struct {
	Up, Down *struct {
		Received uint64 `json:"received"`
		Lost     uint64 `json:"lost"`
	}
}

// netkitTransfer starts a fresh receiver (and relay), sends x.src to it
// and checks what arrived.
func (b *bench) netkitTransfer(ctx context.Context, x xfer) result {
	r := result{What: x.what, Bytes: x.src.size}
	fail := func(err error) result {
		r.Err = err.Error()
		return r
	}
	out, err := os.MkdirTemp(b.root, "recv-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(out)

	args := []string{"udp", "recv", "--json", "--listen", "127.0.0.1:0", "--dir", out, "--max-size", "0"}
	if x.sealed {
		args = append(args, "--secret", secret)
	}
	recv, err := b.start("netkit udp recv", "", b.bin, args...)
	if err != nil {
		return fail(err)
	}
	defer b.stop(recv)
	var cur int
	var ev recvEvent
	if _, err := recv.waitLine(ctx, 10*time.Second, &cur, func(l string) bool {
		var e recvEvent
		if json.Unmarshal([]byte(l), &e) != nil || e.Event != "listening" || e.Addr == "" {
			return false
		}
		ev = e
		return true
	}); err != nil {
		return fail(err)
	}
	target := ev.Addr

	var relay *proc
	if x.impair {
		relay, err = b.start("netkit impair", "", b.bin, "impair", "--json", "--listen", "127.0.0.1:0", "--to", target,
			"--loss", strconv.FormatFloat(x.loss, 'g', -1, 64)+"%", "--seed", strconv.FormatInt(x.seed, 10))
		if err != nil {
			return fail(err)
		}
		defer b.stop(relay)
		var rc int
		l, err := relay.waitLine(ctx, 10*time.Second, &rc, func(l string) bool {
			var start struct{ Listen string }
			return json.Unmarshal([]byte(l), &start) == nil && start.Listen != ""
		})
		if err != nil {
			return fail(err)
		}
		var start struct{ Listen string }
		json.Unmarshal([]byte(l), &start)
		target = start.Listen
	}

	args = []string{"udp", "send", "--json"}
	if x.legacy {
		args = append(args, "--legacy", "--fragment-size", "1428")
	}
	if x.sealed {
		args = append(args, "--secret", secret)
	}
	args = append(args, target, x.src.path)
	r.SourceCached = cachedShare(x.src.path)
	drops0, _ := rcvbufErrors()
	send, err := b.start("netkit udp send", "", b.bin, args...)
	if err != nil {
		return fail(err)
	}
	defer b.stop(send)
	werr := send.wait(ctx, b.budget(x.src.size))
	if drops1, err := rcvbufErrors(); err == nil && drops1 >= drops0 {
		r.KernelDrops = drops1 - drops0
	}
	if werr != nil {
		return fail(werr)
	}
	var sampled bool
	r.SenderMaxRSSKiB, sampled, r.CPUSeconds = usageSampled(send)
	r.RSSSampled = r.RSSSampled || sampled
	r.WallSeconds = send.Wall().Seconds()
	r.WallMBps = float64(x.src.size) / 1e6 / r.WallSeconds
	var sum sendSummary
	found := false
	for _, l := range send.lines() {
		var s sendSummary
		if json.Unmarshal([]byte(l), &s) == nil && s.Mode != "" {
			sum, found = s, true
		}
	}
	r.Warnings = append(r.Warnings, send.warnings()...)
	if !found {
		return fail(fmt.Errorf("netkit udp send printed no summary (%v)%s", send.Err(), send.tail()))
	}
	r.MBps, r.Seconds, r.Mode = sum.MBPerSecond, sum.Seconds, sum.Mode
	r.Retransmissions, r.Lost, r.LossEvents, r.Timeouts, r.SRTTms = sum.Retransmissions, sum.Lost, sum.LossEvents, sum.Timeouts, sum.SRTTms
	switch {
	case sum.Error != "":
		return fail(fmt.Errorf("netkit udp send: %s", sum.Error))
	case send.Err() != nil:
		return fail(fmt.Errorf("netkit udp send: %v%s", send.Err(), send.tail()))
	case sum.Bytes != x.src.size:
		return fail(fmt.Errorf("netkit udp send sent %d bytes, want %d", sum.Bytes, x.src.size))
	case sum.Resumed != 0:
		return fail(fmt.Errorf("netkit udp send resumed %d bytes: not a whole transfer", sum.Resumed))
	}
	want := "extended"
	switch {
	case x.legacy:
		want = "legacy"
	case x.sealed:
		want = "extended, sealed"
	}
	if sum.Mode != want {
		return fail(fmt.Errorf("netkit spoke %q, not %q (a fallback?)", sum.Mode, want))
	}

	// The sender is done once the receiver has confirmed the whole file;
	// the receiver's event line may trail it a little.
	if _, err := recv.waitLine(ctx, 30*time.Second, &cur, func(l string) bool {
		var e recvEvent
		if json.Unmarshal([]byte(l), &e) != nil || e.Event != "file" && e.Error == "" {
			return false
		}
		ev = e
		return true
	}); err != nil {
		return fail(fmt.Errorf("receiver: %w", err))
	}
	if ev.Error != "" {
		return fail(fmt.Errorf("receiver: %s: %s", ev.Event, ev.Error))
	}
	if relay != nil {
		b.stop(relay)
		for _, l := range relay.lines() {
			var c impairCounts
			if json.Unmarshal([]byte(l), &c) == nil && c.Up != nil && c.Down != nil {
				r.ImpairLostUp, r.ImpairLostDown = c.Up.Lost, c.Down.Lost
			}
		}
		_, cpu := usage(relay)
		r.CPUSeconds += cpu
		r.Warnings = append(r.Warnings, relay.warnings()...)
	}
	b.stop(recv)
	rss, sampled, cpu := usageSampled(recv)
	r.ReceiverMaxRSSKiB = rss
	r.RSSSampled = r.RSSSampled || sampled
	r.CPUSeconds += cpu
	r.Warnings = append(r.Warnings, recv.warnings()...)
	if ev.Size == nil || *ev.Size != x.src.size {
		return fail(fmt.Errorf("receiver reported file %q without the right size, want %d bytes", ev.Name, x.src.size))
	}
	r.Verified, r.Err = check(ev.Path, x.src, b.opt.verify || x.forceVerify)
	return r
}

// check compares a received file with its source: its size always, its
// SHA-256 too if hash.
func check(path string, src source, hash bool) (how, errText string) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err.Error()
	}
	if fi.Size() != src.size {
		return "", fmt.Sprintf("received %d bytes, want %d", fi.Size(), src.size)
	}
	if !hash {
		return "size", ""
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return "", err.Error()
	}
	if sum != src.sha {
		return "", fmt.Sprintf("received SHA-256 %s, sent %s", sum, src.sha)
	}
	return "sha256", ""
}

// budget is how long a transfer of n bytes may take.
func (b *bench) budget(n int64) time.Duration {
	return 60*time.Second + time.Duration(float64(n)/(b.opt.minRate*1e6)*float64(time.Second))
}

// source is a file to send, with its SHA-256.
type source struct {
	path string
	size int64
	sha  string
}

// makeSource writes a file of size bytes, random or a hole, readable by
// all (tftpd-hpa reads as nobody), and flushes it to disk. The SHA-256 is
// of what was written.
func makeSource(path string, size int64, sparse bool) (source, error) {
	s := source{path: path, size: size}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return s, err
	}
	h := sha256.New()
	if sparse {
		err = f.Truncate(size)
		zero := make([]byte, 1<<20)
		for left := size; left > 0 && err == nil; {
			n := min(left, int64(len(zero)))
			h.Write(zero[:n])
			left -= n
		}
	} else {
		_, err = io.CopyN(io.MultiWriter(f, h), rand.Reader, size)
	}
	if err == nil {
		// Written back now, not while a transfer is being timed.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return s, fmt.Errorf("write %s: %w", path, err)
	}
	s.sha = hex.EncodeToString(h.Sum(nil))
	return s, nil
}

// fileSource returns the random file of -mib MiB that the quic, nc and dd
// parts send, writing it on first use. It stays, in the page cache, until
// the temporary directory is removed at the end.
func (b *bench) fileSource() (source, error) {
	if b.src != nil {
		return *b.src, nil
	}
	fmt.Fprintf(b.log, "  writing a %d MiB random file\n", b.opt.mib)
	src, err := makeSource(filepath.Join(b.root, fmt.Sprintf("src-%dMiB.bin", b.opt.mib)), int64(b.opt.mib)<<20, false)
	if err != nil {
		return src, err
	}
	b.src = &src
	return src, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
