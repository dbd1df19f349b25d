// Package signaling owns the WebRTC signaling relay of Kinesis Video
// signaling channels: which clients are connected to a channel (one master,
// up to ten viewers, each viewer by its client id), the routing of their
// SDP offers, answers and ICE candidates (a viewer's go to the master; the
// master names the viewer), the queueing of messages whose recipient is not
// connected for the channel's MessageTtlSeconds, the replacement of a
// reconnecting master or of a viewer reusing its client id, AWS's quotas
// (connections per channel, payload size, message rates per connection,
// connects per channel, connection lifetime and idle time), the synchronous
// offer of SendAlexaOfferToMaster, and the ICE server configuration handed
// to clients. It declares what it needs: Channels (the signaling channels'
// definitions, supplied by the video service through the server) and
// ICEIssuer (the built-in TURN server's credentials).
//
// It knows nothing of WebSockets, HTTP or AWS's wire shapes: the API
// package (signalingapi) frames Messages as AWS's JSON events and maps the
// Kinds of its errors to AWS's exceptions and status responses. It keeps no
// durable state: connections and queued messages live in memory, as on AWS
// (a queued message is lost when its TTL ends, or at a restart).
//
// Concurrency: one mutex (Hub.mu) guards every channel, connection and
// queue; nothing blocks while holding it (delivery to a connection's
// outgoing buffer never waits: a client that does not read is
// disconnected). Each Conn is owned by the caller that connected it, which
// must call Close when it is done; Hub.Run ends every connection at
// shutdown and waits for their owners to Close them.
package signaling

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Role is how a client connects to a channel.
type Role string

// Roles (GetSignalingChannelEndpoint's ChannelRole).
const (
	Master Role = "MASTER"
	Viewer Role = "VIEWER"
)

// Message types: the client's actions and the server's event types.
const (
	SDPOffer           = "SDP_OFFER"
	SDPAnswer          = "SDP_ANSWER"
	ICECandidate       = "ICE_CANDIDATE"
	GoAway             = "GO_AWAY"
	ReconnectICEServer = "RECONNECT_ICE_SERVER"
	StatusResponse     = "STATUS_RESPONSE"
)

// Kind classifies a refusal; the API maps each to an AWS exception (when
// connecting or calling the HTTPS API) or a STATUS_RESPONSE (for a
// message).
type Kind int

// Error kinds.
const (
	KindNotFound        Kind = iota + 1 // ResourceNotFoundException
	KindInvalidArgument                 // InvalidArgumentException
	KindClientLimit                     // ClientLimitExceededException
	KindNotConnected                    // no master answered (SendAlexaOfferToMaster)
)

// Error is a refusal with its kind and message.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Why a connection ended (Conn.Reason).
var (
	// ErrReplaced: a newer master, or a viewer with the same client id,
	// connected to the channel.
	ErrReplaced = errors.New("signaling: replaced by a newer connection with the same role and client id")
	// ErrMaxDuration: the connection reached its maximum lifetime (1 h).
	ErrMaxDuration = errors.New("signaling: the connection reached its maximum duration")
	// ErrIdle: no message from the client for the idle timeout (10 min).
	ErrIdle = errors.New("signaling: the connection was idle too long")
	// ErrSlowReader: the client did not read its messages.
	ErrSlowReader = errors.New("signaling: the client does not read its messages")
	// ErrShutdown: the server is shutting down.
	ErrShutdown = errors.New("signaling: the server is shutting down")
)

// ChannelInfo is what the relay needs of a signaling channel.
type ChannelInfo struct {
	ARN  string
	Name string
	// TTL is the channel's MessageTtlSeconds: how long a message waits
	// for a recipient that is not connected.
	TTL time.Duration
}

// Channels resolves a signaling channel ARN in an account and region to
// the channel's definition, or an *Error of KindNotFound. Implementations
// are safe for concurrent use.
type Channels interface {
	Channel(ctx context.Context, account, region, arn string) (ChannelInfo, error)
}

