// Package videomedia owns the Kinesis Video Streams data-plane API on the
// shared port (signing name kinesisvideo, every operation a POST to its
// own path): PutMedia (POST /putMedia, in no SDK model: headers, a
// chunked Matroska body read while JSON acks stream back), GetMedia
// (kinesis-video-media, internal/awsmodel/videomediamodel) and
// ListFragments and GetMediaForFragmentList (kinesis-video-archived-media,
// internal/awsmodel/videoarchivemodel), with the models' exceptions and
// one table from the video domain's error kinds to them. The server
// mounts it beside the control plane (videoapi) under the one signing
// name: Paths lists what it serves. It imports the protocol layer and its
// one domain, internal/video; it stores nothing itself.
package videomedia

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsmodel/videoarchivemodel"
	"github.com/rheos/rheos/internal/awsmodel/videomediamodel"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/restjson"
	"github.com/rheos/rheos/internal/video"
)

// SigningName is the SigV4 service name of every Kinesis Video Streams API.
const SigningName = "kinesisvideo"

// PutMediaPath is PutMedia's path.
const PutMediaPath = "/putMedia"

func exception(name string) awserr.Exception {
	return restjson.ModelException(name, videomediamodel.Model, videoarchivemodel.Model)
}

var (
	exResourceNotFound   = exception("ResourceNotFoundException")
	exInvalidArgument    = exception("InvalidArgumentException")
	exNotAuthorized      = exception("NotAuthorizedException")
	exClientLimit        = exception("ClientLimitExceededException")
	exConnectionLimit    = exception("ConnectionLimitExceededException")
	exInvalidEndpoint    = exception("InvalidEndpointException")
	exNoDataRetention    = exception("NoDataRetentionException")
	exUnsupportedMedia   = exception("UnsupportedStreamMediaTypeException")
	exMissingCodecData   = exception("MissingCodecPrivateDataException")
	exInvalidCodecData   = exception("InvalidCodecPrivateDataException")
	exInvalidMediaFrame  = exception("InvalidMediaFrameException")
	exceptionsOfTheModel = []awserr.Exception{exResourceNotFound, exInvalidArgument, exNotAuthorized, exClientLimit,
		exConnectionLimit, exInvalidEndpoint, exNoDataRetention, exUnsupportedMedia, exMissingCodecData, exInvalidCodecData, exInvalidMediaFrame}
)

// Exceptions is the catalog of the exceptions this API answers.
var Exceptions = awserr.NewCatalog(SigningName, exceptionsOfTheModel...)

// exceptionOf is the one table from domain error kinds to exceptions.
var exceptionOf = map[video.Kind]awserr.Exception{
	video.KindNotFound:        exResourceNotFound,
	video.KindInUse:           exResourceNotFound, // AWS: "not found or not active"
	video.KindInvalidArgument: exInvalidArgument,
	video.KindNoDataRetention: exNoDataRetention,
	video.KindUnsupported:     exInvalidArgument,
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
	return err
}

// Config tunes the API.
type Config struct {
	// IdleAck is how often PutMedia sends {"EventType":"IDLE"} while no
	// other ack goes out. Default 3 s.
	IdleAck time.Duration
	// ReadIdle ends a PutMedia whose body sends nothing for this long
	// (AWS: 30 s). Default 30 s.
	ReadIdle time.Duration
}

// API binds the video data plane to the wire.
type API struct {
	media          *video.Media
	defaultAccount string
	cfg            Config
	rest           *restjson.Service
}

// New returns the data-plane API.
func New(media *video.Media, defaultAccount string, cfg Config) *API {
	if cfg.IdleAck <= 0 {
		cfg.IdleAck = 3 * time.Second
	}
	if cfg.ReadIdle <= 0 {
		cfg.ReadIdle = 30 * time.Second
	}
	a := &API{media: media, defaultAccount: defaultAccount, cfg: cfg}
	mr, err := restjson.RoutesFromModel(videomediamodel.Model, map[string]restjson.Handler{"GetMedia": a.wrap("GetMedia", a.getMedia)})
	if err != nil {
		panic(err) // the generated model and this table disagree: a build-time bug
	}
	ar, err := restjson.RoutesFromModel(videoarchivemodel.Model, map[string]restjson.Handler{
		"ListFragments":           a.wrap("ListFragments", a.listFragments),
		"GetMediaForFragmentList": a.wrap("GetMediaForFragmentList", a.getMediaForFragmentList),
	})
	if err != nil {
		panic(err)
	}
	a.rest = restjson.New(SigningName, nil, append(mr, ar...)...)
	return a
}

