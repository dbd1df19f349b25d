package server

import (
	"context"
	"time"

	"github.com/rheos/rheos/internal/video"
	"github.com/rheos/rheos/internal/videoapi"
)

// This file wires Kinesis Video Streams' control plane into the server:
// streams and signaling channels over the shared metadata store (under
// video/), their statuses on the Data Streams delays (CREATING for
// --create-delay, DELETING for --delete-delay), the sweep of deleted
// records as a periodic task, the kinesisvideo API on the router, and the
// Server's video field, where the data plane (PutMedia, fragments,
// playback) and the signaling relay attach.

func init() { registerWiring("video", 30, (*Server).wireVideo) }

// videoSweepInterval is how often deleted streams' and channels' records
// are removed once their DELETING time is up.
const videoSweepInterval = 5 * time.Second

func (s *Server) wireVideo(context.Context) error {
	svc := video.New(video.Config{Account: s.cfg.Account, Now: s.now,
		CreateDelay: time.Duration(s.cfg.CreateDelay), DeleteDelay: time.Duration(s.cfg.DeleteDelay)}, s.store.meta)
	s.router.Register(videoapi.New(svc, s.cfg.Account, s.baseURL).Endpoint())
	s.tasks = append(s.tasks, task{name: "video-deletions", interval: videoSweepInterval, run: func(ctx context.Context) error {
		_, err := svc.Sweep(ctx)
		return err
	}})
	s.video = svc
	return nil
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
