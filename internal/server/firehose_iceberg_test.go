package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	glueiceberg "github.com/apache/iceberg-go/catalog/glue"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/rheos/rheos/internal/icebergsink"
)

// sdkObjects is object storage through the AWS SDK's S3 client: how the
// test, as an outside Iceberg reader, reaches the tables' files.
type sdkObjects struct{ c *s3.Client }

func (o sdkObjects) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := o.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nk *types.NoSuchKey
		if errors.As(err, &nk) {
			return nil, fs.ErrNotExist
		}
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func (o sdkObjects) Put(ctx context.Context, bucket, key string, body []byte) error {
	_, err := o.c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	return err
}

func (o sdkObjects) Delete(ctx context.Context, bucket, key string) error {
	_, err := o.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return err
}

// iceberg-go's registry takes a scheme once per process: the tests point
// it at their current server's S3.
var (
	icebergS3Once sync.Once
	icebergS3Mu   sync.Mutex
	icebergS3     *s3.Client
)

// icebergCatalog is iceberg-go's Glue catalog against the test server's
// Glue API, its s3:// files read and written through the server's S3 API.
func (ts *testServer) icebergCatalog(t *testing.T) (*glueiceberg.Catalog, *s3.Client) {
	t.Helper()
	s3c := ts.s3Client(t, true, "AKIDICEBERG", "secret")
	icebergS3Mu.Lock()
	icebergS3 = s3c
	icebergS3Mu.Unlock()
	icebergS3Once.Do(func() {
		icebergio.Register("s3", func(ctx context.Context, _ *url.URL, _ map[string]string) (icebergio.IO, error) {
			icebergS3Mu.Lock()
			defer icebergS3Mu.Unlock()
			return icebergsink.NewIO(ctx, sdkObjects{icebergS3}), nil
		})
	})
	cfg := aws.Config{Region: region, BaseEndpoint: aws.String(ts.url), Retryer: func() aws.Retryer { return aws.NopRetryer{} },
		Credentials: credentials.NewStaticCredentialsProvider("AKIDICEBERG", "secret", "")}
	cat, err := glueiceberg.NewCatalog(glueiceberg.WithAwsConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return cat, s3c
}

// scanRows reads a table back with iceberg-go, as JSON objects by id.
func scanRows(t *testing.T, tbl *table.Table) map[int64]map[string]any {
	t.Helper()
	at, err := tbl.Scan().ToArrowTable(context.Background())
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	defer at.Release()
	out := map[int64]map[string]any{}
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		b, err := rec.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var rows []map[string]any
		if err := json.Unmarshal(b, &rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out[int64(r["id"].(float64))] = r
		}
	}
	return out
}

