package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/rheos/rheos/internal/analytics"
	"github.com/rheos/rheos/internal/analyticsapi"
	"github.com/rheos/rheos/internal/datastream"
	"github.com/rheos/rheos/internal/objectstore"
)

// This file wires Kinesis Data Analytics (the SQL applications' control
// plane, both APIs) into the server: the applications over the shared
// metadata store, schema discovery reading Data Streams and S3 (the
// built-in S3, or the external server Firehose writes to), and the
// Server's analytics field, where the SQL engine attaches its Runner and
// CodeValidator.

func init() { registerWiring("analytics", 25, (*Server).wireAnalytics) }

func (s *Server) wireAnalytics(ctx context.Context) error {
	svc := analytics.New(analytics.Config{
		Account: s.cfg.Account, Now: s.now,
		Streams: analyticsStreams{k: kinesisSource{svc: s.kinesis, changed: s.store.log.Changed}},
		Objects: s.analyticsObjects(),
	}, s.store.meta)
	// A previous process may have stopped mid-transition; the RUNNING
	// applications are the SQL engine's to restart once it is attached.
	if _, err := svc.Recover(ctx); err != nil {
		return err
	}
	ep, err := analyticsapi.New(svc, s.cfg.Account)
	if err != nil {
		return err
	}
	s.router.Register(ep)
	s.analytics = svc
	return nil
}

// analyticsObjects is where schema discovery reads S3 objects: the
// external server configured for Firehose, or the built-in S3.
func (s *Server) analyticsObjects() analytics.ObjectReader {
	if c := s.cfg.Firehose; c.FirehoseS3Endpoint != "" {
		region := c.FirehoseS3Region
		if region == "" {
			region = s.cfg.Region
		}
		pathStyle := c.FirehoseS3PathStyle == nil || *c.FirehoseS3PathStyle
		return externalReader{s3.New(s3.Options{
			Region: region, BaseEndpoint: aws.String(c.FirehoseS3Endpoint), UsePathStyle: pathStyle,
			Credentials: credentials.NewStaticCredentialsProvider(c.FirehoseS3AccessKeyID, c.FirehoseS3SecretAccessKey, ""),
		})}
	}
	if s.s3 != nil {
		return builtinReader{s.s3}
	}
	return nil
}

// builtinReader reads objects of the built-in S3 in the caller's account.
type builtinReader struct{ st *objectstore.Store }

func (b builtinReader) GetObject(ctx context.Context, account, bucket, key string, maxBytes int64) ([]byte, error) {
	r, _, err := b.st.GetObject(ctx, account, bucket, key)
	if errors.Is(err, objectstore.ErrNoSuchKey) || errors.Is(err, objectstore.ErrNoSuchBucket) {
		return nil, fmt.Errorf("%w: %w", analytics.ErrSourceNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, maxBytes))
}

// externalReader reads objects from an external S3-compatible server.
type externalReader struct{ c *s3.Client }

func (e externalReader) GetObject(ctx context.Context, _, bucket, key string, maxBytes int64) ([]byte, error) {
	out, err := e.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Range: aws.String(fmt.Sprintf("bytes=0-%d", maxBytes-1))})
	var nk *s3types.NoSuchKey
	var nb *s3types.NoSuchBucket
	if errors.As(err, &nk) || errors.As(err, &nb) {
		return nil, fmt.Errorf("%w: %w", analytics.ErrSourceNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(io.LimitReader(out.Body, maxBytes))
}

// analyticsStreams samples Data Streams records for schema discovery,
// through the adapter event source mappings use.
type analyticsStreams struct{ k kinesisSource }

// nowWait is how long discovery from NOW waits for records to arrive.
const nowWait = 3 * time.Second

func (a analyticsStreams) Sample(ctx context.Context, streamARN, position string, max int) ([][]byte, error) {
	shards, err := a.k.Shards(ctx, streamARN)
	var de *datastream.Error
	if errors.As(err, &de) && de.Kind == datastream.KindNotFound {
		return nil, fmt.Errorf("%w: %w", analytics.ErrSourceNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	typ := "TRIM_HORIZON"
	if position == analytics.PositionNow {
		typ = "LATEST"
	}
	its := make([]string, 0, len(shards))
	for _, sh := range shards {
		it, err := a.k.Iterator(ctx, streamARN, sh.ID, typ, "", time.Time{})
		if err != nil {
			return nil, err
		}
		its = append(its, it)
	}
	var out [][]byte
	deadline := time.Now().Add(nowWait)
	for round := 0; ; round++ {
		for i, it := range its {
			if it == "" || len(out) >= max {
				continue
			}
			recs, next, err := a.k.Read(ctx, it, max-len(out))
			if err != nil {
				return nil, err
			}
			for _, r := range recs {
				out = append(out, r.Data)
			}
			its[i] = next
		}
		// TRIM_HORIZON: a few reads per shard reach what is there; NOW:
		// wait a little for records put after the request.
		if len(out) >= max || typ == "TRIM_HORIZON" && round >= 4 || typ == "LATEST" && (len(out) > 0 || time.Now().After(deadline)) {
			return out, nil
		}
		if typ == "LATEST" {
			select {
			case <-ctx.Done():
				return out, ctx.Err()
			case <-a.k.Changed():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}
