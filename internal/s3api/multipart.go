package s3api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/rheos/rheos/internal/objectstore"
)

// The multipart upload operations.
var (
	opCreateMultipartUpload   = op{name: "CreateMultipartUpload", action: "s3:PutObject", handle: (*API).createMultipartUpload}
	opUploadPart              = op{name: "UploadPart", action: "s3:PutObject", streamed: true, handle: (*API).uploadPart}
	opUploadPartCopy          = op{name: "UploadPartCopy", action: "s3:PutObject", handle: (*API).uploadPartCopy}
	opCompleteMultipartUpload = op{name: "CompleteMultipartUpload", action: "s3:PutObject", handle: (*API).completeMultipartUpload}
	opAbortMultipartUpload    = op{name: "AbortMultipartUpload", action: "s3:AbortMultipartUpload", handle: (*API).abortMultipartUpload}
	opListParts               = op{name: "ListParts", action: "s3:ListMultipartUploadParts", handle: (*API).listParts}
)

func (a *API) createMultipartUpload(ctx context.Context, c *call) error {
	meta, serr := objectMeta(c.r.Header)
	if serr != nil {
		return serr
	}
	id, err := a.store.CreateUpload(ctx, c.account, c.bucket, c.key, meta)
	if err != nil {
		return err
	}
	return c.xml(http.StatusOK, initiateMultipartUploadResult{Xmlns: xmlns, Bucket: c.bucket, Key: c.key, UploadID: id})
}

// partNumber reads the partNumber query parameter.
func (c *call) partNumber() (int, *s3Error) {
	n, err := strconv.Atoi(c.q.Get("partNumber"))
	if err != nil || n < 1 || n > objectstore.MaxParts {
		return 0, errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

func (a *API) uploadPart(ctx context.Context, c *call) error {
	n, serr := c.partNumber()
	if serr != nil {
		return serr
	}
	u, err := c.streamedBody(ctx)
	if err != nil {
		return err
	}
	defer u.done()
	p, err := a.store.PutPart(ctx, objectstore.PartInput{Account: c.account, Bucket: c.bucket, Key: c.key, UploadID: c.q.Get("uploadId"),
		Number: n, Body: u.body, Size: u.size, ContentMD5: u.md5, SHA256: u.sha256, Checksum: u.checksum})
	if err != nil {
		return err
	}
	c.w.Header().Set("ETag", p.ETag)
	echoChecksum(c.w.Header(), u.checksum)
	return c.empty(http.StatusOK)
}

func (a *API) uploadPartCopy(ctx context.Context, c *call) error {
	n, serr := c.partNumber()
	if serr != nil {
		return serr
	}
	sb, sk, serr := copySource(c.r.Header.Get("x-amz-copy-source"))
	if serr != nil {
		return serr
	}
	o, err := a.store.OpenObject(ctx, c.account, sb, sk)
	if err != nil {
		return err
	}
	defer o.Close()
	off, size := int64(0), o.Info.Size
	if rg := c.r.Header.Get("x-amz-copy-source-range"); rg != "" {
		ro, rn, ok, _ := parseRange(rg, o.Info.Size)
		if !ok || ro+rn > o.Info.Size {
			return errInvalidArgument("Range specified is not valid for source object of size: " + strconv.FormatInt(o.Info.Size, 10))
		}
		off, size = ro, rn
	}
	if !c.req.Hold.Grow(ctx, copyBuf) {
		return errSlowDown()
	}
	p, err := a.store.PutPart(ctx, objectstore.PartInput{Account: c.account, Bucket: c.bucket, Key: c.key, UploadID: c.q.Get("uploadId"),
		Number: n, Body: o.Range(off, size), Size: size})
	if err != nil {
		return err
	}
	return c.xml(http.StatusOK, copyPartResult{Xmlns: xmlns, LastModified: xmlTime(p.Modified), ETag: p.ETag})
}

func (a *API) completeMultipartUpload(ctx context.Context, c *call) error {
	var req completeRequest
	if err := decodeXML(c.body, &req); err != nil || len(req.Parts) == 0 || len(req.Parts) > objectstore.MaxParts {
		return errMalformedXML()
	}
	parts := make([]objectstore.CompletedPart, len(req.Parts))
	for i, p := range req.Parts {
		parts[i] = objectstore.CompletedPart{Number: p.PartNumber, ETag: p.ETag}
	}
	info, err := a.store.CompleteUpload(ctx, c.account, c.bucket, c.key, c.q.Get("uploadId"), parts)
	if err != nil {
		return err
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	loc := scheme + "://" + c.r.Host + "/" + c.bucket + "/" + c.key
	return c.xml(http.StatusOK, completeMultipartUploadResult{Xmlns: xmlns, Location: loc, Bucket: c.bucket, Key: c.key, ETag: info.ETag})
}

func (a *API) abortMultipartUpload(ctx context.Context, c *call) error {
	if err := a.store.AbortUpload(ctx, c.account, c.bucket, c.key, c.q.Get("uploadId")); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}

func (a *API) listParts(ctx context.Context, c *call) error {
	marker, serr := intParam(c.q, "part-number-marker", 0)
	if serr != nil {
		return serr
	}
	max, serr := intParam(c.q, "max-parts", 1000)
	if serr != nil {
		return serr
	}
	max = min(max, 1000)
	_, parts, more, err := a.store.ListParts(ctx, c.account, c.bucket, c.key, c.q.Get("uploadId"), marker, max)
	if err != nil {
		return err
	}
	res := listPartsResult{Xmlns: xmlns, Bucket: c.bucket, Key: c.key, UploadID: c.q.Get("uploadId"), Initiator: ownerOf(c.account),
		Owner: ownerOf(c.account), StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: max, IsTruncated: more}
	for _, p := range parts {
		res.Parts = append(res.Parts, partEntry{PartNumber: p.Number, LastModified: xmlTime(p.Modified), ETag: p.ETag, Size: p.Size})
	}
	if len(parts) > 0 {
		res.NextPartNumberMarker = parts[len(parts)-1].Number
	}
	return c.xml(http.StatusOK, res)
}
