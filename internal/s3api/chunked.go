package s3api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// errBadChunk reports an aws-chunked body that does not follow the format.
var errBadChunk = errors.New("s3api: malformed aws-chunked body")

// Limits of the aws-chunked decoder: a header or trailer line, the number
// of trailer lines, and the digits of a chunk size.
const (
	maxChunkLine   = 4096
	maxTrailers    = 16
	maxChunkDigits = 16
)

// chunkedReader decodes an aws-chunked request body (Content-Encoding
// aws-chunked; X-Amz-Content-Sha256 STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
// STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER):
//
//	chunk     = hex-size [";chunk-signature=" 64HEX] CRLF data CRLF
//	last      = "0" [";chunk-signature=" 64HEX] CRLF
//	trailers  = *(name ":" value CRLF)
//	end       = CRLF
//
// It returns the data and, after io.EOF, the trailers (names lower case).
// Chunk signatures are read but not verified: the request's own signature
// is (the seed), and the payload is checked against the decoded length and
// any checksum. Memory is bounded by one line (maxChunkLine).
type chunkedReader struct {
	r        *bufio.Reader
	left     int64 // data bytes left in the current chunk
	started  bool  // a chunk header has been read
	err      error // sticky
	trailers map[string]string
}

func newChunkedReader(r io.Reader) *chunkedReader {
	return &chunkedReader{r: bufio.NewReaderSize(r, maxChunkLine)}
}

// Trailers returns the trailing headers, once Read has returned io.EOF.
func (c *chunkedReader) Trailers() map[string]string { return c.trailers }

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 {
		if c.started {
			if err := c.crlf(); err != nil {
				return 0, c.fail(err)
			}
		}
		n, err := c.header()
		if err != nil {
			return 0, c.fail(err)
		}
		c.started = true
		if n == 0 {
			if err := c.readTrailers(); err != nil {
				return 0, c.fail(err)
			}
			c.err = io.EOF
			return 0, io.EOF
		}
		c.left = n
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, c.fail(err)
	}
	return n, nil
}

// fail makes err sticky: a body that ends early is malformed
// (errBadChunk); an error of the underlying body (a timeout) stays itself.
func (c *chunkedReader) fail(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: the body ends early", errBadChunk)
	}
	c.err = err
	return err
}

// bad is a format error.
func bad(msg string) error { return fmt.Errorf("%w: %s", errBadChunk, msg) }

// line reads one CRLF-terminated line (without it).
func (c *chunkedReader) line() ([]byte, error) {
	b, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, bad("line too long")
	}
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[len(b)-2] != '\r' {
		return nil, bad("line not ended by CRLF")
	}
	return b[:len(b)-2], nil
}

// crlf reads the CRLF that ends a chunk's data.
func (c *chunkedReader) crlf() error {
	b, err := c.line()
	if err != nil {
		return err
	}
	if len(b) != 0 {
		return bad("chunk data longer than its size")
	}
	return nil
}

// header reads a chunk header and returns the chunk's size.
func (c *chunkedReader) header() (int64, error) {
	b, err := c.line()
	if err != nil {
		return 0, err
	}
	size, ext, _ := bytes.Cut(b, []byte(";"))
	if len(size) == 0 || len(size) > maxChunkDigits {
		return 0, bad("bad chunk size")
	}
	n, err := strconv.ParseInt(string(size), 16, 64)
	if err != nil || n < 0 {
		return 0, bad("bad chunk size")
	}
	if len(ext) > 0 {
		k, _, ok := bytes.Cut(ext, []byte("="))
		if !ok || string(k) != "chunk-signature" {
			return 0, bad("bad chunk extension")
		}
	}
	return n, nil
}

// readTrailers reads the trailing headers after the last chunk, up to the
// empty line that ends the body. A body that ends right after the last
// chunk's header is accepted.
func (c *chunkedReader) readTrailers() error {
	c.trailers = map[string]string{}
	for i := 0; ; i++ {
		if i == 0 {
			if _, err := c.r.Peek(1); err == io.EOF {
				return nil
			}
		}
		b, err := c.line()
		if err != nil {
			return err
		}
		if len(b) == 0 {
			return nil
		}
		if i == maxTrailers {
			return bad("too many trailers")
		}
		k, v, ok := strings.Cut(string(b), ":")
		if !ok || k == "" {
			return bad("bad trailer")
		}
		c.trailers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
}
