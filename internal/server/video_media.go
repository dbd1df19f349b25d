package server

import (
	"context"
	"io"
	"net/http"
	"slices"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/streamlog"
	"github.com/rheos/rheos/internal/video"
	"github.com/rheos/rheos/internal/videoplay"
)

// videoLog presents the shared record log as video fragments' store:
// appends share the group commit (and its fsync) with every other
// service; a fragment's cluster is read back as a stream from its segment.
type videoLog struct {
	l     *streamlog.Log
	fence uint64
}

func (v videoLog) Append(ctx context.Context, key uint64, data []byte) (uint64, int64, error) {
	res, err := v.l.Append(ctx, v.fence, []streamlog.Entry{{Shard: key, Data: data}})
	if err != nil {
		return 0, 0, err
	}
	return res[0].Seq, res[0].Timestamp, nil
}

func (v videoLog) Read(key, from uint64, max int, minTs int64) ([]video.LogRecord, error) {
	recs, err := v.l.Read(key, from, streamlog.ReadOptions{MaxRecords: max, MaxBytes: 4 << 20, MinTimestamp: minTs})
	if err == streamlog.ErrNoRecord {
		err = nil
	}
	out := make([]video.LogRecord, len(recs))
	for i, r := range recs {
		out[i] = video.LogRecord{Seq: r.Seq, Timestamp: r.Timestamp, Data: r.Data}
	}
	return out, err
}

func (v videoLog) ReadData(key, seq uint64) ([]byte, bool, error) {
	rs, err := v.l.ReadStream(key, seq, 0)
	if err == streamlog.ErrNoRecord {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer rs.Close()
	if rs.Seq != seq {
		return nil, false, nil
	}
	b := make([]byte, rs.Size)
	if _, err := io.ReadFull(rs, b); err != nil {
		return nil, false, err
	}
	// The checksum is confirmed by the read that reaches the end.
	if n, err := rs.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, false, err
	}
	return b, true, nil
}

func (v videoLog) Next(key uint64) uint64 { return v.l.Bounds(key).Next }

func (v videoLog) Changed() <-chan struct{} { return v.l.Changed() }

// withVideoPlayback mounts archived-media playback (videoplay: the HLS
// and DASH session URLs and the unsigned GETs they lead to, GetClip,
// GetImages) on the kinesisvideo endpoint ep, in front of its handler.
func (s *Server) withVideoPlayback(ep awsproto.Endpoint, media *video.Media) awsproto.Endpoint {
	play := videoplay.New(media, s.cfg.Account, videoplay.Config{Now: s.now})
	ep.PathPrefixes = append(slices.Clone(ep.PathPrefixes), play.Paths()...)
	ep.Handler = videoPlayMux{play: play, next: ep.Handler}
	return ep
}

type videoPlayMux struct {
	play *videoplay.API
	next awsproto.Handler
}

func (m videoPlayMux) ServeAWS(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	if m.play.Serves(r.URL.Path) {
		m.play.ServeAWS(w, r, req)
		return
	}
	m.next.ServeAWS(w, r, req)
}

func (m videoPlayMux) WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	m.next.WriteError(w, r, e)
}
