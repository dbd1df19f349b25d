// Package awsproto owns the AWS JSON 1.1 wire protocol: the POST front end
// (X-Amz-Target routing, content types, request ids, CORS, body limits, the
// presence checks on signatures), input shape type-checking and validation
// with Coral's messages, and the error envelope. It knows no service: services
// register operations as data (an input schema and a handler).
package awsproto

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/semaphore"

	"github.com/rheos/rheos/internal/awserr"
)

// Content types.
const (
	ContentJSON = "application/x-amz-json-1.1"
	ContentCBOR = "application/x-amz-cbor-1.1"
)

// Operation is one API action.
type Operation struct {
	// Input lists the input members in AWS's check order.
	Input []Field
	// MaxBody caps the request body (bytes). Default 1 MiB.
	MaxBody int64
	// Fast, if set, decodes a well-formed and valid body straight into a
	// typed value (Call.Typed), skipping the generic decoder. It returns
	// ok=false for anything unusual and the generic path, with AWS's exact
	// error messages, takes over. Fast must accept only bodies the generic
	// path accepts, with the same meaning; a fuzz test proves it.
	Fast func(body []byte) (typed any, ok bool)
	// Handle runs the operation on validated input. It returns the output
	// (marshalled with encoding/json; nil for an empty body) or an error
	// (*awserr.Error, or anything else for InternalFailure).
	Handle func(ctx context.Context, c *Call) (any, error)
}

// Call is one request in flight.
type Call struct {
	Op        string
	Input     map[string]any // type-checked members (nil when Typed is set)
	Typed     any            // the Fast decoder's result, if it accepted the body
	CBOR      bool           // the request (and so the response) is CBOR
	Region    string         // from the SigV4 credential scope, or the default
	AccessKey string         // from the SigV4 credential scope, if any
	Account   string         // the verified caller's account; "" for the default
	// Authorize checks the caller's permissions (nil: allowed); see Identity.
	Authorize func(ctx context.Context, action, resource string) *awserr.Error
	RequestID string
	HTTP      *http.Request
}

// Service is a set of operations behind one X-Amz-Target prefix.
type Service struct {
	// TargetPrefix is e.g. "Kinesis_20131202".
	TargetPrefix string
	Operations   map[string]*Operation
}

// Front is the HTTP handler of the JSON protocol.
type Front struct {
	Services      []*Service
	DefaultRegion string
	// MaxDepth caps JSON nesting. Default 64.
	MaxDepth int
	// MaxInflightBytes bounds the request bytes buffered at once across all
	// requests (a memory budget): a request reserves its declared length
	// (or its operation's cap) before its body is read, waits up to 5 s for
	// room, then gets a retryable ServiceUnavailable. Default 256 MiB.
	MaxInflightBytes int64
	inflight         *semaphore.Weighted
	inflightOnce     sync.Once
	// BodyTimeout bounds the time to receive a request's body once its
	// headers are in (the server's ReadHeaderTimeout covers those): a
	// client that stalls mid-body gets a SerializationException and the
	// connection is closed, instead of holding it and what it sent for
	// ever. Default 60 s (nginx's client_body_timeout, ALB's idle timeout).
	BodyTimeout time.Duration
	// Verify, if set, verifies the request's SigV4 signature and returns the
	// region and access key it was signed with and the caller's account.
	// When nil (auth mode "none"), only the presence of a well-formed
	// signature is checked and any credentials are accepted.
	Verify func(r *http.Request, body []byte) (Identity, *awserr.Error)
	// Observe, if set, is told each handled call's operation, outcome and
	// duration (metrics).
	Observe func(op string, ok bool, d time.Duration)
	// Draining, when closed, ends every event stream (server shutdown:
	// long-lived subscriptions must not hold it up).
	Draining <-chan struct{}
	Logger   *slog.Logger
}

type ctxKey struct{}

// RequestIDFrom returns the request id of the call carried by ctx.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

