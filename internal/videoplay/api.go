// Package videoplay owns archived-media playback of Kinesis Video
// Streams (kinesis-video-archived-media, internal/awsmodel/videoarchivemodel,
// signing name kinesisvideo, every operation a POST to its own path):
// GetHLSStreamingSessionURL and GetDASHStreamingSessionURL, which hand
// out sealed, expiring session URLs, the unsigned GETs those URLs lead to
// (/hls/v1/… playlists and segments, /dash/v1/… manifest and segments),
// GetClip (a plain MP4) and GetImages (frames decoded by ffmpeg when it
// is installed). Packaging is internal/videoplay/pack; fragments come
// from the video domain (internal/video), which this package reads and
// never writes. Domain and packaging errors map to the model's exceptions
// in one table. The server mounts it beside videomedia on the
// kinesisvideo endpoint: Paths lists what it serves.
package videoplay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsmodel/videoarchivemodel"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/restjson"
	"github.com/rheos/rheos/internal/video"
	"github.com/rheos/rheos/internal/videoplay/pack"
)

// SigningName is the SigV4 service name of every Kinesis Video Streams API.
const SigningName = "kinesisvideo"

// Path prefixes of the session URLs' GETs.
const (
	HLSPrefix  = "/hls/v1/"
	DASHPrefix = "/dash/v1/"
)

// Playback modes, container formats and selector types (the model's enums).
const (
	ModeLive       = "LIVE"
	ModeLiveReplay = "LIVE_REPLAY"
	ModeOnDemand   = "ON_DEMAND"
	ContainerFMP4  = "FRAGMENTED_MP4"
	ContainerTS    = "MPEG_TS"
	always         = "ALWAYS"
	never          = "NEVER"
	onDisc         = "ON_DISCONTINUITY"
)

// AWS's limits.
const (
	defaultExpires     = 300 // s
	liveWindow         = 30 * time.Second
	defaultLiveMax     = 5
	defaultOnDemandMax = 1000
	maxClipFragments   = 200
	maxClipBytes       = 100 << 20
	maxClipSpan        = 24 * time.Hour
	maxImageSpan       = 300 * time.Second
	minSamplingMs      = 200
	defaultSamplingMs  = 3000
	defaultImagesPage  = 25
	discontinuityGap   = 50 * time.Millisecond
	maxFragmentLength  = 10 * time.Second // the longest fragment PutMedia takes (MediaConfig's default)
)

func exception(name string) awserr.Exception {
	return restjson.ModelException(name, videoarchivemodel.Model)
}

var (
	exResourceNotFound  = exception("ResourceNotFoundException")
	exInvalidArgument   = exception("InvalidArgumentException")
	exNotAuthorized     = exception("NotAuthorizedException")
	exClientLimit       = exception("ClientLimitExceededException")
	exNoDataRetention   = exception("NoDataRetentionException")
	exUnsupportedMedia  = exception("UnsupportedStreamMediaTypeException")
	exMissingCodecData  = exception("MissingCodecPrivateDataException")
	exInvalidCodecData  = exception("InvalidCodecPrivateDataException")
	exInvalidMediaFrame = exception("InvalidMediaFrameException")
)

// Exceptions is the catalog of the exceptions this API answers.
var Exceptions = awserr.NewCatalog(SigningName, exResourceNotFound, exInvalidArgument, exNotAuthorized, exClientLimit,
	exNoDataRetention, exUnsupportedMedia, exMissingCodecData, exInvalidCodecData, exInvalidMediaFrame)

// exceptionOf is the one table from domain error kinds to exceptions.
var exceptionOf = map[video.Kind]awserr.Exception{
	video.KindNotFound:        exResourceNotFound,
	video.KindInUse:           exResourceNotFound,
	video.KindInvalidArgument: exInvalidArgument,
	video.KindNoDataRetention: exNoDataRetention,
	video.KindUnsupported:     exInvalidArgument,
}

