package firehose

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/itchyny/gojq"
)

// Dynamic partitioning (ExtendedS3 with DynamicPartitioningConfiguration
// Enabled): every record gets partition keys, from the MetadataExtraction
// processor (a jq query, gojq, over the record's JSON) and/or from the
// Lambda processor's metadata.partitionKeys; the Prefix's
// !{partitionKeyFromQuery:k} and !{partitionKeyFromLambda:k} expressions
// evaluated with them name the record's partition, and each partition has
// its own buffer and objects. At most MaxActivePartitions are buffered at
// once (AWS's limit); records of further partitions, and records whose keys
// cannot be found, go to the error prefix. The checkpoint is the first
// record of the oldest partition not yet delivered: after a crash, records
// of partitions delivered since are delivered again (at least once).

// MaxActivePartitions is AWS's limit on a stream's active partitions.
const MaxActivePartitions = 500

// maxPartitionedBytes bounds what all of a stream's partitions buffer
// together: the fullest partitions are delivered early beyond it.
const maxPartitionedBytes = 256 << 20

func dynamicPartitioning(dest map[string]any) bool {
	dp := mapOf(dest, "DynamicPartitioningConfiguration")
	return dp["Enabled"] == true
}

// metadataQuery compiles the MetadataExtraction processor's query, if any.
func metadataQuery(dest map[string]any) (*gojq.Code, error) {
	pc := mapOf(dest, "ProcessingConfiguration")
	if pc["Enabled"] != true {
		return nil, nil
	}
	for _, p := range listOf(pc, "Processors") {
		pm, _ := p.(map[string]any)
		if str(pm, "Type") != "MetadataExtraction" {
			continue
		}
		params := processorParams(pm)
		if e := params["JsonParsingEngine"]; e != "" && e != "JQ-1.6" {
			return nil, errorf(KindInvalidArgument, "JsonParsingEngine must be JQ-1.6.")
		}
		q, err := gojq.Parse(params["MetadataExtractionQuery"])
		if err != nil || params["MetadataExtractionQuery"] == "" {
			return nil, errorf(KindInvalidArgument, "Invalid MetadataExtractionQuery %q: %v", params["MetadataExtractionQuery"], err)
		}
		code, err := gojq.Compile(q)
		if err != nil {
			return nil, errorf(KindInvalidArgument, "Invalid MetadataExtractionQuery %q: %v", params["MetadataExtractionQuery"], err)
		}
		return code, nil
	}
	return nil, nil
}

// checkDynamicPartitioning applies the rules of a partitioned destination.
func checkDynamicPartitioning(dest map[string]any) error {
	prefix := str(dest, "Prefix")
	parts, err := parsePrefixDP(prefix)
	if err != nil {
		return err
	}
	if !hasExpr(parts, "partitionKeyFromQuery", "") && !hasExpr(parts, "partitionKeyFromLambda", "") {
		return errorf(KindInvalidArgument, "When dynamic partitioning is enabled, the Prefix must use !{partitionKeyFromQuery:…} or !{partitionKeyFromLambda:…}.")
	}
	if ep, _ := dest["ErrorOutputPrefix"].(string); ep == "" {
		return errorf(KindInvalidArgument, "ErrorOutputPrefix is required when dynamic partitioning is enabled.")
	}
	if size := intOf(mapOf(dest, "BufferingHints"), "SizeInMBs"); size < 64 {
		return errorf(KindInvalidArgument, "BufferingHints.SizeInMBs must be at least 64 when dynamic partitioning is enabled (it is %d).", size)
	}
	if _, err := metadataQuery(dest); err != nil {
		return err
	}
	if hasExpr(parts, "partitionKeyFromQuery", "") {
		if q, _ := metadataQuery(dest); q == nil {
			return errorf(KindInvalidArgument, "!{partitionKeyFromQuery:…} needs a MetadataExtraction processor.")
		}
	}
	if hasExpr(parts, "partitionKeyFromLambda", "") && lambdaProcessorOf(dest) == nil {
		return errorf(KindInvalidArgument, "!{partitionKeyFromLambda:…} needs a Lambda processor.")
	}
	return nil
}

