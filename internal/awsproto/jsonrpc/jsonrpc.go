// Package jsonrpc owns the AWS JSON 1.1 and CBOR 1.1 RPC protocol: a POST
// to "/" whose X-Amz-Target names the operation, content types, body caps
// within the shared memory budget, the fast-decoder hook of hot operations,
// AWS's order of checks (body, operation, signature, types, constraints), the
// JSON and CBOR error envelopes (every client error 400), event-stream
// outputs, and the CBOR codec. It knows no service: a service registers its
// operations as data (an input schema and a handler) with its exception
// catalog.
package jsonrpc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/eventstream"
)

// Content types.
const (
	ContentJSON = "application/x-amz-json-1.1"
	ContentCBOR = "application/x-amz-cbor-1.1"
	// ContentJSONPlain is answered in Coral's deprecated envelope only.
	ContentJSONPlain = "application/json"
)

// Operation is one API action.
type Operation struct {
	// Input lists the input members in AWS's check order.
	Input []awsproto.Field
	// MaxBody caps the request body (bytes). Default 1 MiB.
	MaxBody int64
	// MaxResponse is the largest answer the operation gives (bytes), for
	// operations whose answers can be large (GetRecords). It is reserved
	// from the caller's share of the memory budget before the handler
	// runs (no room within 5 s: a retryable 503 ServiceUnavailable, and
	// nothing has been done) and settled to the answer's size while it is
	// written, so that callers that do not read their answers cannot make
	// the server hold more than their share. 0: nothing is reserved up
	// front; the answer is counted while written if there is room.
	MaxResponse int64
	// Fast, if set, decodes a well-formed and valid body straight into a
	// typed value (Call.Typed), skipping the generic decoder. It returns
	// ok=false for anything unusual and the generic path, with AWS's exact
	// error messages, takes over. Fast must accept only bodies the generic
	// path accepts, with the same meaning; a fuzz test proves it.
	Fast func(body []byte) (typed any, ok bool)
	// Handle runs the operation on validated input. It returns the output
	// (marshalled with encoding/json; awsproto.RawJSON as is; an
	// eventstream.Streamer streams; nil for an empty body) or an error
	// (*awserr.Error, or anything else for InternalFailure).
	Handle func(ctx context.Context, c *awsproto.Call) (any, error)
}

// Service is a set of operations behind one X-Amz-Target prefix.
type Service struct {
	// SigningName is the SigV4 service name (e.g. "kinesis").
	SigningName string
	// TargetPrefix is e.g. "Kinesis_20131202".
	TargetPrefix string
	Operations   map[string]*Operation
	// CBOROutput tells the CBOR encoder which output members are blobs and
	// timestamps.
	CBOROutput CBOROutput
}

// Endpoint returns the router entry of the service.
func (s *Service) Endpoint() awsproto.Endpoint {
	return awsproto.Endpoint{SigningName: s.SigningName, TargetPrefixes: []string{s.TargetPrefix}, Handler: s}
}

// WriteError answers a request refused before dispatch.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	writeError(w, isCBOR(r), e)
}

func contentType(r *http.Request) string {
	return strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0])
}

func isCBOR(r *http.Request) bool { return contentType(r) == ContentCBOR }

// ServeAWS serves one request.
func (s *Service) ServeAWS(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	env := req.Env
	if r.Method != http.MethodPost {
		awsproto.WriteXMLError(w, 403, "AccessDeniedException", "Unable to determine service/operation name to be authorized")
		return
	}
	ct := contentType(r)
	cbor := ct == ContentCBOR
	target := r.Header.Get("X-Amz-Target")
	prefix, opName, _ := strings.Cut(target, ".")
	var op *Operation
	if prefix == s.TargetPrefix {
		op = s.Operations[opName]
	}
	maxBody := int64(1 << 20)
	if op != nil && op.MaxBody > 0 {
		maxBody = op.MaxBody
	}
	body, done, aerr := env.ReadRequestBody(w, r, req.Hold, maxBody)
	if aerr != nil {
		writeError(w, cbor, aerr)
		return
	}
	defer done()
	if len(body) == 0 {
		// AWS answers an empty body in JSON only for exactly
		// application/x-amz-json-1.1, in CBOR for any other content type
		// (none, json-1.0, application/json, garbage), before looking at
		// the signature.
		e := awserr.New(awserr.UnknownOperation, "")
		if op != nil {
			e = awserr.New(awserr.Serialization, "")
		}
		writeError(w, ct != ContentJSON, e)
		return
	}
	if ct != ContentJSON && ct != ContentJSONPlain && !cbor {
		if prefix == "" || opName == "" {
			awsproto.WriteXMLError(w, 403, "AccessDeniedException", "Unable to determine service/operation name to be authorized")
			return
		}
		awsproto.WriteXMLStatus(w, 404, "UnknownOperationException")
		return
	}
	if ct == ContentJSONPlain {
		// Plain application/json is the deprecated Coral form: a body that
		// does not parse is a SerializationException, any other the
		// UnknownOperationException, both wrapped in {"Output",
		// "Version"}, whatever the target and signature.
		if _, aerr := awsproto.DecodeJSON(body, env.Depth()); aerr != nil {
			writeDeprecated(w, 400, awserr.Serialization.Name)
			return
		}
		writeDeprecated(w, 404, awserr.UnknownOperation.Name)
		return
	}
	call := &awsproto.Call{Service: s.SigningName, Op: opName, RequestID: req.ID, HTTP: r, CBOR: cbor}
	if op != nil && op.Fast != nil && ct == ContentJSON {
		if typed, ok := op.Fast(body); ok {
			if aerr := authenticate(env, r, body, s.SigningName, call); aerr != nil {
				writeError(w, cbor, aerr)
				return
			}
			call.Typed = typed
			s.run(w, r, req, op, call)
			if rel, ok := typed.(interface{ Release() }); ok {
				rel.Release() // the handler is done with its buffers
			}
			return
		}
	}
	var data map[string]any
	if cbor {
		data, aerr = DecodeCBOR(body)
	} else {
		data, aerr = awsproto.DecodeJSON(body, env.Depth())
	}
	if aerr != nil {
		writeError(w, cbor, aerr)
		return
	}
	if op == nil {
		writeError(w, cbor, awserr.New(awserr.UnknownOperation, ""))
		return
	}
	if aerr := authenticate(env, r, body, s.SigningName, call); aerr != nil {
		writeError(w, cbor, aerr)
		return
	}
	input, aerr := awsproto.CheckTypes(data, op.Input)
	if aerr != nil {
		writeError(w, cbor, aerr)
		return
	}
	if aerr := awsproto.Validate(input, op.Input); aerr != nil {
		writeError(w, cbor, aerr)
		return
	}
	call.Input = input
	s.run(w, r, req, op, call)
}

