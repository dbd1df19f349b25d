package icebergsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

type memObjects struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (o *memObjects) Get(_ context.Context, b, k string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.m[b+"/"+k]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return v, nil
}

func (o *memObjects) Put(_ context.Context, b, k string, body []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m[b+"/"+k] = append([]byte(nil), body...)
	return nil
}

func (o *memObjects) Delete(_ context.Context, b, k string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, b+"/"+k)
	return nil
}

type memCatalog struct {
	mu      sync.Mutex
	loc     map[string]string
	version map[string]int
}

func (c *memCatalog) Current(_ context.Context, db, tbl string) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.loc[db+"."+tbl]
	if !ok {
		return "", "", ErrNoSuchTable
	}
	return l, fmt.Sprint(c.version[db+"."+tbl]), nil
}

func (c *memCatalog) Swap(_ context.Context, db, tbl, version, loc string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fmt.Sprint(c.version[db+"."+tbl]) != version {
		return ErrConflict
	}
	c.loc[db+"."+tbl], c.version[db+"."+tbl] = loc, c.version[db+"."+tbl]+1
	return nil
}

// newTable makes a table of (id long, kind string, at timestamptz)
// partitioned by kind and day(at).
func newTable(t *testing.T, objs *memObjects, cat *memCatalog, formatVersion string) {
	t.Helper()
	schema := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "kind", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 3, Name: "at", Type: iceberg.PrimitiveTypes.TimestampTz})
	spec := iceberg.NewPartitionSpec(
		iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "kind", Transform: iceberg.IdentityTransform{}},
		iceberg.PartitionField{SourceIDs: []int{3}, FieldID: 1001, Name: "at_day", Transform: iceberg.DayTransform{}})
	meta, err := table.NewMetadata(schema, &spec, table.UnsortedSortOrder, "s3://wh/db/t", iceberg.Properties{"format-version": formatVersion})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(meta)
	key := "db/t/metadata/00000-6f1b2a3c-0000-4000-8000-000000000000.metadata.json"
	objs.Put(context.Background(), "wh", key, body)
	cat.loc["db.t"] = "s3://wh/" + key
}