// Paths lists the paths the API serves.
func (a *API) Paths() []string {
	return []string{PutMediaPath, "/getMedia", "/listFragments", "/getMediaForFragmentList"}
}

// Serves reports whether the API serves the path.
func (a *API) Serves(path string) bool {
	for _, p := range a.Paths() {
		if path == p {
			return true
		}
	}
	return false
}

// ServeAWS serves one request. Long responses end when the server drains.
func (a *API) ServeAWS(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if d := req.Env.Draining; d != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() { // ends with the request
			select {
			case <-d:
				cancel()
			case <-stop:
			}
		}()
	}
	r = r.WithContext(ctx)
	if r.URL.Path == PutMediaPath {
		a.putMedia(w, r, req)
		return
	}
	a.rest.ServeAWS(w, r, req)
}

// WriteError answers in the REST-JSON envelope.
func (a *API) WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	a.rest.WriteError(w, r, e)
}

// wrap authorizes the call and maps domain errors.
func (a *API) wrap(op string, h restjson.Handler) restjson.Handler {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		if c.Authorize != nil {
			if aerr := c.Authorize(ctx, "kinesisvideo:"+op, a.media.AuthResource(ctx, a.scope(c.Account, c.Region), streamRef(c))); aerr != nil {
				return nil, denied(aerr)
			}
		}
		out, err := h(ctx, c)
		if err != nil {
			return nil, toAWS(err)
		}
		return out, nil
	}
}

func denied(aerr *awserr.Error) *awserr.Error {
	if aerr.Name != awserr.AccessDenied.Name {
		return aerr
	}
	return &awserr.Error{Exception: exNotAuthorized, Message: aerr.Message, Cause: aerr}
}

func (a *API) scope(account, region string) video.Scope {
	if account == "" {
		account = a.defaultAccount
	}
	return video.Scope{Account: account, Region: region}
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func obj(m map[string]any, k string) map[string]any { o, _ := m[k].(map[string]any); return o }

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
	case json.Number:
		var err error
		if f, err = v.Float64(); err != nil {
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	return time.UnixMilli(int64(math.Round(f * 1000))), true
}

// epoch is a timestamp as AWS's JSON protocols send it: epoch seconds.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (a *API) getMedia(ctx context.Context, c *awsproto.Call) (any, error) {
	in := obj(c.Input, "StartSelector")
	sel := video.StartSelector{Type: str(in, "StartSelectorType"), AfterFragmentNumber: str(in, "AfterFragmentNumber"),
		ContinuationToken: str(in, "ContinuationToken")}
	sel.StartTimestamp, _ = timeOf(in, "StartTimestamp")
	p, err := a.media.GetMedia(ctx, a.scope(c.Account, c.Region), streamRef(c), sel)
	if err != nil {
		return nil, err
	}
	return &restjson.Response{ContentType: "video/webm", Stream: p}, nil
}

func (a *API) getMediaForFragmentList(ctx context.Context, c *awsproto.Call) (any, error) {
	var numbers []string
	l, _ := c.Input["Fragments"].([]any)
	for _, x := range l {
		s, _ := x.(string)
		numbers = append(numbers, s)
	}
	p, err := a.media.FragmentsByNumber(ctx, a.scope(c.Account, c.Region), streamRef(c), numbers)
	if err != nil {
		return nil, err
	}
	return &restjson.Response{ContentType: "video/webm", Stream: p}, nil
}

