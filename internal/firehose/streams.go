package firehose

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/arn"
)

// Metadata layout (part of the metadata format):
//
//	firehose/streams/<account>/<region>/<name>  streamMeta as JSON
//	firehose/ckpt/<account>/<region>/<name>     checkpoint as JSON
const (
	prefixStream = "firehose/streams/"
	prefixCkpt   = "firehose/ckpt/"
)

func streamKey(sc Scope, name string) string {
	return prefixStream + sc.Account + "/" + sc.Region + "/" + name
}
func ckptKey(sc Scope, name string) string {
	return prefixCkpt + sc.Account + "/" + sc.Region + "/" + name
}

// Statuses.
const (
	StatusCreating = "CREATING"
	StatusActive   = "ACTIVE"
	StatusDeleting = "DELETING"
)

// Destination kinds this endpoint delivers to (the member name prefix of
// the model's <Kind>DestinationConfiguration).
const (
	DestExtendedS3   = "ExtendedS3"
	DestHTTPEndpoint = "HttpEndpoint"
)

// DestinationID is the id of a stream's one destination, as on AWS.
const DestinationID = "destinationId-000000000001"

// streamMeta is a delivery stream as stored.
type streamMeta struct {
	Name, Account, Region string
	Type                  string // DirectPut, KinesisStreamAsSource
	Status                string
	TransitionAt          int64 // unix ms when CREATING/DELETING completes
	VersionID             int   // 1, +1 per UpdateDestination
	CreatedMs, UpdatedMs  int64
	// Source is the source configuration as given (KinesisStreamSourceConfiguration,
	// DirectPutSourceConfiguration), nil for a plain DirectPut.
	Source map[string]any `json:",omitempty"`
	// DestKind is DestExtendedS3 or DestHTTPEndpoint; Dest its
	// configuration as given, with AWS's defaults filled in.
	DestKind string
	Dest     map[string]any
	Tags     []Tag `json:",omitempty"`
	// Encryption: "", ENABLED, DISABLED; KeyType and KeyARN as given.
	Encryption, KeyType, KeyARN string `json:",omitempty"`
	// DataKeys are the stream's data keys, wrapped (key id = index + 1).
	DataKeys [][]byte `json:",omitempty"`
	// LogKey is the record log key holding the buffer.
	LogKey uint64
}

// Tag is a key/value pair.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value,omitempty"`
}

func (m *streamMeta) arn() string {
	return arn.New("firehose", arn.Scope{Account: m.Account, Region: m.Region}, "deliverystream/"+m.Name).String()
}

func (m *streamMeta) effectiveStatus(now time.Time) string {
	if m.TransitionAt != 0 && now.UnixMilli() >= m.TransitionAt {
		switch m.Status {
		case StatusCreating:
			return StatusActive
		case StatusDeleting:
			return ""
		}
	}
	return m.Status
}

// CreateInput is a CreateDeliveryStream request, decoded.
type CreateInput struct {
	Name, Type string
	Source     map[string]any
	// Destinations maps each <Kind>DestinationConfiguration member given to
	// its value.
	Destinations map[string]map[string]any
	Tags         []Tag
	KeyType      string // DeliveryStreamEncryptionConfigurationInput, if given
	KeyARN       string
}

