// Package s3 implements blob.Store on an S3-compatible server with the AWS
// SDK for Go v2: one bucket, every key under a fixed prefix. It owns the
// mapping of blob operations to S3 requests and of S3 errors to blob's
// sentinels; it must not create buckets or hold state beyond one process.
//
// Put-if-absent: PutObject carries If-None-Match: * (S3 conditional
// writes), which the server decides atomically where it honours it: AWS
// S3 (since 2024), MinIO, SeaweedFS, versitygw. Servers that ignore the
// header overwrite instead; Open probes the server once (ModeAuto) and,
// for those, falls back to HeadObject then PutObject under a per-key lock,
// which is exact among the callers of one Store but not across processes.
// Rheos's built-in S3 ignores If-None-Match on PUT as of this writing, so
// it runs in the fallback mode. Design A of the cluster note uses the
// header only as a guard, never for correctness.
//
// Checksums: the body's SHA-256 goes to the server twice, as
// x-amz-checksum-sha256 and as the signed x-amz-content-sha256, so a
// server that verifies either refuses a corrupted body; the store also
// hashes the body as it streams and aborts the request before its last
// byte if the hash differs, so even a server that verifies nothing never
// completes a bad object.
//
// Durability: a PUT is as durable as the server makes it before its 200
// (see package blob). Endpoint and credentials come from Config, or else
// the way every AWS SDK takes them: AWS_ENDPOINT_URL_S3, then
// AWS_ENDPOINT_URL; AWS_REGION; the standard credential chain
// (environment, shared files, SSO, web identity, container and instance
// roles).
package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/rheos/rheos/internal/blob"
)

// Mode says how PutIfAbsent keeps a key from being overwritten.
type Mode int

const (
	// ModeAuto (the default) probes the server at Open: ModeConditional if
	// it refuses a second If-None-Match: * PUT, ModeEmulated otherwise.
	ModeAuto Mode = iota
	// ModeConditional trusts the server's If-None-Match: *.
	ModeConditional
	// ModeEmulated checks with HeadObject under a per-key lock before the
	// PUT (still sent with If-None-Match: *): exact within one Store only.
	ModeEmulated
)

func (m Mode) String() string {
	switch m {
	case ModeConditional:
		return "conditional"
	case ModeEmulated:
		return "emulated"
	}
	return "auto"
}

// Config configures a Store. Empty fields take the SDK's defaults.
type Config struct {
	// Bucket holds the blobs; it must exist. Required.
	Bucket string
	// Prefix is prepended to every key ("" by default); end it with "/"
	// to keep the store's keys in their own folder.
	Prefix string
	// Endpoint is the server's base URL. Default: AWS_ENDPOINT_URL_S3,
	// then AWS_ENDPOINT_URL, then AWS S3 for the region.
	Endpoint string
	// Region signs the requests. Default: AWS_REGION or the shared config
	// file's, else us-east-1.
	Region string
	// PathStyle addresses http://endpoint/bucket/key instead of
	// http://bucket.endpoint/key; most self-hosted servers need it.
	// Default false.
	PathStyle bool
	// AccessKeyID, SecretAccessKey and SessionToken are explicit static
	// credentials. Default (AccessKeyID empty): the standard chain.
	AccessKeyID, SecretAccessKey, SessionToken string
	// Mode is how put-if-absent is enforced. Default ModeAuto.
	Mode Mode
	// HTTPClient sends the requests. Default: the SDK's.
	HTTPClient awss3.HTTPClient
}

