package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/signaling"
	"github.com/rheos/rheos/internal/video"
	"github.com/rheos/rheos/internal/webrtcingest"
	"github.com/rheos/rheos/internal/webrtcingest/webrtcingestapi"
)

// This file wires WebRTC ingestion (kinesis-video-webrtc-storage's
// JoinStorageSession): the session manager (webrtcingest.Manager, a
// daemon whose sessions end at shutdown, and a closer for when Serve never
// ran) over three adapters: channels' media storage links from the video
// service, a viewer's connection to the signaling relay (signaling.go's
// Hub, joined in process), and uploads into streams through the PutMedia
// ingest (video.Media.OpenIngest). Its API is mounted on the kinesisvideo
// endpoint in front of the rest (wireVideo calls withWebRTCIngest).

// withWebRTCIngest mounts JoinStorageSession on the kinesisvideo endpoint
// ep, in front of its handler.
func (s *Server) withWebRTCIngest(ep awsproto.Endpoint, svc *video.Service, media *video.Media, hub *signaling.Hub) awsproto.Endpoint {
	mgr := webrtcingest.New(webrtcingest.Config{Logger: s.log, Now: s.now, IncludeLoopback: true},
		ingestChannels{svc}, ingestSignaling{hub: hub, channels: videoChannels{svc}}, ingestStreams{media: media, log: s.log})
	s.daemons = append(s.daemons, daemon{name: "webrtc-ingest", run: mgr.Run})
	s.closers = append(s.closers, mgr.Close)
	api := webrtcingestapi.New(mgr, s.cfg.Account)
	ep.PathPrefixes = append(slices.Clone(ep.PathPrefixes), api.Paths()...)
	ep.Handler = webrtcIngestMux{api: api, next: ep.Handler}
	return ep
}

type webrtcIngestMux struct {
	api  *webrtcingestapi.API
	next awsproto.Handler
}

func (m webrtcIngestMux) ServeAWS(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	if m.api.Serves(r.URL.Path) {
		m.api.ServeAWS(w, r, req)
		return
	}
	m.next.ServeAWS(w, r, req)
}

func (m webrtcIngestMux) WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	m.next.WriteError(w, r, e)
}

// ingestErr maps the video service's errors to webrtcingest's.
func ingestErr(err error) error {
	var ve *video.Error
	if errors.As(err, &ve) {
		kind := webrtcingest.KindInvalidArgument
		if ve.Kind == video.KindNotFound {
			kind = webrtcingest.KindNotFound
		}
		if ve.Kind == video.KindInternal {
			return err
		}
		return &webrtcingest.Error{Kind: kind, Msg: ve.Msg}
	}
	var se *signaling.Error
	if errors.As(err, &se) {
		kind := webrtcingest.KindInvalidArgument
		switch se.Kind {
		case signaling.KindNotFound:
			kind = webrtcingest.KindNotFound
		case signaling.KindClientLimit:
			kind = webrtcingest.KindClientLimit
		}
		return &webrtcingest.Error{Kind: kind, Msg: se.Msg}
	}
	return err
}

// ingestChannels reads channels' media storage configurations.
type ingestChannels struct{ svc *video.Service }

func (c ingestChannels) Target(ctx context.Context, account, region, arn string) (webrtcingest.Target, error) {
	sc := video.Scope{Account: account, Region: region}
	ch, err := c.svc.ResolveChannel(ctx, sc, video.ChannelRef{ARN: arn})
	if err != nil {
		return webrtcingest.Target{}, ingestErr(err)
	}
	if ch.Status != video.StatusActive {
		return webrtcingest.Target{}, &webrtcingest.Error{Kind: webrtcingest.KindNotFound, Msg: "The requested channel is not found or not active."}
	}
	if ch.MediaStorage == nil || ch.MediaStorage.Status != "ENABLED" || ch.MediaStorage.StreamARN == "" {
		return webrtcingest.Target{}, &webrtcingest.Error{Kind: webrtcingest.KindInvalidArgument,
			Msg: "The channel " + ch.Name + " has no media storage configuration enabled (UpdateMediaStorageConfiguration)."}
	}
	return webrtcingest.Target{Account: account, Region: region, ChannelARN: ch.ARN(), StreamARN: ch.MediaStorage.StreamARN}, nil
}

// ingestSignaling joins the relay in process, as a viewer.
type ingestSignaling struct {
	hub      *signaling.Hub
	channels videoChannels
}

func (s ingestSignaling) Connect(ctx context.Context, t webrtcingest.Target, clientID string) (webrtcingest.SignalingConn, error) {
	info, err := s.channels.Channel(ctx, t.Account, t.Region, t.ChannelARN)
	if err != nil {
		return nil, ingestErr(err)
	}
	conn, err := s.hub.Connect(info, signaling.Viewer, clientID)
	if err != nil {
		return nil, ingestErr(err)
	}
	c := &ingestConn{conn: conn, out: make(chan webrtcingest.SignalMessage, 16), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.forward()
	return c, nil
}

// ingestConn presents a relay connection to a session. Its forwarder
// goroutine is owned by it: started by Connect, stopped and waited for by
// Close.
type ingestConn struct {
	conn *signaling.Conn
	out  chan webrtcingest.SignalMessage
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func (c *ingestConn) forward() {
	defer c.wg.Done()
	for {
		select {
		case m := <-c.conn.Out():
			select {
			case c.out <- webrtcingest.SignalMessage{Type: m.Type, Payload: m.Payload}:
			case <-c.stop:
				return
			}
		case <-c.stop:
			return
		}
	}
}

func (c *ingestConn) Send(action, payload string) error {
	return c.conn.Send(signaling.Inbound{Action: action, Payload: payload})
}

func (c *ingestConn) Messages() <-chan webrtcingest.SignalMessage { return c.out }

func (c *ingestConn) Done() <-chan struct{} { return c.conn.Done() }

func (c *ingestConn) Close() {
	c.once.Do(func() {
		close(c.stop)
		c.wg.Wait()
		c.conn.Close()
	})
}

// ingestStreams opens uploads through the PutMedia ingest.
type ingestStreams struct {
	media *video.Media
	log   *slog.Logger
}

func (s ingestStreams) Open(ctx context.Context, t webrtcingest.Target) (webrtcingest.Upload, error) {
	in, err := s.media.OpenIngest(ctx, video.Scope{Account: t.Account, Region: t.Region}, video.StreamRef{ARN: t.StreamARN})
	if err != nil {
		return nil, ingestErr(err)
	}
	return ingestUpload{in: in, stream: t.StreamARN, log: s.log}, nil
}

type ingestUpload struct {
	in     *video.Ingest
	stream string
	log    *slog.Logger
}

func (u ingestUpload) Run(body io.Reader) error {
	return u.in.Run(body, video.PutOptions{}, func(a video.Ack) error {
		if a.EventType == video.AckError {
			u.log.Info("webrtc storage session: fragment refused", "stream", u.stream, "errorId", a.ErrorID, "fragment", a.FragmentNumber)
		}
		return nil
	})
}

func (u ingestUpload) Close() { u.in.Close() }
