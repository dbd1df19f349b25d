// Package restjson owns the AWS REST-JSON protocol (Lambda, Video Streams,
// the S3-style APIs' JSON cousins): operations routed by HTTP method and
// path template ({Label} and greedy {Label+}), members bound from the path,
// the query string and headers as well as the JSON body, a payload member
// that is the whole body (a structure, a blob, or a streaming blob handed to
// the handler unbuffered), outputs as JSON, as a raw payload with headers,
// or streamed in flushed chunks, and errors with each exception's own HTTP
// status (ResourceNotFoundException is a 404 here). It knows no service:
// services declare routes as data.
package restjson

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/eventstream"
)

// ContentType is the content type of JSON bodies.
const ContentType = "application/json"

// Route is one operation.
type Route struct {
	// Op is the operation name.
	Op string
	// Method and Path select the operation: Path is the model's requestUri
	// without its query part, e.g. "/2015-03-31/functions/{FunctionName}";
	// a label ending in "+" ("{Key+}") takes the rest of the path.
	Method, Path string
	// Input lists every input member with its location, in AWS's check
	// order.
	Input []awsproto.Field
	// Payload names the input member that is the whole body; "" when the
	// body is a JSON object of the InBody members.
	Payload string
	// Streaming marks Payload as a streaming blob: the body is not buffered
	// nor charged to the memory budget; the handler reads Call.Body at its
	// own pace (up to MaxBody when set).
	Streaming bool
	// MaxBody caps the request body (bytes). Default 1 MiB, or unlimited
	// for a streaming payload.
	MaxBody int64
	// Status is the HTTP status of a successful answer. Default 200.
	Status int
	// Handle runs the operation on validated input. It returns nil (an
	// empty body), a *Response, an eventstream.Streamer, awsproto.RawJSON,
	// or any value marshalled with encoding/json; or an error
	// (*awserr.Error, or anything else for InternalFailure).
	Handle func(ctx context.Context, c *awsproto.Call) (any, error)

	segments []segment
}

type segment struct {
	literal string
	label   string // non-empty for {label}
	greedy  bool
}

// Response is a handler output that sets its own status, headers or raw
// body.
type Response struct {
	// Status overrides the route's status when non-zero.
	Status int
	// Header is added to the response.
	Header http.Header
	// ContentType of the body. Default application/json for JSON, else
	// application/octet-stream.
	ContentType string
	// At most one of the bodies below is set.
	JSON    any       // marshalled as JSON
	Payload []byte    // written as is, with its Content-Length
	Stream  io.Reader // copied in chunks, each flushed to the client; closed if an io.Closer
}

// Service is a set of REST-JSON routes under one signing name.
type Service struct {
	// SigningName is the SigV4 service name (e.g. "lambda").
	SigningName string
	// PathPrefixes route unsigned requests to the service (e.g.
	// "/2015-03-31/functions"). Signed requests are routed by their
	// credential scope.
	PathPrefixes []string
	routes       []*Route
}

// New returns a service serving routes. A malformed path template is a
// programming error (panic).
func New(signingName string, pathPrefixes []string, routes ...*Route) *Service {
	s := &Service{SigningName: signingName, PathPrefixes: pathPrefixes}
	for _, r := range routes {
		r.segments = parseTemplate(r.Path)
		s.routes = append(s.routes, r)
	}
	return s
}

func parseTemplate(p string) []segment {
	var out []segment
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			label := part[1 : len(part)-1]
			greedy := strings.HasSuffix(label, "+")
			out = append(out, segment{label: strings.TrimSuffix(label, "+"), greedy: greedy})
			continue
		}
		if strings.ContainsAny(part, "{}") {
			panic("restjson: unsupported path template " + p)
		}
		out = append(out, segment{literal: part})
	}
	return out
}

// Endpoint returns the router entry of the service.
func (s *Service) Endpoint() awsproto.Endpoint {
	return awsproto.Endpoint{SigningName: s.SigningName, PathPrefixes: s.PathPrefixes, Handler: s}
}

// WriteError writes an error in the REST-JSON envelope: the exception's
// REST status, the x-amzn-ErrorType header, and {"__type","message"}.
func (s *Service) WriteError(w http.ResponseWriter, _ *http.Request, e *awserr.Error) {
	writeError(w, e)
}

func writeError(w http.ResponseWriter, e *awserr.Error) {
	awsproto.WriteJSONError(w, ContentType, e.StatusIn(awserr.REST), e)
}

// match finds the route of the request and its path labels. A path that
// matches with another method is reported by methodOnly.
func (s *Service) match(r *http.Request) (route *Route, labels map[string]string, methodOnly bool) {
	raw := strings.Trim(r.URL.EscapedPath(), "/")
	var parts []string
	if raw != "" {
		parts = strings.Split(raw, "/")
	}
	for _, rt := range s.routes {
		l, ok := matchSegments(rt.segments, parts)
		if !ok {
			continue
		}
		if rt.Method != r.Method {
			methodOnly = true
			continue
		}
		return rt, l, false
	}
	return nil, nil, methodOnly
}