func amzID2() string {
	b := make([]byte, 72)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

const exposeHeaders = "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date"

func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	h := w.Header()
	h.Set("x-amzn-RequestId", reqID)
	origin := r.Header.Get("Origin")
	if r.Method != http.MethodOptions || origin == "" {
		h.Set("x-amz-id-2", amzID2())
	}
	if origin != "" {
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			if v := r.Header.Get("Access-Control-Request-Headers"); v != "" {
				h.Set("Access-Control-Allow-Headers", v)
			}
			if v := r.Header.Get("Access-Control-Request-Method"); v != "" {
				h.Set("Access-Control-Allow-Methods", v)
			}
			h.Set("Access-Control-Max-Age", "172800")
			w.WriteHeader(http.StatusOK)
			return
		}
		h.Set("Access-Control-Expose-Headers", exposeHeaders)
	}
	if r.Method != http.MethodPost {
		writeXMLError(w, 403, "AccessDeniedException", "Unable to determine service/operation name to be authorized")
		return
	}
	contentType := strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0])
	isCBOR := contentType == ContentCBOR
	target := r.Header.Get("X-Amz-Target")
	svcName, opName, _ := strings.Cut(target, ".")
	var svc *Service
	for _, s := range f.Services {
		if s.TargetPrefix == svcName {
			svc = s
		}
	}
	var op *Operation
	if svc != nil {
		op = svc.Operations[opName]
	}
	maxBody := int64(1 << 20)
	if op != nil && op.MaxBody > 0 {
		maxBody = op.MaxBody
	}
	// Read the body with a hard cap: oversized bodies are refused without
	// being buffered.
	bodyTimeout := f.BodyTimeout
	if bodyTimeout == 0 {
		bodyTimeout = 60 * time.Second
	}
	// Reserve room for the body in the memory budget first.
	reserve := maxBody
	if r.ContentLength >= 0 && r.ContentLength < maxBody {
		reserve = r.ContentLength
	}
	release, ok := f.reserve(r.Context(), reserve)
	if !ok {
		w.Header().Set("Retry-After", "1")
		writeError(w, isCBOR, awserr.New(awserr.ServiceUnavailable, "The server is busy: too many request bytes in flight. Retry."), "")
		return
	}
	defer release()
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(bodyTimeout)) // ErrNotSupported off a real connection
	body, err := readBody(r, maxBody)
	defer putBuf(body)
	if err != nil {
		// Truncated, cut or timed out. The deadline stays, so that
		// net/http's discard of an unread rest fails at once and the
		// connection closes.
		w.Header().Set("Connection", "close")
		writeError(w, isCBOR, awserr.New(awserr.Serialization, ""), "")
		return
	}
	// The body is in: no deadline on the connection while the handler
	// runs (an event stream's response outlives any body timeout).
	rc.SetReadDeadline(time.Time{})
	if int64(len(body)) > maxBody {
		w.Header().Set("Connection", "close")
		writeError(w, isCBOR, awserr.New(awserr.RequestEntityTooLarge, "Request body is too large: the limit for this operation is "+strconv.FormatInt(maxBody, 10)+" bytes."), "")
		return
	}
	jsonContent := contentType == ContentJSON || contentType == "application/json"
	if len(body) == 0 {
		if svc != nil && op != nil {
			writeError(w, isCBOR, awserr.New(awserr.Serialization, ""), "")
		} else {
			writeError(w, isCBOR, awserr.New(awserr.UnknownOperation, ""), "")
		}
		return
	}
	if !jsonContent && !isCBOR {
		if svcName == "" || opName == "" {
			writeXMLError(w, 403, "AccessDeniedException", "Unable to determine service/operation name to be authorized")
			return
		}
		writeXMLStatus(w, 404, "UnknownOperationException")
		return
	}
	if op != nil && op.Fast != nil && !isCBOR {
		if typed, ok := op.Fast(body); ok {
			id, aerr := f.authenticate(r, body)
			if aerr != nil {
				writeError(w, isCBOR, aerr, "")
				return
			}
			f.run(w, r, op, &Call{Op: opName, Typed: typed, Region: id.Region, AccessKey: id.AccessKey, Account: id.Account, Authorize: id.Authorize, RequestID: reqID, HTTP: r, CBOR: isCBOR})
			if rel, ok := typed.(interface{ Release() }); ok {
				rel.Release() // the handler is done with its buffers
			}
			return
		}
	}
	depth := f.MaxDepth
	if depth == 0 {
		depth = 64
	}
	var data map[string]any
	var aerr *awserr.Error
	if isCBOR {
		data, aerr = DecodeCBOR(body)
	} else {
		data, aerr = DecodeJSON(body, depth)
	}
	if aerr != nil {
		writeError(w, isCBOR, aerr, "")
		return
	}
	if op == nil {
		writeError(w, isCBOR, awserr.New(awserr.UnknownOperation, ""), "")
		return
	}
	id, aerr := f.authenticate(r, body)
	if aerr != nil {
		writeError(w, isCBOR, aerr, "")
		return
	}
	input, aerr := CheckTypes(data, op.Input)
	if aerr != nil {
		writeError(w, isCBOR, aerr, "")
		return
	}
	if aerr := Validate(input, op.Input); aerr != nil {
		writeError(w, isCBOR, aerr, "")
		return
	}
	f.run(w, r, op, &Call{Op: opName, Input: input, Region: id.Region, AccessKey: id.AccessKey, Account: id.Account, Authorize: id.Authorize, RequestID: reqID, HTTP: r, CBOR: isCBOR})
}

