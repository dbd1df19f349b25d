package awsproto

import (
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/awserr"
)

// ReadRequestBody reads a buffered request body for an operation capped at
// maxBody bytes: it reserves room in the memory budget first (the declared
// length, or the cap), reads within the body timeout, and refuses an
// oversized body without buffering it. On success done releases the
// reservation and recycles the buffer (call it when the body is no longer
// used); on error done is nil and aerr is the answer to write (the
// connection is marked to close when the body was cut or too large).
func (e *Env) ReadRequestBody(w http.ResponseWriter, r *http.Request, maxBody int64) (body []byte, done func(), aerr *awserr.Error) {
	reserve := maxBody
	if r.ContentLength >= 0 && r.ContentLength < maxBody {
		reserve = r.ContentLength
	}
	release, ok := e.Budget.Reserve(r.Context(), reserve)
	if !ok {
		w.Header().Set("Retry-After", "1")
		return nil, nil, awserr.New(awserr.ServiceUnavailable, "The server is busy: too many request bytes in flight. Retry.")
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(e.Timeout())) // ErrNotSupported off a real connection
	body, err := ReadBody(r, maxBody)
	if err != nil {
		// Truncated, cut or timed out. The deadline stays, so that
		// net/http's discard of an unread rest fails at once and the
		// connection closes.
		PutBody(body)
		release()
		w.Header().Set("Connection", "close")
		return nil, nil, awserr.New(awserr.Serialization, "")
	}
	// The body is in: no deadline on the connection while the handler
	// runs (an event stream's response outlives any body timeout).
	rc.SetReadDeadline(time.Time{})
	if int64(len(body)) > maxBody {
		PutBody(body)
		release()
		w.Header().Set("Connection", "close")
		return nil, nil, awserr.New(awserr.RequestEntityTooLarge, "Request body is too large: the limit for this operation is "+strconv.FormatInt(maxBody, 10)+" bytes.")
	}
	return body, func() { PutBody(body); release() }, nil
}

// bodyPool recycles request body buffers (bodies of the hot operations are
// up to several MiB; the decoders copy what they keep).
var bodyPool sync.Pool

// PutBody returns a buffer from ReadBody to the pool.
func PutBody(b []byte) {
	if cap(b) >= 64<<10 && cap(b) <= 32<<20 {
		bodyPool.Put(b[:0]) //nolint:staticcheck // slices are fine here
	}
}

// ReadBody reads at most max+1 bytes of the body into a pooled buffer sized
// from Content-Length when it is known (so a caller sees an oversized body
// as one byte too many, without buffering it).
func ReadBody(r *http.Request, max int64) ([]byte, error) {
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
