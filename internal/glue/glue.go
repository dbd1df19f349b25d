// Package glue owns the AWS Glue Data Catalog subset Rheos serves for
// Firehose's record format conversion: databases and tables (their
// definitions as AWS's DatabaseInput and TableInput give them), stored in
// the metadata store under "glue/", per account and region. Names are kept
// in lower case, as Glue keeps them. It knows no HTTP API: glueapi maps its
// error kinds to Glue's exceptions.
package glue

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MetaStore is the durable metadata the catalog needs (metastore.Store
// satisfies it). Scan callbacks must not call the store.
type MetaStore interface {
	Get(ctx context.Context, key string) ([]byte, uint64, error)
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte, rev uint64) error) error
	Commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (ok bool, rev uint64, err error)
}

// Scope is an account and a region (each has its own catalog).
type Scope struct{ Account, Region string }

// Kind classifies an error.
type Kind int

// Error kinds.
const (
	KindAlreadyExists Kind = iota + 1
	KindNotFound
	KindInvalidInput
	KindConcurrentModification
	KindInternal
)

// Error is a catalog error.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }

func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Metadata layout (part of the metadata format):
//
//	glue/databases/<account>/<region>/<db>        Database as JSON
//	glue/tables/<account>/<region>/<db>/<table>   Table as JSON
func dbKey(sc Scope, db string) string {
	return "glue/databases/" + sc.Account + "/" + sc.Region + "/" + db
}
func tablePrefix(sc Scope, db string) string {
	return "glue/tables/" + sc.Account + "/" + sc.Region + "/" + db + "/"
}

// Database is a catalog database: AWS's DatabaseInput members and the
// creation time.
type Database struct {
	Input      map[string]any
	CreateTime time.Time
}

// Table is a catalog table: AWS's TableInput members, its database, times
// and version (Glue's VersionId: "0" when created, +1 per UpdateTable).
type Table struct {
	Input                  map[string]any
	DatabaseName           string
	CreateTime, UpdateTime time.Time
	Version                int64 `json:",omitempty"`
}

// VersionID is the table's VersionId as Glue renders it.
func (t Table) VersionID() string { return strconv.FormatInt(t.Version, 10) }

// Service is the catalog.
type Service struct {
	meta    MetaStore
	account string
	now     func() time.Time
}

// New returns the catalog over the metadata store.
func New(meta MetaStore, defaultAccount string, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{meta: meta, account: defaultAccount, now: now}
}

func (s *Service) scope(sc Scope) Scope {
	if sc.Account == "" {
		sc.Account = s.account
	}
	return sc
}

// CreateDatabase creates a database.
func (s *Service) CreateDatabase(ctx context.Context, sc Scope, in map[string]any) error {
	sc = s.scope(sc)
	name := strings.ToLower(str(in, "Name"))
	in["Name"] = name
	b, _ := json.Marshal(Database{Input: in, CreateTime: s.now()})
	ok, _, err := s.meta.Commit(ctx, map[string]uint64{dbKey(sc, name): 0}, map[string][]byte{dbKey(sc, name): b}, nil)
	if err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata commit failed", Err: err}
	}
	if !ok {
		return errorf(KindAlreadyExists, "Database already exists.")
	}
	return nil
}

// GetDatabase returns a database.
func (s *Service) GetDatabase(ctx context.Context, sc Scope, name string) (Database, error) {
	sc = s.scope(sc)
	name = strings.ToLower(name)
	b, _, err := s.meta.Get(ctx, dbKey(sc, name))
	if err != nil {
		return Database{}, &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	if b == nil {
		return Database{}, errorf(KindNotFound, "Database %s not found.", name)
	}
	var d Database
	err = json.Unmarshal(b, &d)
	return d, err
}

// CreateTable creates a table in an existing database.
func (s *Service) CreateTable(ctx context.Context, sc Scope, db string, in map[string]any) error {
	sc = s.scope(sc)
	db = strings.ToLower(db)
	if _, err := s.GetDatabase(ctx, sc, db); err != nil {
		return err
	}
	name := strings.ToLower(str(in, "Name"))
	in["Name"] = name
	now := s.now()
	b, _ := json.Marshal(Table{Input: in, DatabaseName: db, CreateTime: now, UpdateTime: now})
	key := tablePrefix(sc, db) + name
	ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: 0}, map[string][]byte{key: b}, nil)
	if err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata commit failed", Err: err}
	}
	if !ok {
		return errorf(KindAlreadyExists, "Table already exists.")
	}
	return nil
}