// Create creates a delivery stream (CREATING, then ACTIVE).
func (s *Service) Create(ctx context.Context, sc Scope, in CreateInput) (string, error) {
	sc = s.scope(sc)
	if in.Type == "" {
		in.Type = "DirectPut"
	}
	switch in.Type {
	case "DirectPut":
		if _, ok := in.Source["KinesisStreamARN"]; ok {
			return "", errorf(KindInvalidArgument, "KinesisStreamSourceConfiguration is only allowed for delivery streams of type KinesisStreamAsSource.")
		}
	case "KinesisStreamAsSource":
		src, _ := in.Source["KinesisStreamARN"].(string)
		if src == "" {
			return "", errorf(KindInvalidArgument, "KinesisStreamSourceConfiguration is required for delivery streams of type KinesisStreamAsSource.")
		}
		if s.cfg.Streams == nil {
			return "", errorf(KindInvalidArgument, "Kinesis stream sources need Data Streams on this server.")
		}
		if _, err := s.cfg.Streams.Shards(ctx, src); err != nil {
			return "", errorf(KindInvalidArgument, "Stream %s not found.", src)
		}
	default:
		return "", errorf(KindInvalidArgument, "Delivery streams of type %s are not served by this endpoint.", in.Type)
	}
	if len(in.Destinations) != 1 {
		return "", errorf(KindInvalidArgument, "Exactly one destination configuration must be provided.")
	}
	var kind string
	var dest map[string]any
	for k, v := range in.Destinations {
		kind, dest = k, v
	}
	if kind == "S3" { // the deprecated S3DestinationConfiguration is an ExtendedS3 without the extras
		kind = DestExtendedS3
	}
	if !servedKind(kind) {
		return "", errorf(KindInvalidArgument, "%s destinations are not served by this endpoint yet.", kind)
	}
	dest, err := normalizeDestination(kind, dest)
	if err != nil {
		return "", err
	}
	if in.KeyType != "" && in.Type != "DirectPut" {
		return "", errorf(KindInvalidArgument, "Server-side encryption is only supported for delivery streams of type DirectPut.")
	}
	if len(in.Tags) > 50 {
		return "", errorf(KindLimitExceeded, "A delivery stream cannot have more than 50 tags.")
	}
	key := streamKey(sc, in.Name)
	old, rev, err := s.meta.Get(ctx, key)
	if err != nil {
		return "", internal("metadata read failed", err)
	}
	if old != nil {
		var om streamMeta
		if json.Unmarshal(old, &om) == nil && om.effectiveStatus(s.cfg.Now()) != "" {
			return "", errorf(KindInUse, "Firehose %s under accountId %s already exists", in.Name, sc.Account)
		}
	}
	n := 0
	if err := s.meta.Scan(ctx, prefixStream+sc.Account+"/"+sc.Region+"/", func(string, []byte, uint64) error { n++; return nil }); err != nil {
		return "", internal("metadata read failed", err)
	}
	if n >= s.cfg.StreamLimit {
		return "", errorf(KindLimitExceeded, "You have already consumed your firehose quota of %d hoses. Firehose names: …", s.cfg.StreamLimit)
	}
	logKey, err := s.keys.Allocate(ctx, 1)
	if err != nil {
		return "", internal("log key allocation failed", err)
	}
	// Owned before anything can be put under it: the log's sweep drops
	// keys nobody owns.
	s.retain(logKey, 0)
	now := s.cfg.Now()
	m := &streamMeta{Name: in.Name, Account: sc.Account, Region: sc.Region, Type: in.Type, Status: StatusCreating,
		TransitionAt: now.Add(s.cfg.CreateDelay).UnixMilli(), VersionID: 1, CreatedMs: now.UnixMilli(), UpdatedMs: now.UnixMilli(),
		Source: in.Source, DestKind: kind, Dest: dest, Tags: in.Tags, LogKey: logKey}
	if in.KeyType != "" {
		wrapped, err := s.newDataKey(ctx, m, in.KeyType, in.KeyARN)
		if err != nil {
			return "", err
		}
		m.Encryption, m.KeyType, m.KeyARN = "ENABLED", in.KeyType, in.KeyARN
		m.DataKeys = append(m.DataKeys, wrapped)
	}
	b, _ := json.Marshal(m)
	// A stream deleted under this name leaves its checkpoints: they are not
	// this stream's.
	stale := []string{ckptKey(sc, in.Name)}
	src := prefixSource + sc.Account + "/" + sc.Region + "/" + in.Name
	if err := s.meta.Scan(ctx, src, func(k string, _ []byte, _ uint64) error {
		if k == src || strings.HasPrefix(k, src+"/") {
			stale = append(stale, k)
		}
		return nil
	}); err != nil {
		return "", internal("metadata read failed", err)
	}
	ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: b}, stale)
	if err != nil {
		return "", internal("metadata commit failed", err)
	}
	if !ok {
		return "", errorf(KindInUse, "Firehose %s under accountId %s already exists", in.Name, sc.Account)
	}
	s.run.wake()
	return m.arn(), nil
}

