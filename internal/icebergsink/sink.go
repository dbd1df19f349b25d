// Package icebergsink owns writing JSON records into Apache Iceberg tables
// with iceberg-go, as Firehose's Iceberg destination does: a table is found
// through a Catalog seam (the Glue Data Catalog Rheos serves: the table's
// metadata_location, swapped under Glue's VersionId as Iceberg's Glue
// catalog commits), its files are read and written through an Objects seam
// (s3:// locations in the built-in S3 or an external one), and each batch
// becomes one snapshot: an append, or with unique keys a row delta of
// equality deletes and new rows (updates and deletes). It knows nothing of
// Firehose's API; the records' routing and error output are the caller's.
package icebergsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// Catalog finds and commits tables.
type Catalog interface {
	// Current returns the table's metadata location and the catalog
	// version it was read at; ErrNoSuchTable when the database or table
	// does not exist or is not an Iceberg table.
	Current(ctx context.Context, db, tbl string) (location, version string, err error)
	// Swap points the table at a new metadata file if it is still at
	// version (remembering the old one as previous_metadata_location);
	// ErrConflict if another writer committed first.
	Swap(ctx context.Context, db, tbl, version, location string) error
}

// Catalog errors.
var (
	ErrNoSuchTable = errors.New("icebergsink: no such Iceberg table")
	ErrConflict    = errors.New("icebergsink: the table changed concurrently")
)

// Op is what a record does to its table.
type Op uint8

// Ops, as Firehose's routing metadata names them (insert, update, delete).
const (
	Insert Op = iota
	Update
	Delete
)

// ParseOp reads a routing "operation": insert (also when empty), update or
// delete, in any case.
func ParseOp(s string) (Op, bool) {
	switch strings.ToLower(s) {
	case "", "insert":
		return Insert, true
	case "update":
		return Update, true
	case "delete":
		return Delete, true
	}
	return 0, false
}

// Row is one record for a table.
type Row struct {
	Data []byte
	Op   Op
}

// RowFailure is a record that cannot be written (its index in the rows
// given), with an error code and message for the error output.
type RowFailure struct {
	Index         int
	Code, Message string
}

// TableError fails every record of a table without a retry (the table
// does not exist, its unique keys are wrong).
type TableError struct{ Code, Message string }

func (e *TableError) Error() string { return e.Message }

// Sink writes records into tables.
type Sink struct {
	cat  Catalog
	objs Objects
}

// New returns a sink over a catalog and object storage.
func New(cat Catalog, objs Objects) *Sink { return &Sink{cat: cat, objs: objs} }

// Result is what one Write did.
type Result struct {
	Failures               []RowFailure
	Inserted, Deleted      int    // rows written as data, keys written as equality deletes
	SnapshotID             int64  // the committed snapshot (0: nothing to commit)
	MetadataLocation       string // the table's metadata after the commit
	DataFiles, DeleteFiles int
}

// Write writes rows into db.tbl as one snapshot. uniqueKeys (or, when
// empty, the schema's identifier fields) identify the rows updates and
// deletes replace; without either, updates and deletes fail. Within a
// batch the last operation on a key wins. Rows that cannot be written are
// returned as failures; a *TableError fails them all; any other error
// means nothing was committed and the write may be retried.
//
// A commit that loses to another writer is tried again from the table's
// new state, up to commitAttempts times (iceberg-go retries a commit whose
// snapshot still applies; this rebuilds one that does not, such as the
// first snapshot of a table two writers fill at once). Files written by a
// lost attempt stay unreferenced in the table's location.
func (s *Sink) Write(ctx context.Context, db, tbl string, rows []Row, uniqueKeys []string, props map[string]string) (Result, error) {
	for attempt := 1; ; attempt++ {
		res, err := s.writeOnce(ctx, db, tbl, rows, uniqueKeys, props)
		if err == nil || !errors.Is(err, table.ErrCommitFailed) || attempt == commitAttempts || ctx.Err() != nil {
			return res, err
		}
	}
}

// commitAttempts bounds Write's own commit retries.
const commitAttempts = 5

