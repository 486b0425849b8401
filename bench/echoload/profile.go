package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// profiler fetches profiles from nkprof's pprof handlers into dir.
type profiler struct {
	base string // "http://127.0.0.1:PORT"
	dir  string
}

// fetch saves base+path to dir/name, waiting at most timeout.
func (p *profiler) fetch(ctx context.Context, path, name string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", p.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", path, resp.Status)
	}
	return body, os.WriteFile(filepath.Join(p.dir, name), body, 0o644)
}

// memStats is the part of runtime.MemStats the heap profile's debug=1 form
// prints that says where an idle connection's memory goes.
type memStats struct {
	HeapAlloc   int64 `json:"heap_alloc"`
	HeapInuse   int64 `json:"heap_inuse"`
	HeapIdle    int64 `json:"heap_idle"`
	HeapRelease int64 `json:"heap_released"`
	StackInuse  int64 `json:"stack_inuse"`
	Sys         int64 `json:"sys"`
	NumGC       int64 `json:"num_gc"`
	Goroutines  int64 `json:"goroutines"`
}

// snapshot saves a heap profile (after a forced GC), its text form with the
// MemStats, and the goroutine profile, all named after stage.
func (p *profiler) snapshot(ctx context.Context, stage string) (memStats, error) {
	var ms memStats
	if _, err := p.fetch(ctx, "/debug/pprof/heap?gc=1", "heap-"+stage+".pb.gz", 60*time.Second); err != nil {
		return ms, err
	}
	text, err := p.fetch(ctx, "/debug/pprof/heap?debug=1", "heap-"+stage+".txt", 60*time.Second)
	if err != nil {
		return ms, err
	}
	fields := map[string]*int64{
		"HeapAlloc": &ms.HeapAlloc, "HeapInuse": &ms.HeapInuse, "HeapIdle": &ms.HeapIdle,
		"HeapReleased": &ms.HeapRelease, "StackInuse": &ms.StackInuse, "Sys": &ms.Sys, "NumGC": &ms.NumGC,
	}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		// "# HeapInuse = 123456", "# Stack = 4096 / 8192" (in use / sys)
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "# "), " = ")
		if k == "Stack" {
			k = "StackInuse"
			v, _, _ = strings.Cut(v, " ")
		}
		if f, found := fields[k]; ok && found {
			*f, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	g, err := p.fetch(ctx, "/debug/pprof/goroutine?debug=1", "goroutine-"+stage+".txt", 60*time.Second)
	if err != nil {
		return ms, err
	}
	// "goroutine profile: total 10012"
	if first, _, ok := bytes.Cut(g, []byte("\n")); ok {
		if _, n, ok := strings.Cut(string(first), "total "); ok {
			ms.Goroutines, _ = strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		}
	}
	return ms, nil
}

// cpu starts a CPU profile of d in the background; wait returns its error.
func (p *profiler) cpu(ctx context.Context, d time.Duration) (wait func() error) {
	errc := make(chan error, 1)
	secs := max(1, int(d/time.Second))
	go func() {
		_, err := p.fetch(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), "cpu-load.pb.gz", d+60*time.Second)
		errc <- err
	}()
	return func() error { return <-errc }
}