// IceServer is one entry of GetIceServerConfig's IceServerList.
type IceServer struct {
	URIs     []string
	Username string
	Password string
	TTL      time.Duration
}

// ICEIssuer issues ICE servers with credentials valid for ttl to user (a
// channel and client). Safe for concurrent use.
type ICEIssuer interface {
	IceServers(user string, ttl time.Duration) []IceServer
}

// Config is the relay's quotas and clock. Zero values take AWS's quotas.
type Config struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// MaxViewers per channel. Default 10.
	MaxViewers int
	// MaxPayload is the largest messagePayload (its base64 text) in bytes.
	// Default 10240 (10 KB).
	MaxPayload int
	// MaxConnection is a connection's longest life. Default 1 h; GO_AWAY is
	// sent GoAwayGrace before it ends.
	MaxConnection time.Duration
	// GoAwayGrace is how long before ending a connection GO_AWAY is sent.
	// Default 1 min.
	GoAwayGrace time.Duration
	// IdleTimeout ends a connection that sent no message for that long.
	// Default 10 min.
	IdleTimeout time.Duration
	// SDPRate and ICERate are the messages per second one connection may
	// send (SDP offers and answers; ICE candidates). Defaults 5 and 20.
	SDPRate, ICERate int
	// ConnectRate is the connections per second one channel accepts.
	// Default 3.
	ConnectRate int
	// QueueLimit bounds the messages queued for absent recipients per
	// channel (the oldest are dropped first). Default 256.
	QueueLimit int
	// OutBuffer is a connection's outgoing buffer, in messages; a client
	// whose buffer is full is disconnected. Default 256.
	OutBuffer int
	// AnswerTimeout bounds SendAlexaOfferToMaster's wait for the master's
	// answer. Default 5 s.
	AnswerTimeout time.Duration
	// TickInterval is how often Run expires queued messages and ends idle
	// and expired connections. Default 1 s.
	TickInterval time.Duration
	// ICE issues GetIceServerConfig's servers (nil: none).
	ICE ICEIssuer
}

func (c *Config) fill() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	def(&c.MaxViewers, 10)
	def(&c.MaxPayload, 10240)
	def(&c.SDPRate, 5)
	def(&c.ICERate, 20)
	def(&c.ConnectRate, 3)
	def(&c.QueueLimit, 256)
	def(&c.OutBuffer, 256)
	defDur(&c.MaxConnection, time.Hour)
	defDur(&c.GoAwayGrace, time.Minute)
	defDur(&c.IdleTimeout, 10*time.Minute)
	defDur(&c.AnswerTimeout, 5*time.Second)
	defDur(&c.TickInterval, time.Second)
}

// Message is one event delivered to a client.
type Message struct {
	Type string
	// SenderClientID is the viewer that sent it ("" from the master and
	// from the server).
	SenderClientID string
	Payload        string // base64, as the sender sent it
	Status         *Status
}

// Status is a STATUS_RESPONSE's statusResponse.
type Status struct {
	CorrelationID string
	Kind          Kind
	Description   string
}

// Inbound is one message a client sends.
type Inbound struct {
	Action            string // SDP_OFFER, SDP_ANSWER or ICE_CANDIDATE
	RecipientClientID string
	Payload           string
	CorrelationID     string
}

// Hub is the relay of every channel. Its zero value is not usable: call
// New.
type Hub struct {
	cfg Config

	mu       sync.Mutex
	channels map[string]*channel // by channel ARN; removed when unused
	closed   bool
	active   sync.WaitGroup // connections not yet Closed by their owner
}

type channel struct {
	info     ChannelInfo
	master   *Conn
	viewers  map[string]*Conn
	waiters  map[string]chan string // SendAlexaOfferToMaster callers by sender id
	queue    []queued
	connects []time.Time // accepted connections in the last second
}

