package datastream

import (
	"context"
	"fmt"
	"strings"
)

// Metadata layout. Every key this package stores lives under the service's
// own prefix, so other services sharing the MetaStore (Video Streams has
// "streams" too) never meet it. The names are part of the metadata format.
//
//	kinesis/streams/<account>/<region>/<name>  streamMeta as JSON
//	kinesis/policies/<arn>                     resource policy document
//	kinesis/accounts/<account>/<region>        accountMeta as JSON
//	kinesis/config/iterator-key                32-byte secret sealing shard iterators
//
// Server-wide keys belong to others: the node epoch (config/epoch) to the
// server, the record log's key counter (storage/log-key-seq) to the log key
// allocator (LogKeys).
const (
	servicePrefix  = "kinesis/"
	prefixStream   = servicePrefix + "streams/"
	prefixPolicy   = servicePrefix + "policies/"
	prefixAccount  = servicePrefix + "accounts/"
	keyIteratorKey = servicePrefix + "config/iterator-key"
)

// The layout before services were namespaced: the same keys at the top
// level. migrateLayout moves them under servicePrefix.
var (
	legacyPrefixes = []string{"streams/", "policies/", "accounts/"}
	legacyKeys     = []string{"config/iterator-key"}
)

func streamKey(sc Scope, name string) string {
	return prefixStream + sc.Account + "/" + sc.Region + "/" + name
}

// maxMigrateAttempts bounds migrateLayout's retries after a lost compare.
const maxMigrateAttempts = 10

// migrateLayout moves every key of the old layout under servicePrefix in one
// commit: each old key is read, written under its new name and deleted,
// with every old key compared at the revision read and every new name
// required absent. A crash leaves either the old layout or the new one, and
// the next open finishes the job; with nothing to move it changes nothing.
// A key present under both names (an older Rheos run on a migrated store)
// is refused rather than overwritten.
func migrateLayout(ctx context.Context, meta MetaStore) error {
	for range maxMigrateAttempts {
		cmp := map[string]uint64{}
		puts := map[string][]byte{}
		var deletes []string
		move := func(k string, v []byte, rev uint64) error {
			nk := servicePrefix + k
			cmp[k], cmp[nk] = rev, 0
			puts[nk] = v
			deletes = append(deletes, k)
			return nil
		}
		for _, p := range legacyPrefixes {
			if err := meta.Scan(ctx, p, move); err != nil {
				return fmt.Errorf("datastream: migrating metadata: %w", err)
			}
		}
		for _, k := range legacyKeys {
			v, rev, err := meta.Get(ctx, k)
			if err != nil {
				return fmt.Errorf("datastream: migrating metadata: %w", err)
			}
			if rev != 0 {
				move(k, v, rev)
			}
		}
		if len(deletes) == 0 {
			return nil
		}
		ok, _, err := meta.Commit(ctx, cmp, puts, deletes)
		if err != nil {
			return fmt.Errorf("datastream: migrating metadata: %w", err)
		}
		if ok {
			return nil
		}
		for nk := range puts {
			if _, rev, err := meta.Get(ctx, nk); err != nil {
				return fmt.Errorf("datastream: migrating metadata: %w", err)
			} else if rev != 0 {
				return fmt.Errorf("datastream: migrating metadata: %s exists both under its old name %s and its new one; remove one", nk, strings.TrimPrefix(nk, servicePrefix))
			}
		}
		// An old key changed under us: read again.
	}
	return fmt.Errorf("datastream: migrating metadata: the old keys kept changing")
}
