package chat

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	neturl "net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Subjects and the key-value bucket the instances of one room share.
const (
	natsEventSubject = "netkit.chat.events"
	natsNickBucket   = "netkit_chat_nicks"
	// natsBanBucket holds the bans in force, so that an instance started
	// later keeps out whom the others do.
	natsBanBucket = "netkit_chat_bans"
	// banBucketBytes bounds it: some thousands of bans.
	banBucketBytes = 4 << 20
	// banQueueLen bounds the ban writes waiting for NATS.
	banQueueLen = 256
	// nickTTL is how long a claim lives without refresh: the claims of an
	// instance that died vanish after it.
	nickTTL     = 90 * time.Second
	nickRefresh = nickTTL / 3
	natsTimeout = 5 * time.Second
)

// NATSBus links a Hub to the other instances of the room through NATS:
// events travel on one subject, nicknames are claimed with JetStream
// key-value creates (which fail if the key exists), and the bucket, watched,
// tells every instance who is where. Bans and unbans go through a second
// bucket, watched too, which an instance that starts reads before serving.
//
// When NATS is lost, the instance keeps serving its own users, says so to
// them, and claims nicknames locally only until it is back.
type NATSBus struct {
	hub    *Hub
	logger *slog.Logger
	nc     *nats.Conn
	kv     jetstream.KeyValue
	bans   jetstream.KeyValue
	banq   chan *Event // ban and unban events to write, in order
	sub    *nats.Subscription
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	presence map[string]nickEntry // by key
	releases sync.WaitGroup       // deletes of given-back nicknames in flight

	// Invalid events dropped: in all, and since the last log line.
	dropped     atomic.Uint64
	dropMu      sync.Mutex
	dropPending int
	dropWhy     error
	dropLogged  time.Time
	dropTimer   *time.Timer
}

type nickEntry struct {
	Nick   string    `json:"nick"`
	Origin string    `json:"origin"`
	At     time.Time `json:"-"` // when the entry was last written
}

