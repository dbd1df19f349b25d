package server

import (
	"context"
	"net/http"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/restjson"
	"github.com/rheos/rheos/internal/signaling/signalingapi"
	"github.com/rheos/rheos/internal/video"
	"github.com/rheos/rheos/internal/videoapi"
	"github.com/rheos/rheos/internal/videomedia"
)

// This file wires Kinesis Video Streams into the server: streams and
// signaling channels over the shared metadata store (under video/), their
// statuses on the Data Streams delays (CREATING for --create-delay,
// DELETING for --delete-delay), the sweep of deleted records as a periodic
// task, and the data plane (video_media.go): fragments in the shared
// record log under log keys of their own, whose retention the video
// service reports to the log's sweep. The control plane (videoapi) and the
// data plane (videomedia) share the signing name kinesisvideo, so one
// endpoint dispatches between them by path.

func init() { registerWiring("video", 30, (*Server).wireVideo) }

// videoSweepInterval is how often deleted streams' and channels' records
// (and the media records of deleted streams) are removed once their
// DELETING time is up.
const videoSweepInterval = 5 * time.Second

func (s *Server) wireVideo(context.Context) error {
	svc := video.New(video.Config{Account: s.cfg.Account, Now: s.now,
		CreateDelay: time.Duration(s.cfg.CreateDelay), DeleteDelay: time.Duration(s.cfg.DeleteDelay)}, s.store.meta)
	media := video.NewMedia(svc, video.MediaConfig{}, videoLog{l: s.store.log, fence: s.store.fence}, s.store.logKeys)
	control := videoapi.New(svc, s.cfg.Account, s.baseURL)
	data := videomedia.New(media, s.cfg.Account, videomedia.Config{})
	sig, hub, err := s.wireSignaling(svc) // signaling.go: the WebRTC signaling relay and TURN
	if err != nil {
		return err
	}
	s.router.Register(s.withWebRTCIngest(s.withVideoPlayback(videoEndpoint(control, data, sig), media), svc, media, hub)) // video_media.go: archived-media playback; webrtc_ingest.go: JoinStorageSession
	s.store.own(logOwner{name: videoapi.SigningName, retainedFrom: media.RetainedFrom})
	s.tasks = append(s.tasks, task{name: "video-deletions", interval: videoSweepInterval, run: func(ctx context.Context) error {
		if _, err := svc.Sweep(ctx); err != nil {
			return err
		}
		_, err := media.SweepMedia(ctx)
		return err
	}})
	s.video, s.signaling = svc, hub
	return nil
}

// videoEndpoint is the kinesisvideo endpoint: the signaling WebSocket and
// HTTPS API go to signalingapi, the data plane's paths to videomedia, the
// rest to the control plane.
func videoEndpoint(control *restjson.Service, data *videomedia.API, sig *signalingapi.API) awsproto.Endpoint {
	ep := control.Endpoint()
	ep.PathPrefixes = append(append(append([]string(nil), ep.PathPrefixes...), data.Paths()...), sig.Paths()...)
	ep.Handler = videoMux{control: control, data: data, signaling: sig}
	return ep
}

type videoMux struct {
	control   *restjson.Service
	data      *videomedia.API
	signaling *signalingapi.API
}

func (m videoMux) ServeAWS(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	if m.signaling.Serves(r) {
		m.signaling.ServeAWS(w, r, req)
		return
	}
	if m.data.Serves(r.URL.Path) {
		m.data.ServeAWS(w, r, req)
		return
	}
	m.control.ServeAWS(w, r, req)
}

func (m videoMux) WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	m.control.WriteError(w, r, e)
}

// baseURL is the server's advertised base URL: the plain listener's, else
// the TLS listener's ("" before Listen).
func (s *Server) baseURL() string {
	switch {
	case s.ln != nil:
		return "http://" + s.ln.Addr().String()
	case s.tlsLn != nil:
		return "https://" + s.tlsLn.Addr().String()
	}
	return ""
}
