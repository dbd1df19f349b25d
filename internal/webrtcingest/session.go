package webrtcingest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// session is one storage session: a peer connection receiving from the
// master, its signaling connection and its upload.
type session struct {
	ctx    context.Context
	cancel context.CancelFunc
	cfg    Config
	t      Target
	conn   SignalingConn
	up     Upload
	pc     *webrtc.PeerConnection
	done   chan struct{} // closed when run returned

	pr *io.PipeReader
	pw *io.PipeWriter

	sendMu    sync.Mutex // guards offerSent, pendingICE (candidates wait for the offer)
	offerSent bool
	pending   []webrtc.ICECandidateInit

	muxMu    sync.Mutex // guards mux, lastPLI
	mux      *muxer
	lastPLI  time.Time
	readers  sync.WaitGroup // track readers
	upDone   chan struct{}  // closed when the upload's Run returned
	upErr    error          // set before upDone closes
	connOnce sync.Once
}

// h264Profiles are the H.264 formats offered (packetization mode 1):
// constrained baseline, baseline, main, high.
var h264Profiles = []struct {
	pt      webrtc.PayloadType
	profile string
}{{102, "42e01f"}, {104, "42001f"}, {106, "4d001f"}, {108, "640032"}}

// newAPI is the pion API of a session: H.264 and Opus only (the master
// must not pick another codec), the default interceptors (NACK, RTCP
// reports), host candidates.
func newAPI(cfg Config) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	for _, p := range h264Profiles {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + p.profile,
			RTCPFeedback: fb}, PayloadType: p.pt}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, err
		}
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// newSession creates the peer connection (receive-only video and audio)
// and sends the master its offer.
func newSession(ctx context.Context, cancel context.CancelFunc, cfg Config, t Target, conn SignalingConn, up Upload) (*session, error) {
	api, err := newAPI(cfg)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	s := &session{ctx: ctx, cancel: cancel, cfg: cfg, t: t, conn: conn, up: up, pc: pc, done: make(chan struct{}),
		pr: pr, pw: pw, upDone: make(chan struct{})}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return nil, err
		}
	}
	pc.OnICECandidate(s.onCandidate)
	pc.OnTrack(s.onTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		cfg.Logger.Debug("webrtc storage session", "channel", t.ChannelARN, "state", st.String())
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			s.cancel()
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err == nil {
		err = conn.Send(sdpOffer, encodePayload(offer))
	}
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("webrtcingest: offer: %w", err)
	}
	s.sendMu.Lock()
	s.offerSent = true
	pending := s.pending
	s.pending = nil
	s.sendMu.Unlock()
	for _, c := range pending {
		s.sendCandidate(c)
	}
	return s, nil
}

func encodePayload(v any) string {
	b, _ := json.Marshal(v)
	return base64.StdEncoding.EncodeToString(b)
}

func decodePayload(p string, v any) error {
	b, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// onCandidate trickles a local candidate to the master, after the offer.
func (s *session) onCandidate(c *webrtc.ICECandidate) {
	if c == nil {
		return
	}
	init := c.ToJSON()
	s.sendMu.Lock()
	if !s.offerSent {
		s.pending = append(s.pending, init)
		s.sendMu.Unlock()
		return
	}
	s.sendMu.Unlock()
	s.sendCandidate(init)
}

func (s *session) sendCandidate(c webrtc.ICECandidateInit) {
	if err := s.conn.Send(iceCandidate, encodePayload(c)); err != nil {
		s.cfg.Logger.Debug("webrtc storage session: candidate not sent", "channel", s.t.ChannelARN, "err", err)
	}
}

// abort releases a session that never ran.
func (s *session) abort() {
	s.cancel()
	s.pc.Close()
	s.conn.Close()
	s.up.Close()
	close(s.done)
}

// stop asks the session to end.
func (s *session) stop() { s.cancel() }

// run serves the session until it ends, then flushes the last fragment
// and releases everything.
func (s *session) run() {
	defer close(s.done)
	log := s.cfg.Logger.With("channel", s.t.ChannelARN, "stream", s.t.StreamARN)
	go func() {
		err := s.up.Run(s.pr)
		s.upErr = err
		s.pr.CloseWithError(errors.New("webrtcingest: the upload ended"))
		close(s.upDone)
		s.cancel()
	}()
	connected := time.NewTimer(s.cfg.ConnectTimeout)
	defer connected.Stop()
	msgs, sigDone := s.conn.Messages(), s.conn.Done()
	var remote bool
	var early []webrtc.ICECandidateInit
loop:
	for {
		select {
		case <-s.ctx.Done():
			break loop
		case <-sigDone:
			// The media goes on without signaling (the master may
			// reconnect to the relay at any time).
			msgs, sigDone = nil, nil
		case <-connected.C:
			if s.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
				log.Info("webrtc storage session: no peer connection", "after", s.cfg.ConnectTimeout)
				break loop
			}
		case m := <-msgs:
			switch m.Type {
			case sdpAnswer:
				var d webrtc.SessionDescription
				if err := decodePayload(m.Payload, &d); err != nil || d.Type != webrtc.SDPTypeAnswer {
					log.Info("webrtc storage session: bad answer", "err", err)
					continue
				}
				if err := s.pc.SetRemoteDescription(d); err != nil {
					log.Info("webrtc storage session: answer refused", "err", err)
					break loop
				}
				s.muxMu.Lock()
				s.mux = newMuxer(s.pw, s.cfg.MaxCluster.Milliseconds(), sendsAudio(d.SDP))
				s.muxMu.Unlock()
				remote = true
				for _, c := range early {
					_ = s.pc.AddICECandidate(c)
				}
				early = nil
			case iceCandidate:
				var c webrtc.ICECandidateInit
				if err := decodePayload(m.Payload, &c); err != nil {
					continue
				}
				if !remote {
					early = append(early, c)
					continue
				}
				_ = s.pc.AddICECandidate(c)
			}
		}
	}
	s.cancel()
	s.pc.Close() // ends the track readers
	s.readers.Wait()
	s.muxMu.Lock()
	if s.mux != nil {
		if err := s.mux.flush(); err != nil {
			log.Debug("webrtc storage session: last fragment not written", "err", err)
		}
	}
	s.muxMu.Unlock()
	s.pw.Close()
	<-s.upDone
	s.up.Close()
	s.conn.Close()
	log.Info("webrtc storage session ended", "err", s.upErr)
}

