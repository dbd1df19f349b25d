package awsproto

import (
	"io"
	"net/http"
	"sync"
)

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
