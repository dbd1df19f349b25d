// Package s3api serves the built-in S3 of Rheos: the S3 REST-XML protocol
// (signing name s3) over internal/objectstore. It owns what S3 alone does on
// the wire: the bucket taken from the path (/bucket/key) or the host
// (bucket.localhost:4566, bucket.s3.<anything>), operations chosen by
// method, sub-resource query and headers, aws-chunked request bodies
// (STREAMING-* payloads, decoded as they stream), XML documents, ranged and
// conditional GETs streamed from disk, and S3's error document
// (<Error><Code>NoSuchKey</Code>...) with each error's status.
//
// Operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
// GetBucketLocation, PutObject, GetObject, HeadObject, DeleteObject,
// DeleteObjects, CopyObject, ListObjectsV2, ListObjects, CreateMultipartUpload,
// UploadPart, UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload,
// ListParts, ListMultipartUploads. Anything else is NotImplemented (501).
//
// Bodies of PutObject and UploadPart are never buffered: they stream into
// the store through one buffer counted on the call's memory budget, and a
// payload signed with its SHA-256 is checked as it streams (the signature
// covers the claimed hash; a mismatch is XAmzContentSHA256Mismatch and
// nothing is stored), as are Content-MD5 and an additional checksum
// (x-amz-checksum-*, in a header or an aws-chunked trailer), which a
// single-part object keeps and a GET with checksum mode ENABLED gets back.
// Other request bodies (XML) are read whole, capped.
//
// The package knows the store, the protocol layer and the error catalog;
// it does not know where the store keeps its bytes.
package s3api

import (
	"context"
	"encoding/xml"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/objectstore"
)

// SigningName is S3's SigV4 service name.
const SigningName = "s3"

// maxXMLBody caps the buffered request documents (a CompleteMultipartUpload
// of 10,000 parts is about 1 MiB).
const maxXMLBody = 4 << 20

// copyBuf is the buffer a streamed body or answer goes through, counted on
// the call's budget.
const copyBuf = 256 << 10

// API serves S3 over a store.
type API struct {
	store          *objectstore.Store
	defaultAccount string
}

// New returns the S3 API over store; calls whose identity names no account
// act for defaultAccount.
func New(store *objectstore.Store, defaultAccount string) *API {
	return &API{store: store, defaultAccount: defaultAccount}
}

// Endpoint returns the router entry of S3: requests signed for s3.
func (a *API) Endpoint() awsproto.Endpoint {
	return awsproto.Endpoint{SigningName: SigningName, Handler: a}
}

// WriteError answers a request the router refuses, in S3's error document.
func (a *API) WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	writeError(w, r, toS3(e))
}

// call is one request being served.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	req     *awsproto.Request
	env     *awsproto.Env
	bucket  string
	key     string
	q       url.Values
	body    []byte // the buffered body (not for streamed operations)
	account string // the caller's
	region  string // the caller's (credential scope, or the default)
}

// op is one S3 operation.
type op struct {
	name string
	// action is the IAM action authorized (s3:GetObject...).
	action string
	// streamed operations take their body unbuffered (PutObject, UploadPart).
	streamed bool
	handle   func(a *API, ctx context.Context, c *call) error
}

// ServeAWS serves one S3 request.
func (a *API) ServeAWS(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	env := req.Env
	w.Header().Set("x-amz-request-id", req.ID)
	bucket, key := target(r)
	q := r.URL.Query()
	o, serr := route(r.Method, bucket, key, q, r.Header)
	if serr != nil {
		writeError(w, r, serr)
		return
	}
	c := &call{w: w, r: r, req: req, env: env, bucket: bucket, key: key, q: q}
	ac := &awsproto.Call{Service: SigningName, Op: o.name, RequestID: req.ID, HTTP: r}
	var id awsproto.Identity
	var aerr *awserr.Error
	if o.streamed {
		id, aerr = env.Authenticate(r, nil, SigningName) // the body is checked as it streams
	} else {
		body, done, rerr := env.ReadRequestBody(w, r, req.Hold, maxXMLBody)
		if rerr != nil {
			writeError(w, r, toS3(rerr))
			return
		}
		defer done()
		c.body = body
		id, aerr = env.Authenticate(r, body, SigningName)
	}
	if aerr != nil {
		writeError(w, r, toS3(aerr))
		return
	}
	ac.SetIdentity(id)
	c.account, c.region = ac.Account, ac.Region
	if c.account == "" {
		c.account = a.defaultAccount
	}
	ctx := awsproto.WithRequestID(r.Context(), req.ID)
	start := time.Now()
	err := authorize(ctx, ac, o.action, c.bucket, c.key)
	if err == nil {
		err = o.handle(a, ctx, c)
	}
	env.Finished(ctx, ac, err, start)
	if err != nil {
		se := toS3(err)
		if se.Status >= 500 {
			env.Log().Error("request failed", "service", SigningName, "op", o.name, "request_id", req.ID, "err", err)
		}
		switch se.Code {
		case "NoSuchBucket", "BucketNotEmpty", "BucketAlreadyExists", "BucketAlreadyOwnedByYou", "InvalidBucketName":
			se.with("BucketName", bucket)
		case "NoSuchKey":
			se.with("Key", key)
		case "NoSuchUpload":
			se.with("UploadId", q.Get("uploadId"))
		}
		writeError(w, r, se)
	}
}

