// Package webrtcingest owns WebRTC ingestion into Kinesis video streams
// (kinesis-video-webrtc-storage's JoinStorageSession): for a signaling
// channel whose media storage configuration is ENABLED, Rheos joins the
// channel's session as a peer, as AWS's storage session does. It
// connects to the channel's signaling relay as a viewer (client id
// StorageClientID), sends the master an SDP offer to receive H.264 video
// (and Opus audio), takes the master's answer and ICE candidates, and
// writes what arrives as Matroska (matroska.go draws the layout) into the
// linked stream through the same ingest path PutMedia uses. The session
// ends when the peer connection closes or fails, when the master stops
// sending, when the stream's upload ends (another upload took over, the
// stream was deleted), when a newer JoinStorageSession replaces it, or at
// shutdown.
//
// It declares what it needs and imports no other domain: Channels (the
// channel's link to its stream, from the video service), Signaling (a
// viewer's connection to the relay) and Streams (an upload into the
// stream); the server supplies the adapters. It knows nothing of AWS's
// wire: the API package (webrtcingestapi) maps the Kinds of its errors
// to exceptions. It keeps no durable state: a session lives in memory
// and is lost at a restart (the producer joins again).
//
// Concurrency: Manager.mu guards the sessions map; each session is a
// goroutine owned by the Manager (started by Join, stopped by a newer
// Join for the same channel, by Close or by Run's context, and waited
// for); a session's own track readers are owned by it. The muxer is
// guarded by session.muxMu. Lock order: Manager.joinMu, then Manager.mu.
package webrtcingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// StorageClientID is the client id the storage session connects to the
// signaling channel with, as a viewer. (AWS reserves the AWS_ prefix for
// itself, and the relay refuses it to every client, so Rheos uses a name
// of its own.)
const StorageClientID = "KVS_STORAGE_SESSION"

// Kind classifies a refusal; the API maps each to an AWS exception.
type Kind int

// Error kinds.
const (
	KindNotFound        Kind = iota + 1 // ResourceNotFoundException
	KindInvalidArgument                 // InvalidArgumentException
	KindClientLimit                     // ClientLimitExceededException
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

// ErrClosed: the manager is shutting down.
var ErrClosed = errors.New("webrtcingest: shutting down")

// Target is a channel linked to a stream for ingestion.
type Target struct {
	Account, Region string
	ChannelARN      string
	StreamARN       string
}

// Channels resolves a channel to the stream its media storage
// configuration links. Safe for concurrent use.
type Channels interface {
	// Target returns the channel's link, or an *Error: KindNotFound (no
	// such active channel), KindInvalidArgument (no ENABLED media storage
	// configuration).
	Target(ctx context.Context, account, region, channelARN string) (Target, error)
}

// Signaling connects a session to the channel's relay. Safe for
// concurrent use.
type Signaling interface {
	// Connect joins the channel as a viewer with clientID. The caller owns
	// the connection and must Close it. Refusals are *Errors.
	Connect(ctx context.Context, t Target, clientID string) (SignalingConn, error)
}

// SignalingConn is a viewer's connection to the relay: what it sends goes
// to the master.
type SignalingConn interface {
	// Send sends an SDP_OFFER or ICE_CANDIDATE (payload: base64 of the
	// JSON, as the AWS libraries frame it) to the master. Safe for
	// concurrent use.
	Send(action, payload string) error
	// Messages delivers the master's SDP_ANSWER and ICE_CANDIDATE messages,
	// in order.
	Messages() <-chan SignalMessage
	// Done is closed when the relay ended the connection.
	Done() <-chan struct{}
	// Close ends the connection.
	Close()
}

// SignalMessage is one message from the relay.
type SignalMessage struct {
	Type    string // SDP_ANSWER, ICE_CANDIDATE, GO_AWAY, ...
	Payload string // base64 of the JSON
}

// Signaling message types.
const (
	sdpOffer     = "SDP_OFFER"
	sdpAnswer    = "SDP_ANSWER"
	iceCandidate = "ICE_CANDIDATE"
)

// Streams opens uploads into streams. Safe for concurrent use.
type Streams interface {
	// Open claims the stream's ingest as a PutMedia upload does (a newer
	// upload ends an older one) for as long as ctx lives. Refusals are
	// *Errors (KindNotFound for a deleted stream).
	Open(ctx context.Context, t Target) (Upload, error)
}

// Upload is one upload into a stream, owned by one session.
type Upload interface {
	// Run reads a Matroska body whose cluster timecodes are absolute
	// (milliseconds since the epoch) and stores its fragments; it returns
	// at the body's end, when the upload is refused or ended, or on error.
	Run(body io.Reader) error
	// Close releases the stream's ingest.
	Close()
}

// Config is the manager's settings. Zero values take the defaults.
type Config struct {
	// Logger receives session events. Default: discard.
	Logger *slog.Logger
	// Now is the clock of producer timestamps. Default time.Now.
	Now func() time.Time
	// MaxCluster is the longest fragment written; a longer GOP is cut and
	// frames wait for the next key frame. Default 9 s (AWS refuses
	// fragments over 10 s).
	MaxCluster time.Duration
	// ConnectTimeout is how long a session waits for the peer connection
	// after JoinStorageSession. Default 30 s.
	ConnectTimeout time.Duration
	// IncludeLoopback offers loopback ICE candidates (peers on this host).
	// Default false; the server sets it.
	IncludeLoopback bool
}

func (c *Config) fill() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxCluster <= 0 {
		c.MaxCluster = 9 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 30 * time.Second
	}
}

