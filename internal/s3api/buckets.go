package s3api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/rheos/rheos/internal/objectstore"
)

// The bucket operations.
var (
	opListBuckets          = op{name: "ListBuckets", action: "s3:ListAllMyBuckets", handle: (*API).listBuckets}
	opCreateBucket         = op{name: "CreateBucket", action: "s3:CreateBucket", handle: (*API).createBucket}
	opHeadBucket           = op{name: "HeadBucket", action: "s3:ListBucket", handle: (*API).headBucket}
	opDeleteBucket         = op{name: "DeleteBucket", action: "s3:DeleteBucket", handle: (*API).deleteBucket}
	opGetBucketLocation    = op{name: "GetBucketLocation", action: "s3:GetBucketLocation", handle: (*API).getBucketLocation}
	opListObjects          = op{name: "ListObjects", action: "s3:ListBucket", handle: (*API).listObjects}
	opListObjectsV2        = op{name: "ListObjectsV2", action: "s3:ListBucket", handle: (*API).listObjectsV2}
	opListMultipartUploads = op{name: "ListMultipartUploads", action: "s3:ListBucketMultipartUploads", handle: (*API).listMultipartUploads}
)

func (a *API) listBuckets(ctx context.Context, c *call) error {
	bs, err := a.store.ListBuckets(ctx, c.account)
	if err != nil {
		return err
	}
	prefix := c.q.Get("prefix")
	res := listAllMyBucketsResult{Xmlns: xmlns, Owner: ownerOf(c.account), Buckets: []bucketEntry{}, Prefix: prefix}
	for _, b := range bs {
		if strings.HasPrefix(b.Name, prefix) {
			res.Buckets = append(res.Buckets, bucketEntry{Name: b.Name, CreationDate: xmlTime(b.Created), BucketRegion: b.Region})
		}
	}
	return c.xml(http.StatusOK, res)
}

func (a *API) createBucket(ctx context.Context, c *call) error {
	region := c.region
	if len(strings.TrimSpace(string(c.body))) > 0 {
		var cfg createBucketConfiguration
		if err := decodeXML(c.body, &cfg); err != nil {
			return errMalformedXML()
		}
		if cfg.LocationConstraint != "" {
			region = cfg.LocationConstraint
		}
	}
	if err := a.store.CreateBucket(ctx, c.account, c.bucket, region); err != nil {
		return err
	}
	c.w.Header().Set("Location", "/"+c.bucket)
	return c.empty(http.StatusOK)
}

func (a *API) headBucket(ctx context.Context, c *call) error {
	b, err := a.store.HeadBucket(ctx, c.account, c.bucket)
	if err != nil {
		return err
	}
	c.w.Header().Set("x-amz-bucket-region", b.Region)
	return c.empty(http.StatusOK)
}

func (a *API) deleteBucket(ctx context.Context, c *call) error {
	if err := a.store.DeleteBucket(ctx, c.account, c.bucket); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}

func (a *API) getBucketLocation(ctx context.Context, c *call) error {
	b, err := a.store.HeadBucket(ctx, c.account, c.bucket)
	if err != nil {
		return err
	}
	loc := b.Region
	if loc == "us-east-1" {
		loc = "" // S3's answer for us-east-1
	}
	return c.xml(http.StatusOK, locationConstraint{Xmlns: xmlns, Value: loc})
}

// listParams are the parameters both ListObjects versions share.
func listParams(c *call) (objectstore.ListInput, encoder, int, *s3Error) {
	in := objectstore.ListInput{Prefix: c.q.Get("prefix"), Delimiter: c.q.Get("delimiter")}
	max, serr := intParam(c.q, "max-keys", 1000)
	if serr != nil {
		return in, false, 0, serr
	}
	in.MaxKeys = min(max, 1000)
	enc := encoder(false)
	switch c.q.Get("encoding-type") {
	case "":
	case "url":
		enc = true
	default:
		return in, false, 0, errInvalidArgument("Invalid Encoding Method specified in Request")
	}
	return in, enc, max, nil
}

// list runs a listing page; max-keys=0 answers an empty page.
func (a *API) list(ctx context.Context, c *call, in objectstore.ListInput, max int) (objectstore.ListResult, error) {
	if max == 0 {
		_, err := a.store.HeadBucket(ctx, c.account, c.bucket)
		return objectstore.ListResult{}, err
	}
	return a.store.ListObjects(ctx, c.account, c.bucket, in)
}