// normalizeDestination checks a destination configuration and fills in
// AWS's defaults.
func normalizeDestination(kind string, d map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range d {
		out[k] = v
	}
	switch kind {
	case DestExtendedS3:
		if _, err := bucketOf(str(out, "BucketARN")); err != nil {
			return nil, err
		}
		dynamic := dynamicPartitioning(out)
		if !dynamic {
			if err := checkPrefixes(str(out, "Prefix"), out["ErrorOutputPrefix"]); err != nil {
				return nil, err
			}
		}
		bh := mapOf(out, "BufferingHints")
		if dynamic || conversionEnabled(out) {
			setDefault(bh, "SizeInMBs", int64(128))
		}
		setDefault(bh, "SizeInMBs", int64(5))
		setDefault(bh, "IntervalInSeconds", int64(300))
		out["BufferingHints"] = bh
		setDefault(out, "CompressionFormat", "UNCOMPRESSED")
		setDefault(out, "EncryptionConfiguration", map[string]any{"NoEncryptionConfig": "NoEncryption"})
		setDefault(out, "S3BackupMode", "Disabled")
		if q, err := metadataQuery(out); !dynamic && (q != nil || err != nil) {
			return nil, errorf(KindInvalidArgument, "The MetadataExtraction processor extracts partition keys: it needs dynamic partitioning enabled.")
		}
		if dynamic {
			dp := mapOf(out, "DynamicPartitioningConfiguration")
			ro := mapOf(dp, "RetryOptions")
			setDefault(ro, "DurationInSeconds", int64(300))
			dp["RetryOptions"] = ro
			out["DynamicPartitioningConfiguration"] = dp
			if err := checkDynamicPartitioning(out); err != nil {
				return nil, err
			}
		}
		if conversionEnabled(out) {
			if formatConverter == nil {
				return nil, errorf(KindInvalidArgument, "Record format conversion is not served by this endpoint yet.")
			}
			fc, err := formatConverter.normalize(mapOf(out, "DataFormatConversionConfiguration"))
			if err != nil {
				return nil, err
			}
			out["DataFormatConversionConfiguration"] = fc
			if f := str(out, "CompressionFormat"); f != "UNCOMPRESSED" {
				return nil, errorf(KindInvalidArgument, "CompressionFormat must be UNCOMPRESSED when record format conversion is enabled (the serializer compresses), not %s.", f)
			}
			if size := intOf(mapOf(out, "BufferingHints"), "SizeInMBs"); size < 64 {
				return nil, errorf(KindInvalidArgument, "BufferingHints.SizeInMBs must be at least 64 when record format conversion is enabled (it is %d).", size)
			}
		}
		switch f := str(out, "CompressionFormat"); f {
		case "UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY":
		default:
			return nil, errorf(KindInvalidArgument, "Unsupported CompressionFormat %s.", f)
		}
	default:
		d, ok := destinations[kind]
		if !ok {
			return nil, errorf(KindInvalidArgument, "%s destinations are not served by this endpoint yet.", kind)
		}
		var err error
		if out, err = d.normalize(out); err != nil {
			return nil, err
		}
		if err := normalizeBackupS3(out); err != nil {
			return nil, err
		}
	case DestHTTPEndpoint:
		ep := mapOf(out, "EndpointConfiguration")
		u := str(ep, "Url")
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, errorf(KindInvalidArgument, "Invalid HttpEndpoint Url %s: it must be an http or https URL.", u)
		}
		bh := mapOf(out, "BufferingHints")
		setDefault(bh, "SizeInMBs", int64(5))
		setDefault(bh, "IntervalInSeconds", int64(300))
		out["BufferingHints"] = bh
		ro := mapOf(out, "RetryOptions")
		setDefault(ro, "DurationInSeconds", int64(300))
		out["RetryOptions"] = ro
		rc := mapOf(out, "RequestConfiguration")
		setDefault(rc, "ContentEncoding", "NONE")
		out["RequestConfiguration"] = rc
		setDefault(out, "S3BackupMode", "FailedDataOnly")
		if err := normalizeBackupS3(out); err != nil {
			return nil, err
		}
	}
	if pc := mapOf(out, "ProcessingConfiguration"); pc["Enabled"] == true {
		if err := checkProcessors(pc); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mergeMaps returns cur with upd's members set over it (nested maps merged
// one level, as UpdateDestination merges a same-kind update).
func mergeMaps(cur, upd any) map[string]any {
	out := map[string]any{}
	if c, ok := cur.(map[string]any); ok {
		for k, v := range c {
			out[k] = v
		}
	}
	if u, ok := upd.(map[string]any); ok {
		for k, v := range u {
			if sub, ok := v.(map[string]any); ok {
				out[k] = mergeMaps(out[k], sub)
				continue
			}
			out[k] = v
		}
	}
	return out
}

// normalizeBackupS3 checks the S3Configuration (backup and error bucket)
// of a non-S3 destination and fills in its defaults.
func normalizeBackupS3(out map[string]any) error {
	s3 := mapOf(out, "S3Configuration")
	if _, err := bucketOf(str(s3, "BucketARN")); err != nil {
		return err
	}
	if err := checkPrefixes(str(s3, "Prefix"), s3["ErrorOutputPrefix"]); err != nil {
		return err
	}
	sbh := mapOf(s3, "BufferingHints")
	setDefault(sbh, "SizeInMBs", int64(5))
	setDefault(sbh, "IntervalInSeconds", int64(300))
	s3["BufferingHints"] = sbh
	setDefault(s3, "CompressionFormat", "UNCOMPRESSED")
	setDefault(s3, "EncryptionConfiguration", map[string]any{"NoEncryptionConfig": "NoEncryption"})
	out["S3Configuration"] = s3
	return nil
}

// bucketOf returns the bucket of an S3 bucket ARN (arn:aws:s3:::bucket).
func bucketOf(bucketARN string) (string, error) {
	b, ok := strings.CutPrefix(bucketARN, "arn:aws:s3:::")
	if !ok || b == "" || strings.Contains(b, "/") {
		return "", errorf(KindInvalidArgument, "BucketARN %s is not a valid S3 bucket ARN (arn:aws:s3:::bucket).", bucketARN)
	}
	return b, nil
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func mapOf(m map[string]any, k string) map[string]any {
	if v, ok := m[k].(map[string]any); ok {
		c := map[string]any{}
		for kk, vv := range v {
			c[kk] = vv
		}
		return c
	}
	return map[string]any{}
}

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

func intOf(m map[string]any, k string) int64 {
	switch v := m[k].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	case int:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

// get loads a stream that exists (any status but gone).
func (s *Service) get(ctx context.Context, sc Scope, name string) (*streamMeta, uint64, error) {
	sc = s.scope(sc)
	b, rev, err := s.meta.Get(ctx, streamKey(sc, name))
	if err != nil {
		return nil, 0, internal("metadata read failed", err)
	}
	if b != nil {
		var m streamMeta
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, 0, internal("corrupt delivery stream metadata", err)
		}
		if m.effectiveStatus(s.cfg.Now()) != "" {
			return &m, rev, nil
		}
	}
	return nil, 0, errorf(KindNotFound, "Firehose %s under account %s not found.", name, sc.Account)
}

// Description is a DescribeDeliveryStream answer (JSON-ready).
type Description map[string]any

// Describe describes a delivery stream.
func (s *Service) Describe(ctx context.Context, sc Scope, name string) (Description, error) {
	m, _, err := s.get(ctx, sc, name)
	if err != nil {
		return nil, err
	}
	status := m.effectiveStatus(s.cfg.Now())
	d := Description{
		"DeliveryStreamName": m.Name, "DeliveryStreamARN": m.arn(), "DeliveryStreamStatus": status,
		"DeliveryStreamType": m.Type, "VersionId": strconv.Itoa(m.VersionID),
		"CreateTimestamp": float64(m.CreatedMs) / 1000, "HasMoreDestinations": false,
	}
	if m.VersionID > 1 {
		d["LastUpdateTimestamp"] = float64(m.UpdatedMs) / 1000
	}
	if m.Encryption != "" {
		enc := map[string]any{"Status": m.Encryption}
		if m.KeyType != "" {
			enc["KeyType"] = m.KeyType
		}
		if m.KeyARN != "" {
			enc["KeyARN"] = m.KeyARN
		}
		d["DeliveryStreamEncryptionConfiguration"] = enc
	} else {
		d["DeliveryStreamEncryptionConfiguration"] = map[string]any{"Status": "DISABLED"}
	}
	switch {
	case m.Type == "DirectPut" && m.Source != nil:
		d["Source"] = map[string]any{"DirectPutSourceDescription": m.Source}
	case m.Type == "KinesisStreamAsSource":
		ks := map[string]any{"KinesisStreamARN": m.Source["KinesisStreamARN"], "RoleARN": m.Source["RoleARN"],
			"DeliveryStartTimestamp": float64(m.CreatedMs) / 1000}
		d["Source"] = map[string]any{"KinesisStreamSourceDescription": ks}
	}
	dest := map[string]any{"DestinationId": DestinationID}
	desc := map[string]any{}
	for k, v := range m.Dest {
		desc[k] = v
	}
	switch m.DestKind {
	case DestExtendedS3:
		if b, ok := desc["S3BackupConfiguration"]; ok {
			// The backup is described as S3BackupDescription (AWS's model).
			delete(desc, "S3BackupConfiguration")
			desc["S3BackupDescription"] = b
		}
		dest["ExtendedS3DestinationDescription"] = desc
		// AWS describes the S3 part of an ExtendedS3 destination again.
		s3 := map[string]any{}
		for _, k := range []string{"RoleARN", "BucketARN", "Prefix", "ErrorOutputPrefix", "BufferingHints", "CompressionFormat", "EncryptionConfiguration", "CloudWatchLoggingOptions"} {
			if v, ok := m.Dest[k]; ok {
				s3[k] = v
			}
		}
		dest["S3DestinationDescription"] = s3
	case DestHTTPEndpoint:
		if ep, ok := desc["EndpointConfiguration"].(map[string]any); ok {
			// The access key is never described.
			desc["EndpointConfiguration"] = map[string]any{"Url": ep["Url"], "Name": ep["Name"]}
		}
		if s3, ok := desc["S3Configuration"]; ok {
			delete(desc, "S3Configuration")
			desc["S3DestinationDescription"] = s3
		}
		dest["HttpEndpointDestinationDescription"] = desc
	default:
		if reg, ok := destinations[m.DestKind]; ok && reg.redact != nil {
			reg.redact(desc)
		}
		if s3, ok := desc["S3Configuration"]; ok {
			delete(desc, "S3Configuration")
			desc["S3DestinationDescription"] = s3
		}
		dest[m.DestKind+"DestinationDescription"] = desc
	}
	d["Destinations"] = []any{dest}
	return d, nil
}

// List lists delivery stream names in order after exclusiveStart.
func (s *Service) List(ctx context.Context, sc Scope, typ, exclusiveStart string, limit int) ([]string, bool, error) {
	sc = s.scope(sc)
	now := s.cfg.Now()
	var names []string
	err := s.meta.Scan(ctx, prefixStream+sc.Account+"/"+sc.Region+"/", func(_ string, v []byte, _ uint64) error {
		var m streamMeta
		if json.Unmarshal(v, &m) != nil || m.effectiveStatus(now) == "" {
			return nil
		}
		if typ != "" && m.Type != typ {
			return nil
		}
		if m.Name > exclusiveStart {
			names = append(names, m.Name)
		}
		return nil
	})
	if err != nil {
		return nil, false, internal("metadata read failed", err)
	}
	sort.Strings(names)
	if limit <= 0 {
		limit = 10
	}
	more := len(names) > limit
	if more {
		names = names[:limit]
	}
	return names, more, nil
}

// Delete deletes a delivery stream (DELETING, then gone). Its buffer is
// dropped by the log's next sweep.
func (s *Service) Delete(ctx context.Context, sc Scope, name string) error {
	sc = s.scope(sc)
	m, rev, err := s.get(ctx, sc, name)
	if err != nil {
		return err
	}
	if m.effectiveStatus(s.cfg.Now()) == StatusDeleting {
		return nil
	}
	m.Status, m.TransitionAt = StatusDeleting, s.cfg.Now().Add(s.cfg.DeleteDelay).UnixMilli()
	return s.commit(ctx, sc, m, rev)
}

func (s *Service) commit(ctx context.Context, sc Scope, m *streamMeta, rev uint64) error {
	b, _ := json.Marshal(m)
	key := streamKey(s.scope(sc), m.Name)
	ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: b}, nil)
	if err != nil {
		return internal("metadata commit failed", err)
	}
	if !ok {
		return errorf(KindConcurrentModification, "Another request changed delivery stream %s at the same time; retry.", m.Name)
	}
	s.run.wake()
	return nil
}

