package server_test

// The built-in S3 driven by the AWS SDK for Go v2's S3 client, path style
// and virtual-host style (bucket.localhost:port), and by hand-written
// requests where the SDK would not send what is tested (error documents,
// aws-chunked bodies).

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/sdktest"
)

// s3Client returns an S3 client for the test server. Path style addresses
// http://127.0.0.1:port/bucket/key; virtual-host style addresses
// http://bucket.localhost:port/key, every connection dialled to the server
// whatever the host name.
func (ts *testServer) s3Client(t testing.TB, pathStyle bool, akid, secret string) *s3.Client {
	t.Helper()
	u, err := url.Parse(ts.url)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := ts.url
	if !pathStyle {
		endpoint = "http://localhost:" + u.Port()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, u.Host)
	}
	return s3.New(s3.Options{
		Region: region, BaseEndpoint: aws.String(endpoint), UsePathStyle: pathStyle,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""),
		Retryer:     aws.NopRetryer{}, HTTPClient: sdktest.HTTPClient(tr),
	})
}

// wantS3Err checks an SDK error's S3 code and HTTP status.
func wantS3Err(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("code = %s (%v), want %s", ae.ErrorCode(), err, code)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Fatalf("%s: status %d, want %d", code, re.HTTPStatusCode(), status)
	}
}

func forBothStyles(t *testing.T, fn func(t *testing.T, ts *testServer, c *s3.Client)) {
	for _, path := range []bool{true, false} {
		name := "virtual-host"
		if path {
			name = "path"
		}
		t.Run(name, func(t *testing.T) {
			ts := newServer(t)
			fn(t, ts, ts.s3Client(t, path, "AKIDTEST", "secret"))
		})
	}
}

func getBody(t *testing.T, c *s3.Client, in *s3.GetObjectInput) ([]byte, *s3.GetObjectOutput) {
	t.Helper()
	out, err := c.GetObject(context.Background(), in)
	if err != nil {
		t.Fatalf("GetObject %s: %v", aws.ToString(in.Key), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, out
}

func etagOf(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func TestS3Buckets(t *testing.T) {
	forBothStyles(t, func(t *testing.T, ts *testServer, c *s3.Client) {
		ctx := context.Background()
		for _, b := range []string{"beta", "alpha.dotted", "gamma-1"} {
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
				t.Fatalf("CreateBucket %s: %v", b, err)
			}
		}
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("beta")})
		wantS3Err(t, err, "BucketAlreadyOwnedByYou", 409)
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("euro"),
			CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1}}); err != nil {
			t.Fatal(err)
		}
		list, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range list.Buckets {
			names = append(names, aws.ToString(b.Name))
			if b.CreationDate == nil || time.Since(*b.CreationDate) > time.Minute {
				t.Fatalf("bucket %s created %v", aws.ToString(b.Name), b.CreationDate)
			}
		}
		if strings.Join(names, ",") != "alpha.dotted,beta,euro,gamma-1" || aws.ToString(list.Owner.ID) != acct {
			t.Fatalf("ListBuckets = %v, owner %v", names, aws.ToString(list.Owner.ID))
		}
		head, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("euro")})
		if err != nil || aws.ToString(head.BucketRegion) != "eu-west-1" {
			t.Fatalf("HeadBucket = %+v, %v", head, err)
		}
		loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("euro")})
		if err != nil || loc.LocationConstraint != types.BucketLocationConstraintEuWest1 {
			t.Fatalf("GetBucketLocation = %+v, %v", loc, err)
		}
		loc, err = c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("beta")})
		if err != nil || loc.LocationConstraint != "" {
			t.Fatalf("GetBucketLocation us-east-1 = %+v, %v", loc, err)
		}
		_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("missing")})
		wantS3Err(t, err, "NotFound", 404) // a HEAD has no body: the SDK names the status
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("beta"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
		_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("beta")})
		wantS3Err(t, err, "BucketNotEmpty", 409)
		_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("missing")})
		wantS3Err(t, err, "NoSuchBucket", 404)
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("gamma-1")}); err != nil {
			t.Fatal(err)
		}
		_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("gamma-1")})
		wantS3Err(t, err, "NotFound", 404)
	})
}

// s3Keys are keys that must survive the trip: UTF-8, slashes, dots,
// characters that need escaping, and the longest key (1024 bytes).
var s3Keys = []string{
	"plain.txt", "dir/sub/file", "ünïcødé/日本語/😀.bin", "a//double", "trailing/", "../dots/./x", "sp ace+plus%25&amp?q=1#frag",
	"tab\tand\"quote'", strings.Repeat("k", 1024), strings.Repeat("é", 512),
}