func scan(t *testing.T, objs *memObjects, cat *memCatalog) []string {
	t.Helper()
	ctx := context.Background()
	loc, _, _ := cat.Current(ctx, "db", "t")
	tb, err := table.NewFromLocation(ctx, table.Identifier{"db", "t"}, loc,
		func(context.Context) (icebergio.IO, error) { return NewIO(ctx, objs), nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	at, err := tb.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	var out []string
	tr := arrowRows(t, at)
	for _, r := range tr {
		out = append(out, fmt.Sprintf("%v:%v", r["id"], r["kind"]))
	}
	sort.Strings(out)
	return out
}

// TestWritePartitionedUpserts: a table partitioned by identity and day
// receives inserts, then updates and deletes by key across partitions;
// the rows read back are what the operations leave, and the data files are
// laid out by partition.
func TestWritePartitionedUpserts(t *testing.T) {
	objs := &memObjects{m: map[string][]byte{}}
	cat := &memCatalog{loc: map[string]string{}, version: map[string]int{}}
	newTable(t, objs, cat, "2")
	s := New(cat, objs)
	ctx := context.Background()
	row := func(id int, kind, day string) Row {
		return Row{Data: fmt.Appendf(nil, `{"id":%d,"kind":%q,"at":"2026-12-%sT10:00:00Z"}`, id, kind, day)}
	}
	res, err := s.Write(ctx, "db", "t", []Row{row(1, "a", "01"), row(2, "b", "01"), row(3, "a", "02"), row(4, "b", "02")}, []string{"id"}, nil)
	if err != nil || len(res.Failures) != 0 || res.SnapshotID == 0 {
		t.Fatalf("insert: %+v %v", res, err)
	}
	var paths []string
	for k := range objs.m {
		if strings.Contains(k, "/data/") {
			paths = append(paths, k)
		}
	}
	if len(paths) != 4 || !strings.Contains(strings.Join(paths, " "), "kind=a/at_day=2026-12-02") {
		t.Errorf("data files %v", paths)
	}
	// Keys that leave out a partition source column are refused for
	// updates and deletes (a delete applies within its partition).
	upd := row(2, "b", "01")
	upd.Data = []byte(`{"id":2,"kind":"b","at":"2026-12-01T10:00:00Z","note":"updated"}`)
	upd.Op = Update
	var te *TableError
	if _, err := s.Write(ctx, "db", "t", []Row{upd}, []string{"id"}, nil); !errors.As(err, &te) || te.Code != CodeInvalidUniqueKeys {
		t.Fatalf("keys without the partition: %v", err)
	}
	keys := []string{"id", "kind", "at"}
	del := Row{Data: []byte(`{"id":3,"kind":"a","at":"2026-12-02T10:00:00Z"}`), Op: Delete}
	upd2 := Row{Data: []byte(`{"id":1,"kind":"a","at":"2026-12-01T10:00:00Z"}`), Op: Update}
	res, err = s.Write(ctx, "db", "t", []Row{upd2, del, {Data: []byte(`{"kind":"no id"}`)}}, keys, nil)
	if err != nil || len(res.Failures) != 1 || res.Failures[0].Index != 2 || res.Failures[0].Code != CodeMissingColumn {
		t.Fatalf("upsert: %+v %v", res, err)
	}
	if got := scan(t, objs, cat); fmt.Sprint(got) != "[1:a 2:b 4:b]" {
		t.Errorf("rows %v", got)
	}
	// A version-1 table takes inserts but no updates or deletes.
	objs2 := &memObjects{m: map[string][]byte{}}
	cat2 := &memCatalog{loc: map[string]string{}, version: map[string]int{}}
	newTable(t, objs2, cat2, "1")
	s2 := New(cat2, objs2)
	if _, err := s2.Write(ctx, "db", "t", []Row{row(1, "a", "01")}, nil, nil); err != nil {
		t.Fatalf("v1 insert: %v", err)
	}
	_, err = s2.Write(ctx, "db", "t", []Row{del}, keys, nil)
	if !errors.As(err, &te) || te.Code != CodeNoSuchTable {
		t.Errorf("v1 delete: %v", err)
	}
	// Unknown unique keys; a missing table.
	if _, err := s.Write(ctx, "db", "t", []Row{upd2}, []string{"nope"}, nil); !errors.As(err, &te) || te.Code != CodeInvalidUniqueKeys {
		t.Errorf("bad keys: %v", err)
	}
	if _, err := s.Write(ctx, "db", "missing", []Row{upd2}, nil, nil); !errors.As(err, &te) || te.Code != CodeNoSuchTable {
		t.Errorf("missing table: %v", err)
	}
}

// TestWriteConflictRetried: a commit that loses the catalog's compare and
// swap to another writer is retried on the new metadata, and both writes
// are kept.
func TestWriteConflictRetried(t *testing.T) {
	objs := &memObjects{m: map[string][]byte{}}
	cat := &memCatalog{loc: map[string]string{}, version: map[string]int{}}
	newTable(t, objs, cat, "2")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := New(cat, objs).Write(context.Background(), "db", "t",
				[]Row{{Data: fmt.Appendf(nil, `{"id":%d,"kind":"w","at":"2026-12-01T00:00:00Z"}`, w)}}, nil, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("write: %v", err)
		}
	}
	if got := scan(t, objs, cat); fmt.Sprint(got) != "[0:w 1:w 2:w 3:w]" {
		t.Errorf("rows %v", got)
	}
}

func arrowRows(t *testing.T, at arrowTable) []map[string]any {
	t.Helper()
	var out []map[string]any
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	for tr.Next() {
		b, err := tr.RecordBatch().MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var rows []map[string]any
		json.Unmarshal(b, &rows)
		out = append(out, rows...)
	}
	return out
}

type arrowTable = arrow.Table
