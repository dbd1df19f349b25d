package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/objectstore"
)

// s3Error is an S3 error: its code, status and message, and the elements
// S3 adds for it (Key, BucketName, UploadId, ActualObjectSize...).
type s3Error struct {
	Code    string
	Status  int
	Message string
	Extra   []xmlField
	Cause   error // logged for a 5xx, never sent
}

type xmlField struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func (e *s3Error) Error() string { return e.Code + ": " + e.Message }
func (e *s3Error) Unwrap() error { return e.Cause }

// with adds an element to the error body.
func (e *s3Error) with(name, value string) *s3Error {
	e.Extra = append(e.Extra, xmlField{XMLName: xml.Name{Local: name}, Value: value})
	return e
}

func newError(code string, status int, msg string) *s3Error {
	return &s3Error{Code: code, Status: status, Message: msg}
}

// The S3 errors Rheos answers beyond the store's (statuses as S3 gives them).
func errInvalidArgument(msg string) *s3Error { return newError("InvalidArgument", 400, msg) }
func errMalformedXML() *s3Error {
	return newError("MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema")
}
func errNotImplemented(what string) *s3Error {
	return newError("NotImplemented", 501, "A header or query you provided implies functionality that is not implemented: "+what)
}

// errSlowDown: no room in the call's memory budget for its buffer.
func errSlowDown() *s3Error { return newError("SlowDown", 503, "Please reduce your request rate.") }

func errInvalidRange(size int64, rng string) *s3Error {
	return newError("InvalidRange", 416, "The requested range is not satisfiable").
		with("RangeRequested", rng).with("ActualObjectSize", strconv.FormatInt(size, 10))
}

// storeErrors is the one table from the store's errors to S3's.
var storeErrors = []struct {
	err     error
	code    string
	status  int
	message string
}{
	{objectstore.ErrNoSuchBucket, "NoSuchBucket", 404, "The specified bucket does not exist"},
	{objectstore.ErrNoSuchKey, "NoSuchKey", 404, "The specified key does not exist."},
	{objectstore.ErrObjectExists, "PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold"},
	{objectstore.ErrNoSuchUpload, "NoSuchUpload", 404, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."},
	{objectstore.ErrBucketAlreadyExists, "BucketAlreadyExists", 409, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."},
	{objectstore.ErrBucketAlreadyOwned, "BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it."},
	{objectstore.ErrBucketNotEmpty, "BucketNotEmpty", 409, "The bucket you tried to delete is not empty"},
	{objectstore.ErrInvalidBucketName, "InvalidBucketName", 400, "The specified bucket is not valid."},
	{objectstore.ErrInvalidKey, "InvalidArgument", 400, "Object keys must be 1 to 1024 bytes of UTF-8."},
	{objectstore.ErrKeyTooLong, "KeyTooLongError", 400, "Your key is too long"},
	{objectstore.ErrAccessDenied, "AccessDenied", 403, "Access Denied"},
	{objectstore.ErrInvalidPart, "InvalidPart", 400, "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."},
	{objectstore.ErrInvalidPartOrder, "InvalidPartOrder", 400, "The list of parts was not in ascending order. The parts list must be specified in order by part number."},
	{objectstore.ErrInvalidPartNumber, "InvalidArgument", 400, "Part number must be an integer between 1 and 10000, inclusive"},
	{objectstore.ErrEntityTooSmall, "EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size."},
	{objectstore.ErrEntityTooLarge, "EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size"},
	{objectstore.ErrBadDigest, "BadDigest", 400, "The Content-MD5 you specified did not match what we received."},
	{objectstore.ErrContentSHA256, "XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed."},
	{objectstore.ErrIncompleteBody, "IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header"},
	{objectstore.ErrMalformedCompleteReq, "MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema"},
	{errBadChunk, "IncompleteBody", 400, "The aws-chunked request body is malformed or incomplete."},
}

// sharedErrors maps the exceptions every front end shares (signature,
// budget, protocol) to the codes S3 answers them with.
var sharedErrors = map[string]struct {
	code   string
	status int
	msg    string // "" keeps the exception's message
}{
	awserr.InvalidSignature.Name:           {"SignatureDoesNotMatch", 403, ""},
	awserr.IncompleteSignature.Name:        {"AuthorizationHeaderMalformed", 400, ""},
	awserr.MissingAuthenticationToken.Name: {"AccessDenied", 403, "Access Denied"},
	awserr.UnrecognizedClient.Name:         {"InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."},
	awserr.AccessDenied.Name:               {"AccessDenied", 403, ""},
	awserr.InternalFailure.Name:            {"InternalError", 500, "We encountered an internal error. Please try again."},
	awserr.ServiceUnavailable.Name:         {"SlowDown", 503, "Please reduce your request rate."},
	awserr.RequestEntityTooLarge.Name:      {"MaxMessageLengthExceeded", 400, "Your request was too big."},
	awserr.Serialization.Name:              {"RequestTimeout", 400, "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."},
	awserr.UnknownOperation.Name:           {"NotImplemented", 501, ""},
	awserr.Validation.Name:                 {"InvalidArgument", 400, ""},
	awserr.UnknownService.Name:             {"InvalidRequest", 400, ""},
}

// toS3 converts any error a handler or the protocol layer returns.
func toS3(err error) *s3Error {
	var se *s3Error
	if errors.As(err, &se) {
		return se
	}
	for _, m := range storeErrors {
		if errors.Is(err, m.err) {
			return &s3Error{Code: m.code, Status: m.status, Message: m.message, Cause: err}
		}
	}
	var ae *awserr.Error
	if errors.As(err, &ae) {
		if m, ok := sharedErrors[ae.Name]; ok {
			msg := m.msg
			if msg == "" {
				msg = ae.Message
			}
			return &s3Error{Code: m.code, Status: m.status, Message: msg, Cause: ae.Cause}
		}
		return &s3Error{Code: ae.Name, Status: ae.StatusIn(awserr.REST), Message: ae.Message, Cause: ae.Cause}
	}
	return &s3Error{Code: "InternalError", Status: 500, Message: "We encountered an internal error. Please try again.", Cause: err}
}

// errorBody is S3's error document.
type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	Extra     []xmlField
	Resource  string
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

// writeError answers with S3's error document (no body for HEAD).
func writeError(w http.ResponseWriter, r *http.Request, e *s3Error) {
	h := w.Header()
	reqID := h.Get("x-amzn-RequestId")
	h.Set("x-amz-request-id", reqID)
	if e.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	b, _ := xml.Marshal(errorBody{Code: e.Code, Message: e.Message, Extra: e.Extra, Resource: r.URL.Path, RequestID: reqID, HostID: h.Get("x-amz-id-2")})
	b = append([]byte(xml.Header), b...)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	w.Write(b)
}