func TestS3Objects(t *testing.T) {
	forBothStyles(t, func(t *testing.T, ts *testServer, c *s3.Client) {
		ctx := context.Background()
		bkt := aws.String("objects")
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bkt}); err != nil {
			t.Fatal(err)
		}
		for i, k := range s3Keys {
			data := []byte(fmt.Sprintf("object %d: %q", i, k))
			put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String(k), Body: bytes.NewReader(data)})
			if err != nil {
				t.Fatalf("PutObject %q: %v", k, err)
			}
			if aws.ToString(put.ETag) != etagOf(data) {
				t.Fatalf("ETag %s, want %s", aws.ToString(put.ETag), etagOf(data))
			}
			got, out := getBody(t, c, &s3.GetObjectInput{Bucket: bkt, Key: aws.String(k)})
			if !bytes.Equal(got, data) || aws.ToString(out.ETag) != etagOf(data) || aws.ToInt64(out.ContentLength) != int64(len(data)) {
				t.Fatalf("GetObject %q = %q (etag %s)", k, got, aws.ToString(out.ETag))
			}
		}
		list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bkt})
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, o := range list.Contents {
			listed = append(listed, aws.ToString(o.Key))
		}
		want := slices.Clone(s3Keys)
		slices.Sort(want)
		if !slices.Equal(listed, want) {
			t.Fatalf("listed %q\nwant %q", listed, want)
		}

		// Content headers and user metadata.
		data := bytes.Repeat([]byte("0123456789"), 1000)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("meta"), Body: bytes.NewReader(data),
			ContentType: aws.String("text/csv"), CacheControl: aws.String("max-age=60"), ContentDisposition: aws.String("attachment"),
			ContentEncoding: aws.String("identity"), Metadata: map[string]string{"color": "blue", "Owner-Name": "ann"}})
		if err != nil {
			t.Fatal(err)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("meta")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(head.ContentType) != "text/csv" || aws.ToString(head.CacheControl) != "max-age=60" ||
			aws.ToString(head.ContentDisposition) != "attachment" || aws.ToString(head.ContentEncoding) != "identity" ||
			head.Metadata["color"] != "blue" || head.Metadata["owner-name"] != "ann" || aws.ToInt64(head.ContentLength) != int64(len(data)) ||
			aws.ToString(head.ETag) != etagOf(data) || head.LastModified == nil || time.Since(*head.LastModified) > time.Minute {
			t.Fatalf("HeadObject = %+v", head)
		}

		// The SDK's additional checksum (CRC32 by default) is verified, kept,
		// and given back to a GET that asks, which the SDK then validates.
		sumPut, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String("summed"), Body: bytes.NewReader(data),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
		if err != nil || aws.ToString(sumPut.ChecksumCRC32C) == "" {
			t.Fatalf("PutObject with CRC32C: %+v, %v", sumPut, err)
		}
		got, out := getBody(t, c, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("summed"), ChecksumMode: types.ChecksumModeEnabled})
		if !bytes.Equal(got, data) || aws.ToString(out.ChecksumCRC32C) != aws.ToString(sumPut.ChecksumCRC32C) || out.ChecksumType != types.ChecksumTypeFullObject {
			t.Fatalf("GetObject checksum %q (%s), want %q", aws.ToString(out.ChecksumCRC32C), out.ChecksumType, aws.ToString(sumPut.ChecksumCRC32C))
		}

		// Ranges.
		for _, c2 := range []struct {
			rng      string
			from, to int
		}{{"bytes=0-0", 0, 1}, {"bytes=10-19", 10, 20}, {"bytes=9990-", 9990, 10000}, {"bytes=-5", 9995, 10000}, {"bytes=9000-20000", 9000, 10000}} {
			got, out := getBody(t, c, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("meta"), Range: aws.String(c2.rng)})
			wantRange := fmt.Sprintf("bytes %d-%d/%d", c2.from, c2.to-1, len(data))
			if !bytes.Equal(got, data[c2.from:c2.to]) || aws.ToString(out.ContentRange) != wantRange {
				t.Fatalf("%s: %d bytes, Content-Range %s, want %s", c2.rng, len(got), aws.ToString(out.ContentRange), wantRange)
			}
		}
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("meta"), Range: aws.String("bytes=10000-")})
		wantS3Err(t, err, "InvalidRange", 416)

		// Conditional GETs.
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("meta"), IfNoneMatch: head.ETag})
		wantS3Err(t, err, "NotModified", 304)
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("meta"), IfModifiedSince: aws.Time(time.Now().Add(time.Hour))})
		wantS3Err(t, err, "NotModified", 304)
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("meta"), IfMatch: aws.String(`"0000"`)})
		wantS3Err(t, err, "PreconditionFailed", 412)
		getBody(t, c, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("meta"), IfMatch: head.ETag, IfModifiedSince: aws.Time(time.Now().Add(-time.Hour))})
		// response-* overrides.
		_, out = getBody(t, c, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("meta"), ResponseContentType: aws.String("application/x-test")})
		if aws.ToString(out.ContentType) != "application/x-test" {
			t.Fatalf("ResponseContentType: %s", aws.ToString(out.ContentType))
		}

		// Copy: metadata kept, or replaced.
		cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bkt, Key: aws.String("copy/of meta"), CopySource: aws.String("objects/meta")})
		if err != nil || aws.ToString(cp.CopyObjectResult.ETag) != etagOf(data) {
			t.Fatalf("CopyObject = %+v, %v", cp, err)
		}
		head, _ = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("copy/of meta")})
		if head.Metadata["color"] != "blue" || aws.ToString(head.ContentType) != "text/csv" {
			t.Fatalf("copied metadata = %+v", head)
		}
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bkt, Key: aws.String("ünï"), CopySource: aws.String(url.PathEscape("objects/ünïcødé/日本語/😀.bin")),
			MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("x/y"), Metadata: map[string]string{"new": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		head, _ = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("ünï")})
		if head.Metadata["new"] != "1" || head.Metadata["color"] != "" || aws.ToString(head.ContentType) != "x/y" {
			t.Fatalf("replaced metadata = %+v", head)
		}
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bkt, Key: aws.String("meta"), CopySource: aws.String("objects/meta")})
		wantS3Err(t, err, "InvalidRequest", 400)
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bkt, Key: aws.String("x"), CopySource: aws.String("objects/missing")})
		wantS3Err(t, err, "NoSuchKey", 404)

		// Errors and deletes.
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("missing")})
		wantS3Err(t, err, "NoSuchKey", 404)
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("missing")})
		wantS3Err(t, err, "NotFound", 404)
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k")})
		wantS3Err(t, err, "NoSuchBucket", 404)
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bkt, Key: aws.String("plain.txt")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bkt, Key: aws.String("plain.txt")}); err != nil {
			t.Fatalf("deleting a deleted key: %v", err)
		}
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("plain.txt")})
		wantS3Err(t, err, "NoSuchKey", 404)
		var objs []types.ObjectIdentifier
		for _, k := range s3Keys[1:] {
			objs = append(objs, types.ObjectIdentifier{Key: aws.String(k)})
		}
		del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: bkt, Delete: &types.Delete{Objects: objs}})
		if err != nil || len(del.Deleted) != len(objs) || len(del.Errors) != 0 {
			t.Fatalf("DeleteObjects = %+v, %v", del, err)
		}
		left, _ := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bkt})
		if n := len(left.Contents); n != 4 || aws.ToInt32(left.KeyCount) != 4 { // meta, its copy, ünï, summed
			t.Fatalf("%d objects left: %+v", n, left.Contents)
		}
	})
}

