package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/itchyny/gojq"
)

// MaxPayload is the largest synchronous event or response (Lambda: 6 MB).
const MaxPayload = 6 << 20

// InvokeOptions are an invocation's settings.
type InvokeOptions struct {
	// ClientContext is passed through to url functions (base64 JSON).
	ClientContext string
	// Tail asks for the invocation's complete log (LogType Tail): a zip
	// function's output is then awaited until its pipe goes quiet.
	Tail bool
	// RefuseWhenBusy refuses the invocation (KindThrottled) when every
	// process the function may run is busy, as Lambda answers a
	// synchronous Invoke at its concurrency limit (429). Without it the
	// caller waits for a process: event source mappings and the async
	// queue, whose throttled invocations Lambda retries. Either way the
	// throttle is counted.
	RefuseWhenBusy bool
}

// Invoke runs the function on payload (the event JSON) and returns its
// response, or its error object with FunctionError set. err is a domain
// error about the call itself (unknown function, payload too large).
func (s *Service) Invoke(ctx context.Context, sc Scope, ref string, payload []byte, opts InvokeOptions) (Result, error) {
	f, err := s.Get(ctx, sc, ref)
	if err != nil {
		return Result{}, err
	}
	if f.ReservedConcurrency != nil && *f.ReservedConcurrency == 0 {
		s.cfg.Observer.Throttle(f.Name)
		return Result{}, errorf(KindThrottled, "Rate Exceeded.")
	}
	if len(payload) > MaxPayload {
		return Result{}, errorf(KindTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", MaxPayload)
	}
	var pl *pool // a zip function's processes: a slot is taken before the deadline starts
	if f.Kind == KindZip {
		pl = s.poolFor(f)
		select {
		case pl.slots <- struct{}{}:
		default:
			s.cfg.Observer.Throttle(f.Name)
			if opts.RefuseWhenBusy {
				return Result{}, errorf(KindThrottled, "Rate Exceeded.")
			}
			select {
			case pl.slots <- struct{}{}:
			case <-ctx.Done():
				return Result{}, &Error{Kind: KindInternal, Err: ctx.Err()}
			}
		}
		defer func() { <-pl.slots }()
	}
	reqID := newID()
	start := s.cfg.Now()
	s.cfg.Observer.Running(f.Name, 1)
	defer s.cfg.Observer.Running(f.Name, -1)
	deadline := time.Duration(f.Timeout) * time.Second
	ictx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	var res Result
	var logs string
	var timedOut bool
	switch f.Kind {
	case KindJQ:
		res, logs = s.invokeJQ(ictx, f, payload)
	case KindURL:
		res, logs = s.invokeURL(ictx, f, reqID, payload, opts)
	case KindZip:
		// The timeout counts from the event's handover to the runtime, as
		// on AWS, where a cold start's init phase has its own limit.
		res, logs, timedOut = s.invokeZip(ctx, f, pl, reqID, payload, deadline, opts.Tail)
	default:
		return Result{}, errorf(KindUnsupported, "Function %s has kind %q, which this endpoint cannot run.", f.Name, f.Kind)
	}
	if f.Kind != KindZip {
		timedOut = ictx.Err() == context.DeadlineExceeded && ctx.Err() == nil
	}
	if timedOut {
		msg := fmt.Sprintf("%s Task timed out after %d.00 seconds", reqID, f.Timeout)
		res = Result{Payload: errorObject(msg, "Sandbox.Timedout"), FunctionError: "Unhandled"}
		logs += msg + "\n"
	}
	if len(res.Payload) > MaxPayload {
		res = Result{Payload: errorObject(fmt.Sprintf("Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).", len(res.Payload), MaxPayload), "Function.ResponseSizeTooLarge"), FunctionError: "Unhandled"}
	}
	took := s.cfg.Now().Sub(start)
	s.cfg.Observer.Invocation(f.Name, res.FunctionError != "", took)
	ms := float64(took.Microseconds()) / 1000
	res.Log = fmt.Sprintf("START RequestId: %s Version: $LATEST\n%sEND RequestId: %s\nREPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: 0 MB\t\n",
		reqID, logs, reqID, reqID, ms, int64(ms)+1, f.MemorySize)
	res.ExecutedVersion = "$LATEST"
	return res, nil
}

// errorObject is Lambda's function error body.
func errorObject(msg, typ string) []byte {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, typ})
	return b
}

// jqProgram is a compiled jq program.
type jqProgram struct{ code *gojq.Code }

