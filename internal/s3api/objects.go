package s3api

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/objectstore"
)

// The object operations.
var (
	opPutObject     = op{name: "PutObject", action: "s3:PutObject", streamed: true, handle: (*API).putObject}
	opGetObject     = op{name: "GetObject", action: "s3:GetObject", handle: (*API).getObject}
	opHeadObject    = op{name: "HeadObject", action: "s3:GetObject", handle: (*API).getObject}
	opDeleteObject  = op{name: "DeleteObject", action: "s3:DeleteObject", handle: (*API).deleteObject}
	opDeleteObjects = op{name: "DeleteObjects", action: "s3:DeleteObject", handle: (*API).deleteObjects}
	opCopyObject    = op{name: "CopyObject", action: "s3:PutObject", handle: (*API).copyObject}
)

// maxUserMetadata is S3's limit on the user metadata of an object (names
// and values, in bytes).
const maxUserMetadata = 2048

// objectMeta reads what the request says about the object it writes: the
// content headers and the user metadata (x-amz-meta-*).
func objectMeta(h http.Header) (objectstore.ObjectMeta, *s3Error) {
	m := objectstore.ObjectMeta{
		ContentType: h.Get("Content-Type"), ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage: h.Get("Content-Language"), CacheControl: h.Get("Cache-Control"), Expires: h.Get("Expires"),
	}
	// aws-chunked is the transfer's encoding, not the object's.
	var enc []string
	for _, e := range strings.Split(h.Get("Content-Encoding"), ",") {
		if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
			enc = append(enc, e)
		}
	}
	m.ContentEncoding = strings.Join(enc, ",")
	size := 0
	for k, vs := range h {
		name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-")
		if !ok {
			continue
		}
		if m.Metadata == nil {
			m.Metadata = map[string]string{}
		}
		v := strings.Join(vs, ",")
		m.Metadata[name] = v
		size += len(name) + len(v)
	}
	if size > maxUserMetadata {
		return m, newError("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size").
			with("Size", strconv.Itoa(size)).with("MaxSizeAllowed", strconv.Itoa(maxUserMetadata))
	}
	return m, nil
}

// isSHA256Hex reports whether s is a hex SHA-256 (a signed payload hash).
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i])) {
			return false
		}
	}
	return true
}

// upload is a streamed request body as the store takes it.
type upload struct {
	body     io.Reader
	size     int64
	md5      []byte
	sha256   string
	checksum *objectstore.Checksum
	done     func() // clears the read deadline
}