func TestS3List(t *testing.T) {
	forBothStyles(t, func(t *testing.T, ts *testServer, c *s3.Client) {
		ctx := context.Background()
		bkt := aws.String("listing")
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bkt}); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for i := 0; i < 25; i++ {
			keys = append(keys, fmt.Sprintf("logs/2026/%02d/part-%d", i%5, i), fmt.Sprintf("top-%02d", i))
		}
		keys = append(keys, "logs/readme", "z é")
		for _, k := range keys {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(keys)
		// Every page of 7, with the paginator (continuation tokens).
		var got []string
		pages := 0
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: bkt, MaxKeys: aws.Int32(7)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, o := range page.Contents {
				got = append(got, aws.ToString(o.Key))
				if aws.ToInt64(o.Size) != int64(len(aws.ToString(o.Key))) || aws.ToString(o.ETag) != etagOf([]byte(aws.ToString(o.Key))) {
					t.Fatalf("listed %+v", o)
				}
			}
		}
		if !slices.Equal(got, keys) || pages != (len(keys)+6)/7 {
			t.Fatalf("%d pages: %q", pages, got)
		}
		// Delimiter and prefix.
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bkt, Prefix: aws.String("logs/"), Delimiter: aws.String("/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "logs/readme" || len(out.CommonPrefixes) != 1 ||
			aws.ToString(out.CommonPrefixes[0].Prefix) != "logs/2026/" || aws.ToString(out.Prefix) != "logs/" {
			t.Fatalf("delimited = %+v", out)
		}
		out, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bkt, Prefix: aws.String("logs/2026/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
		if err != nil || len(out.CommonPrefixes) != 2 || !aws.ToBool(out.IsTruncated) {
			t.Fatalf("common prefixes page = %+v, %v", out, err)
		}
		out, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bkt, Prefix: aws.String("logs/2026/"), Delimiter: aws.String("/"),
			ContinuationToken: out.NextContinuationToken})
		if err != nil || len(out.CommonPrefixes) != 3 || aws.ToString(out.CommonPrefixes[0].Prefix) != "logs/2026/02/" || aws.ToBool(out.IsTruncated) {
			t.Fatalf("second common prefixes page = %+v, %v", out, err)
		}
		out, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bkt, StartAfter: aws.String("top-22")})
		if err != nil || len(out.Contents) != 3 || aws.ToString(out.Contents[0].Key) != "top-23" {
			t.Fatalf("StartAfter = %+v, %v", out.Contents, err)
		}
		out, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bkt, Prefix: aws.String("z "), EncodingType: types.EncodingTypeUrl})
		if err != nil || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "z+%C3%A9" {
			t.Fatalf("url encoding: %+v, %v", out.Contents, err)
		}
		_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("missing")})
		wantS3Err(t, err, "NoSuchBucket", 404)
		// ListObjects (v1) with markers.
		got = got[:0]
		marker := ""
		for {
			v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: bkt, MaxKeys: aws.Int32(10), Marker: aws.String(marker)})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range v1.Contents {
				got = append(got, aws.ToString(o.Key))
				if o.Owner == nil || aws.ToString(o.Owner.ID) != acct {
					t.Fatalf("v1 owner %+v", o.Owner)
				}
			}
			if !aws.ToBool(v1.IsTruncated) {
				break
			}
			marker = aws.ToString(v1.NextMarker)
		}
		if !slices.Equal(got, keys) {
			t.Fatalf("v1: %q", got)
		}
	})
}

