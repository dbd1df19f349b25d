// Package awsproto owns what every AWS wire protocol served by Rheos shares:
// the router that sends a request on the one port to the service named in
// its SigV4 credential scope (falling back to X-Amz-Target or the path for
// unsigned requests), request ids and CORS, the in-flight memory budget and
// capped body reads, the signature presence check (or the verifier the server
// supplies), the Call a handler receives, and input shapes with AWS's type
// checks and validation (schema.go). It knows no service. The protocols are
// its subpackages: jsonrpc (AWS JSON 1.1 and CBOR 1.1, X-Amz-Target),
// restjson (method + path routing with bindings and streaming bodies), and
// eventstream (application/vnd.amazon.eventstream responses).
package awsproto

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/rheos/rheos/internal/awserr"
)

// Call is one request in flight, as a service's handler sees it.
type Call struct {
	// Service is the signing name of the service serving the call.
	Service string
	// Op is the operation name (e.g. PutRecord).
	Op string
	// Input holds the type-checked members: body members, and for REST
	// protocols the path, query and header bindings (nil when Typed is set).
	Input map[string]any
	// Typed is a fast decoder's result, if it accepted the body (jsonrpc).
	Typed any
	// CBOR is true when the request (and so the response) is CBOR.
	CBOR bool
	// Body is a streaming request payload (restjson routes with a
	// streaming payload member); nil otherwise. The handler reads it before
	// returning; the router closes it.
	Body      io.Reader
	Region    string // from the SigV4 credential scope, or the default
	AccessKey string // from the SigV4 credential scope, if any
	Account   string // the verified caller's account; "" for the default
	// Authorize checks the caller's permissions (nil: allowed); see Identity.
	Authorize func(ctx context.Context, action, resource string) *awserr.Error
	RequestID string
	HTTP      *http.Request
}

// SetIdentity records who signed the call.
func (c *Call) SetIdentity(id Identity) {
	c.Region, c.AccessKey, c.Account, c.Authorize = id.Region, id.AccessKey, id.Account, id.Authorize
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

// Env is what the protocol handlers of every service share: set once by the
// composition root, read-only afterwards.
type Env struct {
	// DefaultRegion is used when a request carries no credential scope.
	DefaultRegion string
	// MaxDepth caps JSON nesting. Default 64.
	MaxDepth int
	// BodyTimeout bounds the time to receive a buffered request body once
	// its headers are in (the server's ReadHeaderTimeout covers those): a
	// client that stalls mid-body gets a SerializationException and the
	// connection is closed. Default 60 s (nginx's client_body_timeout).
	// Streaming bodies (restjson) are read at the handler's pace instead.
	BodyTimeout time.Duration
	// Verify, if set, verifies the request's SigV4 signature for the named
	// service (its signing name) and returns who signed it. body is nil for
	// a streaming body, whose payload hash must then be UNSIGNED-PAYLOAD or
	// STREAMING-*. When nil (auth mode "none") only the presence of a
	// well-formed signature is checked and any credentials are accepted.
	Verify func(r *http.Request, body []byte, service string) (Identity, *awserr.Error)
	// Observe, if set, is told each handled call's service, operation,
	// outcome and duration (metrics).
	Observe func(service, op string, ok bool, d time.Duration)
	// Draining, when closed, ends every long-lived response (event streams,
	// chunked media): server shutdown must not wait for them.
	Draining <-chan struct{}
	// Logger receives request failures and the debug access line.
	Logger *slog.Logger
	// Budget bounds the request body and response bytes held at once,
	// across all calls and per principal. Default NewBudget(0, 0).
	Budget *Budget
	// Precheck, if set, runs before any of a request's body is read or
	// budgeted, on what the headers alone show: in auth mode verify, that a
	// well-formed signature names a known access key. It names the
	// principal whose share of the Budget the call draws on. A refusal is
	// answered at once and the connection closed, the body unread. When
	// nil (auth mode none) every request is admitted and the principal is
	// the caller's remote IP.
	Precheck func(r *http.Request, service string) (principal string, aerr *awserr.Error)
	// MinDataRate is the slowest a buffered request body may arrive, in
	// bytes per second averaged from its start once BodyGrace has passed
	// (a body that falls below it is cut like a timed-out one), and the rate
	// a response's write deadline allows for (see WriteTimeout). Default
	// 65536 (64 KiB/s).
	MinDataRate int64
	// BodyGrace is how long a body may arrive slower than MinDataRate
	// before it is held to it. Default 5 s.
	BodyGrace time.Duration
	// WriteTimeout bounds the time a client may take to receive a buffered
	// response: WriteTimeout plus the response's size at MinDataRate. Each
	// event of an event stream and each chunk of a streamed response gets
	// its own deadline computed the same way. Past it the connection is
	// closed. Default 30 s.
	WriteTimeout time.Duration
}

// DataRate is MinDataRate or its default.
func (e *Env) DataRate() int64 {
	if e.MinDataRate <= 0 {
		return 64 << 10
	}
	return e.MinDataRate
}

// Grace is BodyGrace or its default.
func (e *Env) Grace() time.Duration {
	if e.BodyGrace <= 0 {
		return 5 * time.Second
	}
	return e.BodyGrace
}

// WriteDeadline is how long a client may take to receive n bytes of a
// response: WriteTimeout (default 30 s) plus n at MinDataRate.
func (e *Env) WriteDeadline(n int) time.Duration {
	base := e.WriteTimeout
	if base <= 0 {
		base = 30 * time.Second
	}
	return base + time.Duration(float64(n)/float64(e.DataRate())*float64(time.Second))
}

// admit runs the Precheck of a request routed to service and opens its
// hold on the budget under its principal.
func (e *Env) admit(r *http.Request, service string) (*Hold, *awserr.Error) {
	principal := ""
	if e.Precheck != nil {
		p, aerr := e.Precheck(r, service)
		if aerr != nil {
			return nil, aerr
		}
		principal = p
	} else {
		principal = r.RemoteAddr
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			principal = host
		}
	}
	h := e.Budget.Open(principal)
	h.stop = e.Draining
	return h, nil
}

