// Package turnserver owns the built-in STUN/TURN server (pion/turn) that
// WebRTC peers of Kinesis Video signaling channels use when they cannot
// reach each other directly: it listens on one port for UDP and TCP,
// relays through ports of a configurable range on a configurable public
// address, and accepts only time-limited credentials of the TURN REST API
// shape, which it also issues (GetIceServerConfig hands them out):
//
//	username = "<expiry, Unix seconds>:<user>"
//	password = base64url(HMAC-SHA256(secret, username)), unpadded
//
// (the password fits the signaling model's [a-zA-Z0-9_.-]+). It knows
// nothing of channels or AWS; the server wires it to the signaling relay.
// Every goroutine it runs (pion's listeners and relays) ends at Close.
package turnserver

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
)

// Realm is the TURN realm of the credentials.
const Realm = "rheos"

// Config is the TURN server's settings.
type Config struct {
	// Addr is the UDP and TCP listen address, host:port (port 0: any).
	Addr string
	// PublicIP is the address relays are allocated on and announced at,
	// and the host of the URIs handed out. Default: Addr's host (it must
	// then be a specific IP, not a wildcard).
	PublicIP string
	// RelayMinPort and RelayMaxPort bound the relay ports (both 0: any
	// free port).
	RelayMinPort, RelayMaxPort uint16
	// Secret signs the credentials. Default: 32 random bytes, so that
	// credentials die with the process.
	Secret []byte
	// Now is the clock of credential expiry. Default time.Now.
	Now func() time.Time
	// NoTCP turns the TCP listener off.
	NoTCP bool
}

// Server is a running TURN server.
type Server struct {
	cfg    Config
	public net.IP
	port   int
	srv    *turn.Server
	tcp    bool
	close  sync.Once
	err    error
}

// Listen binds the UDP (and TCP) listeners and starts serving.
func Listen(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Secret) == 0 {
		cfg.Secret = make([]byte, 32)
		rand.Read(cfg.Secret)
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("turn: address %q: %w", cfg.Addr, err)
	}
	pub := cfg.PublicIP
	if pub == "" {
		pub = host
	}
	public := net.ParseIP(pub)
	if public == nil || public.IsUnspecified() {
		return nil, fmt.Errorf("turn: public IP %q: set a specific address for relays (the listen address is %q)", pub, cfg.Addr)
	}
	if cfg.RelayMinPort > cfg.RelayMaxPort {
		return nil, fmt.Errorf("turn: relay port range %d-%d is empty", cfg.RelayMinPort, cfg.RelayMaxPort)
	}
	udp, err := net.ListenPacket("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("turn: %w", err)
	}
	port := udp.LocalAddr().(*net.UDPAddr).Port
	s := &Server{cfg: cfg, public: public, port: port}
	relayHost := host
	if relayHost == "" {
		relayHost = "0.0.0.0"
	}
	gen := func() turn.RelayAddressGenerator {
		if cfg.RelayMinPort == 0 && cfg.RelayMaxPort == 0 {
			return &turn.RelayAddressGeneratorStatic{RelayAddress: public, Address: relayHost}
		}
		return &turn.RelayAddressGeneratorPortRange{RelayAddress: public, Address: relayHost, MinPort: cfg.RelayMinPort, MaxPort: cfg.RelayMaxPort}
	}
	sc := turn.ServerConfig{
		Realm:             Realm,
		AuthHandler:       s.auth,
		LoggerFactory:     &logging.DefaultLoggerFactory{Writer: io.Discard},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udp, RelayAddressGenerator: gen()}},
	}
	if !cfg.NoTCP {
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			udp.Close()
			return nil, fmt.Errorf("turn: %w", err)
		}
		sc.ListenerConfigs = []turn.ListenerConfig{{Listener: tcp, RelayAddressGenerator: gen()}}
		s.tcp = true
	}
	srv, err := turn.NewServer(sc)
	if err != nil {
		udp.Close()
		for _, l := range sc.ListenerConfigs {
			l.Listener.Close()
		}
		return nil, fmt.Errorf("turn: %w", err)
	}
	s.srv = srv
	return s, nil
}

// Addr is the host:port clients reach the server at (the public IP and
// the bound port).
func (s *Server) Addr() string { return net.JoinHostPort(s.public.String(), strconv.Itoa(s.port)) }

// Run serves until ctx ends, then closes the server.
func (s *Server) Run(ctx context.Context) error {
	<-ctx.Done()
	return s.Close()
}

// Close stops the listeners and every relay. It may be called more than
// once.
func (s *Server) Close() error {
	s.close.Do(func() { s.err = s.srv.Close() })
	return s.err
}

// Allocations is the number of relays allocated.
func (s *Server) Allocations() int { return s.srv.AllocationCount() }

// TURNURIs are the TURN URIs of the server (UDP, then TCP).
func (s *Server) TURNURIs() []string {
	uris := []string{"turn:" + s.Addr() + "?transport=udp"}
	if s.tcp {
		uris = append(uris, "turn:"+s.Addr()+"?transport=tcp")
	}
	return uris
}

// STUNURI is the STUN URI of the server.
func (s *Server) STUNURI() string { return "stun:" + s.Addr() }

// Credentials issues a username and password for user, valid for ttl.
func (s *Server) Credentials(user string, ttl time.Duration) (username, password string) {
	username = strconv.FormatInt(s.cfg.Now().Add(ttl).Unix(), 10) + ":" + user
	return username, s.password(username)
}

func (s *Server) password(username string) string {
	m := hmac.New(sha256.New, s.cfg.Secret)
	m.Write([]byte(username))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ErrExpired is a credential past its expiry.
var ErrExpired = errors.New("turn: credential expired")

// Check verifies a username and password issued by Credentials.
func (s *Server) Check(username, password string) error {
	if err := s.checkExpiry(username); err != nil {
		return err
	}
	if !hmac.Equal([]byte(password), []byte(s.password(username))) {
		return errors.New("turn: wrong password")
	}
	return nil
}

func (s *Server) checkExpiry(username string) error {
	exp, _, ok := strings.Cut(username, ":")
	t, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil {
		return fmt.Errorf("turn: username %q is not <expiry>:<user>", username)
	}
	if s.cfg.Now().Unix() >= t {
		return ErrExpired
	}
	return nil
}

// auth is pion's long-term credential check: the key is derived from the
// password the username's HMAC gives, refused once the expiry is past.
func (s *Server) auth(ra *turn.RequestAttributes) (string, []byte, bool) {
	if s.checkExpiry(ra.Username) != nil {
		return "", nil, false
	}
	return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, s.password(ra.Username)), true
}