func compileJQ(src string) (*jqProgram, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, err
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, err
	}
	return &jqProgram{code: code}, nil
}

// program returns f's compiled program, cached by its code digest (at
// most 256 programs are kept).
func (s *Service) program(ctx context.Context, f *Function) (*jqProgram, error) {
	key := f.CodeSHA256 + "\x00" + f.Handler
	s.mu.Lock()
	p := s.jq[key]
	s.mu.Unlock()
	if p != nil {
		return p, nil
	}
	code, _, err := s.meta.Get(ctx, f.CodeKey)
	if err != nil || code == nil {
		return nil, fmt.Errorf("code of %s: %v", f.Name, err)
	}
	src, derr := jqSource(code, f.Handler)
	if derr != nil {
		return nil, derr
	}
	if p, err = compileJQ(src); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.jq) >= 256 {
		clear(s.jq)
	}
	s.jq[key] = p
	s.mu.Unlock()
	return p, nil
}

// invokeJQ runs a jq function: the event JSON in, the program's first
// output out (null when it outputs nothing); a jq error is the function's
// error.
func (s *Service) invokeJQ(ctx context.Context, f *Function, payload []byte) (Result, string) {
	p, err := s.program(ctx, f)
	if err != nil {
		return Result{Payload: errorObject(err.Error(), "Runtime.ImportModuleError"), FunctionError: "Unhandled"}, err.Error() + "\n"
	}
	var in any
	if len(bytes.TrimSpace(payload)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber()
		if err := dec.Decode(&in); err != nil {
			msg := "Could not parse request body into json: " + err.Error()
			return Result{Payload: errorObject(msg, "Runtime.UnmarshalError"), FunctionError: "Unhandled"}, msg + "\n"
		}
		in = normalizeNumbers(in)
	}
	iter := p.code.RunWithContext(ctx, in)
	v, ok := iter.Next()
	if !ok {
		return Result{Payload: []byte("null")}, ""
	}
	if err, isErr := v.(error); isErr {
		var halt *gojq.HaltError
		if errors.As(err, &halt) && halt.Value() == nil {
			return Result{Payload: []byte("null")}, ""
		}
		msg := err.Error()
		var ve interface{ Value() any } // error(x): x is the message
		if errors.As(err, &ve) {
			if str, ok := ve.Value().(string); ok {
				msg = str
			} else if b, merr := gojq.Marshal(ve.Value()); merr == nil {
				msg = string(b)
			}
		}
		return Result{Payload: errorObject(msg, "jq.Error"), FunctionError: "Unhandled"}, msg + "\n"
	}
	out, err := gojq.Marshal(v)
	if err != nil {
		return Result{Payload: errorObject(err.Error(), "Runtime.MarshalError"), FunctionError: "Unhandled"}, err.Error() + "\n"
	}
	return Result{Payload: out}, ""
}

// normalizeNumbers turns json.Number into the int or float64 gojq expects.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normalizeNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalizeNumbers(x[k])
		}
	}
	return v
}

// invokeURL calls a server speaking the Lambda Invoke API (the Runtime
// Interface Emulator's path) and returns what it answered.
func (s *Service) invokeURL(ctx context.Context, f *Function, reqID string, payload []byte, opts InvokeOptions) (Result, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.ImageURI+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		return Result{Payload: errorObject(err.Error(), "Runtime.InvalidEntrypoint"), FunctionError: "Unhandled"}, err.Error() + "\n"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Request-Id", reqID)
	if opts.ClientContext != "" {
		req.Header.Set("X-Amz-Client-Context", opts.ClientContext)
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ""
		}
		msg := "function endpoint " + f.ImageURI + " unreachable: " + err.Error()
		return Result{Payload: errorObject(msg, "Runtime.Unavailable"), FunctionError: "Unhandled"}, msg + "\n"
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPayload+1))
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ""
		}
		msg := "reading the function's response: " + err.Error()
		return Result{Payload: errorObject(msg, "Runtime.Unavailable"), FunctionError: "Unhandled"}, msg + "\n"
	}
	if resp.StatusCode/100 != 2 {
		msg := fmt.Sprintf("function endpoint answered HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
		return Result{Payload: errorObject(msg, "Runtime.InvalidResponse"), FunctionError: "Unhandled"}, msg + "\n"
	}
	return Result{Payload: body, FunctionError: resp.Header.Get("X-Amz-Function-Error")}, ""
}
