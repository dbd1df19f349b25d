package firehose

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/rheos/rheos/internal/icebergsink"
)

func (o *memObjects) GetObject(_ context.Context, _, bucket, key string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.objects[bucket+"/"+key]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return append([]byte(nil), b...), nil
}

func (o *memObjects) DeleteObject(_ context.Context, _, bucket, key string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.objects, bucket+"/"+key)
	return nil
}

// memCatalog is a catalog of metadata locations; down makes every call fail.
type memCatalog struct {
	mu       sync.Mutex
	tables   map[string]string // db.tbl → metadata location
	versions map[string]int
	down     bool
}

func (c *memCatalog) Catalog(string, string) icebergsink.Catalog { return c }

func (c *memCatalog) Current(_ context.Context, db, tbl string) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return "", "", errors.New("catalog unavailable")
	}
	loc, ok := c.tables[db+"."+tbl]
	if !ok {
		return "", "", icebergsink.ErrNoSuchTable
	}
	return loc, fmt.Sprint(c.versions[db+"."+tbl]), nil
}

func (c *memCatalog) Swap(_ context.Context, db, tbl, version, loc string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fmt.Sprint(c.versions[db+"."+tbl]) != version {
		return icebergsink.ErrConflict
	}
	c.tables[db+"."+tbl], c.versions[db+"."+tbl] = loc, c.versions[db+"."+tbl]+1
	return nil
}

// memObjectsSink is memObjects as the sink's object storage.
type memObjectsSink struct{ o *memObjects }

func (m memObjectsSink) Get(ctx context.Context, b, k string) ([]byte, error) {
	return m.o.GetObject(ctx, "", b, k)
}
func (m memObjectsSink) Put(ctx context.Context, b, k string, body []byte) error {
	return m.o.PutObject(ctx, "", b, k, body, "")
}
func (m memObjectsSink) Delete(ctx context.Context, b, k string) error {
	return m.o.DeleteObject(ctx, "", b, k)
}