// Manager runs the storage sessions, at most one per channel.
type Manager struct {
	cfg      Config
	channels Channels
	sig      Signaling
	streams  Streams
	ctx      context.Context // the sessions' lifetime; cancelled by Close
	cancel   context.CancelFunc

	joinMu sync.Mutex // serializes Join (the replacement of a session)
	mu     sync.Mutex
	// Guarded by mu.
	sessions map[string]*session // by channel ARN
	closed   bool
	wg       sync.WaitGroup // running sessions
}

// New returns a manager; Run (or Close) stops its sessions.
func New(cfg Config, channels Channels, sig Signaling, streams Streams) *Manager {
	cfg.fill()
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{cfg: cfg, channels: channels, sig: sig, streams: streams, ctx: ctx, cancel: cancel,
		sessions: map[string]*session{}}
}

// Run waits for ctx to end, then stops every session and waits for them.
func (m *Manager) Run(ctx context.Context) error {
	<-ctx.Done()
	m.Close()
	return nil
}

// Close stops every session and waits for them; Join then fails with
// ErrClosed. Idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	return nil
}

// Sessions is the number of running sessions.
func (m *Manager) Sessions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// Join starts the storage session of the channel (JoinStorageSession): it
// resolves the channel's stream, claims the stream's ingest, connects to
// the relay as StorageClientID and sends the master its offer; the
// session then runs on its own. A session already running for the
// channel is replaced. It returns once the offer is on its way.
func (m *Manager) Join(ctx context.Context, account, region, channelARN string) error {
	t, err := m.channels.Target(ctx, account, region, channelARN)
	if err != nil {
		return err
	}
	m.joinMu.Lock()
	defer m.joinMu.Unlock()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	old := m.sessions[t.ChannelARN]
	m.mu.Unlock()
	if old != nil {
		old.stop()
		select {
		case <-old.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	sctx, cancel := context.WithCancel(m.ctx)
	// The upload outlives the session's context: when the peer goes, the
	// session is cancelled first and then writes its last fragment, which
	// the upload must still take (it ends at the body's end instead).
	up, err := m.streams.Open(context.WithoutCancel(sctx), t)
	if err != nil {
		cancel()
		return err
	}
	conn, err := m.sig.Connect(ctx, t, StorageClientID)
	if err != nil {
		cancel()
		up.Close()
		return err
	}
	s, err := newSession(sctx, cancel, m.cfg, t, conn, up)
	if err != nil {
		cancel()
		conn.Close()
		up.Close()
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		s.abort()
		return ErrClosed
	}
	m.sessions[t.ChannelARN] = s
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		s.run()
		m.mu.Lock()
		if m.sessions[t.ChannelARN] == s {
			delete(m.sessions, t.ChannelARN)
		}
		m.mu.Unlock()
	}()
	return nil
}