// redactURL hides the password of a NATS URL (nats://USER:PASS@HOST) in
// what is shown.
func redactURL(s string) string {
	if u, err := neturl.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

// ConnectNATS connects hub to the NATS server at url and links it to the
// room's other instances. The returned bus must be closed.
func ConnectNATS(ctx context.Context, url string, hub *Hub, logger *slog.Logger) (*NATSBus, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &NATSBus{hub: hub, logger: logger, presence: make(map[string]nickEntry), done: make(chan struct{})}
	nc, err := nats.Connect(url,
		nats.Name("netkit chat "+hub.Origin()),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.Timeout(natsTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Warn("lost NATS; serving local users only", "err", err)
			hub.Notice("lost contact with the other chat servers: messages reach this server's users only")
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			logger.Info("NATS is back")
			hub.Notice("back in contact with the other chat servers")
			go b.refresh()
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("chat: connect to NATS at %s: %w", redactURL(url), err)
	}
	b.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("chat: JetStream: %w", err)
	}
	kctx, cancel := context.WithTimeout(ctx, natsTimeout)
	defer cancel()
	b.kv, err = js.CreateOrUpdateKeyValue(kctx, jetstream.KeyValueConfig{
		Bucket: natsNickBucket, TTL: nickTTL, Storage: jetstream.MemoryStorage,
		Description: "netkit chat nicknames: key hex(confusable skeleton of the folded nick), value owner",
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("chat: NATS key-value bucket (is JetStream enabled on the server? start it with -js): %w", err)
	}
	b.bans, err = js.CreateOrUpdateKeyValue(kctx, jetstream.KeyValueConfig{
		Bucket: natsBanBucket, Storage: jetstream.MemoryStorage, MaxBytes: banBucketBytes,
		Description: "netkit chat bans: key hex(ban key), value the ban event",
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("chat: NATS key-value bucket for bans: %w", err)
	}
	b.sub, err = nc.Subscribe(natsEventSubject, b.onEvent)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("chat: subscribe: %w", err)
	}
	wctx, wcancel := context.WithCancel(context.Background())
	b.cancel = wcancel
	w, err := b.kv.WatchAll(wctx)
	if err != nil {
		wcancel()
		nc.Close()
		return nil, fmt.Errorf("chat: watch nicknames: %w", err)
	}
	// The watcher sends what is there, then nil, then updates: wait for
	// the initial state so the first /who is right.
	ready := make(chan struct{})
	go b.watch(w, ready)
	bw, err := b.bans.WatchAll(wctx)
	if err != nil {
		wcancel()
		nc.Close()
		return nil, fmt.Errorf("chat: watch bans: %w", err)
	}
	bansReady := make(chan struct{})
	go b.watchBans(bw, bansReady)
	for _, c := range []chan struct{}{ready, bansReady} {
		select {
		case <-c:
		case <-kctx.Done():
		}
	}
	b.banq = make(chan *Event, banQueueLen)
	go b.writeBans(wctx)
	if err := nc.Flush(); err != nil {
		b.Close()
		return nil, fmt.Errorf("chat: NATS: %w", err)
	}
	go b.refreshLoop(wctx)
	hub.SetBus(b)
	return b, nil
}

// Close leaves NATS; the hub carries on alone. Nicknames already given
// back are deleted from the bucket and published events flushed first, so
// the other instances see this one's users leave at once.
func (b *NATSBus) Close() {
	b.hub.SetBus(nil)
	b.dropMu.Lock()
	if b.dropTimer != nil && b.dropTimer.Stop() {
		b.dropTimer = nil
		b.logDropsLocked()
	}
	b.dropMu.Unlock()
	if !b.nc.IsConnected() {
		// Nothing can be given back or flushed; the claims expire.
		b.cancel()
		b.nc.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		b.releases.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(natsTimeout):
		b.logger.Warn("NATS: gave up giving nicknames back; they expire in " + nickTTL.String())
	}
	b.nc.FlushTimeout(natsTimeout)
	b.cancel()
	b.nc.Close()
}

// nickKey is the key a nickname is claimed under: its look key with case
// folded, so that a nickname confusable with one held on another instance
// ("аdmin", "ΑLICE") is refused there as well. (The look key that keeps
// case, which tells "aIice" from "alice", is checked on each instance
// only.)
func nickKey(nick string) string { return hex.EncodeToString([]byte(lookKeys(nick)[0])) }

func (b *NATSBus) onEvent(msg *nats.Msg) {
	e, err := DecodeRemote(msg.Data)
	if err != nil {
		b.dropEvent(err)
		return
	}
	b.hub.remote(e)
}

// dropLogEvery is how often at most a line is logged about the invalid
// events dropped: a flood of them is one line per interval, with a count.
const dropLogEvery = 10 * time.Second

// dropEvent counts an invalid event from NATS and logs it, or, within
// dropLogEvery of the last line, leaves it to the next, which a timer
// writes.
func (b *NATSBus) dropEvent(why error) {
	b.dropped.Add(1)
	b.dropMu.Lock()
	defer b.dropMu.Unlock()
	b.dropPending++
	b.dropWhy = why
	if b.dropTimer != nil {
		return // the line is due
	}
	wait := dropLogEvery - time.Since(b.dropLogged)
	if wait <= 0 {
		b.logDropsLocked()
		return
	}
	b.dropTimer = time.AfterFunc(wait, func() {
		b.dropMu.Lock()
		defer b.dropMu.Unlock()
		b.dropTimer = nil
		b.logDropsLocked()
	})
}

// logDropsLocked writes the line about the events dropped since the last.
// The caller holds b.dropMu.
func (b *NATSBus) logDropsLocked() {
	if b.dropPending == 0 {
		return
	}
	b.logger.Warn("dropped invalid events from NATS", "count", b.dropPending, "total", b.dropped.Load(), "reason", b.dropWhy.Error())
	b.dropPending = 0
	b.dropLogged = time.Now()
}

// Dropped returns how many events from NATS were dropped as invalid (see
// CheckRemote).
func (b *NATSBus) Dropped() uint64 { return b.dropped.Load() }

// Publish sends e to the other instances. Core NATS buffers the publish, so
// this does not block on the network. Bans and unbans are written to the
// bans bucket instead, in order, from a goroutine of their own.
func (b *NATSBus) Publish(e *Event) {
	if e.Type == typeBan || e.Type == typeUnban {
		b.releases.Add(1)
		select {
		case b.banq <- e:
		default:
			b.releases.Done()
			b.logger.Warn("NATS: too many bans waiting; this one holds here only", "ban", banOf(e).String())
		}
		return
	}
	if err := b.nc.Publish(natsEventSubject, e.JSON()); err != nil {
		b.logger.Debug("publish failed", "err", err)
	}
}

// Claim reserves nick for this instance. A claim left by an instance that
// stopped refreshing it is taken over.
func (b *NATSBus) Claim(ctx context.Context, nick string) error {
	if !b.nc.IsConnected() {
		// Cut off: local uniqueness only, until NATS is back.
		return nil
	}
	val, _ := json.Marshal(nickEntry{Nick: nick, Origin: b.hub.Origin()})
	key := nickKey(nick)
	_, err := b.kv.Create(ctx, key, val)
	if err == nil {
		b.remember(key, nickEntry{Nick: nick, Origin: b.hub.Origin(), At: time.Now()})
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		b.logger.Warn("nickname claim failed; allowing it locally", "nick", nick, "err", err)
		return nil
	}
	cur, gerr := b.kv.Get(ctx, key)
	if gerr == nil && time.Since(cur.Created()) > nickTTL {
		if _, err := b.kv.Update(ctx, key, val, cur.Revision()); err == nil {
			return nil
		}
	}
	var held nickEntry
	if gerr == nil && json.Unmarshal(cur.Value(), &held) == nil && held.Nick != "" && foldNick(held.Nick) != foldNick(nick) {
		return fmt.Errorf("%w: %q looks like %q, who is here (on another server)", ErrNickConfusable, nick, held.Nick)
	}
	return fmt.Errorf("%w: %q (on another server)", ErrNickTaken, nick)
}

// Release gives nick back if this instance holds it.
func (b *NATSBus) Release(nick string) {
	key := nickKey(nick)
	b.mu.Lock()
	e, ok := b.presence[key]
	mine := ok && e.Origin == b.hub.Origin()
	if mine {
		delete(b.presence, key)
	}
	b.mu.Unlock()
	if !mine || !b.nc.IsConnected() {
		return
	}
	b.releases.Add(1)
	go func() {
		defer b.releases.Done()
		ctx, cancel := context.WithTimeout(context.Background(), natsTimeout)
		defer cancel()
		b.kv.Delete(ctx, key)
	}()
}

// Names lists the nicks that other instances hold and keep refreshing;
// none while NATS is lost, since they cannot be reached.
func (b *NATSBus) Names() []string {
	if !b.nc.IsConnected() {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var names []string
	for _, e := range b.presence {
		if e.Origin != b.hub.Origin() && time.Since(e.At) < nickTTL {
			names = append(names, e.Nick)
		}
	}
	return names
}

// Holds reports whether another instance holds nick and can be reached.
func (b *NATSBus) Holds(nick string) bool {
	if !b.nc.IsConnected() {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.presence[nickKey(nick)]
	return ok && e.Origin != b.hub.Origin() && time.Since(e.At) < nickTTL && foldNick(e.Nick) == foldNick(nick)
}

func (b *NATSBus) remember(key string, e nickEntry) {
	b.mu.Lock()
	b.presence[key] = e
	b.mu.Unlock()
}

// watchKV calls put for each value a bucket holds or is given and del
// for each key deleted, in order, closing ready once the values already
// stored have been put, until the watcher stops.
func watchKV(w jetstream.KeyWatcher, ready chan struct{}, put func(jetstream.KeyValueEntry), del func(key string)) {
	defer w.Stop()
	readyOnce := sync.OnceFunc(func() { close(ready) })
	defer readyOnce()
	for entry := range w.Updates() {
		if entry == nil {
			readyOnce()
			continue
		}
		switch entry.Operation() {
		case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
			del(entry.Key())
		default:
			put(entry)
		}
	}
}

func (b *NATSBus) watch(w jetstream.KeyWatcher, ready chan struct{}) {
	watchKV(w, ready, func(entry jetstream.KeyValueEntry) {
		var e nickEntry
		if json.Unmarshal(entry.Value(), &e) == nil {
			e.At = entry.Created()
			b.remember(entry.Key(), e)
		}
	}, func(key string) {
		b.mu.Lock()
		delete(b.presence, key)
		b.mu.Unlock()
	})
}

func (b *NATSBus) refreshLoop(ctx context.Context) {
	t := time.NewTicker(nickRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.refresh()
		}
	}
}

// refresh rewrites this instance's claims so they outlive the bucket's TTL,
// and takes them again after NATS comes back.
func (b *NATSBus) refresh() {
	for _, nick := range b.hub.localNicks() {
		val, _ := json.Marshal(nickEntry{Nick: nick, Origin: b.hub.Origin()})
		ctx, cancel := context.WithTimeout(context.Background(), natsTimeout)
		_, err := b.kv.Put(ctx, nickKey(nick), val)
		cancel()
		if err != nil {
			b.logger.Debug("nickname refresh failed", "nick", nick, "err", err)
			return
		}
	}
}

// banKey is the key the ban of e is stored under in the bans bucket.
func banKey(e *Event) string { return hex.EncodeToString([]byte(banOf(e).key())) }

// writeBans writes the bans and unbans Publish queues, in order, until ctx
// is done.
func (b *NATSBus) writeBans(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-b.banq:
			wctx, cancel := context.WithTimeout(ctx, natsTimeout)
			var err error
			if e.Type == typeBan {
				_, err = b.bans.Put(wctx, banKey(e), e.JSON())
			} else {
				err = b.bans.Delete(wctx, banKey(e))
			}
			cancel()
			if err != nil {
				b.logger.Warn("NATS: ban not stored; it holds here only", "ban", banOf(e).String(), "err", err)
			}
			b.releases.Done()
		}
	}
}

// watchBans puts in force on the hub the bans other instances store, and
// lifts those they delete, closing ready once the bans already stored
// are in force. A ban that has ended is deleted from the bucket.
func (b *NATSBus) watchBans(w jetstream.KeyWatcher, ready chan struct{}) {
	watchKV(w, ready, func(entry jetstream.KeyValueEntry) {
		e, err := DecodeRemote(entry.Value())
		if err == nil && e.Type != typeBan {
			err = fmt.Errorf("%w: %s in the bans bucket", ErrBadEvent, e.Type)
		}
		if err != nil {
			b.dropEvent(err)
			return
		}
		if !b.hub.clock.Now().Before(e.Until) {
			key := entry.Key()
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), natsTimeout)
				defer cancel()
				b.bans.Delete(ctx, key)
			}()
			return
		}
		b.hub.remote(e)
	}, func(key string) {
		if k, err := hex.DecodeString(key); err == nil {
			b.hub.unbanKey(string(k))
		}
	})
}