// extractKeys runs the metadata query over a record's JSON.
func extractKeys(code *gojq.Code, data []byte) (map[string]string, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("the record is not JSON: %w", err)
	}
	iter := code.Run(v)
	out, ok := iter.Next()
	if !ok {
		return nil, fmt.Errorf("the query gave no result")
	}
	if err, isErr := out.(error); isErr {
		return nil, err
	}
	obj, ok := out.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the query must give an object of partition keys")
	}
	keys := map[string]string{}
	for k, val := range obj {
		switch x := val.(type) {
		case string:
			keys[k] = x
		case float64:
			keys[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case int:
			keys[k] = strconv.Itoa(x)
		case bool:
			keys[k] = strconv.FormatBool(x)
		case nil:
			return nil, fmt.Errorf("partition key %s is null", k)
		default:
			return nil, fmt.Errorf("partition key %s is not a scalar", k)
		}
	}
	return keys, nil
}

// partition is one partition's buffer.
type partition struct {
	prefix  string // the evaluated prefix without the timestamp parts
	keys    map[string]string
	records [][]byte
	bytes   int
	oldest  int64  // arrival (ms) of its oldest record
	first   uint64 // position of its first record in the log
}

// deliverPartitioned is deliverLoop for a partitioned stream.
func (s *Service) deliverPartitioned(ctx context.Context, m *streamMeta) {
	sc := Scope{Account: m.Account, Region: m.Region}
	ck, rev, err := s.loadCheckpoint(ctx, sc, m.Name)
	if err != nil {
		s.cfg.Logger.Warn("firehose: checkpoint", "stream", m.Name, "err", err)
		return
	}
	code, _ := metadataQuery(m.Dest)
	parts, _ := parsePrefixDP(str(m.Dest, "Prefix"))
	hints := bufferingHints(m)
	bufs := map[string]*partition{}
	total := 0
	next, lastTs := ck.Next, ck.DeliveredTs
	for ctx.Err() == nil {
		changed := s.log.Changed()
		recs, err := s.log.Read(m.LogKey, next, 2000, 16<<20)
		if err != nil {
			s.cfg.Logger.Warn("firehose: reading the buffer", "stream", m.Name, "err", err)
		}
		plain := s.openRecords(ctx, m, recs)
		if len(plain) > 0 {
			next, lastTs = plain[len(plain)-1].Seq+1, plain[len(plain)-1].Timestamp
			recs, failed := builtinProcessors(m).apply(plain)
			keyed, lfailed := s.transformKeyed(ctx, m, recs)
			failed = append(failed, lfailed...)
			for _, k := range keyed {
				keys := map[string]string{}
				for kk, v := range k.keys {
					keys["L:"+kk] = v
				}
				if code != nil {
					q, err := extractKeys(code, k.data)
					if err != nil {
						failed = append(failed, failure{rec: k.src, code: "DynamicPartitioning.MetadataExtractionFailed", msg: err.Error(), attempts: 1})
						continue
					}
					for kk, v := range q {
						keys["Q:"+kk] = v
					}
				}
				name, ok := evalPrefixKeys(parts, time.Time{}, "", keys)
				if !ok {
					failed = append(failed, failure{rec: k.src, code: "DynamicPartitioning.PartitionKeyMissing", msg: "A partition key the prefix names is missing from the record's keys.", attempts: 1})
					continue
				}
				p := bufs[name]
				if p == nil {
					if len(bufs) >= MaxActivePartitions {
						failed = append(failed, failure{rec: k.src, code: "DynamicPartitioning.ActivePartitionsLimitExceeded",
							msg: "The number of active partitions exceeded the limit of " + strconv.Itoa(MaxActivePartitions) + ".", attempts: 1})
						continue
					}
					p = &partition{prefix: name, keys: keys, oldest: k.src.Timestamp, first: k.src.Seq}
					bufs[name] = p
				}
				data := appendDelimiters(m, [][]byte{k.data})[0]
				p.records = append(p.records, data)
				p.bytes += len(data)
				total += len(data)
			}
			if len(failed) > 0 {
				lines := s.failedLines(lambdaProcessor(m), failed)
				s.cfg.Observer.Failed(m.Name, "processing-failed", len(failed))
				oldest := time.UnixMilli(plain[0].Timestamp)
				prefix := errorObjectPrefix(str(m.Dest, "Prefix"), m.Dest["ErrorOutputPrefix"], s.inZone(m.Dest, oldest), "processing-failed")
				if err := s.retryS3(ctx, m, oldest, func() error { return s.putS3ObjectAt(ctx, m, m.Dest, prefix, oldest, lines) }); err != nil {
					return
				}
			}
		}
		// Deliver what is due; beyond the memory bound, the fullest too.
		now := s.cfg.Now()
		var due []*partition
		for _, p := range bufs {
			if p.bytes >= hints.size || !now.Before(time.UnixMilli(p.oldest).Add(hints.interval)) {
				due = append(due, p)
			}
		}
		if total-sumBytes(due) > maxPartitionedBytes {
			rest := make([]*partition, 0, len(bufs))
			for _, p := range bufs {
				if p.bytes < hints.size && now.Before(time.UnixMilli(p.oldest).Add(hints.interval)) {
					rest = append(rest, p)
				}
			}
			sort.Slice(rest, func(i, j int) bool { return rest[i].bytes > rest[j].bytes })
			for over := total - sumBytes(due) - maxPartitionedBytes; over > 0 && len(rest) > 0; rest = rest[1:] {
				due = append(due, rest[0])
				over -= rest[0].bytes
			}
		}
		for _, p := range due {
			oldest := time.UnixMilli(p.oldest)
			// With dynamic partitioning the prefix is used as written (no
			// default time path is appended; AWS's partitioning examples).
			prefix, _ := evalPrefixKeys(parts, s.inZone(m.Dest, oldest), "", p.keys)
			err := s.retryS3(ctx, m, oldest, func() error {
				err := s.putS3ObjectAt(ctx, m, m.Dest, prefix, oldest, p.records)
				s.observeDelivery(m, "S3", err == nil, p.records, oldest)
				return err
			})
			if err != nil {
				return // ctx ended: what is not checkpointed is delivered again
			}
			delete(bufs, p.prefix)
			total -= p.bytes
		}
		if len(due) > 0 || (len(bufs) == 0 && next != ck.Next) {
			// The checkpoint: the first record of the oldest partition still
			// buffered, or everything read.
			nck := checkpoint{Next: next, DeliveredTs: lastTs}
			for _, p := range bufs {
				if p.first < nck.Next {
					nck.Next, nck.DeliveredTs = p.first, p.oldest-1
				}
			}
			if nck != ck {
				if rev, err = s.saveCheckpoint(ctx, sc, m.Name, nck, rev); err != nil {
					s.cfg.Logger.Warn("firehose: saving the checkpoint", "stream", m.Name, "err", err)
					return
				}
				ck = nck
				s.retain(m.LogKey, ck.DeliveredTs)
			}
		}
		if len(recs) > 0 {
			continue
		}
		wait := time.Hour
		for _, p := range bufs {
			wait = min(wait, time.UnixMilli(p.oldest).Add(hints.interval).Sub(now))
		}
		timer := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
		case <-changed:
		case <-timer.C:
		}
		timer.Stop()
	}
}

func sumBytes(ps []*partition) int {
	n := 0
	for _, p := range ps {
		n += p.bytes
	}
	return n
}
