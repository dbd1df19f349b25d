package glue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/metastore"
)

func newService(t *testing.T) *Service {
	t.Helper()
	meta, err := metastore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	return New(meta, "111122223333", func() time.Time { return time.Unix(1764756000, 0) })
}

func wantKind(t *testing.T, err error, k Kind) {
	t.Helper()
	var ge *Error
	if !errors.As(err, &ge) || ge.Kind != k {
		t.Fatalf("err = %v, want kind %d", err, k)
	}
}

// TestUpdateTableVersionLock: VersionId starts at "0" and moves by one per
// update; an update naming an old version is refused (Iceberg catalogs
// commit with this lock).
func TestUpdateTableVersionLock(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	sc := Scope{Region: "us-east-1"}
	if err := s.CreateDatabase(ctx, sc, map[string]any{"Name": "Lake"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTable(ctx, sc, "lake", map[string]any{"Name": "Events", "Parameters": map[string]any{"metadata_location": "s3://b/v0"}}); err != nil {
		t.Fatal(err)
	}
	tb, err := s.GetTable(ctx, sc, "LAKE", "events")
	if err != nil || tb.VersionID() != "0" {
		t.Fatalf("created: %+v %v", tb, err)
	}
	if err := s.UpdateTable(ctx, sc, "lake", map[string]any{"Name": "events", "Parameters": map[string]any{"metadata_location": "s3://b/v1"}}, "0"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.UpdateTable(ctx, sc, "lake", map[string]any{"Name": "events"}, "0"), KindConcurrentModification)
	if err := s.UpdateTable(ctx, sc, "lake", map[string]any{"Name": "events", "Parameters": map[string]any{"metadata_location": "s3://b/v2"}}, ""); err != nil {
		t.Fatal(err) // no VersionId: no lock
	}
	tb, _ = s.GetTable(ctx, sc, "lake", "events")
	if tb.VersionID() != "2" || tb.Input["Parameters"].(map[string]any)["metadata_location"] != "s3://b/v2" || !tb.CreateTime.Equal(tb.UpdateTime) {
		t.Errorf("after two updates: %+v", tb)
	}
	wantKind(t, s.UpdateTable(ctx, sc, "lake", map[string]any{"Name": "missing"}, ""), KindNotFound)
	wantKind(t, s.UpdateTable(ctx, sc, "nodb", map[string]any{"Name": "events"}, ""), KindNotFound)
}

// TestDatabasesPagedAndDeleted: GetDatabases pages in name order; deleting
// a database deletes its tables.
func TestDatabasesPagedAndDeleted(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	sc := Scope{Region: "us-east-1"}
	for i := range 5 {
		if err := s.CreateDatabase(ctx, sc, map[string]any{"Name": fmt.Sprintf("db%d", 4-i)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	after := ""
	for {
		ds, next, err := s.GetDatabases(ctx, sc, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			names = append(names, d.Input["Name"].(string))
		}
		if next == "" {
			break
		}
		after = next
	}
	if fmt.Sprint(names) != "[db0 db1 db2 db3 db4]" {
		t.Errorf("pages %v", names)
	}
	if err := s.CreateTable(ctx, sc, "db1", map[string]any{"Name": "t"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDatabase(ctx, sc, "db1"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeleteDatabase(ctx, sc, "db1"), KindNotFound)
	if err := s.CreateDatabase(ctx, sc, map[string]any{"Name": "db1"}); err != nil {
		t.Fatal(err)
	}
	if ts, _, err := s.GetTables(ctx, sc, "db1", "", 0); err != nil || len(ts) != 0 {
		t.Errorf("tables of a re-created database: %v %v", ts, err)
	}
}
