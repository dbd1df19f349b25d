package awsproto

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/rheos/rheos/internal/awserr"
)

// ContentEventStream is the content type of event-stream responses.
const ContentEventStream = "application/vnd.amazon.eventstream"

// Streamer is a handler output that streams events
// (application/vnd.amazon.eventstream, as SubscribeToShard does) instead of
// one JSON body.
type Streamer interface {
	// Stream sends events until it returns. It must send the
	// "initial-response" event first. An error becomes an exception event.
	Stream(ctx context.Context, send EventSender) error
}

// EventSender writes one event of the stream and flushes it to the client.
type EventSender interface {
	// Event sends an event whose payload is v encoded as JSON.
	Event(eventType string, v any) error
}

type eventWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	enc *eventstream.Encoder
	buf bytes.Buffer
}

func (e *eventWriter) Event(eventType string, v any) error {
	payload, ok := v.(RawJSON)
	if !ok {
		var err error
		if payload, err = json.Marshal(v); err != nil {
			return err
		}
	}
	return e.send(eventstream.Message{Headers: eventstream.Headers{
		{Name: ":message-type", Value: eventstream.StringValue("event")},
		{Name: ":event-type", Value: eventstream.StringValue(eventType)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
	}, Payload: payload})
}

func (e *eventWriter) exception(ae *awserr.Error) error {
	payload, _ := json.Marshal(map[string]string{"message": ae.Message})
	return e.send(eventstream.Message{Headers: eventstream.Headers{
		{Name: ":message-type", Value: eventstream.StringValue("exception")},
		{Name: ":exception-type", Value: eventstream.StringValue(ae.Name)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
	}, Payload: payload})
}

func (e *eventWriter) send(m eventstream.Message) error {
	e.buf.Reset()
	if err := e.enc.Encode(&e.buf, m); err != nil {
		return err
	}
	if _, err := e.w.Write(e.buf.Bytes()); err != nil {
		return err
	}
	return e.rc.Flush()
}

// stream runs a Streamer: HTTP/1.1 gets a chunked, flushed body; HTTP/2 a
// stream of DATA frames.
func (f *Front) stream(ctx context.Context, w http.ResponseWriter, call *Call, st Streamer) {
	h := w.Header()
	h.Set("Content-Type", ContentEventStream)
	w.WriteHeader(http.StatusOK)
	ew := &eventWriter{w: w, rc: http.NewResponseController(w), enc: eventstream.NewEncoder()}
	if err := ew.rc.Flush(); err != nil {
		return
	}
	if f.Draining != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-f.Draining:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	err := st.Stream(ctx, ew)
	if err == nil || ctx.Err() != nil {
		return
	}
	var ae *awserr.Error
	if !errors.As(err, &ae) {
		ae = &awserr.Error{Exception: awserr.InternalFailure, Cause: err}
		if f.Logger != nil {
			f.Logger.Error("event stream failed", "op", call.Op, "request_id", call.RequestID, "err", err)
		}
	}
	ew.exception(ae)
}