func TestS3Multipart(t *testing.T) {
	forBothStyles(t, func(t *testing.T, ts *testServer, c *s3.Client) {
		ctx := context.Background()
		bkt, key := aws.String("mpu"), aws.String("big/object.bin")
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bkt}); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewSource(1))
		parts := [][]byte{make([]byte, 5<<20), make([]byte, 5<<20), make([]byte, 1234)}
		for _, p := range parts {
			rng.Read(p)
		}
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bkt, Key: key, ContentType: aws.String("application/x-big"),
			Metadata: map[string]string{"kind": "multipart"}})
		if err != nil {
			t.Fatal(err)
		}
		var done []types.CompletedPart
		sums := md5.New()
		for i, p := range parts {
			out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: bkt, Key: key, UploadId: up.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", i+1, err)
			}
			if aws.ToString(out.ETag) != etagOf(p) {
				t.Fatalf("part %d etag %s", i+1, aws.ToString(out.ETag))
			}
			sum := md5.Sum(p)
			sums.Write(sum[:])
			done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
		}
		lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: bkt, Key: key, UploadId: up.UploadId, MaxParts: aws.Int32(2)})
		if err != nil || len(lp.Parts) != 2 || !aws.ToBool(lp.IsTruncated) || aws.ToInt64(lp.Parts[1].Size) != 5<<20 {
			t.Fatalf("ListParts = %+v, %v", lp, err)
		}
		ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: bkt})
		if err != nil || len(ups.Uploads) != 1 || aws.ToString(ups.Uploads[0].UploadId) != aws.ToString(up.UploadId) {
			t.Fatalf("ListMultipartUploads = %+v, %v", ups, err)
		}
		// Out of order parts are refused.
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bkt, Key: key, UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{done[1], done[0]}}})
		wantS3Err(t, err, "InvalidPartOrder", 400)
		comp, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bkt, Key: key, UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
		if err != nil {
			t.Fatal(err)
		}
		wantETag := fmt.Sprintf(`"%s-3"`, hex.EncodeToString(sums.Sum(nil)))
		if aws.ToString(comp.ETag) != wantETag {
			t.Fatalf("multipart ETag %s, want %s", aws.ToString(comp.ETag), wantETag)
		}
		whole := bytes.Join(parts, nil)
		got, out := getBody(t, c, &s3.GetObjectInput{Bucket: bkt, Key: key})
		if !bytes.Equal(got, whole) || aws.ToString(out.ETag) != wantETag || aws.ToString(out.ContentType) != "application/x-big" || out.Metadata["kind"] != "multipart" {
			t.Fatalf("GetObject: %d bytes, etag %s, %+v", len(got), aws.ToString(out.ETag), out.Metadata)
		}
		// A range across the parts' boundary, and a part by number.
		got, _ = getBody(t, c, &s3.GetObjectInput{Bucket: bkt, Key: key, Range: aws.String(fmt.Sprintf("bytes=%d-%d", (5<<20)-10, (5<<20)+9))})
		if !bytes.Equal(got, whole[(5<<20)-10:(5<<20)+10]) {
			t.Fatal("range across parts differs")
		}
		got, out = getBody(t, c, &s3.GetObjectInput{Bucket: bkt, Key: key, PartNumber: aws.Int32(3)})
		if !bytes.Equal(got, parts[2]) || aws.ToInt32(out.PartsCount) != 3 {
			t.Fatalf("part 3: %d bytes, %d parts", len(got), aws.ToInt32(out.PartsCount))
		}
		_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: bkt, Key: key, UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
		wantS3Err(t, err, "NoSuchUpload", 404)

		// A part copied from an object, and an aborted upload.
		up2, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bkt, Key: aws.String("copied")})
		if err != nil {
			t.Fatal(err)
		}
		pc, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: bkt, Key: aws.String("copied"), UploadId: up2.UploadId, PartNumber: aws.Int32(1),
			CopySource: aws.String("mpu/big/object.bin"), CopySourceRange: aws.String("bytes=100-199")})
		if err != nil || aws.ToString(pc.CopyPartResult.ETag) != etagOf(whole[100:200]) {
			t.Fatalf("UploadPartCopy = %+v, %v", pc, err)
		}
		if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bkt, Key: aws.String("copied"), UploadId: up2.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: pc.CopyPartResult.ETag}}}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := getBody(t, c, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("copied")}); !bytes.Equal(got, whole[100:200]) {
			t.Fatal("copied part differs")
		}
		up3, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bkt, Key: aws.String("aborted")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: bkt, Key: aws.String("aborted"), UploadId: up3.UploadId, PartNumber: aws.Int32(1),
			Body: strings.NewReader("part")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bkt, Key: aws.String("aborted"), UploadId: up3.UploadId}); err != nil {
			t.Fatal(err)
		}
		_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: bkt, Key: aws.String("aborted"), UploadId: up3.UploadId})
		wantS3Err(t, err, "NoSuchUpload", 404)
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bkt, Key: aws.String("aborted")})
		wantS3Err(t, err, "NotFound", 404)
	})
}

