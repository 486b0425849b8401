package msg

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg/envelope"
)

// Client sends envelopes to a msg server over one transport and reads its
// answers. Set the fields before the first Send; a Client is not safe for
// concurrent use (Listen may run beside nothing else).
type Client struct {
	// Via is the transport: "http" (the default), "udp" or "ws".
	Via string
	// Addr is the server's HOST:PORT: the web service's for http and ws,
	// the msg service's for udp.
	Addr string
	// Keys seal requests and open answers.
	Keys *fernet.Fernet
	// ServerKey, when set, seals requests to the server's X25519 public
	// key instead, and answers come back sealed to an ephemeral key of
	// this client's: no shared key is needed.
	ServerKey *[32]byte
	// Sender names the user (default "netkit").
	Sender string
	// TLS, when set, speaks HTTPS and WSS.
	TLS *tls.Config
	// Trace, when set, receives the HTTP exchange as curl -v prints it.
	Trace io.Writer
	// Timeout bounds each exchange (default 10s).
	Timeout time.Duration

	once   sync.Once
	eph    *envelope.KeyPair
	shared *envelope.Shared
	hc     *http.Client
	udp    net.Conn
	ws     *websocket.Conn
}

// ErrNoAnswer is returned by UDP exchanges that time out.
var ErrNoAnswer = errors.New("msg: no answer (over UDP the server is silent to a token that does not verify, has expired or is a replay: check the key and the clocks)")

func (c *Client) init() error {
	var err error
	c.once.Do(func() {
		if c.Timeout <= 0 {
			c.Timeout = 10 * time.Second
		}
		if c.Sender == "" {
			c.Sender = "netkit"
		}
		if c.Via == "" {
			c.Via = "http"
		}
		if c.ServerKey != nil {
			c.eph, err = envelope.GenerateKeyPair()
		}
		if c.ServerKey == nil && c.Keys == nil {
			err = ErrNoKey
		}
	})
	return err
}

// Seal returns the token for plain: Fernet under the first key, or
// sealed to ServerKey.
func (c *Client) Seal(plain []byte) ([]byte, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	if c.ServerKey != nil {
		tok, sh := envelope.SealRequest(plain, c.eph, c.ServerKey)
		c.shared = sh
		return tok, nil
	}
	return c.Keys.Encrypt(plain)
}

// Open returns the envelope in an answer token.
func (c *Client) Open(tok []byte) (*envelope.Envelope, error) {
	var plain []byte
	var err error
	if c.ServerKey != nil {
		if c.shared == nil {
			c.shared = envelope.Precompute(c.ServerKey, &c.eph.Private)
		}
		plain, err = envelope.OpenReply(tok, c.shared)
	} else {
		plain, err = c.Keys.Decrypt(tok, DefaultTTL)
	}
	if err != nil {
		return nil, fmt.Errorf("the answer does not open with this client's key: %w", err)
	}
	return envelope.Parse(plain)
}

// Send sends a message of type t with body (raw JSON, nil for none) and
// returns the answer: a reply, or an error envelope with a non-nil error
// (ServerError) describing it.
func (c *Client) Send(ctx context.Context, t envelope.Type, body json.RawMessage) (*envelope.Envelope, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	env, err := envelope.New(t, c.Sender, nil)
	if err != nil {
		return nil, err
	}
	env.Body = body
	plain, err := envelope.Append(nil, env)
	if err != nil {
		return nil, err
	}
	tok, err := c.Seal(plain)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var ans *envelope.Envelope
	switch c.Via {
	case "http":
		ans, err = c.sendHTTP(ctx, tok)
	case "udp":
		ans, err = c.exchange(ctx, tok, env.ID, c.udpWrite, c.udpRead)
	case "ws":
		ans, err = c.exchange(ctx, tok, env.ID, c.wsWrite, c.wsRead)
	default:
		return nil, fmt.Errorf("msg: unknown transport %q: want http, udp or ws", c.Via)
	}
	if err != nil {
		return nil, err
	}
	if ans.Type == envelope.Error {
		return ans, serverError(ans)
	}
	return ans, nil
}