// ParseURL reads the --blobs flag's form, s3://BUCKET[/PREFIX][?query],
// into a Config. The query may set endpoint=URL, region=NAME and
// path-style=true|false. A non-empty prefix always ends in "/".
func ParseURL(s string) (Config, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Config{}, fmt.Errorf("blob/s3: %w", err)
	}
	if u.Scheme != "s3" || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return Config{}, fmt.Errorf("blob/s3: %q: want s3://BUCKET[/PREFIX]", s)
	}
	c := Config{Bucket: u.Host, Prefix: strings.TrimPrefix(u.Path, "/")}
	if c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	if c.Prefix != "" && !blob.ValidKey(strings.TrimSuffix(c.Prefix, "/")) {
		return Config{}, fmt.Errorf("blob/s3: %q: invalid prefix", s)
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "endpoint":
			c.Endpoint = v
		case "region":
			c.Region = v
		case "path-style":
			if c.PathStyle, err = strconv.ParseBool(v); err != nil {
				return Config{}, fmt.Errorf("blob/s3: %q: path-style=%q", s, v)
			}
		default:
			return Config{}, fmt.Errorf("blob/s3: %q: unknown parameter %q", s, k)
		}
	}
	return c, nil
}

// Store is a blob.Store on one bucket and prefix.
type Store struct {
	c      *awss3.Client
	bucket string
	prefix string
	mode   Mode
	locks  [64]sync.Mutex // ModeEmulated: striped per-key locks
}

var _ blob.Store = (*Store)(nil)