// s3Raw sends a hand-made request signed for s3 (auth mode none accepts
// any well-formed signature).
func s3Raw(t *testing.T, ts *testServer, method, path string, header http.Header, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDTEST/"+time.Now().UTC().Format("20060102")+
		"/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestS3ErrorDocument: S3's error document, its fields and statuses.
func TestS3ErrorDocument(t *testing.T) {
	ts := newServer(t)
	c := ts.s3Client(t, true, "AKIDTEST", "secret")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("errs")}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName                                     xml.Name `xml:"Error"`
		Code, Message, Key, BucketName, Resource    string
		RequestID                                   string `xml:"RequestId"`
		RangeRequested, ActualObjectSize, Condition string
	}
	for _, c := range []struct {
		method, path string
		header       http.Header
		status       int
		code         string
		check        func() bool
	}{
		{"GET", "/errs/no/such key", nil, 404, "NoSuchKey", func() bool { return doc.Key == "no/such key" && doc.Resource == "/errs/no/such key" }},
		{"GET", "/nobucket/k", nil, 404, "NoSuchBucket", func() bool { return doc.BucketName == "nobucket" }},
		{"PUT", "/errs", nil, 409, "BucketAlreadyOwnedByYou", nil},
		{"PUT", "/Bad_Name", nil, 400, "InvalidBucketName", nil},
		{"PUT", "/errs/k", http.Header{"Content-Md5": {"bm90IGJhc2U2NA=="}}, 400, "InvalidDigest", nil},
		{"GET", "/errs?acl", nil, 501, "NotImplemented", nil},
		{"POST", "/errs/k", nil, 405, "MethodNotAllowed", nil},
		{"POST", "/errs?delete", nil, 400, "MalformedXML", nil},
		{"PUT", "/errs/k", http.Header{"X-Amz-Checksum-Crc32": {"AAAAAQ=="}}, 400, "BadDigest", nil},
		{"PUT", "/errs/k", http.Header{"X-Amz-Checksum-Crc32": {"AAAAAA=="}, "X-Amz-Checksum-Sha1": {"AAAAAA=="}}, 400, "InvalidRequest", nil},
	} {
		resp, body := s3Raw(t, ts, c.method, c.path, c.header, nil)
		doc = struct {
			XMLName                                     xml.Name `xml:"Error"`
			Code, Message, Key, BucketName, Resource    string
			RequestID                                   string `xml:"RequestId"`
			RangeRequested, ActualObjectSize, Condition string
		}{}
		if err := xml.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%s %s: %v\n%s", c.method, c.path, err, body)
		}
		if resp.StatusCode != c.status || doc.Code != c.code || doc.Message == "" || doc.RequestID == "" ||
			doc.RequestID != resp.Header.Get("x-amz-request-id") || resp.Header.Get("Content-Type") != "application/xml" || (c.check != nil && !c.check()) {
			t.Fatalf("%s %s: %d %+v\n%s", c.method, c.path, resp.StatusCode, doc, body)
		}
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("errs"), Key: aws.String("small"), Body: strings.NewReader("12345")}); err != nil {
		t.Fatal(err)
	}
	resp, body := s3Raw(t, ts, "GET", "/errs/small", http.Header{"Range": {"bytes=5-"}}, nil)
	if err := xml.Unmarshal(body, &doc); err != nil || resp.StatusCode != 416 || doc.Code != "InvalidRange" || doc.ActualObjectSize != "5" || doc.RangeRequested != "bytes=5-" {
		t.Fatalf("InvalidRange: %d %s", resp.StatusCode, body)
	}
	// A body that does not hash to its signed SHA-256 is refused and not stored.
	sum := sha256.Sum256([]byte("the real body"))
	resp, body = s3Raw(t, ts, "PUT", "/errs/tampered", http.Header{"X-Amz-Content-Sha256": {hex.EncodeToString(sum[:])}}, strings.NewReader("another body!"))
	if err := xml.Unmarshal(body, &doc); err != nil || resp.StatusCode != 400 || doc.Code != "XAmzContentSHA256Mismatch" {
		t.Fatalf("tampered body: %d %s", resp.StatusCode, body)
	}
	_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("errs"), Key: aws.String("tampered")})
	wantS3Err(t, err, "NotFound", 404)
}

