package firehose

// The Apache Iceberg destination (IcebergDestinationConfiguration). AWS
// writes JSON records into Iceberg tables of the Glue Data Catalog
// (developer guide, "Deliver data to Apache Iceberg Tables"): Rheos does
// the same against the Glue catalog it serves and the S3 the tables live
// in, through internal/icebergsink (iceberg-go). What AWS documents and
// Rheos follows:
//
//   - Routing. With one DestinationTableConfiguration every record goes to
//     its table. Otherwise (or to override it) each record names its table:
//     the MetadataExtraction processor's JQ object
//     {destinationDatabaseName, destinationTableName, operation}, or the
//     Lambda processor's metadata.otfMetadata with the same keys; Lambda's
//     values win, JQ's fill in. A record with no table fails
//     (Iceberg.InvalidTableName). A table outside the list is written with
//     inserts only.
//   - Operations insert (the default), update and delete. Updates and
//     deletes replace rows by the table's UniqueKeys, or its schema's
//     identifier fields; the table must be in format version 2; AppendOnly
//     makes every record an insert.
//   - Columns are the record's first-level keys, names matching exactly
//     (icebergsink documents the value types taken).
//   - A batch is one snapshot per table. A failed write (storage or catalog
//     down, a commit conflict) is retried with backoff (1 s doubling to 1
//     min, ±15 %) for RetryOptions.DurationInSeconds (default 300, 0–7200)
//     from the first failure; then, and at once for records that cannot be
//     written (no such table, a type mismatch), the records go to the
//     S3Configuration bucket under the error output type iceberg-failed
//     (the table's S3ErrorOutputPrefix replacing the ErrorOutputPrefix when
//     set), one JSON line each: attemptsMade, arrivalTimestamp, errorCode,
//     errorMessage, attemptEndingTimestamp, rawData, and the table.
//   - S3BackupMode is FailedDataOnly (AWS: "currently, S3 backup only
//     supports FailedDataOnly"; AllData is refused).
//
// Not served: SchemaEvolutionConfiguration and TableCreationConfiguration
// (AWS's preview features; accepted only when not enabled), S3 Tables
// catalogs (catalog/s3tablescatalog/…).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/icebergsink"
)

func init() {
	destinations[DestIceberg] = destination{
		normalize:    normalizeIceberg,
		deliverKeyed: deliverIceberg,
	}
}

// DestIceberg is the Iceberg destination kind (IcebergDestinationConfiguration).
const DestIceberg = "Iceberg"

// icebergRetryDefault is RetryOptions.DurationInSeconds when omitted
// (developer guide: "By default, Firehose retries for 300 seconds").
const icebergRetryDefault = 300

// icebergTiming is the backoff of failed table writes; only tests change it.
var icebergTiming = struct{ backoff time.Duration }{backoff: time.Second}

// IcebergCatalogs opens the Glue Data Catalog of an account and region as
// the Iceberg tables' catalog (the server adapts internal/glue).
type IcebergCatalogs interface {
	Catalog(account, region string) icebergsink.Catalog
}

// ObjectReader reads and deletes objects where S3 destinations write
// (Iceberg tables read their metadata back). Get's error wraps
// fs.ErrNotExist for a missing object.
type ObjectReader interface {
	GetObject(ctx context.Context, account, bucket, key string) ([]byte, error)
	DeleteObject(ctx context.Context, account, bucket, key string) error
}