// GetTable returns a table.
func (s *Service) GetTable(ctx context.Context, sc Scope, db, name string) (Table, error) {
	sc = s.scope(sc)
	db, name = strings.ToLower(db), strings.ToLower(name)
	if _, err := s.GetDatabase(ctx, sc, db); err != nil {
		return Table{}, err
	}
	b, _, err := s.meta.Get(ctx, tablePrefix(sc, db)+name)
	if err != nil {
		return Table{}, &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	if b == nil {
		return Table{}, errorf(KindNotFound, "Table %s not found.", name)
	}
	var t Table
	err = json.Unmarshal(b, &t)
	return t, err
}

// GetTables lists a database's tables in name order after the token (the
// last name of the previous page), at most max.
func (s *Service) GetTables(ctx context.Context, sc Scope, db, after string, max int) ([]Table, string, error) {
	sc = s.scope(sc)
	db = strings.ToLower(db)
	if _, err := s.GetDatabase(ctx, sc, db); err != nil {
		return nil, "", err
	}
	return page(ctx, s.meta, tablePrefix(sc, db), after, max, func(t Table) map[string]any { return t.Input })
}

// page reads the records under prefix and returns, in name order, at most
// max (1–100, default 100) of those named after the token, and the token
// of the next page ("" at the end).
func page[T any](ctx context.Context, meta MetaStore, prefix, after string, max int, input func(T) map[string]any) ([]T, string, error) {
	var out []T
	err := meta.Scan(ctx, prefix, func(_ string, v []byte, _ uint64) error {
		var rec T
		if json.Unmarshal(v, &rec) == nil && str(input(rec), "Name") > after {
			out = append(out, rec)
		}
		return nil
	})
	if err != nil {
		return nil, "", &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	sort.Slice(out, func(i, j int) bool { return str(input(out[i]), "Name") < str(input(out[j]), "Name") })
	if max <= 0 || max > 100 {
		max = 100
	}
	next := ""
	if len(out) > max {
		out = out[:max]
		next = str(input(out[max-1]), "Name")
	}
	return out, next, nil
}

// UpdateTable replaces a table's definition with in (a TableInput naming
// the table). A non-empty version must be the table's current VersionId,
// else the update is refused as Glue refuses it
// (ConcurrentModificationException): the optimistic lock Iceberg writers
// commit with. Two updates racing on the same version: one wins.
func (s *Service) UpdateTable(ctx context.Context, sc Scope, db string, in map[string]any, version string) error {
	sc = s.scope(sc)
	db = strings.ToLower(db)
	if _, err := s.GetDatabase(ctx, sc, db); err != nil {
		return err
	}
	name := strings.ToLower(str(in, "Name"))
	in["Name"] = name
	key := tablePrefix(sc, db) + name
	b, rev, err := s.meta.Get(ctx, key)
	if err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	if b == nil {
		return errorf(KindNotFound, "Table %s not found.", name)
	}
	var t Table
	if err := json.Unmarshal(b, &t); err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata decode failed", Err: err}
	}
	if version != "" && version != t.VersionID() {
		return errorf(KindConcurrentModification, "Update table failed due to concurrent modifications.")
	}
	t.Input, t.UpdateTime, t.Version = in, s.now(), t.Version+1
	nb, _ := json.Marshal(t)
	ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: nb}, nil)
	if err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata commit failed", Err: err}
	}
	if !ok {
		return errorf(KindConcurrentModification, "Update table failed due to concurrent modifications.")
	}
	return nil
}

// GetDatabases lists the databases in name order after the token (the last
// name of the previous page), at most max.
func (s *Service) GetDatabases(ctx context.Context, sc Scope, after string, max int) ([]Database, string, error) {
	sc = s.scope(sc)
	return page(ctx, s.meta, dbKey(sc, ""), after, max, func(d Database) map[string]any { return d.Input })
}

// DeleteDatabase deletes a database and its tables, as Glue does.
func (s *Service) DeleteDatabase(ctx context.Context, sc Scope, name string) error {
	sc = s.scope(sc)
	name = strings.ToLower(name)
	_, rev, err := s.meta.Get(ctx, dbKey(sc, name))
	if err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	if rev == 0 {
		return errorf(KindNotFound, "Database %s not found.", name)
	}
	deletes := []string{dbKey(sc, name)}
	err = s.meta.Scan(ctx, tablePrefix(sc, name), func(k string, _ []byte, _ uint64) error {
		deletes = append(deletes, k)
		return nil
	})
	if err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	if _, _, err := s.meta.Commit(ctx, map[string]uint64{dbKey(sc, name): rev}, nil, deletes); err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata commit failed", Err: err}
	}
	return nil
}

// DeleteTable deletes a table.
func (s *Service) DeleteTable(ctx context.Context, sc Scope, db, name string) error {
	sc = s.scope(sc)
	db, name = strings.ToLower(db), strings.ToLower(name)
	key := tablePrefix(sc, db) + name
	_, rev, err := s.meta.Get(ctx, key)
	if err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	if rev == 0 {
		return errorf(KindNotFound, "Table %s not found.", name)
	}
	if _, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, nil, []string{key}); err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata commit failed", Err: err}
	}
	return nil
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }
