package videoplay

import (
	"context"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/restjson"
	"github.com/rheos/rheos/internal/video"
	"github.com/rheos/rheos/internal/videoplay/pack"
)

// getClip serves GetClip: the fragments that start in [Start, End] (End
// inclusive; at most 200 fragments and 100 MB; a range of at most 24
// hours) as one plain MP4.
func (a *API) getClip(ctx context.Context, c *awsproto.Call) (any, error) {
	sc := a.scope(c.Account, c.Region)
	ref := streamRef(c)
	st, err := a.retained(ctx, sc, ref)
	if err != nil {
		return nil, err
	}
	sel := obj(c.Input, "ClipFragmentSelector")
	selector := str(sel, "FragmentSelectorType")
	tr := obj(sel, "TimestampRange")
	start, ok1 := timeOf(tr, "StartTimestamp")
	end, ok2 := timeOf(tr, "EndTimestamp")
	if !ok1 || !ok2 {
		return nil, invalidArg("ClipFragmentSelector needs a TimestampRange with StartTimestamp and EndTimestamp.")
	}
	if end.Before(start) {
		return nil, invalidArg("EndTimestamp must not be before StartTimestamp.")
	}
	if end.Sub(start) > maxClipSpan {
		return nil, invalidArg("The TimestampRange of a clip spans at most 24 hours.")
	}
	fs, err := a.fragmentsIn(ctx, sc, ref, selector, start, end, 0, false)
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 {
		return nil, &awserr.Error{Exception: exResourceNotFound, Message: "No fragments found in the requested range of stream " + st.Name + "."}
	}
	if len(fs) > maxClipFragments {
		return nil, invalidArg("The requested range holds %d fragments; a clip holds at most %d.", len(fs), maxClipFragments)
	}
	var in []pack.Fragment
	var tracks *pack.Tracks
	header := uint32(0)
	size := 0
	for _, f := range fs {
		fm, err := a.media.ReadFragment(ctx, sc, video.StreamRef{ARN: st.ARN()}, f.Number)
		if err != nil {
			return nil, err
		}
		if tracks == nil || fm.Header.ID != header {
			if tracks != nil {
				break // the stream's tracks changed: the clip ends before
			}
			if tracks, err = pack.TracksOf(fm.Header.Info, fm.Header.Tracks); err != nil {
				return nil, err
			}
			header = fm.Header.ID
		}
		if size += len(fm.Cluster); size > maxClipBytes {
			return nil, invalidArg("The requested range holds more than 100 MB of media; a clip holds at most 100 MB.")
		}
		in = append(in, pack.Fragment{Start: stamp(&f, selector), Duration: f.Duration, Cluster: fm.Cluster})
	}
	s, err := tracks.SamplesOf(in)
	if err != nil {
		return nil, err
	}
	b, err := tracks.Clip(s)
	if err != nil {
		return nil, err
	}
	return &restjson.Response{ContentType: "video/mp4", Payload: b}, nil
}