// fragmentOut is ListFragments' Fragment shape.
type fragmentOut struct {
	FragmentNumber               string
	FragmentSizeInBytes          int64
	ProducerTimestamp            float64
	ServerTimestamp              float64
	FragmentLengthInMilliseconds int64
}

func (a *API) listFragments(ctx context.Context, c *awsproto.Call) (any, error) {
	q := video.FragmentQuery{Max: 1000}
	if v, ok := c.Input["MaxResults"].(int64); ok {
		q.Max = int(v)
	}
	if tok := str(c.Input, "NextToken"); tok != "" {
		b, err := base64.StdEncoding.DecodeString(tok)
		seq, perr := strconv.ParseUint(string(b), 10, 64)
		if err != nil || perr != nil {
			return nil, &awserr.Error{Exception: exInvalidArgument, Message: "The NextToken " + tok + " is not valid."}
		}
		q.After = seq
	}
	if fs := obj(c.Input, "FragmentSelector"); fs != nil {
		q.Type = str(fs, "FragmentSelectorType")
		tr := obj(fs, "TimestampRange")
		var ok1, ok2 bool
		q.Start, ok1 = timeOf(tr, "StartTimestamp")
		q.End, ok2 = timeOf(tr, "EndTimestamp")
		if !ok1 || !ok2 {
			return nil, &awserr.Error{Exception: exInvalidArgument, Message: "TimestampRange needs StartTimestamp and EndTimestamp."}
		}
		if q.End.Before(q.Start) {
			return nil, &awserr.Error{Exception: exInvalidArgument, Message: "EndTimestamp must not be before StartTimestamp."}
		}
	}
	frags, next, err := a.media.ListFragments(ctx, a.scope(c.Account, c.Region), streamRef(c), q)
	if err != nil {
		return nil, err
	}
	out := struct {
		Fragments []fragmentOut
		NextToken string `json:",omitempty"`
	}{Fragments: make([]fragmentOut, 0, len(frags))}
	for _, f := range frags {
		out.Fragments = append(out.Fragments, fragmentOut{FragmentNumber: f.Number, FragmentSizeInBytes: f.Size,
			ProducerTimestamp: epoch(f.Producer), ServerTimestamp: epoch(f.Server), FragmentLengthInMilliseconds: f.Duration.Milliseconds()})
	}
	if next != 0 {
		out.NextToken = base64.StdEncoding.EncodeToString([]byte(strconv.FormatUint(next, 10)))
	}
	return out, nil
}

// putMedia serves PutMedia: the body is read while acks are written.
func (a *API) putMedia(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	env := req.Env
	start := time.Now()
	call := &awsproto.Call{Service: SigningName, Op: "PutMedia", RequestID: req.ID, HTTP: r}
	ctx := awsproto.WithRequestID(r.Context(), req.ID)
	var err error
	defer func() { env.Finished(ctx, call, err, start) }()
	if r.Method != http.MethodPost {
		a.rest.WriteError(w, r, awserr.New(awserr.UnknownOperation, "PutMedia is a POST."))
		return
	}
	id, aerr := env.Authenticate(signedView(r), nil, SigningName)
	if aerr != nil {
		err = aerr
		a.rest.WriteError(w, r, aerr)
		return
	}
	call.SetIdentity(id)
	sc := a.scope(call.Account, call.Region)
	ref := video.StreamRef{Name: r.Header.Get("x-amzn-stream-name"), ARN: r.Header.Get("x-amzn-stream-arn")}
	opts, aerr := putOptions(r)
	if aerr == nil && ref.Name == "" && ref.ARN == "" {
		aerr = &awserr.Error{Exception: exInvalidArgument, Message: "Either x-amzn-stream-name or x-amzn-stream-arn is required."}
	}
	if aerr == nil && call.Authorize != nil {
		if e := call.Authorize(ctx, "kinesisvideo:PutMedia", a.media.AuthResource(ctx, sc, ref)); e != nil {
			aerr = denied(e)
		}
	}
	if aerr != nil {
		err = aerr
		a.rest.WriteError(w, r, aerr)
		return
	}
	in, derr := a.media.OpenIngest(ctx, sc, ref)
	if derr != nil {
		err = derr
		a.rest.WriteError(w, r, awsproto.Internal(toAWS(derr)))
		return
	}
	defer in.Close()
	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex() // HTTP/1: read the body while acks go out
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc.Flush()

	aw := &ackWriter{w: w, rc: rc, env: env}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // IDLE acks; owned by this request, waited for below
		defer wg.Done()
		t := time.NewTicker(a.cfg.IdleAck)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-in.Context().Done():
				return
			case <-t.C:
				aw.idle(a.cfg.IdleAck)
			}
		}
	}()
	body := &idleReader{r: r.Body, rc: rc, idle: a.cfg.ReadIdle}
	err = in.Run(body, opts, aw.ack)
	close(stop)
	wg.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
}

