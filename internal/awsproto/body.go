package awsproto

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/awserr"
)

// errNoRoom: the budget had no room for the next part of a body.
var errNoRoom = errors.New("awsproto: no room in the memory budget")

// ReadRequestBody reads a buffered request body for an operation capped at
// maxBody bytes. The body draws on the call's hold as it arrives, in steps
// of what has been received (64 KiB to 1 MiB), never by what
// Content-Length announces: a client that announces 16 MiB and trickles
// holds what it sent. The body must arrive within the body timeout and, once
// the grace period has passed, at MinDataRate on average. A body announced
// or found over the cap is refused without being buffered. On success done
// recycles the buffer (call it when the body is no longer used; the bytes
// stay in the hold until the call ends); on error done is nil, aerr is the
// answer to write, and the connection is marked to close (the rest of the
// body is not drained).
func (e *Env) ReadRequestBody(w http.ResponseWriter, r *http.Request, hold *Hold, maxBody int64) (body []byte, done func(), aerr *awserr.Error) {
	tooLarge := func() (_ []byte, _ func(), aerr *awserr.Error) {
		w.Header().Set("Connection", "close")
		return nil, nil, awserr.New(awserr.RequestEntityTooLarge, "Request body is too large: the limit for this operation is "+strconv.FormatInt(maxBody, 10)+" bytes.")
	}
	if r.ContentLength > maxBody {
		return tooLarge()
	}
	rc := http.NewResponseController(w)
	body, err := e.readBody(r, rc, hold, maxBody)
	if err != nil {
		// Truncated, cut, too slow, or no room. The read deadline stays, so
		// that net/http's discard of an unread rest fails at once.
		putBody(body)
		w.Header().Set("Connection", "close")
		if errors.Is(err, errNoRoom) {
			w.Header().Set("Retry-After", "1")
			return nil, nil, awserr.New(awserr.ServiceUnavailable, "The server is busy: too many request bytes in flight. Retry.")
		}
		return nil, nil, awserr.New(awserr.Serialization, "")
	}
	// The body is in: no deadline on the connection while the handler
	// runs (an event stream's response outlives any body timeout).
	rc.SetReadDeadline(time.Time{}) // ErrNotSupported off a real connection
	if int64(len(body)) > maxBody {
		putBody(body)
		return tooLarge()
	}
	return body, func() { putBody(body) }, nil
}

// readBody reads at most maxBody+1 bytes of the body (so that an oversized one
// shows as one byte too many), growing the hold before each read by what
// the read may add and moving the read deadline so that the body keeps up
// with MinDataRate after the grace period and ends within the body timeout.
func (e *Env) readBody(r *http.Request, rc *http.ResponseController, hold *Hold, maxBody int64) ([]byte, error) {
	limit := maxBody + 1
	if r.ContentLength >= 0 {
		limit = min(limit, r.ContentLength+1) // one byte of room to see the end
	}
	var buf []byte
	if v := bodyPool.Get(); v != nil {
		buf = v.([]byte)
	}
	start := time.Now()
	end := start.Add(e.Timeout())
	rate, grace := float64(e.DataRate()), e.Grace()
	var room int64 // bytes of the hold the body may fill
	for int64(len(buf)) < limit {
		if int64(len(buf)) == room {
			step := min(limitStep(room), limit-room)
			if !hold.Grow(r.Context(), step) {
				return buf, errNoRoom
			}
			room += step
		}
		if int64(cap(buf)) < room {
			grown := make([]byte, len(buf), min(limit, max(2*int64(cap(buf)), room)))
			copy(grown, buf)
			buf = grown
		}
		// At len(buf) bytes the body has kept up until start+len/rate: if
		// nothing more comes by then (or by the grace period's end, or the
		// timeout), it is too slow.
		deadline := start.Add(max(grace, time.Duration(float64(len(buf))/rate*float64(time.Second))))
		if deadline.After(end) {
			deadline = end
		}
		rc.SetReadDeadline(deadline)
		n, err := r.Body.Read(buf[len(buf):room])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// limitStep is how much more of the budget a body that has room bytes asks
// for next: as much again as it has (so a trickling client holds at most
// twice what it sent), at least 64 KiB, at most 1 MiB.
func limitStep(room int64) int64 { return min(max(room, 64<<10), 1<<20) }

// bodyPool recycles request body buffers (bodies of the hot operations are
// up to several MiB; the decoders copy what they keep).
var bodyPool sync.Pool

// putBody returns a body buffer to the pool.
func putBody(b []byte) {
	if cap(b) >= 64<<10 && cap(b) <= 32<<20 {
		bodyPool.Put(b[:0]) //nolint:staticcheck // slices are fine here
	}
}

// WriteBody writes a buffered response: status and b (the caller has set
// the other headers; Content-Length is set here). While it is written, b
// counts against the call's hold: the part reserved with ReserveResponse is
// settled to len(b), and more is taken only if there is room (a computed
// answer is never refused here). The client must take b within
// WriteDeadline(len(b)), else the connection is closed.
func (e *Env) WriteBody(w http.ResponseWriter, hold *Hold, status int, b []byte) {
	if hold != nil {
		hold.settleResponse(int64(len(b)))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	rc := http.NewResponseController(w)
	timed := rc.SetWriteDeadline(time.Now().Add(e.WriteDeadline(len(b)))) == nil
	w.WriteHeader(status)
	if len(b) > 0 {
		if _, err := w.Write(b); err != nil {
			return // the connection is broken and will close
		}
	}
	if timed && rc.Flush() == nil {
		// Taken in time: the next response on the connection gets its own.
		rc.SetWriteDeadline(time.Time{})
	}
}