type queued struct {
	to      string // viewer client id; "" for the master
	msg     Message
	expires time.Time
}

// New returns a relay with cfg's quotas.
func New(cfg Config) *Hub {
	cfg.fill()
	return &Hub{cfg: cfg, channels: map[string]*channel{}}
}

// clientIDPattern is AWS's ClientId shape.
var clientIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,256}$`)

// Connect joins a client to ch: the master (clientID ignored) or a viewer
// with clientID. A newer master replaces the connected one, a viewer
// reusing a connected client id replaces it (the replaced connection ends
// with ErrReplaced). It refuses an 11th viewer and a 4th connection to the
// channel within a second (KindClientLimit). Messages queued for the
// client are delivered at once. The caller owns the Conn and must Close it.
func (h *Hub) Connect(ch ChannelInfo, role Role, clientID string) (*Conn, error) {
	switch role {
	case Master:
		clientID = ""
	case Viewer:
		if clientID == "" {
			return nil, errorf(KindInvalidArgument, "X-Amz-ClientId is required to connect as a viewer.")
		}
		if !clientIDPattern.MatchString(clientID) {
			return nil, errorf(KindInvalidArgument, "X-Amz-ClientId must match [a-zA-Z0-9_.-]{1,256}.")
		}
		if strings.HasPrefix(clientID, "AWS_") {
			return nil, errorf(KindInvalidArgument, "X-Amz-ClientId must not start with AWS_.")
		}
	default:
		return nil, errorf(KindInvalidArgument, "Role must be MASTER or VIEWER.")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrShutdown
	}
	now := h.cfg.Now()
	c := h.channelLocked(ch)
	c.info = ch // the TTL may have been updated
	c.pruneConnectsLocked(now)
	if len(c.connects) >= h.cfg.ConnectRate {
		return nil, errorf(KindClientLimit, "The signaling channel accepts at most %d connections per second.", h.cfg.ConnectRate)
	}
	var old *Conn
	if role == Master {
		old = c.master
	} else {
		old = c.viewers[clientID]
		if old == nil && len(c.viewers) >= h.cfg.MaxViewers {
			return nil, errorf(KindClientLimit, "The signaling channel has reached its limit of %d connected viewers.", h.cfg.MaxViewers)
		}
	}
	conn := &Conn{hub: h, ch: c, role: role, id: clientID, out: make(chan Message, h.cfg.OutBuffer), done: make(chan struct{}),
		connectedAt: now, lastActive: now, sdp: bucket{tokens: float64(h.cfg.SDPRate), last: now},
		ice: bucket{tokens: float64(h.cfg.ICERate), last: now}}
	if old != nil {
		old.endLocked(ErrReplaced)
	}
	if role == Master {
		c.master = conn
	} else {
		c.viewers[clientID] = conn
	}
	c.connects = append(c.connects, now)
	h.active.Add(1)
	// Deliver what waited for this client, oldest first.
	kept := c.queue[:0]
	for _, q := range c.queue {
		switch {
		case !now.Before(q.expires):
		case q.to == clientID && conn.state == open:
			conn.deliverLocked(q.msg)
		default:
			kept = append(kept, q)
		}
	}
	clear(c.queue[len(kept):])
	c.queue = kept
	return conn, nil
}

func (h *Hub) channelLocked(info ChannelInfo) *channel {
	c := h.channels[info.ARN]
	if c == nil {
		c = &channel{info: info, viewers: map[string]*Conn{}, waiters: map[string]chan string{}}
		h.channels[info.ARN] = c
	}
	return c
}

func (c *channel) pruneConnectsLocked(now time.Time) {
	i := 0
	for i < len(c.connects) && now.Sub(c.connects[i]) >= time.Second {
		i++
	}
	c.connects = c.connects[i:]
}

// unusedLocked reports whether the channel holds nothing worth keeping.
func (c *channel) unusedLocked(now time.Time) bool {
	c.pruneConnectsLocked(now)
	return c.master == nil && len(c.viewers) == 0 && len(c.waiters) == 0 && len(c.queue) == 0 && len(c.connects) == 0
}

// enqueueLocked keeps msg for to until the channel's TTL ends.
func (h *Hub) enqueueLocked(c *channel, to string, msg Message, now time.Time) {
	if len(c.queue) >= h.cfg.QueueLimit {
		c.queue = c.queue[1:]
	}
	c.queue = append(c.queue, queued{to: to, msg: msg, expires: now.Add(c.info.TTL)})
}

// routeLocked delivers msg to the channel's client to ("" the master), or
// queues it while the client is not connected.
func (h *Hub) routeLocked(c *channel, to string, msg Message, now time.Time) {
	var dst *Conn
	if to == "" {
		dst = c.master
	} else {
		dst = c.viewers[to]
	}
	if dst != nil && dst.deliverLocked(msg) {
		return
	}
	h.enqueueLocked(c, to, msg, now)
}

// Offer is SendAlexaOfferToMaster: it relays an SDP offer from sender to
// the channel's master (queued for the TTL if no master is connected) and
// waits for the master's SDP_ANSWER to sender, for at most AnswerTimeout.
func (h *Hub) Offer(ctx context.Context, ch ChannelInfo, sender, payload string) (string, error) {
	if len(payload) > h.cfg.MaxPayload {
		return "", errorf(KindInvalidArgument, "The message payload exceeds the maximum size of %d bytes.", h.cfg.MaxPayload)
	}
	answer := make(chan string, 1)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return "", ErrShutdown
	}
	now := h.cfg.Now()
	c := h.channelLocked(ch)
	c.info = ch
	if c.waiters[sender] != nil {
		h.mu.Unlock()
		return "", errorf(KindClientLimit, "An offer from %s is already waiting for its answer.", sender)
	}
	c.waiters[sender] = answer
	h.routeLocked(c, "", Message{Type: SDPOffer, SenderClientID: sender, Payload: payload}, now)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(c.waiters, sender)
		if c.unusedLocked(h.cfg.Now()) && h.channels[ch.ARN] == c {
			delete(h.channels, ch.ARN)
		}
		h.mu.Unlock()
	}()
	t := time.NewTimer(h.cfg.AnswerTimeout)
	defer t.Stop()
	select {
	case a := <-answer:
		return a, nil
	case <-t.C:
		return "", errorf(KindNotConnected, "The master of the signaling channel did not answer the offer within %s.", h.cfg.AnswerTimeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// IceServers is GetIceServerConfig: the ICE servers with credentials valid
// for ttl (30 s to 24 h; 0 for AWS's default, 300 s), for clientID on ch.
func (h *Hub) IceServers(ch ChannelInfo, clientID string, ttl time.Duration) ([]IceServer, error) {
	if ttl == 0 {
		ttl = 300 * time.Second
	}
	if ttl < 30*time.Second || ttl > 24*time.Hour {
		return nil, errorf(KindInvalidArgument, "Ttl must be between 30 and 86400 seconds.")
	}
	if h.cfg.ICE == nil {
		return []IceServer{}, nil
	}
	user := ch.Name
	if clientID != "" {
		user += "." + clientID
	}
	return h.cfg.ICE.IceServers(user, ttl), nil
}

// Run expires queued messages and ends idle and expired connections every
// TickInterval until ctx ends; then it ends every connection (GO_AWAY,
// then ErrShutdown), refuses new ones and waits until their owners have
// closed them.
func (h *Hub) Run(ctx context.Context) error {
	t := time.NewTicker(h.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			h.Tick()
		case <-ctx.Done():
			h.shutdown()
			h.active.Wait()
			return nil
		}
	}
}

func (h *Hub) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, c := range h.channels {
		for _, conn := range c.conns() {
			conn.deliverLocked(Message{Type: GoAway})
			conn.endLocked(ErrShutdown)
		}
	}
}

func (c *channel) conns() []*Conn {
	out := make([]*Conn, 0, len(c.viewers)+1)
	if c.master != nil {
		out = append(out, c.master)
	}
	for _, v := range c.viewers {
		out = append(out, v)
	}
	return out
}

// Tick does Run's periodic work once, at the clock's current time: drops
// queued messages past their TTL, sends GO_AWAY to connections within
// GoAwayGrace of their maximum duration, ends those past it
// (ErrMaxDuration) and those idle for IdleTimeout (ErrIdle), and forgets
// unused channels.
func (h *Hub) Tick() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Now()
	for arn, c := range h.channels {
		kept := c.queue[:0]
		for _, q := range c.queue {
			if now.Before(q.expires) {
				kept = append(kept, q)
			}
		}
		clear(c.queue[len(kept):])
		c.queue = kept
		for _, conn := range c.conns() {
			age := now.Sub(conn.connectedAt)
			switch {
			case age >= h.cfg.MaxConnection:
				conn.endLocked(ErrMaxDuration)
			case now.Sub(conn.lastActive) >= h.cfg.IdleTimeout:
				conn.endLocked(ErrIdle)
			case age >= h.cfg.MaxConnection-h.cfg.GoAwayGrace && !conn.goAwaySent:
				conn.goAwaySent = true
				conn.deliverLocked(Message{Type: GoAway})
			}
		}
		if c.unusedLocked(now) {
			delete(h.channels, arn)
		}
	}
}

// Stats is what the relay holds, for metrics and tests.
type Stats struct {
	Channels, Connections, Queued int
}

// Stats counts the channels, connections and queued messages held.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s Stats
	s.Channels = len(h.channels)
	for _, c := range h.channels {
		s.Connections += len(c.conns())
		s.Queued += len(c.queue)
	}
	return s
}

// Peer is one connected client, for the console's view of a channel.
type Peer struct {
	ChannelARN  string    `json:"channelArn"`
	Role        Role      `json:"role"`
	ClientID    string    `json:"clientId,omitempty"` // a viewer's; "" for the master
	ConnectedAt time.Time `json:"connectedAt"`
	LastActive  time.Time `json:"lastActive"`
}

// Peers lists the connected clients of every channel, by channel ARN, the
// master first.
func (h *Hub) Peers() []Peer {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Peer
	for arn, c := range h.channels {
		for _, conn := range c.conns() {
			if conn.state != open {
				continue
			}
			p := Peer{ChannelARN: arn, Role: conn.role, ConnectedAt: conn.connectedAt, LastActive: conn.lastActive}
			if conn.role == Viewer {
				p.ClientID = conn.id
			}
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ChannelARN != out[j].ChannelARN {
			return out[i].ChannelARN < out[j].ChannelARN
		}
		if out[i].Role != out[j].Role {
			return out[i].Role == Master
		}
		return out[i].ClientID < out[j].ClientID
	})
	return out
}

// connection states
const (
	open   = iota
	ending // removed from its channel; Done is closed
)

// Conn is one client's connection to a channel. Out and Done are read by
// its owner (the goroutine serving the client); Send is called by it.
type Conn struct {
	hub  *Hub
	ch   *channel
	role Role
	id   string
	out  chan Message
	done chan struct{}

	// Guarded by hub.mu.
	state       int
	reason      error
	connectedAt time.Time
	lastActive  time.Time
	goAwaySent  bool
	sdp, ice    bucket
	released    bool
}

// Role is the connection's role.
func (c *Conn) Role() Role { return c.role }

// ClientID is the viewer's client id ("" for the master).
func (c *Conn) ClientID() string { return c.id }

// Out delivers the client's messages, in order.
func (c *Conn) Out() <-chan Message { return c.out }

// Done is closed when the relay ends the connection (see Reason); the
// owner should send what is left in Out, then Close.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Reason is why the relay ended the connection (nil while it is open).
func (c *Conn) Reason() error {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	return c.reason
}

// deliverLocked hands msg to the client without blocking; false if the
// connection is ending (the client is then disconnected if its buffer was
// full).
func (c *Conn) deliverLocked(msg Message) bool {
	if c.state != open {
		return false
	}
	select {
	case c.out <- msg:
		return true
	default:
		c.endLocked(ErrSlowReader)
		return false
	}
}

// endLocked removes the connection from its channel and closes Done.
func (c *Conn) endLocked(reason error) {
	if c.state != open {
		return
	}
	c.state, c.reason = ending, reason
	if c.role == Master && c.ch.master == c {
		c.ch.master = nil
	}
	if c.role == Viewer && c.ch.viewers[c.id] == c {
		delete(c.ch.viewers, c.id)
	}
	close(c.done)
}

// Close ends the connection (if the relay has not) and releases it. The
// owner calls it once it no longer serves the client.
func (c *Conn) Close() {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	c.endLocked(nil)
	if !c.released {
		c.released = true
		h.active.Done()
	}
	if c.ch.unusedLocked(h.cfg.Now()) && h.channels[c.ch.info.ARN] == c.ch {
		delete(h.channels, c.ch.info.ARN)
	}
}

// Send routes one message from the client: a viewer's to the master, the
// master's to the viewer it names (or to a SendAlexaOfferToMaster caller
// waiting for its answer), queued for the channel's TTL when the recipient
// is not connected. It refuses (with an *Error) an unknown action, a
// payload too large, a master's message naming no recipient and a message
// beyond the connection's rate.
func (c *Conn) Send(in Inbound) error {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.state != open {
		return ErrReplaced
	}
	now := h.cfg.Now()
	c.lastActive = now
	var b *bucket
	var rate int
	switch in.Action {
	case SDPOffer, SDPAnswer:
		b, rate = &c.sdp, h.cfg.SDPRate
	case ICECandidate:
		b, rate = &c.ice, h.cfg.ICERate
	default:
		return errorf(KindInvalidArgument, "Unknown action %q: action must be SDP_OFFER, SDP_ANSWER or ICE_CANDIDATE.", in.Action)
	}
	if in.Payload == "" {
		return errorf(KindInvalidArgument, "messagePayload is required.")
	}
	if len(in.Payload) > h.cfg.MaxPayload {
		return errorf(KindInvalidArgument, "The message payload exceeds the maximum size of %d bytes.", h.cfg.MaxPayload)
	}
	if in.RecipientClientID != "" && !clientIDPattern.MatchString(in.RecipientClientID) {
		return errorf(KindInvalidArgument, "recipientClientId must match [a-zA-Z0-9_.-]{1,256}.")
	}
	if c.role == Master && in.RecipientClientID == "" {
		return errorf(KindInvalidArgument, "recipientClientId is required in a message from the master.")
	}
	if !b.take(now, rate) {
		kind := "SDP"
		if in.Action == ICECandidate {
			kind = "ICE candidate"
		}
		return errorf(KindClientLimit, "The connection exceeded its limit of %d %s messages per second.", rate, kind)
	}
	if c.role == Viewer {
		h.routeLocked(c.ch, "", Message{Type: in.Action, SenderClientID: c.id, Payload: in.Payload}, now)
		return nil
	}
	if w := c.ch.waiters[in.RecipientClientID]; w != nil {
		if in.Action == SDPAnswer {
			select {
			case w <- in.Payload:
			default:
			}
		}
		return nil
	}
	h.routeLocked(c.ch, in.RecipientClientID, Message{Type: in.Action, Payload: in.Payload}, now)
	return nil
}

// bucket is a token bucket of rate tokens per second holding at most rate.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, rate int) bool {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(float64(rate), b.tokens+d.Seconds()*float64(rate))
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