// authorize asks the caller's identity for the S3 action on the resource
// AWS authorizes it on: the object (arn:aws:s3:::bucket/key) for object
// operations, the bucket (arn:aws:s3:::bucket) for bucket operations, "*"
// for ListBuckets. S3's ARNs name no account: the server's authorizer takes
// them as the caller's own, and the store refuses buckets of other accounts
// (there are no bucket policies yet).
func authorize(ctx context.Context, c *awsproto.Call, action, bucket, key string) error {
	if c.Authorize == nil {
		return nil
	}
	resource := "*"
	switch {
	case bucket != "" && key != "":
		resource = "arn:aws:s3:::" + bucket + "/" + key
	case bucket != "":
		resource = "arn:aws:s3:::" + bucket
	}
	if aerr := c.Authorize(ctx, action, resource); aerr != nil {
		return aerr
	}
	return nil
}

// target returns the bucket and key a request addresses: virtual-host
// style when the host names a bucket, else path style (/bucket/key).
func target(r *http.Request) (bucket, key string) {
	path := r.URL.Path
	if b := bucketFromHost(r.Host); b != "" {
		return b, strings.TrimPrefix(path, "/")
	}
	path = strings.TrimPrefix(path, "/")
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// bucketFromHost returns the bucket of a virtual-host-style host name:
// "<bucket>.s3.<anything>" (AWS's and LocalStack's forms) or
// "<bucket>.localhost"; "" for any other host (IP addresses, localhost,
// s3.<anything>, a plain server name).
func bucketFromHost(host string) string {
	h := strings.ToLower(host)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	if i := strings.LastIndex(h, ".s3."); i > 0 {
		return h[:i]
	}
	if b, ok := strings.CutSuffix(h, ".localhost"); ok && b != "s3" && !strings.HasPrefix(b, "s3.") {
		return b
	}
	return ""
}

// Sub-resources Rheos does not serve: asked for, they are NotImplemented
// rather than mistaken for the plain operation.
var (
	bucketSubresources = []string{"acl", "cors", "encryption", "lifecycle", "logging", "notification", "object-lock",
		"policy", "policyStatus", "replication", "requestPayment", "tagging", "versioning", "versions", "website",
		"accelerate", "analytics", "inventory", "metrics", "intelligent-tiering", "ownershipControls", "publicAccessBlock"}
	objectSubresources = []string{"acl", "tagging", "retention", "legal-hold", "restore", "select", "attributes", "torrent"}
)

// route picks the operation.
func route(method, bucket, key string, q url.Values, h http.Header) (*op, *s3Error) {
	has := q.Has
	unsupported := func(subs []string) *s3Error {
		for _, s := range subs {
			if has(s) {
				return errNotImplemented("?" + s)
			}
		}
		return nil
	}
	switch {
	case bucket == "":
		if method == http.MethodGet {
			return &opListBuckets, nil
		}
	case key == "":
		if e := unsupported(bucketSubresources); e != nil {
			return nil, e
		}
		switch method {
		case http.MethodGet:
			switch {
			case has("location"):
				return &opGetBucketLocation, nil
			case has("uploads"):
				return &opListMultipartUploads, nil
			case q.Get("list-type") == "2":
				return &opListObjectsV2, nil
			}
			return &opListObjects, nil
		case http.MethodPut:
			return &opCreateBucket, nil
		case http.MethodHead:
			return &opHeadBucket, nil
		case http.MethodDelete:
			return &opDeleteBucket, nil
		case http.MethodPost:
			if has("delete") {
				return &opDeleteObjects, nil
			}
		}
	default:
		if e := unsupported(objectSubresources); e != nil {
			return nil, e
		}
		switch method {
		case http.MethodGet:
			if has("uploadId") {
				return &opListParts, nil
			}
			return &opGetObject, nil
		case http.MethodHead:
			return &opHeadObject, nil
		case http.MethodPut:
			switch {
			case has("uploadId") && h.Get("x-amz-copy-source") != "":
				return &opUploadPartCopy, nil
			case has("uploadId"):
				return &opUploadPart, nil
			case h.Get("x-amz-copy-source") != "":
				return &opCopyObject, nil
			}
			return &opPutObject, nil
		case http.MethodDelete:
			if has("uploadId") {
				return &opAbortMultipartUpload, nil
			}
			return &opDeleteObject, nil
		case http.MethodPost:
			switch {
			case has("uploads"):
				return &opCreateMultipartUpload, nil
			case has("uploadId"):
				return &opCompleteMultipartUpload, nil
			}
		}
	}
	return nil, newError("MethodNotAllowed", 405, "The specified method is not allowed against this resource.")
}

// xml answers with an XML document.
func (c *call) xml(status int, v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	b = append([]byte(xml.Header), b...)
	c.w.Header().Set("Content-Type", "application/xml")
	c.env.WriteBody(c.w, c.req.Hold, status, b)
	return nil
}

// empty answers with no body.
func (c *call) empty(status int) error {
	c.env.WriteBody(c.w, c.req.Hold, status, nil)
	return nil
}

// ownerOf is the owner S3 reports for an account's resources.
func ownerOf(account string) owner { return owner{ID: account, DisplayName: account} }

// intParam reads an integer query parameter (def when absent).
func intParam(q url.Values, name string, def int) (int, *s3Error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errInvalidArgument("Provided " + name + " not an integer or within integer range")
	}
	return n, nil
}