func matchSegments(segs []segment, parts []string) (map[string]string, bool) {
	labels := map[string]string{}
	for i, sg := range segs {
		if sg.greedy {
			if i >= len(parts) {
				return nil, false
			}
			rest, err := url.PathUnescape(strings.Join(parts[i:], "/"))
			if err != nil || rest == "" {
				return nil, false
			}
			labels[sg.label] = rest
			return labels, true
		}
		if i >= len(parts) {
			return nil, false
		}
		v, err := url.PathUnescape(parts[i])
		if err != nil {
			return nil, false
		}
		if sg.label == "" {
			if v != sg.literal {
				return nil, false
			}
			continue
		}
		if v == "" {
			return nil, false
		}
		labels[sg.label] = v
	}
	return labels, len(parts) == len(segs)
}

// ServeAWS serves one request.
func (s *Service) ServeAWS(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	env := req.Env
	route, labels, _ := s.match(r)
	if route == nil {
		writeError(w, awserr.New(awserr.UnknownOperation, "No operation of "+s.SigningName+" matches "+r.Method+" "+r.URL.Path+"."))
		return
	}
	call := &awsproto.Call{Service: s.SigningName, Op: route.Op, RequestID: req.ID, HTTP: r}
	var body []byte
	if route.Streaming {
		var rd io.Reader = r.Body
		if route.MaxBody > 0 {
			rd = http.MaxBytesReader(w, r.Body, route.MaxBody)
		}
		call.Body = rd
	} else {
		maxBody := route.MaxBody
		if maxBody <= 0 {
			maxBody = 1 << 20
		}
		var done func()
		var aerr *awserr.Error
		if body, done, aerr = env.ReadRequestBody(w, r, req.Hold, maxBody); aerr != nil {
			writeError(w, aerr)
			return
		}
		defer done()
	}
	input, aerr := bindBody(env, route, body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	id, aerr := env.Authenticate(r, body, s.SigningName) // body is nil for a streaming payload
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	call.SetIdentity(id)
	if aerr := bindRequest(route, r, labels, input); aerr != nil {
		writeError(w, aerr)
		return
	}
	if aerr := awsproto.Validate(input, route.Input); aerr != nil {
		writeError(w, aerr)
		return
	}
	call.Input = input
	s.run(w, r, req, route, call)
}

// bindBody decodes the body into the input: a JSON object of the body
// members, a structure payload, or a blob payload.
func bindBody(env *awsproto.Env, route *Route, body []byte) (map[string]any, *awserr.Error) {
	input := map[string]any{}
	if route.Streaming {
		return input, nil
	}
	if route.Payload != "" {
		f, ok := fieldNamed(route.Input, route.Payload)
		if !ok {
			return nil, awsproto.Internal(errors.New("restjson: payload member " + route.Payload + " is not an input member"))
		}
		if f.Shape.Type == awsproto.Blob {
			if len(body) > 0 {
				input[f.Name] = append([]byte(nil), body...)
			}
			return input, nil
		}
		if len(body) == 0 {
			return input, nil
		}
		data, aerr := awsproto.DecodeJSON(body, env.Depth())
		if aerr != nil {
			return nil, aerr
		}
		return awsproto.CheckTypes(map[string]any{f.Name: data}, []awsproto.Field{f})
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return input, nil
	}
	data, aerr := awsproto.DecodeJSON(body, env.Depth())
	if aerr != nil {
		return nil, aerr
	}
	var bodyFields []awsproto.Field
	for _, f := range route.Input {
		if f.In == awsproto.InBody {
			bodyFields = append(bodyFields, f)
		}
	}
	return awsproto.CheckTypes(data, bodyFields)
}

func fieldNamed(fields []awsproto.Field, name string) (awsproto.Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return awsproto.Field{}, false
}

// bindRequest adds the path, query and header members to input, converted
// to their shapes' types as a JSON body would carry them.
func bindRequest(route *Route, r *http.Request, labels map[string]string, input map[string]any) *awserr.Error {
	var q url.Values
	for _, f := range route.Input {
		var raw []string
		switch f.In {
		case awsproto.InBody:
			continue
		case awsproto.InURI:
			if v, ok := labels[f.WireName()]; ok {
				raw = []string{v}
			}
		case awsproto.InQuery:
			if q == nil {
				q = r.URL.Query()
			}
			raw = q[f.WireName()]
		case awsproto.InHeader:
			if v := r.Header.Values(f.WireName()); len(v) > 0 {
				raw = v
			}
		}
		if len(raw) == 0 {
			continue
		}
		v, aerr := fromWire(f, raw)
		if aerr != nil {
			return aerr
		}
		checked, aerr := awsproto.CheckTypes(map[string]any{f.Name: v}, []awsproto.Field{f})
		if aerr != nil {
			return aerr
		}
		if cv, ok := checked[f.Name]; ok {
			input[f.Name] = cv
		}
	}
	return nil
}

// fromWire turns the text of a bound member into the value a JSON body
// would carry for its shape.
func fromWire(f awsproto.Field, raw []string) (any, *awserr.Error) {
	bad := func() *awserr.Error {
		return awserr.New(awserr.Serialization, "Cannot read "+f.WireName()+" ("+raw[0]+") as its type.")
	}
	scalar := func(s *awsproto.Shape, v string) (any, *awserr.Error) {
		switch s.Type {
		case awsproto.Integer, awsproto.Long:
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return nil, bad()
			}
			return json.Number(v), nil
		case awsproto.Double:
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return nil, bad()
			}
			return json.Number(v), nil
		case awsproto.Boolean:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, bad()
			}
			return b, nil
		case awsproto.Timestamp:
			t, err := parseTime(f.In, v)
			if err != nil {
				return nil, bad()
			}
			return json.Number(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)), nil
		case awsproto.Blob: // base64 on the wire, as in a JSON body
			return v, nil
		}
		return v, nil
	}
	if f.Shape.Type == awsproto.List && f.Shape.Member != nil {
		var vals []string
		for _, v := range raw {
			if f.In == awsproto.InHeader {
				for _, p := range strings.Split(v, ",") {
					vals = append(vals, strings.TrimSpace(p))
				}
				continue
			}
			vals = append(vals, v)
		}
		out := make([]any, 0, len(vals))
		for _, v := range vals {
			x, aerr := scalar(f.Shape.Member, v)
			if aerr != nil {
				return nil, aerr
			}
			out = append(out, x)
		}
		return out, nil
	}
	return scalar(f.Shape, raw[0])
}