// awsChunked encodes body as aws-chunked with chunks of size n, signed
// (chunk-signature extensions) or with trailers.
func awsChunked(body []byte, n int, signed bool, trailer string) []byte {
	var b bytes.Buffer
	ext := func() string {
		if signed {
			return ";chunk-signature=" + strings.Repeat("0", 64)
		}
		return ""
	}
	for len(body) > 0 {
		c := body[:min(n, len(body))]
		body = body[len(c):]
		fmt.Fprintf(&b, "%x%s\r\n", len(c), ext())
		b.Write(c)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "0%s\r\n", ext())
	if trailer != "" {
		b.WriteString(trailer + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// TestS3AwsChunked: STREAMING-* bodies (aws-chunked) are decoded as they
// stream; a malformed or short one is refused and nothing is stored.
func TestS3AwsChunked(t *testing.T) {
	ts := newServer(t)
	c := ts.s3Client(t, true, "AKIDTEST", "secret")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("chunks")}); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("chunked body "), 20000)
	for i, v := range []struct {
		sha     string
		signed  bool
		trailer string
	}{
		{"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", true, ""},
		{"STREAMING-UNSIGNED-PAYLOAD-TRAILER", false, "x-amz-checksum-crc32:AAAAAA=="},
		{"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", true, "x-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:" + strings.Repeat("0", 64)},
	} {
		key := fmt.Sprintf("/chunks/obj-%d", i)
		h := http.Header{"X-Amz-Content-Sha256": {v.sha}, "Content-Encoding": {"aws-chunked"}, "X-Amz-Decoded-Content-Length": {fmt.Sprint(len(data))},
			"Content-Type": {"text/plain"}}
		resp, body := s3Raw(t, ts, "PUT", key, h, bytes.NewReader(awsChunked(data, 65536, v.signed, v.trailer)))
		if resp.StatusCode != 200 || resp.Header.Get("ETag") != etagOf(data) {
			t.Fatalf("%s: %d %s", v.sha, resp.StatusCode, body)
		}
		got, out := getBody(t, c, &s3.GetObjectInput{Bucket: aws.String("chunks"), Key: aws.String(key[len("/chunks/"):])})
		if !bytes.Equal(got, data) || aws.ToString(out.ContentEncoding) != "" || aws.ToString(out.ContentType) != "text/plain" {
			t.Fatalf("%s: read back %d bytes, encoding %q", v.sha, len(got), aws.ToString(out.ContentEncoding))
		}
	}
	for name, enc := range map[string][]byte{
		"truncated": awsChunked(data, 65536, true, "")[:100000],
		"bad size":  []byte("zz;chunk-signature=00\r\nabc\r\n0\r\n\r\n"),
		"too long":  awsChunked(append(data, 'x'), 65536, true, ""),
	} {
		h := http.Header{"X-Amz-Content-Sha256": {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}, "Content-Encoding": {"aws-chunked"},
			"X-Amz-Decoded-Content-Length": {fmt.Sprint(len(data))}}
		resp, body := s3Raw(t, ts, "PUT", "/chunks/bad", h, bytes.NewReader(enc))
		if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>IncompleteBody</Code>") {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("chunks"), Key: aws.String("bad")})
	wantS3Err(t, err, "NotFound", 404)
}

// TestS3SignedAndAccounts: with verification on, the SDK's signatures pass
// (streamed bodies checked against their signed hash, odd keys in the
// canonical path, presigned GETs), wrong ones fail in S3's words, and
// buckets belong to their account in one namespace.
func TestS3SignedAndAccounts(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) {
		c.AuthMode = "verify"
		c.RootAccessKeyID, c.RootSecretAccessKey = "AKIDROOT", "root-secret"
		c.Principals = []config.Principal{{Name: "other", AccessKeyID: "AKIDOTHER", SecretAccessKey: "other-secret", Account: "111122223333",
			Policies: []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"*"}]}`)}},
			{Name: "reader", AccessKeyID: "AKIDREADER", SecretAccessKey: "reader-secret",
				Policies: []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"}]}`)}},
			// Bucket- and key-scoped policies apply to S3's account-less ARNs.
			{Name: "scoped", AccessKeyID: "AKIDSCOPED", SecretAccessKey: "scoped-secret",
				Policies: []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::signed-true","arn:aws:s3:::signed-true/*"]},
					{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::signed-true/secret*"}]}`)}}}
	})
	ctx := context.Background()
	for _, path := range []bool{true, false} {
		root := ts.s3Client(t, path, "AKIDROOT", "root-secret")
		bkt := aws.String(fmt.Sprintf("signed-%v", path))
		if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bkt}); err != nil {
			t.Fatal(err)
		}
		for _, k := range s3Keys {
			if _, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: bkt, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
				t.Fatalf("signed PutObject %q: %v", k, err)
			}
			if got, _ := getBody(t, root, &s3.GetObjectInput{Bucket: bkt, Key: aws.String(k)}); string(got) != k {
				t.Fatalf("signed GetObject %q = %q", k, got)
			}
		}
		_, err := ts.s3Client(t, path, "AKIDROOT", "wrong").ListBuckets(ctx, &s3.ListBucketsInput{})
		wantS3Err(t, err, "SignatureDoesNotMatch", 403)
		_, err = ts.s3Client(t, path, "AKIDNOBODY", "x").ListBuckets(ctx, &s3.ListBucketsInput{})
		wantS3Err(t, err, "InvalidAccessKeyId", 403)
		// A presigned GET works with a plain HTTP client.
		pre, err := s3.NewPresignClient(root).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: bkt, Key: aws.String(s3Keys[2])})
		if err != nil {
			t.Fatal(err)
		}
		if !path {
			continue // the host name needs the test's dialer
		}
		resp, err := http.Get(pre.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != s3Keys[2] {
			t.Fatalf("presigned GET: %d %s", resp.StatusCode, b)
		}
	}
	// Another account: the name is taken, the bucket is not theirs.
	other := ts.s3Client(t, true, "AKIDOTHER", "other-secret")
	_, err := other.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("signed-true")})
	wantS3Err(t, err, "BucketAlreadyExists", 409)
	_, err = other.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("signed-true"), Key: aws.String("plain.txt")})
	wantS3Err(t, err, "AccessDenied", 403)
	_, err = other.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("signed-true")})
	wantS3Err(t, err, "AccessDenied", 403)
	if _, err := other.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("theirs")}); err != nil {
		t.Fatal(err)
	}
	list, err := other.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(list.Buckets) != 1 || aws.ToString(list.Buckets[0].Name) != "theirs" {
		t.Fatalf("other's buckets: %+v, %v", list, err)
	}
	// A principal's policies decide on S3 actions.
	reader := ts.s3Client(t, true, "AKIDREADER", "reader-secret")
	if got, _ := getBody(t, reader, &s3.GetObjectInput{Bucket: aws.String("signed-true"), Key: aws.String("plain.txt")}); string(got) != "plain.txt" {
		t.Fatalf("reader got %q", got)
	}
	_, err = reader.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("signed-true"), Key: aws.String("x"), Body: strings.NewReader("x")})
	wantS3Err(t, err, "AccessDenied", 403)
	scoped := ts.s3Client(t, true, "AKIDSCOPED", "scoped-secret")
	if _, err := scoped.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("signed-true"), Key: aws.String("secret-plan"), Body: strings.NewReader("s")}); err != nil {
		t.Fatalf("scoped put in its bucket: %v", err)
	}
	_, err = scoped.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("signed-true"), Key: aws.String("secret-plan")})
	wantS3Err(t, err, "AccessDenied", 403)
	if got, _ := getBody(t, scoped, &s3.GetObjectInput{Bucket: aws.String("signed-true"), Key: aws.String("plain.txt")}); string(got) != "plain.txt" {
		t.Fatalf("scoped got %q", got)
	}
	_, err = scoped.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("signed-false")})
	wantS3Err(t, err, "AccessDenied", 403)
	// The SDK's own signer over a body it says is something else.
	req, _ := http.NewRequest("PUT", ts.url+"/signed-true/forged", strings.NewReader("forged body"))
	sum := sha256.Sum256([]byte("signed body"))
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "AKIDROOT", SecretAccessKey: "root-secret"}, req,
		hex.EncodeToString(sum[:]), "s3", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "XAmzContentSHA256Mismatch") {
		t.Fatalf("forged body: %d %s", resp.StatusCode, b)
	}
}

// TestS3Restart: objects and uploads in progress survive a restart.
func TestS3Restart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, nil)
	c := ts.s3Client(t, true, "AKIDTEST", "secret")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("durable")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("durable"), Key: aws.String("k"), Body: strings.NewReader("kept")}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("durable"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("durable"), Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("only part")})
	if err != nil {
		t.Fatal(err)
	}
	ts.stop()
	ts = startServer(t, dir, nil)
	c = ts.s3Client(t, true, "AKIDTEST", "secret")
	if got, _ := getBody(t, c, &s3.GetObjectInput{Bucket: aws.String("durable"), Key: aws.String("k")}); string(got) != "kept" {
		t.Fatalf("after restart: %q", got)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("durable"), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := getBody(t, c, &s3.GetObjectInput{Bucket: aws.String("durable"), Key: aws.String("mp")}); string(got) != "only part" {
		t.Fatalf("completed after restart: %q", got)
	}
}

// headerLog records the payload hash header of every request it carries.
type headerLog struct {
	rt     http.RoundTripper
	mu     sync.Mutex
	hashes []string
}

func (l *headerLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.hashes = append(l.hashes, r.Header.Get("X-Amz-Content-Sha256"))
	l.mu.Unlock()
	return l.rt.RoundTrip(r)
}

// TestS3OverTLS: over HTTPS, with verification on, the SDK sends seekable
// bodies as UNSIGNED-PAYLOAD and an unseekable one with a checksum
// aws-chunked with a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER); both
// arrive whole.
func TestS3OverTLS(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, func(c *config.Config) {
		c.TLSAddr = "127.0.0.1:0"
		c.AuthMode = "verify"
		c.RootAccessKeyID, c.RootSecretAccessKey = "AKIDROOT", "root-secret"
	})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: selfSignedPool(t, dir)}
	log := &headerLog{rt: tr}
	c := s3.New(s3.Options{Region: region, BaseEndpoint: aws.String("https://" + ts.tls), UsePathStyle: true, Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDROOT", "root-secret", ""), HTTPClient: &http.Client{Transport: log}})
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tls")}); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 6<<20+3)
	rand.New(rand.NewSource(2)).Read(data)
	// A body the SDK cannot seek, with a checksum asked for, goes
	// aws-chunked with the checksum in a trailer.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tls"), Key: aws.String("obj"), Body: struct{ io.Reader }{bytes.NewReader(data)},
		ContentLength: aws.Int64(int64(len(data))), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("tls"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("tls"), Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("tls"), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"obj", "mp"} {
		if got, _ := getBody(t, c, &s3.GetObjectInput{Bucket: aws.String("tls"), Key: aws.String(k)}); !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes differ", k, len(got))
		}
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if !slices.ContainsFunc(log.hashes, func(h string) bool { return strings.HasPrefix(h, "STREAMING-") }) {
		t.Fatalf("the SDK sent no aws-chunked body (payload hashes %q)", log.hashes)
	}
}
