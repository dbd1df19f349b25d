package video

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Streams and channels are records of one shape: a lifecycle (CREATING,
// ACTIVE, DELETING, then gone), a creation time their ARN carries, and a
// name or ARN that finds them. loadRecord and resolveRecord serve both.

// lifeRecord is a stream or a channel as stored.
type lifeRecord interface {
	life() lifecycle
	created() time.Time
	setStatus(string)
	// ident is the record's scope and name; version its Version.
	ident() (Scope, string)
	version() *string
}

func (st *Stream) created() time.Time      { return st.Created }
func (st *Stream) setStatus(s string)      { st.Status = s }
func (st *Stream) ident() (Scope, string)  { return Scope{st.Account, st.Region}, st.Name }
func (st *Stream) version() *string        { return &st.Version }
func (ch *Channel) created() time.Time     { return ch.Created }
func (ch *Channel) setStatus(s string)     { ch.Status = s }
func (ch *Channel) ident() (Scope, string) { return Scope{ch.Account, ch.Region}, ch.Name }
func (ch *Channel) version() *string       { return &ch.Version }

// recordKind names a kind of record in keys, ARNs and messages.
type recordKind struct {
	kind     string // in keys and ARNs: stream, channel
	label    string // in messages about ARNs
	noun     string // in messages about the record: "stream", "signaling channel"
	field    string // the API's member prefix: Stream (StreamName, StreamARN), Channel
	notFound func() *Error
}

// loadRecord reads a record; nil when absent or expired (rev is then the
// expired record's revision, or 0). Its status is the one at the service's
// clock.
func loadRecord[T any, P interface {
	*T
	lifeRecord
}](ctx context.Context, s *Service, sc Scope, kind, name string) (P, uint64, error) {
	b, rev, err := s.meta.Get(ctx, recordKey(sc, kind, name))
	if err != nil {
		return nil, 0, internal(err)
	}
	if b == nil {
		return nil, 0, nil
	}
	p := P(new(T))
	if err := json.Unmarshal(b, p); err != nil {
		return nil, 0, internal(fmt.Errorf("%s record %s: %w", kind, name, err))
	}
	now := s.cfg.Now()
	if p.life().goneAt(now) {
		return nil, rev, nil
	}
	p.setStatus(p.life().statusAt(now))
	return p, rev, nil
}

// resolveRecord finds the record a name or an ARN names in the caller's
// scope; by ARN the creation time must match (a record re-created under
// the same name is another one).
func resolveRecord[T any, P interface {
	*T
	lifeRecord
}](ctx context.Context, s *Service, sc Scope, name, arn string, k recordKind) (P, uint64, error) {
	sc = s.scope(sc)
	var want int64 = -1
	if arn != "" {
		p, ok := ParseARN(arn)
		if !ok {
			return nil, 0, errorf(KindInvalidResourceFormat, "The resource ARN %s is not a valid %s ARN.", arn, k.label)
		}
		if p.Kind != k.kind || p.Account != sc.Account {
			return nil, 0, k.notFound()
		}
		if name != "" && name != p.Name {
			return nil, 0, errorf(KindInvalidArgument, "%sName %s and %sARN %s name different %ss.", k.field, name, k.field, arn, k.kind)
		}
		sc.Region, name, want = p.Region, p.Name, p.CreatedMillis
	} else if name == "" {
		return nil, 0, errorf(KindInvalidArgument, "Either %sName or %sARN must be specified.", k.field, k.field)
	}
	rec, rev, err := loadRecord[T, P](ctx, s, sc, k.kind, name)
	if err != nil {
		return nil, 0, err
	}
	if rec == nil || want >= 0 && rec.created().UnixMilli() != want {
		return nil, 0, k.notFound()
	}
	return rec, rev, nil
}

// changeRecord applies fn to a record under optimistic concurrency: it
// must not be DELETING, must be ACTIVE when active is set, and must be at
// version when version is non-empty. A successful change gets a new
// Version; lost races are retried up to maxCommitAttempts.
func changeRecord[T any, P interface {
	*T
	lifeRecord
}](ctx context.Context, s *Service, sc Scope, name, arn string, k recordKind, version string, active bool, fn func(P) error) (P, error) {
	for attempt := 0; ; attempt++ {
		rec, rev, err := resolveRecord[T, P](ctx, s, sc, name, arn, k)
		if err != nil {
			return nil, err
		}
		rsc, rname := rec.ident()
		if version != "" && version != *rec.version() {
			return nil, errorf(KindVersionMismatch, "The version %s of %s %s is not its current version.", version, k.noun, rname)
		}
		switch status := rec.life().Status; { // loadRecord set it at the clock
		case status == StatusDeleting:
			return nil, errorf(KindInUse, "The %s %s is being deleted.", k.noun, rname)
		case active && status != StatusActive:
			return nil, errorf(KindInUse, "The %s %s is not ACTIVE (it is %s).", k.noun, rname, status)
		}
		if err := fn(rec); err != nil {
			return nil, err
		}
		*rec.version() = newVersion()
		b, _ := json.Marshal(rec)
		key := recordKey(rsc, k.kind, rname)
		ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: b}, nil)
		if err != nil {
			return nil, internal(err)
		}
		if ok {
			return rec, nil
		}
		if attempt >= maxCommitAttempts {
			return nil, errorf(KindInUse, "The %s %s is being changed by another request; retry.", k.noun, rname)
		}
	}
}
