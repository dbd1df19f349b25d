package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rheos/rheos/internal/signaling"
	"github.com/rheos/rheos/internal/signaling/signalingapi"
	"github.com/rheos/rheos/internal/turnserver"
	"github.com/rheos/rheos/internal/video"
)

// This file wires the WebRTC signaling of Kinesis Video signaling
// channels: the relay (signaling.Hub, a daemon that ends idle and expired
// connections and, at shutdown, every connection), its API on the
// kinesisvideo endpoint (the WebSocket at "/" and the HTTPS API, mounted
// by video.go's videoMux), the channels read from the video service
// through an adapter, and the built-in STUN/TURN server whose credentials
// GetIceServerConfig issues (a daemon; closed at Close when Serve never
// ran). wireVideo calls it: the endpoint is the video service's.

// defaultTURNPort is the STUN/TURN port when webrtc.turnAddr is unset.
const defaultTURNPort = "3478"

func (s *Server) wireSignaling(svc *video.Service) (*signalingapi.API, *signaling.Hub, error) {
	var ice signaling.ICEIssuer
	if s.cfg.TURNAddr != "off" {
		ts, err := s.listenTURN()
		if err != nil {
			return nil, nil, err
		}
		s.daemons = append(s.daemons, daemon{name: "turn", run: ts.Run})
		s.closers = append(s.closers, ts.Close)
		ice = turnICE{ts}
		s.log.Info("turn", "addr", ts.Addr(), "uris", ts.TURNURIs())
	}
	hub := signaling.New(signaling.Config{Now: s.now, ICE: ice})
	s.daemons = append(s.daemons, daemon{name: "signaling", run: hub.Run})
	return signalingapi.New(hub, videoChannels{svc}, s.cfg.Account), hub, nil
}

// listenTURN binds the TURN server: at webrtc.turnAddr, or by default on
// the API listener's host at port 3478, falling back to a free port when
// that one is taken (or the API port is itself chosen by the system, as in
// tests).
func (s *Server) listenTURN() (*turnserver.Server, error) {
	lo, hi, err := s.cfg.TURNRelayRange()
	if err != nil {
		return nil, err
	}
	cfg := turnserver.Config{Addr: s.cfg.TURNAddr, PublicIP: s.cfg.TURNPublicIP, RelayMinPort: lo, RelayMaxPort: hi,
		Secret: []byte(s.cfg.TURNSecret), Now: s.now}
	if cfg.Addr != "" {
		return turnserver.Listen(cfg)
	}
	api := s.cfg.Addr
	if api == "" || api == "off" { // no plain listener: the TLS one's host
		api = s.cfg.TLSAddr
	}
	if api == "" || api == "off" {
		api = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(api)
	if err != nil {
		return nil, fmt.Errorf("turn: API address %q: %w", api, err)
	}
	if ip := net.ParseIP(host); cfg.PublicIP == "" && (host == "" || ip != nil && ip.IsUnspecified()) {
		cfg.PublicIP = "127.0.0.1"
		s.log.Warn("turn relays announce 127.0.0.1: set webrtc.turnPublicIp (--turn-public-ip) for peers off this host")
	}
	if port != "0" {
		cfg.Addr = net.JoinHostPort(host, defaultTURNPort)
		ts, err := turnserver.Listen(cfg)
		if err == nil {
			return ts, nil
		}
		s.log.Warn("turn: default port taken, using a free one", "addr", cfg.Addr, "err", err)
	}
	// A free port: the system picks the UDP one, and TCP may find that
	// number taken by another process; pick again a few times.
	cfg.Addr = net.JoinHostPort(host, "0")
	var ts *turnserver.Server
	for range 10 {
		if ts, err = turnserver.Listen(cfg); err == nil {
			return ts, nil
		}
	}
	return nil, err
}

// turnICE issues GetIceServerConfig's servers: the TURN URIs (UDP, TCP)
// with credentials, then the STUN URI.
type turnICE struct{ ts *turnserver.Server }

func (t turnICE) IceServers(user string, ttl time.Duration) []signaling.IceServer {
	name, pass := t.ts.Credentials(user, ttl)
	return []signaling.IceServer{
		{URIs: t.ts.TURNURIs(), Username: name, Password: pass, TTL: ttl},
		{URIs: []string{t.ts.STUNURI()}, TTL: ttl},
	}
}

// videoChannels reads signaling channels from the video service.
type videoChannels struct{ svc *video.Service }

func (v videoChannels) Channel(ctx context.Context, account, region, arn string) (signaling.ChannelInfo, error) {
	ch, err := v.svc.ResolveChannel(ctx, video.Scope{Account: account, Region: region}, video.ChannelRef{ARN: arn})
	if err != nil {
		var ve *video.Error
		if errors.As(err, &ve) {
			kind := signaling.KindInvalidArgument
			if ve.Kind == video.KindNotFound {
				kind = signaling.KindNotFound
			}
			return signaling.ChannelInfo{}, &signaling.Error{Kind: kind, Msg: ve.Msg}
		}
		return signaling.ChannelInfo{}, err
	}
	if ch.Status != video.StatusActive {
		return signaling.ChannelInfo{}, &signaling.Error{Kind: signaling.KindNotFound, Msg: "The requested channel is not found or not active."}
	}
	return signaling.ChannelInfo{ARN: ch.ARN(), Name: ch.Name, TTL: time.Duration(ch.MessageTTLSeconds) * time.Second}, nil
}