// Depth is the JSON nesting cap.
func (e *Env) Depth() int {
	if e.MaxDepth == 0 {
		return 64
	}
	return e.MaxDepth
}

// Timeout is the body timeout.
func (e *Env) Timeout() time.Duration {
	if e.BodyTimeout == 0 {
		return 60 * time.Second
	}
	return e.BodyTimeout
}

// Log returns the logger (slog.Default when none is set).
func (e *Env) Log() *slog.Logger {
	if e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

// Authenticate verifies the signature (Verify) or, without a verifier,
// checks that one is present and well formed.
func (e *Env) Authenticate(r *http.Request, body []byte, service string) (Identity, *awserr.Error) {
	if e.Verify != nil {
		return e.Verify(r, body, service)
	}
	sc, aerr := CheckSignature(r)
	if aerr != nil {
		return Identity{}, aerr
	}
	region := sc.Region
	if region == "" {
		region = e.DefaultRegion
	}
	return Identity{Region: region, AccessKey: sc.AccessKey}, nil
}

// Finished reports a handled call to Observe and, at debug level, logs it.
func (e *Env) Finished(ctx context.Context, c *Call, err error, start time.Time) {
	took := time.Since(start)
	if e.Observe != nil {
		e.Observe(c.Service, c.Op, err == nil, took)
	}
	if l := e.Logger; l != nil && l.Enabled(ctx, slog.LevelDebug) {
		l.LogAttrs(ctx, slog.LevelDebug, "request", slog.String("request_id", c.RequestID), slog.String("service", c.Service),
			slog.String("op", c.Op), slog.Bool("ok", err == nil), slog.Duration("took", took), slog.String("access_key", c.AccessKey))
	}
}

type ctxKey struct{}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestIDFrom returns the request id of the call carried by ctx.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Internal wraps an error that is not an AWS exception as InternalFailure.
func Internal(err error) *awserr.Error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	return &awserr.Error{Exception: awserr.InternalFailure, Cause: err}
}