func (s *Sink) writeOnce(ctx context.Context, db, tbl string, rows []Row, uniqueKeys []string, props map[string]string) (Result, error) {
	var res Result
	if db == "" || tbl == "" {
		return res, &TableError{CodeInvalidTableName, "The database and table names must not be empty."}
	}
	fsF := func(context.Context) (icebergio.IO, error) { return NewIO(ctx, s.objs), nil }
	cio := &catalogIO{cat: s.cat, fsF: fsF}
	ident := table.Identifier{db, tbl}
	t, err := cio.LoadTable(ctx, ident)
	if errors.Is(err, ErrNoSuchTable) {
		return res, &TableError{CodeNoSuchTable, fmt.Sprintf("Table %s.%s does not exist, or is not an Iceberg table.", db, tbl)}
	}
	if err != nil {
		return res, err
	}
	schema := t.Schema()
	fields := schema.Fields()
	keyIDs, err := keyFieldIDs(schema, uniqueKeys)
	if err != nil {
		return res, err
	}
	if err := keysCoverPartition(t.Metadata().PartitionSpec(), keyIDs, rows); err != nil {
		return res, err
	}
	type parsed struct {
		idx  int
		op   Op
		vals []any
		key  string
	}
	var ok []parsed
	for i, r := range rows {
		obj, err := decodeRecord(r.Data)
		var vals []any
		if err == nil {
			vals, err = rowValues(fields, obj)
		}
		var key string
		if err == nil && (r.Op != Insert || len(keyIDs) > 0) {
			key, err = rowKey(fields, keyIDs, vals, r.Op)
		}
		if err != nil {
			var re *rowError
			if errors.As(err, &re) {
				res.Failures = append(res.Failures, RowFailure{i, re.code, re.msg})
				continue
			}
			return res, err
		}
		ok = append(ok, parsed{i, r.Op, vals, key})
	}
	// The last operation on a key wins: earlier rows with the key are not
	// written, and an update or delete also removes the table's rows with
	// the key (an equality delete, applied to older snapshots only).
	last := map[string]int{}
	for i, p := range ok {
		if p.key != "" {
			last[p.key] = i
		}
	}
	var data, deletes [][]any
	deleted := map[string]bool{}
	for i, p := range ok {
		if p.key != "" && last[p.key] != i {
			if p.op != Insert {
				deleted[p.key] = true
			}
			continue
		}
		if p.op != Delete {
			data = append(data, p.vals)
		}
		if p.op != Insert || deleted[p.key] {
			deletes = append(deletes, p.vals)
		}
	}
	if len(data) == 0 && len(deletes) == 0 {
		return res, nil
	}
	if len(deletes) > 0 && t.Metadata().Version() < 2 {
		return res, &TableError{CodeNoSuchTable, fmt.Sprintf("Table %s.%s is in Iceberg format version %d: updates and deletes need version 2.", db, tbl, t.Metadata().Version())}
	}
	asch, err := table.SchemaToArrowSchema(schema, nil, true, false)
	if err != nil {
		return res, err
	}
	tx := t.NewTransaction()
	snapProps := iceberg.Properties(props)
	if len(deletes) == 0 {
		rec := buildRecord(asch, data)
		defer rec.Release()
		rdr, err := array.NewRecordReader(asch, []arrow.RecordBatch{rec})
		if err != nil {
			return res, err
		}
		defer rdr.Release()
		if err := tx.Append(ctx, rdr, snapProps); err != nil {
			return res, err
		}
		res.DataFiles = 1
	} else {
		var dataFiles []iceberg.DataFile
		if len(data) > 0 {
			rec := buildRecord(asch, data)
			for df, err := range table.WriteRecords(ctx, t, asch, single(rec)) {
				if err != nil {
					return res, err
				}
				dataFiles = append(dataFiles, df)
			}
		}
		delFiles, err := tx.WriteEqualityDeletes(ctx, keyIDs, single(buildRecord(asch, deletes)))
		if err != nil {
			return res, err
		}
		if err := tx.NewRowDelta(snapProps).AddRows(dataFiles...).AddDeletes(delFiles...).Commit(ctx); err != nil {
			return res, err
		}
		res.DataFiles, res.DeleteFiles = len(dataFiles), len(delFiles)
	}
	nt, err := tx.Commit(ctx)
	if err != nil {
		return res, err
	}
	res.Inserted, res.Deleted = len(data), len(deletes)
	res.MetadataLocation = nt.MetadataLocation()
	if snap := nt.CurrentSnapshot(); snap != nil {
		res.SnapshotID = snap.SnapshotID
	}
	return res, nil
}

// single yields one record batch (WriteRecords releases what it consumes).
func single(rec arrow.RecordBatch) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) { yield(rec, nil) }
}

func buildRecord(asch *arrow.Schema, rows [][]any) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, asch)
	defer b.Release()
	for _, r := range rows {
		for i, v := range r {
			appendValue(b.Field(i), v)
		}
	}
	return b.NewRecordBatch()
}