// fill adds a page's keys and prefixes to a listing answer.
func fill(res *listBucketResult, page objectstore.ListResult, enc encoder, withOwner bool, account string) {
	res.Contents = make([]contentsEntry, 0, len(page.Objects))
	for _, o := range page.Objects {
		e := contentsEntry{Key: enc.s(o.Key), LastModified: xmlTime(o.Modified), ETag: o.ETag, Size: o.Size, StorageClass: "STANDARD"}
		if withOwner {
			ow := ownerOf(account)
			e.Owner = &ow
		}
		res.Contents = append(res.Contents, e)
	}
	for _, p := range page.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: enc.s(p)})
	}
	res.IsTruncated = page.Truncated
	if enc {
		res.EncodingType = "url"
	}
}

func (a *API) listObjects(ctx context.Context, c *call) error {
	in, enc, max, serr := listParams(c)
	if serr != nil {
		return serr
	}
	marker := c.q.Get("marker")
	in.After = marker
	page, err := a.list(ctx, c, in, max)
	if err != nil {
		return err
	}
	m := enc.s(marker)
	res := listBucketResult{Xmlns: xmlns, Name: c.bucket, Prefix: enc.s(in.Prefix), Marker: &m, MaxKeys: max, Delimiter: enc.s(in.Delimiter)}
	fill(&res, page, enc, true, c.account)
	if page.Truncated {
		res.NextMarker = enc.s(page.Last)
	}
	return c.xml(http.StatusOK, res)
}

// The continuation token of ListObjectsV2 is where the page ended (its
// last key or common prefix), opaque to clients.
func continuationToken(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

func (a *API) listObjectsV2(ctx context.Context, c *call) error {
	in, enc, max, serr := listParams(c)
	if serr != nil {
		return serr
	}
	token, hasToken := c.q.Get("continuation-token"), c.q.Has("continuation-token")
	startAfter := c.q.Get("start-after")
	in.After = startAfter
	if hasToken {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || token == "" {
			return errInvalidArgument("The continuation token provided is incorrect")
		}
		in.After = string(after)
	}
	page, err := a.list(ctx, c, in, max)
	if err != nil {
		return err
	}
	n := len(page.Objects) + len(page.CommonPrefixes)
	res := listBucketResult{Xmlns: xmlns, Name: c.bucket, Prefix: enc.s(in.Prefix), MaxKeys: max, Delimiter: enc.s(in.Delimiter),
		KeyCount: &n, StartAfter: enc.s(startAfter), ContinuationToken: token}
	fill(&res, page, enc, c.q.Get("fetch-owner") == "true", c.account)
	if page.Truncated {
		res.NextContinuationToken = continuationToken(page.Last)
	}
	return c.xml(http.StatusOK, res)
}

func (a *API) listMultipartUploads(ctx context.Context, c *call) error {
	prefix := c.q.Get("prefix")
	ups, err := a.store.ListUploads(ctx, c.account, c.bucket, prefix)
	if err != nil {
		return err
	}
	max, serr := intParam(c.q, "max-uploads", 1000)
	if serr != nil {
		return serr
	}
	max = min(max, 1000)
	res := listMultipartUploadsResult{Xmlns: xmlns, Bucket: c.bucket, Prefix: prefix, MaxUploads: max,
		KeyMarker: c.q.Get("key-marker"), UploadIDMarker: c.q.Get("upload-id-marker")}
	for _, u := range ups {
		if u.Key < res.KeyMarker || u.Key == res.KeyMarker && (res.UploadIDMarker == "" || u.ID <= res.UploadIDMarker) {
			continue
		}
		if len(res.Uploads) == max {
			res.IsTruncated = true
			last := res.Uploads[len(res.Uploads)-1]
			res.NextKeyMarker, res.NextUploadIDMarker = last.Key, last.UploadID
			break
		}
		res.Uploads = append(res.Uploads, uploadEntry{Key: u.Key, UploadID: u.ID, Initiator: ownerOf(c.account), Owner: ownerOf(c.account),
			StorageClass: "STANDARD", Initiated: xmlTime(u.Initiated)})
	}
	return c.xml(http.StatusOK, res)
}
