// Package eventstream owns application/vnd.amazon.eventstream responses:
// the Streamer a handler returns instead of one body (SubscribeToShard, and
// later PutMedia's acknowledgements), and the writer that frames each event
// with the AWS SDK's encoder and flushes it (chunked on HTTP/1.1, DATA
// frames on HTTP/2). It is a leaf: it knows no service and no error catalog.
package eventstream

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// ContentType is the content type of event-stream responses.
const ContentType = "application/vnd.amazon.eventstream"

// Streamer is a handler output that streams events instead of one body.
type Streamer interface {
	// Stream sends events until it returns. It must send the
	// "initial-response" event first. An error becomes an exception event.
	Stream(ctx context.Context, send Sender) error
}

// Sender writes one event of the stream and flushes it to the client.
type Sender interface {
	// Event sends an event whose payload is the JSON document payload.
	Event(eventType string, payload []byte) error
}

// JSON encodes v for Event.
func JSON(v any) ([]byte, error) { return json.Marshal(v) }

// Writer frames events onto an HTTP response. It is used by one goroutine.
type Writer struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	enc     *eventstream.Encoder
	buf     bytes.Buffer
	timeout func(n int) time.Duration // nil: no write deadline
}

// SetWriteTimeout gives every event a write deadline: the client must take
// an event of n bytes within timeout(n), else the write fails and the
// connection (or HTTP/2 stream) is closed. A stream that waits for records
// has no deadline between events.
func (e *Writer) SetWriteTimeout(timeout func(n int) time.Duration) { e.timeout = timeout }

// NewWriter starts an event-stream response: 200, the content type, and a
// flush so the client sees the headers at once.
func NewWriter(w http.ResponseWriter) (*Writer, error) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(http.StatusOK)
	ew := &Writer{w: w, rc: http.NewResponseController(w), enc: eventstream.NewEncoder()}
	return ew, ew.rc.Flush()
}

// Event sends an event.
func (e *Writer) Event(eventType string, payload []byte) error {
	return e.send(eventstream.Message{Headers: eventstream.Headers{
		{Name: ":message-type", Value: eventstream.StringValue("event")},
		{Name: ":event-type", Value: eventstream.StringValue(eventType)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
	}, Payload: payload})
}

// Exception sends an exception event (the stream's last).
func (e *Writer) Exception(name, message string) error {
	payload, _ := json.Marshal(map[string]string{"message": message})
	return e.send(eventstream.Message{Headers: eventstream.Headers{
		{Name: ":message-type", Value: eventstream.StringValue("exception")},
		{Name: ":exception-type", Value: eventstream.StringValue(name)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
	}, Payload: payload})
}

func (e *Writer) send(m eventstream.Message) error {
	e.buf.Reset()
	if err := e.enc.Encode(&e.buf, m); err != nil {
		return err
	}
	timed := e.timeout != nil && e.rc.SetWriteDeadline(time.Now().Add(e.timeout(e.buf.Len()))) == nil
	if _, err := e.w.Write(e.buf.Bytes()); err != nil {
		return err
	}
	if err := e.rc.Flush(); err != nil {
		return err
	}
	if timed {
		e.rc.SetWriteDeadline(time.Time{})
	}
	return nil
}

// Serve runs st on w until it returns, ctx ends or draining closes (server
// shutdown must not wait for long-lived streams). A stream error that is not
// the end of ctx is sent as an exception event named by exception. Each
// event must be taken within writeTimeout(its size) (nil: no deadline).
func Serve(ctx context.Context, w http.ResponseWriter, draining <-chan struct{}, st Streamer, writeTimeout func(n int) time.Duration, exception func(error) (name, message string)) {
	ew, err := NewWriter(w)
	if err != nil {
		return
	}
	ew.SetWriteTimeout(writeTimeout)
	if draining != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() { // ends with the stream: cancel runs on return
			select {
			case <-draining:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	err = st.Stream(ctx, ew)
	if err == nil || ctx.Err() != nil {
		return
	}
	name, msg := exception(err)
	ew.Exception(name, msg)
}