// parseTime reads a timestamp: HTTP dates in headers, ISO 8601 in the
// path and query (the REST protocols' defaults), epoch seconds accepted too.
func parseTime(in awsproto.Location, v string) (time.Time, error) {
	if in == awsproto.InHeader {
		if t, err := http.ParseTime(v); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(int64(f * 1000)), nil
}

// run calls the handler and writes its output or error.
func (s *Service) run(w http.ResponseWriter, r *http.Request, req *awsproto.Request, route *Route, call *awsproto.Call) {
	env := req.Env
	ctx := awsproto.WithRequestID(r.Context(), call.RequestID)
	start := time.Now()
	out, err := route.Handle(ctx, call)
	env.Finished(ctx, call, err, start)
	if err != nil {
		ae := awsproto.Internal(err)
		if ae.StatusIn(awserr.REST) >= 500 {
			env.Log().Error("request failed", "service", call.Service, "op", call.Op, "request_id", call.RequestID, "err", err)
		}
		writeError(w, ae)
		return
	}
	status := route.Status
	if status == 0 {
		status = http.StatusOK
	}
	h := w.Header()
	switch o := out.(type) {
	case nil:
		env.WriteBody(w, req.Hold, status, nil)
	case eventstream.Streamer:
		eventstream.Serve(ctx, w, env.Draining, o, env.WriteDeadline, func(err error) (string, string) {
			ae := awsproto.Internal(err)
			if ae.StatusIn(awserr.REST) >= 500 {
				env.Log().Error("event stream failed", "service", call.Service, "op", call.Op, "request_id", call.RequestID, "err", err)
			}
			return ae.Name, ae.Message
		})
	case *Response:
		s.writeResponse(ctx, w, req, status, o)
	default:
		b, ok := out.(awsproto.RawJSON)
		if !ok {
			var err error
			if b, err = json.Marshal(out); err != nil {
				writeError(w, awsproto.Internal(err))
				return
			}
		}
		h.Set("Content-Type", ContentType)
		env.WriteBody(w, req.Hold, status, b)
	}
}

func (s *Service) writeResponse(ctx context.Context, w http.ResponseWriter, req *awsproto.Request, status int, o *Response) {
	env := req.Env
	h := w.Header()
	for k, vs := range o.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if o.Status != 0 {
		status = o.Status
	}
	ct := o.ContentType
	switch {
	case o.JSON != nil:
		b, err := json.Marshal(o.JSON)
		if err != nil {
			writeError(w, awsproto.Internal(err))
			return
		}
		if ct == "" {
			ct = ContentType
		}
		h.Set("Content-Type", ct)
		env.WriteBody(w, req.Hold, status, b)
	case o.Stream != nil:
		if c, ok := o.Stream.(io.Closer); ok {
			defer c.Close()
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		w.WriteHeader(status)
		copyFlushing(ctx, w, env, o.Stream)
	default:
		if ct == "" && len(o.Payload) > 0 {
			ct = "application/octet-stream"
		}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		env.WriteBody(w, req.Hold, status, o.Payload)
	}
}

// copyFlushing copies src to the client, flushing after every read so
// that a live stream reaches the client as it is produced; it stops when
// the client goes away, takes a chunk slower than the env's write deadline
// allows, or the server drains.
func copyFlushing(ctx context.Context, w http.ResponseWriter, env *awsproto.Env, src io.Reader) {
	draining := env.Draining
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		select {
		case <-ctx.Done():
			return
		case <-draining:
			return
		default:
		}
		n, err := src.Read(buf)
		if n > 0 {
			timed := rc.SetWriteDeadline(time.Now().Add(env.WriteDeadline(n))) == nil
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			if timed {
				rc.SetWriteDeadline(time.Time{}) // no deadline while the source waits
			}
		}
		if err != nil {
			return
		}
	}
}