// UpdateDestination changes the destination: the same kind merges the
// fields given into the current configuration (omitted fields are kept),
// another kind replaces it; switching to or from HTTP endpoints is refused,
// as on AWS. currentVersion must be the stream's VersionId.
func (s *Service) UpdateDestination(ctx context.Context, sc Scope, name, currentVersion, destinationID, kind string, update map[string]any) error {
	m, rev, err := s.get(ctx, sc, name)
	if err != nil {
		return err
	}
	if st := m.effectiveStatus(s.cfg.Now()); st != StatusActive {
		return errorf(KindInUse, "Firehose %s is not in the ACTIVE state (it is %s).", name, st)
	}
	if currentVersion != strconv.Itoa(m.VersionID) {
		return errorf(KindConcurrentModification, "Cannot update firehose: %s since the current version id: %d and specified version id: %s do not match", name, m.VersionID, currentVersion)
	}
	if destinationID != DestinationID {
		return errorf(KindInvalidArgument, "Destination Id %s not found.", destinationID)
	}
	if kind == "S3" {
		kind = DestExtendedS3
	}
	if kind != m.DestKind && (kind == DestHTTPEndpoint || m.DestKind == DestHTTPEndpoint || destinations[kind].noSwitch || destinations[m.DestKind].noSwitch) {
		return errorf(KindInvalidArgument, "Changing the destination type to or from %s is not supported.", map[bool]string{true: kind, false: m.DestKind}[kind == DestHTTPEndpoint || destinations[kind].noSwitch])
	}
	if !servedKind(kind) {
		return errorf(KindInvalidArgument, "%s destinations are not served by this endpoint yet.", kind)
	}
	merged := map[string]any{}
	if kind == m.DestKind {
		for k, v := range m.Dest {
			merged[k] = v
		}
	}
	for k, v := range update {
		if sub, ok := v.(map[string]any); ok {
			cur, _ := merged[k].(map[string]any)
			nm := map[string]any{}
			for kk, vv := range cur {
				nm[kk] = vv
			}
			for kk, vv := range sub {
				nm[kk] = vv
			}
			merged[k] = nm
			continue
		}
		merged[k] = v
	}
	if kind == DestExtendedS3 {
		// The update shape names the backup configuration S3BackupUpdate.
		if v, ok := merged["S3BackupUpdate"]; ok {
			merged["S3BackupConfiguration"] = mergeMaps(merged["S3BackupConfiguration"], v)
			delete(merged, "S3BackupUpdate")
		}
	}
	if kind != DestExtendedS3 {
		if v, ok := merged["S3Update"]; ok {
			merged["S3Configuration"] = mergeMaps(merged["S3Configuration"], v)
			delete(merged, "S3Update")
		}
	}
	if kind == m.DestKind && backsUpAll(str(m.Dest, "S3BackupMode")) && !backsUpAll(str(merged, "S3BackupMode")) {
		// AWS: the backup mode of Splunk, OpenSearch, HTTP endpoint (and
		// ExtendedS3's source backup) cannot be downgraded once everything
		// is backed up.
		return errorf(KindInvalidArgument, "S3BackupMode cannot be changed from %s to %s.", str(m.Dest, "S3BackupMode"), str(merged, "S3BackupMode"))
	}
	if dynamicPartitioning(merged) != dynamicPartitioning(m.Dest) {
		return errorf(KindInvalidArgument, "Dynamic partitioning can only be enabled when the delivery stream is created, and cannot be disabled.")
	}
	dest, err := normalizeDestination(kind, merged)
	if err != nil {
		return err
	}
	m.DestKind, m.Dest = kind, dest
	m.VersionID++
	m.UpdatedMs = s.cfg.Now().UnixMilli()
	return s.commit(ctx, sc, m, rev)
}