func newIcebergTable(t *testing.T, objs *memObjects, cat *memCatalog, db, tbl string) {
	t.Helper()
	schema := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "kind", Type: iceberg.PrimitiveTypes.String})
	loc := "s3://wh/" + db + "/" + tbl
	meta, err := table.NewMetadata(schema, iceberg.UnpartitionedSpec, table.UnsortedSortOrder, loc, iceberg.Properties{"format-version": "2"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(meta)
	key := db + "/" + tbl + "/metadata/00000-6f1b2a3c-0000-4000-8000-000000000000.metadata.json"
	objs.PutObject(context.Background(), "", "wh", key, body, "")
	cat.mu.Lock()
	cat.tables[db+"."+tbl] = "s3://wh/" + key
	cat.mu.Unlock()
}

func readIcebergIDs(t *testing.T, objs *memObjects, cat *memCatalog, db, tbl string) []int {
	t.Helper()
	loc, _, err := cat.Current(context.Background(), db, tbl)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fsF := func(context.Context) (icebergio.IO, error) { return icebergsink.NewIO(ctx, memObjectsSink{objs}), nil }
	tb, err := table.NewFromLocation(ctx, table.Identifier{db, tbl}, loc, fsF, nil)
	if err != nil {
		t.Fatal(err)
	}
	at, err := tb.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	var ids []int
	for i := 0; i < int(at.NumCols()); i++ {
		if at.Schema().Field(i).Name != "id" {
			continue
		}
		for _, ch := range at.Column(i).Data().Chunks() {
			b, _ := ch.MarshalJSON()
			var vs []int
			json.Unmarshal(b, &vs)
			ids = append(ids, vs...)
		}
	}
	sort.Ints(ids)
	return ids
}

// lambdaRouter answers a Lambda processor event routing each record by its
// "kind" through metadata.otfMetadata, as AWS's Iceberg routing documents.
type lambdaRouter struct{}

func (lambdaRouter) Invoke(_ context.Context, _, _, _ string, payload []byte) ([]byte, string, error) {
	var ev struct {
		Records []struct {
			RecordID string `json:"recordId"`
			Data     string `json:"data"`
		} `json:"records"`
	}
	json.Unmarshal(payload, &ev)
	var out []map[string]any
	for _, r := range ev.Records {
		raw, _ := base64.StdEncoding.DecodeString(r.Data)
		var rec struct{ Kind string }
		json.Unmarshal(raw, &rec)
		out = append(out, map[string]any{"recordId": r.RecordID, "result": "Ok", "data": r.Data,
			"metadata": map[string]any{"otfMetadata": map[string]any{"destinationDatabaseName": "db", "destinationTableName": "t_" + rec.Kind, "operation": "insert"}}})
	}
	b, _ := json.Marshal(map[string]any{"records": out})
	return b, "", nil
}

func icebergConf(extra map[string]any) map[string]any {
	conf := map[string]any{
		"DestinationTableConfigurationList": []any{
			map[string]any{"DestinationDatabaseName": "db", "DestinationTableName": "t_a"},
			map[string]any{"DestinationDatabaseName": "db", "DestinationTableName": "t_b"}},
		"BufferingHints":       map[string]any{"SizeInMBs": int64(1), "IntervalInSeconds": int64(0)},
		"RoleARN":              "arn:aws:iam::111122223333:role/f",
		"CatalogConfiguration": map[string]any{"CatalogARN": "arn:aws:glue:us-east-1:111122223333:catalog"},
		"S3Configuration":      map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/f", "BucketARN": "arn:aws:s3:::errs"},
	}
	for k, v := range extra {
		conf[k] = v
	}
	return conf
}

func runIceberg(t *testing.T, cat *memCatalog, fn Invoker, conf map[string]any, records ...string) (*Service, *memObjects) {
	t.Helper()
	svc, objs := newTestService(t, func(c *Config) { c.Iceberg = cat; c.Functions = fn })
	newIcebergTable(t, objs, cat, "db", "t_a")
	newIcebergTable(t, objs, cat, "db", "t_b")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "logs", Destinations: map[string]map[string]any{DestIceberg: conf}}); err != nil {
		t.Fatal(err)
	}
	var data [][]byte
	for _, r := range records {
		data = append(data, []byte(r))
	}
	if _, _, err := svc.Put(ctx, Scope{}, "logs", data); err != nil {
		t.Fatal(err)
	}
	return svc, objs
}

// TestIcebergLambdaRouting: a Lambda processor's metadata.otfMetadata
// routes each record to its table; both tables read back their rows.
func TestIcebergLambdaRouting(t *testing.T) {
	cat := &memCatalog{tables: map[string]string{}, versions: map[string]int{}}
	lambda := map[string]any{"ProcessingConfiguration": map[string]any{"Enabled": true, "Processors": []any{map[string]any{"Type": "Lambda",
		"Parameters": []any{map[string]any{"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:us-east-1:111122223333:function:route"}}}}}}
	svc, objs := runIceberg(t, cat, lambdaRouter{}, icebergConf(lambda),
		`{"id":1,"kind":"a"}`, `{"id":2,"kind":"b"}`, `{"id":3,"kind":"a"}`, `{"id":4,"kind":"c"}`)
	waitCheckpoint(t, svc, 4)
	if got := readIcebergIDs(t, objs, cat, "db", "t_a"); fmt.Sprint(got) != "[1 3]" {
		t.Errorf("t_a ids %v", got)
	}
	if got := readIcebergIDs(t, objs, cat, "db", "t_b"); fmt.Sprint(got) != "[2]" {
		t.Errorf("t_b ids %v", got)
	}
	// Kind c routes to a table that does not exist: Iceberg.NoSuchTable.
	lines := icebergFailed(t, objs)
	if len(lines) != 1 || lines[0]["errorCode"] != icebergsink.CodeNoSuchTable || lines[0]["destinationTableName"] != "t_c" {
		t.Errorf("failed lines %v", lines)
	}
}