// ServerError is an error envelope received.
type ServerError struct {
	ErrorBody
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("server refused it: %s (%s)", e.ErrorBody.Error, e.Code)
}

func serverError(e *envelope.Envelope) error {
	se := &ServerError{}
	if json.Unmarshal(e.Body, &se.ErrorBody) != nil {
		se.ErrorBody = ErrorBody{Code: "unknown", Error: string(e.Body)}
	}
	return se
}

// Close releases the connection, if any.
func (c *Client) Close() error {
	if c.udp != nil {
		c.udp.Close()
	}
	if c.ws != nil {
		c.ws.Close(websocket.StatusNormalClosure, "")
	}
	if c.hc != nil {
		c.hc.CloseIdleConnections()
	}
	return nil
}

func (c *Client) httpClient() *http.Client {
	if c.hc == nil {
		tr := &http.Transport{TLSClientConfig: c.TLS, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 4}
		c.hc = &http.Client{Transport: tr, Timeout: c.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return c.hc
}

func (c *Client) scheme(plain, secure string) string {
	if c.TLS != nil {
		return secure
	}
	return plain
}

func (c *Client) sendHTTP(ctx context.Context, tok []byte) (*envelope.Envelope, error) {
	url := c.scheme("http", "https") + "://" + c.Addr + PathMessages
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(tok))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", "netkit-msg")
	req.Header.Set("Accept", "text/plain")
	if c.Trace != nil {
		req = req.WithContext(httptrace.WithClientTrace(ctx, c.trace(req)))
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	if c.Trace != nil {
		proto := resp.Proto
		if resp.ProtoMajor == 2 {
			proto = "HTTP/2"
		}
		fmt.Fprintf(c.Trace, "< %s %s\n", proto, resp.Status)
		for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
			for _, v := range resp.Header[k] {
				fmt.Fprintf(c.Trace, "< %s: %s\n", k, v)
			}
		}
		fmt.Fprintln(c.Trace, "<")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxToken+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	body = bytes.TrimSpace(body)
	if resp.StatusCode != http.StatusOK && !isToken(body) {
		return nil, fmt.Errorf("%s answered %s: %s", c.Addr, resp.Status, strings.TrimPrefix(string(body), "error: "))
	}
	return c.Open(body)
}

// isToken tells a token answer from an "error: ..." line.
func isToken(b []byte) bool { return len(b) > 0 && !bytes.HasPrefix(b, []byte("error")) }

func (c *Client) trace(req *http.Request) *httptrace.ClientTrace {
	w := c.Trace
	var fields []string
	proto := "HTTP/1.1"
	return &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			host, port, _ := net.SplitHostPort(info.Conn.RemoteAddr().String())
			fmt.Fprintf(w, "* Connected to %s (%s) port %s\n", req.URL.Hostname(), host, port)
			if tc, ok := info.Conn.(*tls.Conn); ok {
				st := tc.ConnectionState()
				fmt.Fprintf(w, "* %s, ALPN %q\n", tls.VersionName(st.Version), st.NegotiatedProtocol)
				if st.NegotiatedProtocol == "h2" {
					proto = "HTTP/2"
				}
			}
		},
		WroteHeaderField: func(k string, v []string) {
			fields = append(fields, fmt.Sprintf("%s: %s", k, strings.Join(v, ", ")))
		},
		WroteHeaders: func() {
			fmt.Fprintf(w, "> %s %s %s\n", req.Method, req.URL.RequestURI(), proto)
			for _, f := range fields {
				if !strings.HasPrefix(f, ":") {
					fmt.Fprintf(w, "> %s\n", f)
				}
			}
			fmt.Fprintln(w, ">")
		},
	}
}