// Tag adds or replaces tags (at most 50 in all).
func (s *Service) Tag(ctx context.Context, sc Scope, name string, tags []Tag) error {
	m, rev, err := s.get(ctx, sc, name)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if strings.HasPrefix(t.Key, "aws:") {
			return errorf(KindInvalidArgument, "Tag keys must not start with aws:.")
		}
		replaced := false
		for i := range m.Tags {
			if m.Tags[i].Key == t.Key {
				m.Tags[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			m.Tags = append(m.Tags, t)
		}
	}
	if len(m.Tags) > 50 {
		return errorf(KindLimitExceeded, "A delivery stream cannot have more than 50 tags.")
	}
	return s.commit(ctx, sc, m, rev)
}

// Untag removes tags by key.
func (s *Service) Untag(ctx context.Context, sc Scope, name string, keys []string) error {
	m, rev, err := s.get(ctx, sc, name)
	if err != nil {
		return err
	}
	drop := map[string]bool{}
	for _, k := range keys {
		drop[k] = true
	}
	kept := m.Tags[:0]
	for _, t := range m.Tags {
		if !drop[t.Key] {
			kept = append(kept, t)
		}
	}
	m.Tags = kept
	return s.commit(ctx, sc, m, rev)
}

// Tags lists tags in key order after exclusiveStart.
func (s *Service) Tags(ctx context.Context, sc Scope, name, exclusiveStart string, limit int) ([]Tag, bool, error) {
	m, _, err := s.get(ctx, sc, name)
	if err != nil {
		return nil, false, err
	}
	tags := append([]Tag(nil), m.Tags...)
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	var out []Tag
	for _, t := range tags {
		if t.Key > exclusiveStart {
			out = append(out, t)
		}
	}
	if limit <= 0 {
		limit = 50
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// SetEncryption starts or stops server-side encryption of a DirectPut
// stream.
func (s *Service) SetEncryption(ctx context.Context, sc Scope, name string, on bool, keyType, keyARN string) error {
	m, rev, err := s.get(ctx, sc, name)
	if err != nil {
		return err
	}
	if m.Type != "DirectPut" {
		return errorf(KindInvalidArgument, "Server-side encryption is only supported for delivery streams of type DirectPut.")
	}
	if on {
		if keyType == "" {
			keyType = "AWS_OWNED_CMK"
		}
		if keyType == "CUSTOMER_MANAGED_CMK" && keyARN == "" {
			return errorf(KindInvalidArgument, "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.")
		}
		if keyType == "AWS_OWNED_CMK" && keyARN != "" {
			return errorf(KindInvalidArgument, "KeyARN must not be given when KeyType is AWS_OWNED_CMK.")
		}
		wrapped, err := s.newDataKey(ctx, m, keyType, keyARN)
		if err != nil {
			return err
		}
		m.Encryption, m.KeyType, m.KeyARN = "ENABLED", keyType, keyARN
		m.DataKeys = append(m.DataKeys, wrapped)
	} else {
		m.Encryption, m.KeyType, m.KeyARN = "DISABLED", "", ""
	}
	return s.commit(ctx, sc, m, rev)
}

// backsUpAll reports whether a backup mode keeps every record (AllEvents,
// AllDocuments, AllData, or ExtendedS3's Enabled).
func backsUpAll(mode string) bool {
	switch mode {
	case "AllEvents", "AllDocuments", "AllData", "Enabled":
		return true
	}
	return false
}