// TestIcebergCatalogDownThenBackup: with the catalog down for longer than
// RetryOptions, every record ends up under iceberg-failed, none lost.
func TestIcebergCatalogDownThenBackup(t *testing.T) {
	icebergTiming.backoff = 100 * time.Millisecond
	t.Cleanup(func() { icebergTiming.backoff = time.Second })
	cat := &memCatalog{tables: map[string]string{}, versions: map[string]int{}}
	conf := icebergConf(map[string]any{"RetryOptions": map[string]any{"DurationInSeconds": int64(1)},
		"DestinationTableConfigurationList": []any{map[string]any{"DestinationDatabaseName": "db", "DestinationTableName": "t_a"}}})
	svc, objs := newTestService(t, func(c *Config) { c.Iceberg = cat })
	newIcebergTable(t, objs, cat, "db", "t_a")
	cat.down = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "logs", Destinations: map[string]map[string]any{DestIceberg: conf}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Put(ctx, Scope{}, "logs", [][]byte{[]byte(`{"id":1}`), []byte(`{"id":2}`), []byte(`{"id":3}`)}); err != nil {
		t.Fatal(err)
	}
	waitCheckpoint(t, svc, 3)
	lines := icebergFailed(t, objs)
	var raw []string
	for _, l := range lines {
		b, _ := base64.StdEncoding.DecodeString(l["rawData"].(string))
		raw = append(raw, string(b))
		if l["errorCode"] != "Iceberg.WriteFailed" || l["attemptsMade"].(float64) < 3 || !strings.Contains(l["errorMessage"].(string), "catalog unavailable") {
			t.Errorf("line %v", l)
		}
	}
	sort.Strings(raw)
	if fmt.Sprint(raw) != `[{"id":1} {"id":2} {"id":3}]` {
		t.Errorf("backed up %v", raw)
	}
}

// TestIcebergConfigRules: AWS's documented limits on the configuration.
func TestIcebergConfigRules(t *testing.T) {
	svc, _ := newTestService(t, nil)
	ctx := context.Background()
	for name, extra := range map[string]map[string]any{
		"all-data":  {"S3BackupMode": "AllData"},
		"retry":     {"RetryOptions": map[string]any{"DurationInSeconds": int64(7201)}},
		"catalog":   {"CatalogConfiguration": map[string]any{"CatalogARN": "arn:aws:glue:us-east-1:1:table"}},
		"twice":     {"DestinationTableConfigurationList": []any{map[string]any{"DestinationDatabaseName": "db", "DestinationTableName": "t"}, map[string]any{"DestinationDatabaseName": "DB", "DestinationTableName": "T"}}},
		"creation":  {"TableCreationConfiguration": map[string]any{"Enabled": true}},
		"buffering": {"BufferingHints": map[string]any{"SizeInMBs": int64(129), "IntervalInSeconds": int64(0)}},
	} {
		_, err := svc.Create(ctx, Scope{}, CreateInput{Name: "bad-" + name, Destinations: map[string]map[string]any{DestIceberg: icebergConf(extra)}})
		var fe *Error
		if !errors.As(err, &fe) || fe.Kind != KindInvalidArgument {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func icebergFailed(t *testing.T, objs *memObjects) []map[string]any {
	t.Helper()
	var lines []map[string]any
	waitFor(t, "iceberg-failed objects", func() bool {
		lines = nil
		for k, v := range objs.snapshot() {
			if !strings.HasPrefix(k, "errs/iceberg-failed/") {
				continue
			}
			for _, l := range strings.Split(strings.TrimSpace(string(v)), "\n") {
				var m map[string]any
				json.Unmarshal([]byte(l), &m)
				lines = append(lines, m)
			}
		}
		return len(lines) > 0
	})
	return lines
}