func normalizeIceberg(out map[string]any) (map[string]any, error) {
	list, _ := out["DestinationTableConfigurationList"].([]any)
	seen := map[string]bool{}
	for _, e := range list {
		tc, _ := e.(map[string]any)
		db, tbl := str(tc, "DestinationDatabaseName"), str(tc, "DestinationTableName")
		k := strings.ToLower(db + "." + tbl)
		if seen[k] {
			return nil, errorf(KindInvalidArgument, "DestinationTableConfigurationList names table %s.%s more than once.", db, tbl)
		}
		seen[k] = true
	}
	cc := mapOf(out, "CatalogConfiguration")
	if a := str(cc, "CatalogARN"); a != "" {
		if _, _, err := glueCatalogOf(a); err != nil {
			return nil, err
		}
	}
	out["CatalogConfiguration"] = cc
	for _, k := range []string{"SchemaEvolutionConfiguration", "TableCreationConfiguration"} {
		if mapOf(out, k)["Enabled"] == true {
			return nil, errorf(KindInvalidArgument, "%s is not supported by this endpoint: create the tables first.", k)
		}
	}
	ro := mapOf(out, "RetryOptions")
	setDefault(ro, "DurationInSeconds", int64(icebergRetryDefault))
	if n := intOf(ro, "DurationInSeconds"); n < 0 || n > 7200 {
		return nil, errorf(KindInvalidArgument, "RetryOptions.DurationInSeconds must be between 0 and 7200, not %d.", n)
	}
	out["RetryOptions"] = ro
	setDefault(out, "S3BackupMode", "FailedDataOnly")
	if m := str(out, "S3BackupMode"); m != "FailedDataOnly" {
		return nil, errorf(KindInvalidArgument, "S3BackupMode %s is not supported for Iceberg destinations: S3 backup only supports FailedDataOnly.", m)
	}
	setDefault(out, "AppendOnly", false)
	bh := mapOf(out, "BufferingHints")
	setDefault(bh, "SizeInMBs", int64(5))
	setDefault(bh, "IntervalInSeconds", int64(300))
	if n := intOf(bh, "SizeInMBs"); n < 1 || n > 128 {
		return nil, errorf(KindInvalidArgument, "BufferingHints.SizeInMBs must be between 1 and 128, not %d.", n)
	}
	if n := intOf(bh, "IntervalInSeconds"); n < 0 || n > 900 {
		return nil, errorf(KindInvalidArgument, "BufferingHints.IntervalInSeconds must be between 0 and 900, not %d.", n)
	}
	out["BufferingHints"] = bh
	if _, err := metadataQuery(out); err != nil {
		return nil, err
	}
	if err := normalizeBackupS3(out); err != nil {
		return nil, err
	}
	return out, nil
}