// packErrors maps packaging errors to exceptions.
var packErrors = []struct {
	err error
	ex  awserr.Exception
}{
	{pack.ErrUnsupported, exUnsupportedMedia},
	{pack.ErrMissingCodecPrivate, exMissingCodecData},
	{pack.ErrInvalidCodecPrivate, exInvalidCodecData},
	{pack.ErrInvalidMedia, exInvalidMediaFrame},
}

func toAWS(err error) error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	var de *video.Error
	if errors.As(err, &de) {
		if ex, ok := exceptionOf[de.Kind]; ok {
			return &awserr.Error{Exception: ex, Message: de.Msg, Cause: err}
		}
	}
	for _, p := range packErrors {
		if errors.Is(err, p.err) {
			return &awserr.Error{Exception: p.ex, Message: err.Error(), Cause: err}
		}
	}
	return err
}

func invalidArg(format string, args ...any) *awserr.Error {
	return &awserr.Error{Exception: exInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// Fragments is what playback reads of the video domain (video.Media).
type Fragments interface {
	Stream(ctx context.Context, sc video.Scope, ref video.StreamRef) (*video.Stream, error)
	AuthResource(ctx context.Context, sc video.Scope, ref video.StreamRef) string
	ListFragments(ctx context.Context, sc video.Scope, ref video.StreamRef, q video.FragmentQuery) ([]video.Fragment, uint64, error)
	NewestFragments(ctx context.Context, sc video.Scope, ref video.StreamRef, n int) ([]video.Fragment, error)
	ReadFragment(ctx context.Context, sc video.Scope, ref video.StreamRef, number string) (*video.FragmentMedia, error)
	SessionSecret(ctx context.Context) ([]byte, error)
}

// Config tunes the API.
type Config struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// FFmpeg is the ffmpeg binary GetImages runs; "" looks up "ffmpeg" on
	// PATH when first needed; "-" disables decoding (every image is
	// MEDIA_ERROR).
	FFmpeg string
}

// API binds playback to the wire.
type API struct {
	media          Fragments
	defaultAccount string
	cfg            Config
	rest           *restjson.Service

	once   sync.Once // opens the sealer
	seal   *sealer
	sealEr error
}

// New returns the playback API.
func New(media Fragments, defaultAccount string, cfg Config) *API {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{media: media, defaultAccount: defaultAccount, cfg: cfg}
	routes, err := restjson.RoutesFromModel(videoarchivemodel.Model, map[string]restjson.Handler{
		"GetHLSStreamingSessionURL":  a.wrap("GetHLSStreamingSessionURL", a.getHLSURL),
		"GetDASHStreamingSessionURL": a.wrap("GetDASHStreamingSessionURL", a.getDASHURL),
		"GetClip":                    a.wrap("GetClip", a.getClip),
		"GetImages":                  a.wrap("GetImages", a.getImages),
	})
	if err != nil {
		panic(err) // the generated model and this table disagree: a build-time bug
	}
	a.rest = restjson.New(SigningName, nil, routes...)
	return a
}

// Paths lists the paths (and path prefixes, ending in "/") the API serves.
func (a *API) Paths() []string {
	return []string{"/getHLSStreamingSessionURL", "/getDASHStreamingSessionURL", "/getClip", "/getImages", HLSPrefix, DASHPrefix}
}

// Serves reports whether the API serves the path.
func (a *API) Serves(path string) bool {
	for _, p := range a.Paths() {
		if path == p || strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// ServeAWS serves one request.
func (a *API) ServeAWS(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	if strings.HasPrefix(r.URL.Path, HLSPrefix) || strings.HasPrefix(r.URL.Path, DASHPrefix) {
		a.serveSession(w, r, req)
		return
	}
	a.rest.ServeAWS(w, r, req)
}

// WriteError answers in the REST-JSON envelope.
func (a *API) WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	a.rest.WriteError(w, r, e)
}

func (a *API) sealer(ctx context.Context) (*sealer, error) {
	a.once.Do(func() {
		var secret []byte
		if secret, a.sealEr = a.media.SessionSecret(ctx); a.sealEr == nil {
			a.seal, a.sealEr = newSealer(secret)
		}
	})
	return a.seal, a.sealEr
}

// wrap authorizes the call and maps domain errors.
func (a *API) wrap(op string, h restjson.Handler) restjson.Handler {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		if c.Authorize != nil {
			if aerr := c.Authorize(ctx, "kinesisvideo:"+op, a.media.AuthResource(ctx, a.scope(c.Account, c.Region), streamRef(c))); aerr != nil {
				if aerr.Name == awserr.AccessDenied.Name {
					aerr = &awserr.Error{Exception: exNotAuthorized, Message: aerr.Message, Cause: aerr}
				}
				return nil, aerr
			}
		}
		out, err := h(ctx, c)
		if err != nil {
			return nil, toAWS(err)
		}
		return out, nil
	}
}

func (a *API) scope(account, region string) video.Scope {
	if account == "" {
		account = a.defaultAccount
	}
	return video.Scope{Account: account, Region: region}
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func obj(m map[string]any, k string) map[string]any { o, _ := m[k].(map[string]any); return o }

func integer(m map[string]any, k string) (int64, bool) {
	switch v := m[k].(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	}
	return 0, false
}

func streamRef(c *awsproto.Call) video.StreamRef {
	return video.StreamRef{Name: str(c.Input, "StreamName"), ARN: str(c.Input, "StreamARN")}
}

// timeOf reads a timestamp member (epoch seconds).
func timeOf(m map[string]any, k string) (time.Time, bool) {
	var f float64
	switch v := m[k].(type) {
	case float64:
		f = v
	case int64:
		f = float64(v)
	default:
		if n, ok := v.(interface{ Float64() (float64, error) }); ok {
			var err error
			if f, err = n.Float64(); err != nil {
				return time.Time{}, false
			}
			break
		}
		return time.Time{}, false
	}
	return time.UnixMilli(int64(math.Round(f * 1000))), true
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// retained resolves the stream and refuses one that keeps no data.
func (a *API) retained(ctx context.Context, sc video.Scope, ref video.StreamRef) (*video.Stream, error) {
	if ref.Name == "" && ref.ARN == "" {
		return nil, invalidArg("Either StreamName or StreamARN is required.")
	}
	st, err := a.media.Stream(ctx, sc, ref)
	if err != nil {
		return nil, err
	}
	if st.RetentionHours == 0 {
		return nil, &awserr.Error{Exception: exNoDataRetention, Message: "The stream " + st.Name + " does not retain data (DataRetentionInHours is 0)."}
	}
	return st, nil
}

// stamp is a fragment's timestamp of the selector type.
func stamp(f *video.Fragment, selector string) time.Time {
	if selector == video.ProducerTimestamp {
		return f.Producer
	}
	return f.Server
}

// fragmentsIn lists the fragments of a stream whose timestamp (of the
// selector type) lies in [start, end], sorted by it, at most max
// (0: no limit). With overlap, a fragment that starts before start but
// holds it is included too.
func (a *API) fragmentsIn(ctx context.Context, sc video.Scope, ref video.StreamRef, selector string, start, end time.Time, max int, overlap bool) ([]video.Fragment, error) {
	from := start
	if overlap {
		from = start.Add(-maxFragmentLength)
	}
	var out []video.Fragment
	q := video.FragmentQuery{Type: selector, Start: from, End: end, Max: 1000}
	for {
		fs, next, err := a.media.ListFragments(ctx, sc, ref, q)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			ts := stamp(&f, selector)
			if ts.Before(start) && !(overlap && ts.Add(f.Duration).After(start)) {
				continue
			}
			out = append(out, f)
		}
		if next == 0 {
			break
		}
		q.After = next
	}
	slices.SortStableFunc(out, func(x, y video.Fragment) int { return stamp(&x, selector).Compare(stamp(&y, selector)) })
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, nil
}