func authenticate(env *awsproto.Env, r *http.Request, body []byte, service string, c *awsproto.Call) *awserr.Error {
	id, aerr := env.Authenticate(r, body, service)
	if aerr != nil {
		return aerr
	}
	c.SetIdentity(id)
	return nil
}

// run calls the handler and writes its output or error.
func (s *Service) run(w http.ResponseWriter, r *http.Request, req *awsproto.Request, op *Operation, call *awsproto.Call) {
	env := req.Env
	ctx := awsproto.WithRequestID(r.Context(), call.RequestID)
	if op.MaxResponse > 0 && !req.Hold.ReserveResponse(ctx, op.MaxResponse) {
		w.Header().Set("Retry-After", "1")
		writeError(w, call.CBOR, awserr.New(awserr.ServiceUnavailable, "The server is busy: too many response bytes held for this caller. Retry."))
		return
	}
	start := time.Now()
	out, err := op.Handle(ctx, call)
	env.Finished(ctx, call, err, start)
	if err != nil {
		ae := awsproto.Internal(err)
		if ae.Status >= 500 {
			env.Log().Error("request failed", "service", call.Service, "op", call.Op, "request_id", call.RequestID, "err", err)
		}
		writeError(w, call.CBOR, ae)
		return
	}
	if st, ok := out.(eventstream.Streamer); ok {
		eventstream.Serve(ctx, w, env.Draining, st, env.WriteDeadline, func(err error) (string, string) {
			var ae *awserr.Error
			if !errors.As(err, &ae) {
				ae = awsproto.Internal(err)
				env.Log().Error("event stream failed", "service", call.Service, "op", call.Op, "request_id", call.RequestID, "err", err)
			}
			return ae.Name, ae.Message
		})
		return
	}
	if call.CBOR {
		writeCBOR(w, env, req.Hold, out, s.CBOROutput)
		return
	}
	var b []byte
	if out != nil {
		var ok bool
		if b, ok = out.(awsproto.RawJSON); !ok {
			var err error
			if b, err = json.Marshal(out); err != nil {
				writeError(w, false, awsproto.Internal(err))
				return
			}
		}
	}
	w.Header().Set("Content-Type", ContentJSON)
	env.WriteBody(w, req.Hold, http.StatusOK, b)
}

// writeDeprecated writes Coral's deprecated application/json error form,
// {"Output":{"__type":"com.amazon.coral.service#<name>"},"Version":"1.0"}.
func writeDeprecated(w http.ResponseWriter, status int, name string) {
	b := `{"Output":{"__type":"com.amazon.coral.service#` + name + `"},"Version":"1.0"}`
	h := w.Header()
	h.Set("Content-Type", ContentJSONPlain)
	h.Set("x-amzn-ErrorType", name)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write([]byte(b))
}

// writeError writes the error envelope in the request's format.
func writeError(w http.ResponseWriter, cbor bool, e *awserr.Error) {
	status := e.StatusIn(awserr.JSONRPC)
	if !cbor {
		awsproto.WriteJSONError(w, ContentJSON, status, e)
		return
	}
	b := cborErrorBody(e)
	h := w.Header()
	h.Set("Content-Type", ContentCBOR)
	h.Set("x-amzn-ErrorType", e.Name)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// writeCBOR writes a successful output as CBOR.
func writeCBOR(w http.ResponseWriter, env *awsproto.Env, hold *awsproto.Hold, out any, shapes CBOROutput) {
	var b []byte
	if out == nil {
		b = []byte{0xa0} // an empty map
	} else {
		js, ok := out.(awsproto.RawJSON)
		if !ok {
			var err error
			if js, err = json.Marshal(out); err != nil {
				writeError(w, true, awsproto.Internal(err))
				return
			}
		}
		var err error
		if b, err = EncodeCBOR(js, shapes); err != nil {
			writeError(w, true, awsproto.Internal(err))
			return
		}
	}
	w.Header().Set("Content-Type", ContentCBOR)
	env.WriteBody(w, hold, http.StatusOK, b)
}