// sendsAudio reports whether the answer's audio section is active (the
// master sends audio).
func sendsAudio(sdp string) bool {
	audio := false
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "m="):
			if audio {
				return true
			}
			audio = strings.HasPrefix(line, "m=audio ") && !strings.HasPrefix(line, "m=audio 0 ")
		case audio && (line == "a=inactive" || line == "a=recvonly"):
			audio = false
		}
	}
	return audio
}

// onTrack starts a reader for a track the master sends.
func (s *session) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if s.ctx.Err() != nil {
		return
	}
	s.readers.Add(1)
	go func() {
		defer s.readers.Done()
		var err error
		switch {
		case strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeH264):
			err = s.readVideo(tr)
			s.cancel() // the master stopped sending video: the session ends
		case strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeOpus):
			err = s.readAudio(tr)
		}
		s.cfg.Logger.Debug("webrtc storage session: track ended", "channel", s.t.ChannelARN, "codec", tr.Codec().MimeType, "err", err)
	}()
}

// clock maps a track's RTP timestamps to milliseconds since the epoch:
// the first packet's arrival, plus the (unwrapped) RTP time since it.
type clock struct {
	rate  int64
	base  int64 // ms
	first uint32
	last  uint32
	acc   int64 // RTP ticks since first
	set   bool
}

func (c *clock) ms(ts uint32, now func() time.Time) int64 {
	if !c.set {
		c.set, c.first, c.last, c.base = true, ts, ts, now().UnixMilli()
	}
	c.acc += int64(int32(ts - c.last))
	c.last = ts
	return c.base + c.acc*1000/c.rate
}

func (s *session) readVideo(tr *webrtc.TrackRemote) error {
	sb := samplebuilder.New(256, &codecs.H264Packet{IsAVC: true}, 90000)
	clk := clock{rate: 90000}
	s.requestKey(tr)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return err
		}
		sb.Push(pkt)
		for smp := sb.Pop(); smp != nil; smp = sb.Pop() {
			ts := clk.ms(smp.PacketTimestamp, s.cfg.Now)
			s.muxMu.Lock()
			if s.mux == nil {
				s.muxMu.Unlock()
				continue
			}
			wantKey, err := s.mux.writeVideo(ts, smp.Data)
			s.muxMu.Unlock()
			if err != nil {
				return err
			}
			if wantKey {
				s.requestKey(tr)
			}
		}
	}
}

// requestKey asks the master for a key frame (PLI), at most once a second.
func (s *session) requestKey(tr *webrtc.TrackRemote) {
	now := time.Now()
	s.muxMu.Lock()
	if now.Sub(s.lastPLI) < time.Second {
		s.muxMu.Unlock()
		return
	}
	s.lastPLI = now
	s.muxMu.Unlock()
	_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
}

func (s *session) readAudio(tr *webrtc.TrackRemote) error {
	clk := clock{rate: int64(tr.Codec().ClockRate)}
	if clk.rate <= 0 {
		clk.rate = 48000
	}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return err
		}
		ts := clk.ms(pkt.Timestamp, s.cfg.Now)
		s.muxMu.Lock()
		if s.mux != nil {
			s.mux.writeAudio(ts, pkt.Payload)
		}
		s.muxMu.Unlock()
	}
}