// signedView is the request as the producer signed it: Go moves
// Transfer-Encoding out of the header map, but the KVS producers sign
// "transfer-encoding:chunked".
func signedView(r *http.Request) *http.Request {
	if len(r.TransferEncoding) == 0 || r.Header.Get("Transfer-Encoding") != "" {
		return r
	}
	v := *r
	v.Header = r.Header.Clone()
	v.Header.Set("Transfer-Encoding", strings.Join(r.TransferEncoding, ","))
	return &v
}

// putOptions reads PutMedia's headers.
func putOptions(r *http.Request) (video.PutOptions, *awserr.Error) {
	var o video.PutOptions
	switch t := r.Header.Get("x-amzn-fragment-timecode-type"); t {
	case "", "ABSOLUTE", "RELATIVE":
		o.TimecodeType = t
	default:
		return o, &awserr.Error{Exception: exInvalidArgument, Message: "x-amzn-fragment-timecode-type must be ABSOLUTE or RELATIVE, not " + t + "."}
	}
	if s := r.Header.Get("x-amzn-producer-start-timestamp"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || f > 1<<40 {
			return o, &awserr.Error{Exception: exInvalidArgument, Message: "x-amzn-producer-start-timestamp " + s + " is not a timestamp in seconds."}
		}
		o.ProducerStart = time.UnixMilli(int64(math.Round(f * 1000)))
	}
	return o, nil
}

// ackWriter writes acks, one JSON object per line, each flushed.
type ackWriter struct {
	mu   sync.Mutex // guards the writer and last
	w    http.ResponseWriter
	rc   *http.ResponseController
	env  *awsproto.Env
	last time.Time
}

// ackJSON is an ack on the wire: AWS's keys, flat (the producer SDK's
// parser takes no nesting).
type ackJSON struct {
	EventType        string
	FragmentTimecode int64
	FragmentNumber   string
	ErrorId          int `json:",omitempty"` //nolint:revive // AWS's key
}

func (aw *ackWriter) ack(a video.Ack) error {
	b, _ := json.Marshal(ackJSON{EventType: a.EventType, FragmentTimecode: a.FragmentTimecode, FragmentNumber: a.FragmentNumber, ErrorId: a.ErrorID})
	return aw.write(append(b, '\n'))
}

func (aw *ackWriter) idle(every time.Duration) {
	aw.mu.Lock()
	quiet := time.Since(aw.last) >= every
	aw.mu.Unlock()
	if quiet {
		aw.write([]byte(`{"EventType":"IDLE"}` + "\n"))
	}
}

func (aw *ackWriter) write(b []byte) error {
	aw.mu.Lock()
	defer aw.mu.Unlock()
	aw.rc.SetWriteDeadline(time.Now().Add(aw.env.WriteDeadline(len(b))))
	defer aw.rc.SetWriteDeadline(time.Time{})
	if _, err := aw.w.Write(b); err != nil {
		return err
	}
	aw.last = time.Now()
	return aw.rc.Flush()
}

// idleReader ends the body when nothing arrives for idle.
type idleReader struct {
	r    interface{ Read([]byte) (int, error) }
	rc   *http.ResponseController
	idle time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	ir.rc.SetReadDeadline(time.Now().Add(ir.idle))
	return ir.r.Read(p)
}