// checksumOf reads the additional checksum of a request: a header
// x-amz-checksum-<algorithm>, or one named by x-amz-trailer, which an
// aws-chunked body carries after its data.
func checksumOf(h http.Header, chunks *chunkedReader) (*objectstore.Checksum, *s3Error) {
	trailer := strings.ToLower(strings.TrimSpace(h.Get("X-Amz-Trailer")))
	var found *objectstore.Checksum
	for _, alg := range objectstore.ChecksumAlgorithms() {
		name := "x-amz-checksum-" + strings.ToLower(alg)
		var c *objectstore.Checksum
		switch {
		case h.Get(name) != "":
			c = &objectstore.Checksum{Algorithm: alg, Value: h.Get(name)}
		case trailer == name && chunks != nil:
			c = &objectstore.Checksum{Algorithm: alg, Trailer: func() string { return chunks.Trailers()[name] }}
		default:
			continue
		}
		if found != nil {
			return nil, newError("InvalidRequest", 400, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		found = c
	}
	return found, nil
}

// echoChecksum answers the checksum a body was verified against.
func echoChecksum(h http.Header, c *objectstore.Checksum) {
	if c == nil {
		return
	}
	v := c.Value
	if v == "" && c.Trailer != nil {
		v = c.Trailer()
	}
	h.Set("x-amz-checksum-"+strings.ToLower(c.Algorithm), v)
}

// streamedBody returns the request body of PutObject or UploadPart:
// decoded if it is aws-chunked, read at no less than the minimum data rate
// (after the grace period), with its length and what to check it against
// (Content-MD5, the signed SHA-256). The call's budget takes the buffer it
// streams through.
func (c *call) streamedBody(ctx context.Context) (upload, error) {
	h := c.r.Header
	var u upload
	var serr *s3Error
	if v := h.Get("Content-MD5"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 16 {
			return u, newError("InvalidDigest", 400, "The Content-MD5 you specified was invalid.")
		}
		u.md5 = b
	}
	claim := h.Get("X-Amz-Content-Sha256")
	if isSHA256Hex(claim) {
		u.sha256 = claim
	}
	rc := http.NewResponseController(c.w)
	dr := &deadlineReader{r: c.r.Body, rc: rc, start: time.Now(), rate: float64(c.env.DataRate()), grace: c.env.Grace()}
	u.body, u.size = dr, c.r.ContentLength
	u.done = func() { rc.SetReadDeadline(time.Time{}) }
	chunked := strings.HasPrefix(claim, "STREAMING-")
	for _, e := range strings.Split(h.Get("Content-Encoding"), ",") {
		chunked = chunked || strings.EqualFold(strings.TrimSpace(e), "aws-chunked")
	}
	if chunked {
		n, err := strconv.ParseInt(h.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		if err != nil || n < 0 {
			return u, newError("MissingContentLength", 411, "You must provide the Content-Length HTTP header.")
		}
		cr := newChunkedReader(dr)
		u.body, u.size = cr, n
		if u.checksum, serr = checksumOf(h, cr); serr != nil {
			return u, serr
		}
	} else if u.checksum, serr = checksumOf(h, nil); serr != nil {
		return u, serr
	}
	if u.size < 0 {
		return u, newError("MissingContentLength", 411, "You must provide the Content-Length HTTP header.")
	}
	if u.size > objectstore.MaxObjectSize {
		return u, newError("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size").
			with("ProposedSize", strconv.FormatInt(u.size, 10)).with("MaxSizeAllowed", strconv.FormatInt(objectstore.MaxObjectSize, 10))
	}
	if !c.req.Hold.Grow(ctx, copyBuf) {
		return u, errSlowDown()
	}
	return u, nil
}

// deadlineReader holds a streamed body to the minimum data rate: after
// the grace period, the body must have arrived at rate bytes per second on
// average since it started, or the read times out and the connection
// closes.
type deadlineReader struct {
	r     io.Reader
	rc    *http.ResponseController
	start time.Time
	n     int64
	rate  float64
	grace time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.rc.SetReadDeadline(d.start.Add(max(d.grace, time.Duration(float64(d.n)/d.rate*float64(time.Second)))))
	n, err := d.r.Read(p)
	d.n += int64(n)
	return n, err
}

func (a *API) putObject(ctx context.Context, c *call) error {
	meta, serr := objectMeta(c.r.Header)
	if serr != nil {
		return serr
	}
	// Conditional writes: If-None-Match: * stores only a new key (412
	// PreconditionFailed otherwise); other values are not served for PUT.
	inm := c.r.Header.Get("If-None-Match")
	if inm != "" && inm != "*" {
		return newError("NotImplemented", 501, "A header you provided implies functionality that is not implemented").with("Header", "If-None-Match")
	}
	u, err := c.streamedBody(ctx)
	if err != nil {
		return err
	}
	defer u.done()
	info, err := a.store.Put(ctx, objectstore.PutInput{Account: c.account, Bucket: c.bucket, Key: c.key, Body: u.body, Size: u.size,
		ObjectMeta: meta, ContentMD5: u.md5, SHA256: u.sha256, Checksum: u.checksum, IfNoneMatch: inm == "*"})
	if err != nil {
		return err
	}
	c.w.Header().Set("ETag", info.ETag)
	echoChecksum(c.w.Header(), u.checksum)
	return c.empty(http.StatusOK)
}

// setObjectHeaders writes an object's description as GetObject and
// HeadObject answer it, with the response-* overrides of the query.
func setObjectHeaders(h http.Header, info objectstore.ObjectInfo, q url.Values) {
	h.Set("ETag", info.ETag)
	h.Set("Last-Modified", info.Modified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	ct := info.ContentType
	if ct == "" {
		ct = "binary/octet-stream" // S3's default
	}
	for _, f := range []struct{ header, value, override string }{
		{"Content-Type", ct, "response-content-type"},
		{"Content-Encoding", info.ContentEncoding, "response-content-encoding"},
		{"Content-Disposition", info.ContentDisposition, "response-content-disposition"},
		{"Content-Language", info.ContentLanguage, "response-content-language"},
		{"Cache-Control", info.CacheControl, "response-cache-control"},
		{"Expires", info.Expires, "response-expires"},
	} {
		v := f.value
		if o := q.Get(f.override); o != "" {
			v = o
		}
		if v != "" {
			h.Set(f.header, v)
		}
	}
	for k, v := range info.Metadata {
		h["x-amz-meta-"+k] = []string{v}
	}
}

// etagMatches reports whether an If-Match / If-None-Match list names etag.
func etagMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimPrefix(strings.TrimSpace(e), "W/")
		if e == "*" || strings.Trim(e, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// preconditions applies the conditional headers of a GET or HEAD in S3's
// order: If-Match, If-Unmodified-Since (412); If-None-Match,
// If-Modified-Since (304, notModified).
func preconditions(h http.Header, info objectstore.ObjectInfo) (notModified bool, err *s3Error) {
	mod := info.Modified.Truncate(time.Second)
	failed := func(cond string) *s3Error {
		return newError("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold").with("Condition", cond)
	}
	im := h.Get("If-Match")
	if im != "" && !etagMatches(im, info.ETag) {
		return false, failed("If-Match")
	}
	if t, perr := http.ParseTime(h.Get("If-Unmodified-Since")); im == "" && perr == nil && mod.After(t) {
		return false, failed("If-Unmodified-Since")
	}
	inm := h.Get("If-None-Match")
	if inm != "" && etagMatches(inm, info.ETag) {
		return true, nil
	}
	if t, perr := http.ParseTime(h.Get("If-Modified-Since")); inm == "" && perr == nil && !mod.After(t) {
		return true, nil
	}
	return false, nil
}

// parseRange reads a Range header against an object of size bytes. A
// header S3 would ignore (not bytes=, several ranges, malformed) gives
// ok=false; a range that starts past the end is InvalidRange.
func parseRange(v string, size int64) (off, n int64, ok bool, err *s3Error) {
	spec, found := strings.CutPrefix(v, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, nil
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, nil
	}
	if a == "" {
		suffix, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || suffix <= 0 {
			return 0, 0, false, nil
		}
		if size == 0 {
			return 0, 0, false, errInvalidRange(size, v)
		}
		suffix = min(suffix, size)
		return size - suffix, suffix, true, nil
	}
	start, perr := strconv.ParseInt(a, 10, 64)
	if perr != nil || start < 0 {
		return 0, 0, false, nil
	}
	end := size - 1
	if b != "" {
		e, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || e < start {
			return 0, 0, false, nil
		}
		end = min(e, size-1)
	}
	if start >= size {
		return 0, 0, false, errInvalidRange(size, v)
	}
	return start, end - start + 1, true, nil
}

// getObject serves GetObject and HeadObject: conditions, a part or a
// range, the object's headers, and (for GET) its bytes streamed from disk.
func (a *API) getObject(ctx context.Context, c *call) error {
	o, err := a.store.OpenObject(ctx, c.account, c.bucket, c.key)
	if err != nil {
		return err
	}
	defer o.Close()
	info := o.Info
	notModified, serr := preconditions(c.r.Header, info)
	if serr != nil {
		return serr
	}
	h := c.w.Header()
	if notModified {
		h.Set("ETag", info.ETag)
		h.Set("Last-Modified", info.Modified.UTC().Format(http.TimeFormat))
		c.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	off, n, status := int64(0), info.Size, http.StatusOK
	if pn := c.q.Get("partNumber"); pn != "" {
		num, perr := strconv.Atoi(pn)
		if perr != nil || num < 1 || num > objectstore.MaxParts {
			return errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive")
		}
		var ok bool
		if off, n, ok = o.PartRange(num); !ok {
			return errInvalidRange(info.Size, "part "+pn)
		}
		parts := max(info.Parts, 1)
		h.Set("x-amz-mp-parts-count", strconv.Itoa(parts))
		status = http.StatusPartialContent
	} else if rg := c.r.Header.Get("Range"); rg != "" {
		ro, rn, ok, serr := parseRange(rg, info.Size)
		if serr != nil {
			return serr
		}
		if ok {
			off, n, status = ro, rn, http.StatusPartialContent
		}
	}
	if status == http.StatusPartialContent {
		last := off + n - 1
		if n == 0 {
			last = off
		}
		h.Set("Content-Range", "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(last, 10)+"/"+strconv.FormatInt(info.Size, 10))
	}
	setObjectHeaders(h, info, c.q)
	if info.Checksum != "" && status == http.StatusOK && strings.EqualFold(c.r.Header.Get("x-amz-checksum-mode"), "ENABLED") {
		h.Set("x-amz-checksum-"+strings.ToLower(info.ChecksumAlgorithm), info.Checksum)
		h.Set("x-amz-checksum-type", "FULL_OBJECT")
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(status)
		return nil
	}
	if !c.req.Hold.Grow(ctx, copyBuf) {
		return errSlowDown()
	}
	c.w.WriteHeader(status)
	c.send(ctx, o.Range(off, n))
	return nil
}

// send copies an answer's bytes to the client through one buffer, each
// write within the environment's write deadline for its size; it stops
// when the client goes or falls behind, and cuts the connection when the
// server drains (the announced length cannot be met then).
func (c *call) send(ctx context.Context, src io.Reader) {
	rc := http.NewResponseController(c.w)
	buf := make([]byte, copyBuf)
	for ctx.Err() == nil {
		select {
		case <-c.env.Draining:
			panic(http.ErrAbortHandler)
		default:
		}
		n, err := io.ReadFull(src, buf)
		if n > 0 {
			timed := rc.SetWriteDeadline(time.Now().Add(c.env.WriteDeadline(n))) == nil
			if _, werr := c.w.Write(buf[:n]); werr != nil {
				return
			}
			if timed {
				rc.SetWriteDeadline(time.Time{})
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				c.env.Log().Error("reading an object failed", "bucket", c.bucket, "key", c.key, "err", err)
				panic(http.ErrAbortHandler) // the length was announced: cut the connection
			}
			return
		}
	}
}

func (a *API) deleteObject(ctx context.Context, c *call) error {
	if err := a.store.DeleteObject(ctx, c.account, c.bucket, c.key); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}

func (a *API) deleteObjects(ctx context.Context, c *call) error {
	var req deleteRequest
	if err := decodeXML(c.body, &req); err != nil || len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return errMalformedXML()
	}
	if _, err := a.store.HeadBucket(ctx, c.account, c.bucket); err != nil {
		return err
	}
	res := deleteResult{Xmlns: xmlns}
	for _, o := range req.Objects {
		if err := a.store.DeleteObject(ctx, c.account, c.bucket, o.Key); err != nil {
			se := toS3(err)
			res.Errors = append(res.Errors, deleteErrItem{Key: o.Key, Code: se.Code, Message: se.Message})
			continue
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, deletedEntry{Key: o.Key})
		}
	}
	return c.xml(http.StatusOK, res)
}

// copySource reads x-amz-copy-source: "bucket/key" or "/bucket/key",
// URL-encoded, with an optional ?versionId= (ignored: no versioning).
func copySource(v string) (bucket, key string, err *s3Error) {
	v, _, _ = strings.Cut(v, "?versionId=")
	dec, uerr := url.PathUnescape(v)
	if uerr != nil {
		return "", "", errInvalidArgument("Invalid copy source encoding.")
	}
	bucket, key, _ = strings.Cut(strings.TrimPrefix(dec, "/"), "/")
	if bucket == "" || key == "" {
		return "", "", errInvalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	return bucket, key, nil
}

func (a *API) copyObject(ctx context.Context, c *call) error {
	sb, sk, serr := copySource(c.r.Header.Get("x-amz-copy-source"))
	if serr != nil {
		return serr
	}
	var meta *objectstore.ObjectMeta
	switch d := c.r.Header.Get("x-amz-metadata-directive"); d {
	case "", "COPY":
		if sb == c.bucket && sk == c.key {
			return newError("InvalidRequest", 400, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
		}
	case "REPLACE":
		m, serr := objectMeta(c.r.Header)
		if serr != nil {
			return serr
		}
		meta = &m
	default:
		return errInvalidArgument("Unknown metadata directive.")
	}
	if !c.req.Hold.Grow(ctx, copyBuf) {
		return errSlowDown()
	}
	info, err := a.store.CopyObject(ctx, c.account, sb, sk, c.bucket, c.key, meta)
	if err != nil {
		return err
	}
	return c.xml(http.StatusOK, copyObjectResult{Xmlns: xmlns, LastModified: xmlTime(info.Modified), ETag: info.ETag})
}