// waitSnapshots waits until the table has at least n snapshots.
func waitSnapshots(t *testing.T, cat *glueiceberg.Catalog, ident table.Identifier, n int) *table.Table {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		tbl, err := cat.LoadTable(context.Background(), ident)
		if err == nil && len(tbl.Metadata().Snapshots()) >= n {
			return tbl
		}
		if time.Now().After(deadline) {
			t.Fatalf("table %v: fewer than %d snapshots after 60 s (err %v)", ident, n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFirehoseIcebergThreeDeliveries: a table created with iceberg-go's Glue
// catalog through Rheos's Glue API receives three deliveries (inserts, then
// updates and deletes by its unique key, routed by a JQ query), and
// iceberg-go reads back exactly the rows the records leave; records that do
// not fit go to iceberg-failed in the S3Configuration bucket.
func TestFirehoseIcebergThreeDeliveries(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil)
	ctx := context.Background()
	cat, s3c := ts.icebergCatalog(t)
	for _, b := range []string{"lake", "lake-errors"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cat.CreateNamespace(ctx, table.Identifier{"lakedb"}, iceberg.Properties{"location": "s3://lake/lakedb"}); err != nil {
		t.Fatal(err)
	}
	schema := iceberg.NewSchemaWithIdentifiers(0, []int{1},
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 3, Name: "score", Type: iceberg.PrimitiveTypes.Float64},
		iceberg.NestedField{ID: 4, Name: "at", Type: iceberg.PrimitiveTypes.TimestampTz},
	)
	ident := table.Identifier{"lakedb", "events"}
	if _, err := cat.CreateTable(ctx, ident, schema, catalog.WithLocation("s3://lake/lakedb/events"),
		catalog.WithProperties(iceberg.Properties{"format-version": "2"})); err != nil {
		t.Fatalf("create table: %v", err)
	}
	query := `{destinationDatabaseName: "lakedb", destinationTableName: "events", operation: (.op // "insert")}`
	r := ts.firehoseCall(t, "CreateDeliveryStream", map[string]any{"DeliveryStreamName": "to-iceberg",
		"IcebergDestinationConfiguration": map[string]any{
			"DestinationTableConfigurationList": []any{map[string]any{"DestinationDatabaseName": "lakedb", "DestinationTableName": "events", "UniqueKeys": []string{"id"}}},
			"ProcessingConfiguration": map[string]any{"Enabled": true, "Processors": []any{map[string]any{"Type": "MetadataExtraction", "Parameters": []any{
				map[string]any{"ParameterName": "MetadataExtractionQuery", "ParameterValue": query},
				map[string]any{"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}}}}},
			"BufferingHints":       map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0},
			"RoleARN":              "arn:aws:iam::000000000000:role/firehose",
			"CatalogConfiguration": map[string]any{"CatalogARN": "arn:aws:glue:" + region + ":000000000000:catalog"},
			"S3Configuration":      map[string]any{"RoleARN": "arn:aws:iam::000000000000:role/firehose", "BucketARN": "arn:aws:s3:::lake-errors"},
		}})
	if r.status != 200 {
		t.Fatalf("create: %d %v", r.status, r.body)
	}
	desc := ts.waitDeliveryStream(t, "to-iceberg")
	dests, _ := desc["Destinations"].([]any)
	if d, _ := dests[0].(map[string]any); d["IcebergDestinationDescription"] == nil {
		t.Fatalf("description: %v", desc)
	}
	put := func(recs ...string) {
		t.Helper()
		var rs []any
		for _, rec := range recs {
			rs = append(rs, map[string]any{"Data": []byte(rec)})
		}
		r := ts.firehoseCall(t, "PutRecordBatch", map[string]any{"DeliveryStreamName": "to-iceberg", "Records": rs})
		if r.status != 200 || r.body["FailedPutCount"].(float64) != 0 {
			t.Fatalf("put: %d %v", r.status, r.body)
		}
	}
	row := func(id int, name string, score float64) string {
		return fmt.Sprintf(`{"id":%d,"name":%q,"score":%g,"at":"2026-12-03T10:00:%02dZ","extra":"ignored"}`, id, name, score, id%60)
	}
	// Delivery 1: ten inserts.
	var first []string
	for i := 1; i <= 10; i++ {
		first = append(first, row(i, fmt.Sprint("n", i), float64(i)))
	}
	put(first...)
	waitSnapshots(t, cat, ident, 1)
	// Delivery 2: ten more, an update of 3, and a record that does not fit.
	var second []string
	for i := 11; i <= 20; i++ {
		second = append(second, row(i, fmt.Sprint("n", i), float64(i)))
	}
	second = append(second, `{"id":3,"name":"three","score":33,"op":"update"}`, `{"id":"not a number","name":"bad"}`)
	put(second...)
	waitSnapshots(t, cat, ident, 2)
	// Delivery 3: delete 5, update 11 twice (the last wins).
	put(`{"id":5,"op":"delete"}`, `{"id":11,"name":"first","score":1,"op":"update"}`, `{"id":11,"name":"eleven","score":111,"op":"update"}`)
	tbl := waitSnapshots(t, cat, ident, 3)

	got := scanRows(t, tbl)
	var ids []int
	for id := range got {
		ids = append(ids, int(id))
	}
	sort.Ints(ids)
	want := []int{1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("ids = %v, want %v", ids, want)
	}
	if got[3]["name"] != "three" || got[3]["score"] != 33.0 || got[3]["at"] != nil {
		t.Errorf("row 3 = %v", got[3])
	}
	if got[11]["name"] != "eleven" || got[11]["score"] != 111.0 {
		t.Errorf("row 11 = %v", got[11])
	}
	if got[7]["name"] != "n7" || got[7]["score"] != 7.0 || got[7]["at"] != "2026-12-03T10:00:07Z" {
		t.Errorf("row 7 = %v", got[7])
	}
	// The record that did not fit is under iceberg-failed, with AWS's fields.
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lake-errors"), Prefix: aws.String("iceberg-failed/")})
		if err == nil && len(list.Contents) > 0 {
			body, err := sdkObjects{s3c}.Get(ctx, "lake-errors", *list.Contents[0].Key)
			if err != nil {
				t.Fatal(err)
			}
			var line map[string]any
			if err := json.Unmarshal(bytes.TrimSpace(body), &line); err != nil {
				t.Fatalf("failed line %s: %v", body, err)
			}
			if line["errorCode"] != icebergsink.CodeTypeMismatch || line["destinationTableName"] != "events" || line["rawData"] == nil || line["attemptsMade"] == nil {
				t.Errorf("failed line = %v", line)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no iceberg-failed object: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