// glueCatalogOf reads a Glue catalog ARN: arn:aws:glue:<region>:<account>:catalog.
func glueCatalogOf(a string) (account, region string, err error) {
	parts := strings.Split(a, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "glue" || parts[3] == "" || len(parts[4]) != 12 || parts[5] != "catalog" {
		return "", "", errorf(KindInvalidArgument, "CatalogARN %s is not a Glue Data Catalog ARN (arn:aws:glue:<region>:<account>:catalog).", a)
	}
	return parts[4], parts[3], nil
}

// icebergTable is a table records are routed to, and its configuration.
type icebergTable struct {
	db, tbl     string
	uniqueKeys  []string
	errorPrefix any // the table's S3ErrorOutputPrefix, or nil
	configured  bool
	rows        []icebergsink.Row
	srcs        []keyedRecord
}

func deliverIceberg(ctx context.Context, s *Service, m *streamMeta, b *batch, recs []keyedRecord) error {
	appendOnly := m.Dest["AppendOnly"] == true
	var configs []map[string]any
	for _, e := range listOf(m.Dest, "DestinationTableConfigurationList") {
		if tc, ok := e.(map[string]any); ok {
			configs = append(configs, tc)
		}
	}
	query, _ := metadataQuery(m.Dest)
	tables := map[string]*icebergTable{}
	var order []*icebergTable
	var failed []icebergFailure
	for _, r := range recs {
		route := map[string]string{}
		if query != nil {
			if keys, err := extractKeys(query, r.data); err == nil {
				route = keys
			}
		}
		for k, v := range r.otf {
			route[k] = v
		}
		db, tbl := route["destinationDatabaseName"], route["destinationTableName"]
		if db == "" && tbl == "" && len(configs) == 1 {
			db, tbl = str(configs[0], "DestinationDatabaseName"), str(configs[0], "DestinationTableName")
		}
		if db == "" || tbl == "" {
			failed = append(failed, icebergFailure{rec: r, code: icebergsink.CodeInvalidTableName, msg: "The record names no destination database and table, and the stream has no single table to deliver to."})
			continue
		}
		op, ok := icebergsink.ParseOp(route["operation"])
		if !ok {
			failed = append(failed, icebergFailure{rec: r, db: db, tbl: tbl, code: "Iceberg.InvalidOperation", msg: fmt.Sprintf("Operation %q is not insert, update or delete.", route["operation"])})
			continue
		}
		key := strings.ToLower(db + "." + tbl)
		t := tables[key]
		if t == nil {
			t = &icebergTable{db: db, tbl: tbl}
			for _, tc := range configs {
				if strings.EqualFold(str(tc, "DestinationDatabaseName"), db) && strings.EqualFold(str(tc, "DestinationTableName"), tbl) {
					t.configured = true
					for _, k := range listOf(tc, "UniqueKeys") {
						if ks, ok := k.(string); ok {
							t.uniqueKeys = append(t.uniqueKeys, ks)
						}
					}
					if p, ok := tc["S3ErrorOutputPrefix"].(string); ok && p != "" {
						t.errorPrefix = p
					}
				}
			}
			tables[key] = t
			order = append(order, t)
		}
		if appendOnly || !t.configured {
			op = icebergsink.Insert
		}
		t.rows = append(t.rows, icebergsink.Row{Data: r.data, Op: op})
		t.srcs = append(t.srcs, r)
	}
	sink := s.icebergSink(m)
	for _, t := range order {
		f, err := s.writeIcebergTable(ctx, m, b, sink, t)
		if err != nil {
			return err
		}
		failed = append(failed, f...)
	}
	if len(failed) == 0 {
		return nil
	}
	return s.backupIcebergFailures(ctx, m, b, tables, failed)
}

// icebergFailure is a record given up on.
type icebergFailure struct {
	rec       keyedRecord
	db, tbl   string
	code, msg string
	attempts  int
}

// writeIcebergTable writes one table's rows, retrying for the retry
// duration; it returns the records given up on, and an error only when
// ctx ends first.
func (s *Service) writeIcebergTable(ctx context.Context, m *streamMeta, b *batch, sink *icebergsink.Sink, t *icebergTable) ([]icebergFailure, error) {
	retry := time.Duration(intOf(mapOf(m.Dest, "RetryOptions"), "DurationInSeconds")) * time.Second
	props := map[string]string{"firehose.delivery-stream": m.Name, "firehose.batch-first-record": recordID(m.LogKey, b.records[0].Seq)}
	backoff := icebergTiming.backoff
	var spent time.Duration
	for attempts := 1; ; attempts++ {
		started := s.cfg.Now()
		res, err := sink.Write(ctx, t.db, t.tbl, t.rows, t.uniqueKeys, props)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var te *icebergsink.TableError
		switch {
		case err == nil:
			var out []icebergFailure
			bad := map[int]bool{}
			for _, f := range res.Failures {
				bad[f.Index] = true
				out = append(out, icebergFailure{rec: t.srcs[f.Index], db: t.db, tbl: t.tbl, code: f.Code, msg: f.Message, attempts: attempts})
			}
			var good [][]byte
			for i, r := range t.rows {
				if !bad[i] {
					good = append(good, r.Data)
				}
			}
			s.observeDelivery(m, "Iceberg", true, good, b.oldest())
			return out, nil
		case errors.As(err, &te):
			return failAllIceberg(t, te.Code, te.Message, attempts), nil
		}
		s.observeDelivery(m, "Iceberg", false, nil, b.oldest())
		s.cfg.Logger.Warn("firehose: Iceberg delivery failed", "stream", m.Name, "table", t.db+"."+t.tbl, "attempt", attempts, "err", err)
		if attempts > 1 {
			spent += s.cfg.Now().Sub(started)
		}
		if spent+backoff > retry {
			return failAllIceberg(t, "Iceberg.WriteFailed", "Writing to the table failed for the retry duration: "+err.Error(), attempts), nil
		}
		waited, werr := waitJitter(ctx, backoff)
		if werr != nil {
			return nil, werr
		}
		spent += waited
		backoff = min(backoff*2, time.Minute)
	}
}

func failAllIceberg(t *icebergTable, code, msg string, attempts int) []icebergFailure {
	out := make([]icebergFailure, len(t.srcs))
	for i, r := range t.srcs {
		out[i] = icebergFailure{rec: r, db: t.db, tbl: t.tbl, code: code, msg: msg, attempts: attempts}
	}
	return out
}

// backupIcebergFailures writes the records given up on under iceberg-failed,
// one object per error prefix (a table's own, or the stream's).
func (s *Service) backupIcebergFailures(ctx context.Context, m *streamMeta, b *batch, tables map[string]*icebergTable, failed []icebergFailure) error {
	s3 := mapOf(m.Dest, "S3Configuration")
	now := s.cfg.Now().UnixMilli()
	type group struct {
		errorPrefix any
		lines       [][]byte
	}
	groups := map[string]*group{}
	var keys []string
	for _, f := range failed {
		ep := s3["ErrorOutputPrefix"]
		if t := tables[strings.ToLower(f.db+"."+f.tbl)]; t != nil && t.errorPrefix != nil {
			ep = t.errorPrefix
		}
		gk, _ := ep.(string)
		g := groups[gk]
		if g == nil {
			g = &group{errorPrefix: ep}
			groups[gk] = g
			keys = append(keys, gk)
		}
		line, _ := json.Marshal(map[string]any{
			"attemptsMade": max(f.attempts, 1), "arrivalTimestamp": f.rec.src.Timestamp, "errorCode": f.code, "errorMessage": f.msg,
			"attemptEndingTimestamp": now, "rawData": base64.StdEncoding.EncodeToString(f.rec.data),
			"destinationDatabaseName": f.db, "destinationTableName": f.tbl,
			"sequenceNumber": strconv.FormatUint(f.rec.src.Seq, 10),
		})
		g.lines = append(g.lines, append(line, '\n'))
	}
	s.cfg.Observer.Failed(m.Name, "iceberg-failed", len(failed))
	for _, k := range keys {
		g := groups[k]
		prefix := errorObjectPrefix(str(s3, "Prefix"), g.errorPrefix, s.inZone(s3, b.oldest()), "iceberg-failed")
		if err := s.retryS3(ctx, m, b.oldest(), func() error { return s.putS3ObjectAt(ctx, m, s3, prefix, b.oldest(), g.lines) }); err != nil {
			return err
		}
	}
	return nil
}

// icebergSink is the sink over the stream's catalog (CatalogARN's account
// and region, default the stream's) and the object store.
func (s *Service) icebergSink(m *streamMeta) *icebergsink.Sink {
	account, region := m.Account, m.Region
	if a := str(mapOf(m.Dest, "CatalogConfiguration"), "CatalogARN"); a != "" {
		account, region, _ = glueCatalogOf(a)
	}
	var cat icebergsink.Catalog = noIcebergCatalog{}
	if s.cfg.Iceberg != nil {
		cat = s.cfg.Iceberg.Catalog(account, region)
	}
	return icebergsink.New(cat, icebergObjects{s: s, account: m.Account})
}

// noIcebergCatalog answers when the server has no Glue catalog.
type noIcebergCatalog struct{}

func (noIcebergCatalog) Current(context.Context, string, string) (string, string, error) {
	return "", "", errors.New("no Glue Data Catalog is served")
}

func (noIcebergCatalog) Swap(context.Context, string, string, string, string) error {
	return errors.New("no Glue Data Catalog is served")
}

// icebergObjects is the object store in the stream's account, as the
// sink's file system.
type icebergObjects struct {
	s       *Service
	account string
}

func (o icebergObjects) reader() (ObjectReader, error) {
	r, ok := o.s.cfg.Objects.(ObjectReader)
	if !ok {
		return nil, errors.New("the object store cannot read objects back")
	}
	return r, nil
}

func (o icebergObjects) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	r, err := o.reader()
	if err != nil {
		return nil, err
	}
	return r.GetObject(ctx, o.account, bucket, key)
}

func (o icebergObjects) Put(ctx context.Context, bucket, key string, body []byte) error {
	if o.s.cfg.Objects == nil {
		return errors.New("no S3 object store")
	}
	return o.s.cfg.Objects.PutObject(ctx, o.account, bucket, key, body, "application/octet-stream")
}

func (o icebergObjects) Delete(ctx context.Context, bucket, key string) error {
	r, err := o.reader()
	if err != nil {
		return err
	}
	return r.DeleteObject(ctx, o.account, bucket, key)
}