// keyFieldIDs resolves unique keys (top-level columns) to field ids; with
// none, the schema's identifier fields.
func keyFieldIDs(sc *iceberg.Schema, uniqueKeys []string) ([]int, error) {
	if len(uniqueKeys) == 0 {
		return sc.IdentifierFieldIDs, nil
	}
	var ids []int
	for _, k := range uniqueKeys {
		f, ok := sc.FindFieldByName(k)
		if !ok || strings.Contains(k, ".") {
			return nil, &TableError{CodeInvalidUniqueKeys, "The configured unique keys for the table do not match with the fields present in the schema."}
		}
		ids = append(ids, f.ID)
	}
	return ids, nil
}

// keysCoverPartition refuses updates and deletes on a partitioned table
// whose keys leave out a partition source column: an equality delete
// applies within its own partition only, so a key that does not fix the
// partition would miss the rows it should replace (Iceberg's Flink upsert
// mode has the same rule: the partition fields must be among the equality
// fields).
func keysCoverPartition(spec iceberg.PartitionSpec, keyIDs []int, rows []Row) error {
	if spec.IsUnpartitioned() || len(keyIDs) == 0 {
		return nil
	}
	changes := false
	for _, r := range rows {
		changes = changes || r.Op != Insert
	}
	if !changes {
		return nil
	}
	for _, f := range spec.Fields() {
		for _, src := range f.SourceIDs {
			if !slices.Contains(keyIDs, src) {
				return &TableError{CodeInvalidUniqueKeys, fmt.Sprintf("The unique keys must include the source column of partition field %s (field id %d): updates and deletes apply within a partition.", f.Name, src)}
			}
		}
	}
	return nil
}

// rowKey renders a row's unique key values; an update or delete needs keys,
// and no key value may be null.
func rowKey(fields []iceberg.NestedField, keyIDs []int, vals []any, op Op) (string, error) {
	if len(keyIDs) == 0 {
		return "", &rowError{CodeNoUniqueKeys, "Updates and deletes need UniqueKeys in the table's configuration or identifier fields in its schema."}
	}
	var parts []any
	for _, id := range keyIDs {
		for i, f := range fields {
			if f.ID == id {
				if vals[i] == nil {
					return "", &rowError{CodeMissingColumn, fmt.Sprintf("Unique key column %s is missing within the record.", f.Name)}
				}
				parts = append(parts, vals[i])
			}
		}
	}
	b, _ := json.Marshal(parts)
	return string(b), nil
}

// catalogIO is iceberg-go's view of the catalog: load a table, commit
// metadata updates with the catalog's optimistic lock.
type catalogIO struct {
	cat Catalog
	fsF table.FSysF
}

func (c *catalogIO) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	loc, _, err := c.cat.Current(ctx, ident[0], ident[1])
	if err != nil {
		return nil, err
	}
	return table.NewFromLocation(ctx, ident, loc, c.fsF, c)
}

func (c *catalogIO) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	loc, version, err := c.cat.Current(ctx, ident[0], ident[1])
	if err != nil {
		return nil, "", err
	}
	cur, err := table.NewFromLocation(ctx, ident, loc, c.fsF, c)
	if err != nil {
		return nil, "", err
	}
	for _, r := range reqs {
		if err := r.Validate(cur.Metadata()); err != nil {
			return nil, "", fmt.Errorf("%w: %w", table.ErrCommitFailed, err)
		}
	}
	updated, err := table.UpdateTableMetadata(cur.Metadata(), updates, loc)
	if err != nil {
		return nil, "", err
	}
	provider, err := table.LoadLocationProvider(updated.Location(), updated.Properties())
	if err != nil {
		return nil, "", err
	}
	next, err := provider.NewTableMetadataFileLocation(metadataVersion(loc) + 1)
	if err != nil {
		return nil, "", err
	}
	body, err := json.Marshal(updated)
	if err != nil {
		return nil, "", err
	}
	fs, _ := c.fsF(ctx)
	if err := fs.(icebergio.WriteFileIO).WriteFile(next, body); err != nil {
		return nil, "", err
	}
	if err := c.cat.Swap(ctx, ident[0], ident[1], version, next); err != nil {
		_ = fs.Remove(next)
		if errors.Is(err, ErrConflict) {
			return nil, "", fmt.Errorf("%w: %w", table.ErrCommitFailed, err)
		}
		return nil, "", err
	}
	return updated, next, nil
}

// metadataVersion reads the version of a metadata file name
// (00003-<uuid>.metadata.json, or v3.metadata.json); -1 if none.
func metadataVersion(loc string) int {
	name := strings.TrimPrefix(path.Base(loc), "v")
	i := strings.IndexAny(name, "-.")
	if i <= 0 {
		return -1
	}
	n, err := strconv.Atoi(name[:i])
	if err != nil {
		return -1
	}
	return n
}