// exchange writes tok and reads answers until the one replying to id;
// broadcasts read meanwhile are dropped (Listen is for those).
func (c *Client) exchange(ctx context.Context, tok []byte, id string, write func(context.Context, []byte) error, read func(context.Context) ([]byte, error)) (*envelope.Envelope, error) {
	if err := write(ctx, tok); err != nil {
		return nil, err
	}
	for {
		b, err := read(ctx)
		if err != nil {
			return nil, err
		}
		if msg, ok := bytes.CutPrefix(b, []byte("error: ")); ok {
			return nil, fmt.Errorf("%s refused it: %s", c.Addr, msg)
		}
		env, err := c.Open(b)
		if err != nil {
			return nil, err
		}
		if env.ReplyTo == id || (env.Type == envelope.Error && env.ReplyTo == "") {
			return env, nil
		}
	}
}

func (c *Client) udpWrite(ctx context.Context, tok []byte) error {
	if c.udp == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "udp", c.Addr)
		if err != nil {
			return fmt.Errorf("udp %s: %w", c.Addr, err)
		}
		c.udp = conn
	}
	if len(tok) > MaxDatagram {
		return fmt.Errorf("%w: a datagram carries at most %d bytes of token (this one is %d): use --via http or ws", ErrTooLarge, MaxDatagram, len(tok))
	}
	_, err := c.udp.Write(tok)
	return err
}

func (c *Client) udpRead(ctx context.Context) ([]byte, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Time{}
	}
	c.udp.SetReadDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.udp.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, MaxDatagram+1)
	n, err := c.udp.Read(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if ctx.Err() == context.Canceled {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%s: %w", c.Addr, ErrNoAnswer)
		}
		return nil, fmt.Errorf("udp %s: %w (is the msg service running?)", c.Addr, err)
	}
	return buf[:n], nil
}

func (c *Client) wsConnect(ctx context.Context) error {
	if c.ws != nil {
		return nil
	}
	url := c.scheme("ws", "wss") + "://" + c.Addr + PathWS
	opts := &websocket.DialOptions{}
	if c.TLS != nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: c.TLS}}
	}
	conn, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return fmt.Errorf("websocket %s: %w", url, err)
	}
	conn.SetReadLimit(MaxToken)
	c.ws = conn
	return nil
}

func (c *Client) wsWrite(ctx context.Context, tok []byte) error {
	if err := c.wsConnect(ctx); err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageText, tok)
}

func (c *Client) wsRead(ctx context.Context) ([]byte, error) {
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("no answer from %s within %v", c.Addr, c.Timeout)
		}
		return nil, fmt.Errorf("websocket %s: %w", c.Addr, err)
	}
	return b, nil
}

// Listen does a handshake (which subscribes a UDP client), calls hello
// with its answer, then calls fn with every broadcast until ctx ends.
// Over UDP it repeats the handshake every refresh so as to stay
// subscribed. Only "ws" and "udp" can listen.
func (c *Client) Listen(ctx context.Context, refresh time.Duration, hello, fn func(*envelope.Envelope)) error {
	if c.Via != "ws" && c.Via != "udp" {
		return fmt.Errorf("msg: listening needs --via ws or udp, not %q", c.Via)
	}
	ans, err := c.Send(ctx, envelope.Handshake, nil)
	if err != nil {
		return err
	}
	if hello != nil {
		hello(ans)
	}
	read := c.wsRead
	if c.Via == "udp" {
		read = c.udpRead
	}
	next := time.Now().Add(refresh)
	for {
		rctx, cancel := context.WithCancel(ctx)
		if c.Via == "udp" {
			rctx, cancel = context.WithDeadline(ctx, next)
		}
		b, err := read(rctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrNoAnswer) {
			// Time to renew the UDP subscription.
			if _, err := c.Send(ctx, envelope.Handshake, nil); err != nil {
				return err
			}
			next = time.Now().Add(refresh)
			continue
		}
		if err != nil {
			return err
		}
		env, err := c.Open(b)
		if err != nil {
			continue
		}
		if env.Type == envelope.Broadcast {
			fn(env)
		}
	}
}
