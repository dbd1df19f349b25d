package videoplay

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/video"
	"github.com/rheos/rheos/internal/videoplay/pack"
)

// newSession validates GetHLS/GetDASHStreamingSessionURL's input into a
// session and seals it into the session URL.
func (a *API) newSession(ctx context.Context, c *awsproto.Call, kind string) (string, error) {
	in := c.Input
	sc := a.scope(c.Account, c.Region)
	ref := streamRef(c)
	st, err := a.retained(ctx, sc, ref)
	if err != nil {
		return "", err
	}
	now := a.cfg.Now()
	ss := &session{Kind: kind, Account: st.Account, Region: st.Region, ARN: st.ARN(), Mode: str(in, "PlaybackMode"), Selector: video.ServerTimestamp}
	if ss.Mode == "" {
		ss.Mode = ModeLive
	}
	selName, maxName := "HLSFragmentSelector", "MaxMediaPlaylistFragmentResults"
	if kind == "dash" {
		selName, maxName = "DASHFragmentSelector", "MaxManifestFragmentResults"
		ss.ShowNum = str(in, "DisplayFragmentNumber") == always
		ss.Container = ContainerFMP4
	} else {
		ss.Container = str(in, "ContainerFormat")
		if ss.Container == "" {
			ss.Container = ContainerFMP4
		}
	}
	ss.ShowTS = str(in, "DisplayFragmentTimestamp") == always
	sel := obj(in, selName)
	if t := str(sel, "FragmentSelectorType"); t != "" {
		ss.Selector = t
	}
	tr := obj(sel, "TimestampRange")
	start, hasStart := timeOf(tr, "StartTimestamp")
	end, hasEnd := timeOf(tr, "EndTimestamp")
	switch ss.Mode {
	case ModeOnDemand:
		if !hasStart || !hasEnd {
			return "", invalidArg("%s needs a TimestampRange with StartTimestamp and EndTimestamp in ON_DEMAND mode.", selName)
		}
		if end.Sub(start) > maxClipSpan {
			return "", invalidArg("The TimestampRange of an ON_DEMAND session spans at most 24 hours.")
		}
	case ModeLiveReplay:
		if !hasStart {
			return "", invalidArg("%s needs a TimestampRange with StartTimestamp in LIVE_REPLAY mode.", selName)
		}
	case ModeLive:
		if hasStart || hasEnd {
			return "", invalidArg("A TimestampRange is not allowed in LIVE mode.")
		}
	}
	if hasStart && hasEnd && !end.After(start) {
		return "", invalidArg("EndTimestamp must be after StartTimestamp.")
	}
	if hasStart {
		ss.Start = start.UnixMilli()
	}
	if hasEnd {
		ss.End = end.UnixMilli()
	}
	ss.Disc = str(in, "DiscontinuityMode")
	if ss.Disc == "" {
		// AWS: ALWAYS with server timestamps, NEVER with producer timestamps.
		ss.Disc = always
		if ss.Selector == video.ProducerTimestamp {
			ss.Disc = never
		}
	}
	ss.Max = defaultLiveMax
	if ss.Mode == ModeOnDemand {
		ss.Max = defaultOnDemandMax
	}
	if v, ok := integer(in, maxName); ok {
		ss.Max = int(v)
	}
	exp := int64(defaultExpires)
	if v, ok := integer(in, "Expires"); ok {
		exp = v
	}
	ss.Expires = now.Unix() + exp

	// The session must have media to play now.
	fs, err := a.sessionFragments(ctx, ss, now)
	if err != nil {
		return "", err
	}
	if len(fs) == 0 {
		if ss.Mode == ModeLive {
			return "", &awserr.Error{Exception: exResourceNotFound, Message: "No fragments were ingested into stream " + st.Name + " in the last 30 seconds."}
		}
		return "", &awserr.Error{Exception: exResourceNotFound, Message: "No fragments found in the requested timestamp range of stream " + st.Name + "."}
	}
	s, err := a.sealer(ctx)
	if err != nil {
		return "", err
	}
	tok := s.issue(ss, now)
	base := baseURL(c.HTTP)
	if kind == "dash" {
		return base + DASHPrefix + "getDASHManifest.mpd?SessionToken=" + url.QueryEscape(tok), nil
	}
	return base + HLSPrefix + "getHLSMasterPlaylist.m3u8?SessionToken=" + url.QueryEscape(tok), nil
}