// Identity is who signed a request.
type Identity struct {
	Region    string
	AccessKey string
	Account   string // "" for the server's default account
	// Authorize, if set, decides whether the caller may perform action
	// (e.g. kinesis:PutRecord) on resource (an ARN); nil allows everything.
	Authorize func(ctx context.Context, action, resource string) *awserr.Error
}

// RawJSON is an output that is already encoded.
type RawJSON []byte

// run calls the handler and writes its output or error.
func (f *Front) run(w http.ResponseWriter, r *http.Request, op *Operation, call *Call) {
	ctx := context.WithValue(r.Context(), ctxKey{}, call.RequestID)
	start := time.Now()
	out, err := op.Handle(ctx, call)
	if f.Observe != nil {
		f.Observe(call.Op, err == nil, time.Since(start))
	}
	if f.Logger != nil && f.Logger.Enabled(ctx, slog.LevelDebug) {
		f.Logger.LogAttrs(ctx, slog.LevelDebug, "request", slog.String("request_id", call.RequestID), slog.String("op", call.Op),
			slog.Bool("ok", err == nil), slog.Duration("took", time.Since(start)), slog.String("access_key", call.AccessKey))
	}
	if err != nil {
		var ae *awserr.Error
		if !errors.As(err, &ae) {
			ae = &awserr.Error{Exception: awserr.InternalFailure, Cause: err}
		}
		if ae.Status >= 500 && f.Logger != nil {
			f.Logger.Error("request failed", "op", call.Op, "request_id", call.RequestID, "err", err)
		}
		writeError(w, call.CBOR, ae, call.RequestID)
		return
	}
	h := w.Header()
	if st, ok := out.(Streamer); ok {
		f.stream(ctx, w, call, st)
		return
	}
	if call.CBOR {
		f.writeCBOR(w, call, out)
		return
	}
	h.Set("Content-Type", ContentJSON)
	if out == nil {
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	b, ok := out.(RawJSON)
	if !ok {
		var err error
		if b, err = json.Marshal(out); err != nil {
			writeError(w, call.CBOR, &awserr.Error{Exception: awserr.InternalFailure, Cause: err}, call.RequestID)
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// authenticate verifies the signature (Verify) or, without a verifier,
// checks that one is present and well formed.
func (f *Front) authenticate(r *http.Request, body []byte) (Identity, *awserr.Error) {
	if f.Verify != nil {
		return f.Verify(r, body)
	}
	region, accessKey, aerr := f.checkAuth(r)
	return Identity{Region: region, AccessKey: accessKey}, aerr
}

// checkAuth checks that the request carries a well-formed SigV4
// authorization (header or query) and extracts the region and access key
// from its credential scope. Signature verification is the sigv4 package's
// job (security milestone).
func (f *Front) checkAuth(r *http.Request) (region, accessKey string, _ *awserr.Error) {
	region = f.DefaultRegion
	auth := r.Header.Get("Authorization")
	q := r.URL.Query()
	_, hasQuery := q["X-Amz-Algorithm"]
	if auth != "" && hasQuery {
		return "", "", awserr.New(awserr.InvalidSignature, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
	}
	if auth == "" && !hasQuery {
		return "", "", awserr.New(awserr.MissingAuthenticationToken, "Missing Authentication Token")
	}
	var cred string
	if auth != "" {
		params := map[string]string{}
		fields := strings.FieldsFunc(auth, func(r rune) bool { return r == ',' || r == ' ' })
		if len(fields) > 0 {
			fields = fields[1:] // the algorithm; a header of only separators has none
		}
		for _, p := range fields {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			params[k] = v
		}
		msg := ""
		for _, p := range []string{"Credential", "Signature", "SignedHeaders"} {
			if params[p] == "" {
				msg += "Authorization header requires '" + p + "' parameter. "
			}
		}
		if r.Header.Get("X-Amz-Date") == "" && r.Header.Get("Date") == "" {
			msg += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
		}
		if msg != "" {
			return "", "", awserr.New(awserr.IncompleteSignature, msg+"Authorization="+auth)
		}
		cred = params["Credential"]
	} else {
		msg := ""
		for _, p := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
			if q.Get(p) == "" {
				msg += "AWS query-string parameters must include '" + p + "'. "
			}
		}
		if msg != "" {
			return "", "", awserr.New(awserr.IncompleteSignature, msg+"Re-examine the query-string parameters.")
		}
		cred = q.Get("X-Amz-Credential")
	}
	// Credential=AKID/20260101/us-east-1/kinesis/aws4_request
	parts := strings.Split(cred, "/")
	if len(parts) >= 3 && parts[2] != "" {
		region = parts[2]
	}
	if len(parts) >= 1 {
		accessKey = parts[0]
	}
	return region, accessKey, nil
}

// writeError writes the error envelope in the request's format.
func writeError(w http.ResponseWriter, isCBOR bool, e *awserr.Error, reqID string) {
	if !isCBOR {
		writeJSONError(w, e, reqID)
		return
	}
	body := map[string]string{"__type": e.Name}
	if e.Message != "" {
		body["message"] = e.Message
	}
	b, _ := cborEnc.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", ContentCBOR)
	h.Set("x-amzn-ErrorType", e.Name)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	w.Write(b)
}

// writeCBOR writes a successful output as CBOR.
func (f *Front) writeCBOR(w http.ResponseWriter, call *Call, out any) {
	var b []byte
	if out == nil {
		b = []byte{0xa0} // an empty map
	} else {
		js, ok := out.(RawJSON)
		if !ok {
			var err error
			if js, err = json.Marshal(out); err != nil {
				writeError(w, true, &awserr.Error{Exception: awserr.InternalFailure, Cause: err}, call.RequestID)
				return
			}
		}
		var err error
		if b, err = EncodeCBOR(js); err != nil {
			writeError(w, true, &awserr.Error{Exception: awserr.InternalFailure, Cause: err}, call.RequestID)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", ContentCBOR)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// writeJSONError writes the AWS JSON error envelope.
func writeJSONError(w http.ResponseWriter, e *awserr.Error, _ string) {
	body := map[string]string{"__type": e.Name}
	if e.Message != "" {
		if e.Name == awserr.Serialization.Name {
			body["Message"] = e.Message
		} else {
			body["message"] = e.Message
		}
	}
	if e.Status >= 500 && e.Message == "" {
		// InternalFailure carries no message on AWS.
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", ContentJSON)
	h.Set("x-amzn-ErrorType", e.Name)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	w.Write(b)
}

func writeXMLError(w http.ResponseWriter, status int, typ, msg string) {
	b := "<" + typ + ">\n  <Message>" + msg + "</Message>\n</" + typ + ">\n"
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	io.WriteString(w, b)
}

func writeXMLStatus(w http.ResponseWriter, status int, typ string) {
	b := "<" + typ + "/>\n"
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	io.WriteString(w, b)
}

// reserve takes n bytes of the in-flight budget, waiting up to 5 s.
func (f *Front) reserve(ctx context.Context, n int64) (release func(), ok bool) {
	f.inflightOnce.Do(func() {
		max := f.MaxInflightBytes
		if max <= 0 {
			max = 256 << 20
		}
		f.inflight = semaphore.NewWeighted(max)
	})
	if n <= 0 {
		n = 1
	}
	if max := f.MaxInflightBytes; max > 0 && n > max {
		n = max // one request larger than the budget may still run alone
	} else if max <= 0 && n > 256<<20 {
		n = 256 << 20
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := f.inflight.Acquire(ctx, n); err != nil {
		return nil, false
	}
	return func() { f.inflight.Release(n) }, true
}

// bodyPool recycles request body buffers (bodies of the hot operations are
// up to several MiB; the decoders copy what they keep).
var bodyPool sync.Pool

func putBuf(b []byte) {
	if cap(b) >= 64<<10 && cap(b) <= 32<<20 {
		bodyPool.Put(b[:0]) //nolint:staticcheck // slices are fine here
	}
}

// readBody reads at most max+1 bytes of the body into a pooled buffer sized
// from Content-Length when it is known.
func readBody(r *http.Request, max int64) ([]byte, error) {
	var buf []byte
	if v := bodyPool.Get(); v != nil {
		buf = v.([]byte)
	}
	want := r.ContentLength
	if want < 0 || want > max {
		want = 64 << 10
	}
	if int64(cap(buf)) < want+1 {
		buf = make([]byte, 0, want+1)
	}
	lr := io.LimitReader(r.Body, max+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