// Open builds the client and, for ModeAuto, probes whether the server
// honours If-None-Match: * on PUT (a probe object under
// Prefix+".rheos-probe/", deleted afterwards). It does not create the
// bucket.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("blob/s3: no bucket")
	}
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(cfg.HTTPClient))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("blob/s3: %w", err)
	}
	if ac.Region == "" {
		ac.Region = "us-east-1"
	}
	c := awss3.NewFromConfig(ac, func(o *awss3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Blobs are checked by SHA-256 where it matters (PutIfAbsent, the
		// caller after a Get); GET responses are not checksummed by every
		// server, and the SDK would log each one it cannot check.
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	s := &Store{c: c, bucket: cfg.Bucket, prefix: cfg.Prefix, mode: cfg.Mode}
	if s.mode == ModeAuto {
		if s.mode, err = s.probe(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Mode reports how put-if-absent is enforced (after Open's probe).
func (s *Store) Mode() Mode { return s.mode }

// probe PUTs one object twice with If-None-Match: *.
func (s *Store) probe(ctx context.Context) (Mode, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	key := s.prefix + ".rheos-probe/" + hex.EncodeToString(rnd[:])
	defer s.c.DeleteObject(context.WithoutCancel(ctx), &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	for i := range 2 {
		_, err := s.c.PutObject(ctx, &awss3.PutObjectInput{Bucket: &s.bucket, Key: &key,
			Body: bytes.NewReader([]byte("probe")), ContentLength: aws.Int64(5), IfNoneMatch: aws.String("*")})
		switch {
		case err == nil && i == 1:
			return ModeEmulated, nil
		case err != nil && i == 1 && statusOf(err) == http.StatusPreconditionFailed:
			return ModeConditional, nil
		case err != nil:
			return 0, fmt.Errorf("blob/s3: probing s3://%s/%s: %w", s.bucket, key, err)
		}
	}
	panic("unreachable")
}

func statusOf(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func codeOf(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// wrap maps an SDK error to blob's sentinels where one applies.
func (s *Store) wrap(op, key string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("blob/s3: %s %q: %w", op, key, err)
	}
	var nk *types.NoSuchKey
	var nf *types.NotFound
	switch {
	case errors.As(err, &nk), errors.As(err, &nf), codeOf(err) == "NoSuchKey", statusOf(err) == http.StatusNotFound && codeOf(err) != "NoSuchBucket":
		return fmt.Errorf("%w: %q", blob.ErrNotFound, key)
	}
	return fmt.Errorf("blob/s3: %s s3://%s/%s%s: %w", op, s.bucket, s.prefix, key, err)
}

// validKey applies blob.ValidKey, and S3's 1024-byte limit to the
// prefixed key.
func (s *Store) validKey(key string) bool {
	return blob.ValidKey(key) && len(s.prefix)+len(key) <= blob.MaxKeyLen
}

func (s *Store) lock(key string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// PutIfAbsent implements blob.Store. The request is sent once (no SDK
// retries: the body is a stream); the caller retries.
func (s *Store) PutIfAbsent(ctx context.Context, key string, body io.Reader, size int64, sum []byte) error {
	if !s.validKey(key) {
		return fmt.Errorf("%w: %q", blob.ErrInvalidKey, key)
	}
	if len(sum) != blob.SumSize || size < 0 {
		return fmt.Errorf("blob/s3: put %q: need a 32-byte sha256 and a size >= 0", key)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.mode != ModeConditional {
		mu := s.lock(key)
		mu.Lock()
		defer mu.Unlock()
		if _, err := s.Stat(ctx, key); err == nil {
			return fmt.Errorf("%w: %q", blob.ErrExists, key)
		} else if !errors.Is(err, blob.ErrNotFound) {
			return err
		}
	}
	// A 409 ConditionalRequestConflict (AWS: a racing write or delete) is
	// retried, with the body re-read only if it can be rewound.
	start, seekable := int64(0), false
	if sk, ok := body.(io.Seeker); ok {
		if pos, err := sk.Seek(0, io.SeekCurrent); err == nil {
			start, seekable = pos, true
		}
	}
	for attempt := 0; ; attempt++ {
		err := s.put(ctx, key, body, size, sum)
		if codeOf(err) != "ConditionalRequestConflict" || !seekable || attempt == 4 {
			return err
		}
		if _, serr := body.(io.Seeker).Seek(start, io.SeekStart); serr != nil {
			return err
		}
	}
}

func (s *Store) put(ctx context.Context, key string, body io.Reader, size int64, sum []byte) error {
	vr := &verifyReader{r: io.LimitReader(body, size), left: size, h: sha256.New(), want: sum}
	full := s.prefix + key
	out, err := s.c.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: &s.bucket, Key: &full, Body: vr, ContentLength: aws.Int64(size),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum)),
		IfNoneMatch:    aws.String("*"),
	}, func(o *awss3.Options) {
		o.RetryMaxAttempts = 1
		o.APIOptions = append(o.APIOptions, signedPayload(hex.EncodeToString(sum)))
	})
	switch {
	case vr.bad:
		return fmt.Errorf("%w: %q", blob.ErrChecksum, key)
	case err == nil:
	case statusOf(err) == http.StatusPreconditionFailed:
		return fmt.Errorf("%w: %q", blob.ErrExists, key)
	case codeOf(err) == "ConditionalRequestConflict":
		return fmt.Errorf("blob/s3: put %q: %w", key, err)
	case codeOf(err) == "BadDigest", codeOf(err) == "XAmzContentSHA256Mismatch", codeOf(err) == "InvalidDigest":
		return fmt.Errorf("%w: %q: %w", blob.ErrChecksum, key, err)
	default:
		return s.wrap("put", key, err)
	}
	if got := aws.ToString(out.ChecksumSHA256); got != "" && got != base64.StdEncoding.EncodeToString(sum) {
		return fmt.Errorf("%w: %q: the server stored sha256 %s", blob.ErrChecksum, key, got)
	}
	return nil
}

// signedPayload gives the SigV4 signer the body's SHA-256, known in
// advance, so the SDK neither reads the stream to hash it (it cannot
// rewind it) nor sends UNSIGNED-PAYLOAD: the server checks the body
// against the signed x-amz-content-sha256.
func signedPayload(hexSum string) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("RheosPayloadHash",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				return next.HandleFinalize(v4.SetPayloadHash(ctx, hexSum), in)
			}), "ComputePayloadHash", middleware.Before)
	}
}

// verifyReader hashes a body as it streams and withholds its last bytes,
// failing the read instead, if the body does not match: the HTTP request
// then never completes, so the server cannot store a bad object.
type verifyReader struct {
	r    io.Reader
	left int64
	h    hash.Hash
	want []byte
	bad  bool
}

func (v *verifyReader) Read(p []byte) (int, error) {
	if v.bad {
		return 0, blob.ErrChecksum
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.left -= int64(n)
	if v.left == 0 && !bytes.Equal(v.h.Sum(nil), v.want) || err == io.EOF && v.left > 0 {
		v.bad = true
		return 0, blob.ErrChecksum
	}
	return n, err
}

// Get implements blob.Store with a ranged GetObject.
func (s *Store) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if !s.validKey(key) {
		return nil, fmt.Errorf("%w: %q", blob.ErrInvalidKey, key)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("%w: %q: offset %d", blob.ErrRange, key, off)
	}
	if n == 0 {
		info, err := s.Stat(ctx, key)
		if err != nil {
			return nil, err
		}
		if off > info.Size {
			return nil, fmt.Errorf("%w: %q: offset %d, size %d", blob.ErrRange, key, off, info.Size)
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	full := s.prefix + key
	in := &awss3.GetObjectInput{Bucket: &s.bucket, Key: &full}
	switch {
	case n > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	case off > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	out, err := s.c.GetObject(ctx, in)
	if err != nil && (codeOf(err) == "InvalidRange" || statusOf(err) == http.StatusRequestedRangeNotSatisfiable) {
		// Past the end: empty at the end exactly, ErrRange beyond.
		info, serr := s.Stat(ctx, key)
		if serr != nil {
			return nil, serr
		}
		if off == info.Size {
			return io.NopCloser(strings.NewReader("")), nil
		}
		return nil, fmt.Errorf("%w: %q: offset %d, size %d", blob.ErrRange, key, off, info.Size)
	}
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	return ctxBody{ctx, out.Body}, nil
}

// ctxBody fails reads once ctx is done, even when the rest of the body is
// already buffered.
type ctxBody struct {
	ctx context.Context
	io.ReadCloser
}

func (b ctxBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	return b.ReadCloser.Read(p)
}

// Stat implements blob.Store with HeadObject, asking for the stored
// checksum.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	if !s.validKey(key) {
		return blob.Info{}, fmt.Errorf("%w: %q", blob.ErrInvalidKey, key)
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, err
	}
	full := s.prefix + key
	out, err := s.c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &full, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return blob.Info{}, s.wrap("stat", key, err)
	}
	info := blob.Info{Key: key, Size: aws.ToInt64(out.ContentLength)}
	if v, err := base64.StdEncoding.DecodeString(aws.ToString(out.ChecksumSHA256)); err == nil && len(v) == blob.SumSize {
		info.SHA256 = v
	}
	return info, nil
}

// List implements blob.Store with one ListObjectsV2 per page.
func (s *Store) List(ctx context.Context, prefix, after string, limit int) ([]blob.Info, bool, error) {
	if limit <= 0 {
		limit = blob.DefaultListLimit
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	in := &awss3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.prefix + prefix), MaxKeys: aws.Int32(int32(min(limit, 1000)))}
	if after != "" {
		in.StartAfter = aws.String(s.prefix + after)
	}
	for {
		out, err := s.c.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, false, s.wrap("list", prefix, err)
		}
		infos := make([]blob.Info, 0, len(out.Contents))
		for _, o := range out.Contents {
			k := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			if !blob.ValidKey(k) || k <= after || !strings.HasPrefix(k, prefix) {
				continue // a foreign object under the prefix
			}
			infos = append(infos, blob.Info{Key: k, Size: aws.ToInt64(o.Size)})
		}
		more := aws.ToBool(out.IsTruncated)
		if len(infos) > 0 || !more || len(out.Contents) == 0 {
			return infos, more, nil
		}
		// A page of foreign objects only: go on past them.
		in.StartAfter = out.Contents[len(out.Contents)-1].Key
	}
}

// Delete implements blob.Store with DeleteObject (S3 answers 204 for a
// missing key too).
func (s *Store) Delete(ctx context.Context, key string) error {
	if !s.validKey(key) {
		return fmt.Errorf("%w: %q", blob.ErrInvalidKey, key)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	full := s.prefix + key
	if _, err := s.c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: &full}); err != nil {
		if err := s.wrap("delete", key, err); !errors.Is(err, blob.ErrNotFound) {
			return err
		}
	}
	return nil
}