// baseURL is the endpoint the client called.
func baseURL(r *http.Request) string {
	if r == nil {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (a *API) getHLSURL(ctx context.Context, c *awsproto.Call) (any, error) {
	u, err := a.newSession(ctx, c, "hls")
	if err != nil {
		return nil, err
	}
	return struct{ HLSStreamingSessionURL string }{u}, nil
}

func (a *API) getDASHURL(ctx context.Context, c *awsproto.Call) (any, error) {
	u, err := a.newSession(ctx, c, "dash")
	if err != nil {
		return nil, err
	}
	return struct{ DASHStreamingSessionURL string }{u}, nil
}

// sessionFragments are the fragments a session's playlist lists now.
func (a *API) sessionFragments(ctx context.Context, ss *session, now time.Time) ([]video.Fragment, error) {
	sc := video.Scope{Account: ss.Account, Region: ss.Region}
	ref := video.StreamRef{ARN: ss.ARN}
	switch ss.Mode {
	case ModeLive:
		fs, err := a.media.NewestFragments(ctx, sc, ref, ss.Max)
		if err != nil || len(fs) == 0 {
			return nil, err
		}
		if now.Sub(fs[len(fs)-1].Server) > liveWindow {
			return nil, nil // nothing live
		}
		return fs, nil
	case ModeLiveReplay:
		end := now.Add(time.Hour)
		if ss.End != 0 {
			end = time.UnixMilli(ss.End)
		}
		return a.fragmentsIn(ctx, sc, ref, ss.Selector, time.UnixMilli(ss.Start), end, ss.Max, true)
	}
	return a.fragmentsIn(ctx, sc, ref, ss.Selector, time.UnixMilli(ss.Start), time.UnixMilli(ss.End), ss.Max, true)
}

// serveSession serves the GETs of a session URL; the SessionToken is the
// only credential.
func (a *API) serveSession(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	start := time.Now()
	call := &awsproto.Call{Service: SigningName, Op: r.URL.Path, RequestID: req.ID, HTTP: r}
	ctx := awsproto.WithRequestID(r.Context(), req.ID)
	var err error
	defer func() { req.Env.Finished(ctx, call, err, start) }()
	fail := func(e error) {
		err = e
		var ae *awserr.Error
		if !errors.As(toAWS(e), &ae) {
			ae = awsproto.Internal(e)
		}
		a.rest.WriteError(w, r, ae)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		fail(invalidArg("Session URLs are read with GET."))
		return
	}
	q := r.URL.Query()
	s, serr := a.sealer(ctx)
	if serr != nil {
		fail(serr)
		return
	}
	now := a.cfg.Now()
	ss, oerr := s.open(q.Get("SessionToken"), now)
	if oerr != nil {
		fail(&awserr.Error{Exception: exNotAuthorized, Message: "The SessionToken is not valid, has expired or was revoked."})
		return
	}
	kind, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/v1/")
	if kind != ss.Kind {
		fail(&awserr.Error{Exception: exNotAuthorized, Message: "The SessionToken is not one of a " + strings.ToUpper(kind) + " session."})
		return
	}
	tok := url.QueryEscape(q.Get("SessionToken"))
	var body []byte
	ctype := ""
	switch name {
	case "getHLSMasterPlaylist.m3u8", "getHLSMediaPlaylist.m3u8", "getDASHManifest.mpd", "getMP4InitFragment.mp4":
		fs, ferr := a.sessionFragments(ctx, ss, now)
		if ferr != nil {
			fail(ferr)
			return
		}
		if len(fs) == 0 {
			fail(&awserr.Error{Exception: exResourceNotFound, Message: "The session has no fragments to play."})
			return
		}
		first, ferr := a.media.ReadFragment(ctx, video.Scope{Account: ss.Account, Region: ss.Region}, video.StreamRef{ARN: ss.ARN}, fs[0].Number)
		if ferr != nil {
			fail(ferr)
			return
		}
		tracks, ferr := pack.TracksOf(first.Header.Info, first.Header.Tracks)
		if ferr != nil {
			fail(ferr)
			return
		}
		switch name {
		case "getHLSMasterPlaylist.m3u8":
			body, ctype = masterPlaylist(ss, tracks, fs, tok), "application/x-mpegURL"
		case "getHLSMediaPlaylist.m3u8":
			body, ctype = mediaPlaylist(ss, fs, tok, now), "application/x-mpegURL"
		case "getDASHManifest.mpd":
			body, ctype = dashManifest(ss, tracks, fs, tok, now), "application/dash+xml"
		default:
			if ss.Container != ContainerFMP4 {
				fail(invalidArg("The session's container is %s, which has no init fragment.", ss.Container))
				return
			}
			body, ferr = tracks.InitSegment()
			ctype = "video/mp4"
		}
		err = ferr
	case "getMP4MediaFragment.mp4", "getTSFragment.ts":
		if (name == "getTSFragment.ts") != (ss.Container == ContainerTS) {
			fail(invalidArg("The session's container is %s.", ss.Container))
			return
		}
		fm, ferr := a.media.ReadFragment(ctx, video.Scope{Account: ss.Account, Region: ss.Region}, video.StreamRef{ARN: ss.ARN}, q.Get("FragmentNumber"))
		if ferr != nil {
			fail(ferr)
			return
		}
		body, ferr = segment(ss, fm, name == "getTSFragment.ts")
		if ferr != nil {
			fail(ferr)
			return
		}
		ctype = "video/mp4"
		if name == "getTSFragment.ts" {
			ctype = "video/MP2T"
		}
	default:
		fail(&awserr.Error{Exception: exResourceNotFound, Message: "No such session resource: " + r.URL.Path + "."})
		return
	}
	if err != nil {
		fail(err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// segment packages one fragment as a media segment.
func segment(ss *session, fm *video.FragmentMedia, ts bool) ([]byte, error) {
	tracks, err := pack.TracksOf(fm.Header.Info, fm.Header.Tracks)
	if err != nil {
		return nil, err
	}
	s, err := tracks.SamplesOf([]pack.Fragment{{Start: stamp(&fm.Fragment, ss.Selector), Duration: fm.Duration, Cluster: fm.Cluster}})
	if err != nil {
		return nil, err
	}
	if ts {
		return tracks.TSSegment(s)
	}
	return tracks.MediaSegment(uint32(fm.Seq+1), s)
}
