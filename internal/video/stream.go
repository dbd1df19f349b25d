package video

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
)

// StreamRef names a stream by StreamName or StreamARN (AWS's operations
// take either; at least one is needed).
type StreamRef struct{ Name, ARN string }

// Stream is a video stream's definition. Values returned by the service
// are copies: Status is the status at the time of the call.
type Stream struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Name    string `json:"name"`
	// DeviceName, MediaType (e.g. "video/h264") and KMSKeyID are the
	// producer's descriptions; KMSKeyID defaults to the account's
	// aws/kinesisvideo alias.
	DeviceName string `json:"deviceName,omitempty"`
	MediaType  string `json:"mediaType,omitempty"`
	KMSKeyID   string `json:"kmsKeyId"`
	// RetentionHours is DataRetentionInHours: 0 keeps no data (fragments
	// are not persisted; PERSISTED acks are not sent).
	RetentionHours int `json:"retentionHours"`
	// StorageTier is StreamStorageConfiguration.DefaultStorageTier (HOT or
	// WARM; HOT by default).
	StorageTier string            `json:"storageTier"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Version is the opaque version, new on every change.
	Version string `json:"version"`
	// Created is the creation time (millisecond precision; the ARN's last
	// segment is its epoch milliseconds).
	Created time.Time `json:"created"`
	// Status is CREATING, ACTIVE or DELETING (see the package comment).
	Status   string    `json:"status"`
	ActiveAt time.Time `json:"activeAt"`
	GoneAt   time.Time `json:"goneAt,omitzero"`
	// ImageGeneration and Notification are stored configurations (nil:
	// none).
	ImageGeneration *ImageGeneration `json:"imageGeneration,omitempty"`
	Notification    *Notification    `json:"notification,omitempty"`
}

// ARN is the stream's ARN:
// arn:aws:kinesisvideo:{region}:{account}:stream/{name}/{creationEpochMillis}.
func (st *Stream) ARN() string {
	return resourceARN(st.Region, st.Account, "stream", st.Name, st.Created)
}

func (st *Stream) life() lifecycle {
	return lifecycle{Status: st.Status, ActiveAt: st.ActiveAt, GoneAt: st.GoneAt}
}

// ImageGeneration is a stream's ImageGenerationConfiguration.
type ImageGeneration struct {
	Status            string            `json:"status"`            // ENABLED or DISABLED
	ImageSelectorType string            `json:"imageSelectorType"` // SERVER_TIMESTAMP or PRODUCER_TIMESTAMP
	DestinationURI    string            `json:"destinationUri"`
	DestinationRegion string            `json:"destinationRegion"`
	SamplingInterval  int               `json:"samplingInterval"` // milliseconds
	Format            string            `json:"format"`           // JPEG or PNG
	FormatConfig      map[string]string `json:"formatConfig,omitempty"`
	WidthPixels       int               `json:"widthPixels,omitempty"`
	HeightPixels      int               `json:"heightPixels,omitempty"`
}

// Notification is a stream's NotificationConfiguration.
type Notification struct {
	Status         string `json:"status"` // ENABLED or DISABLED
	DestinationURI string `json:"destinationUri"`
}

// Image generation bounds (AWS's UpdateImageGenerationConfiguration rules).
const (
	MinSamplingInterval = 200   // ms
	MaxSamplingInterval = 20000 // ms
)

// APINames are GetDataEndpoint's APIName values.
var APINames = []string{"PUT_MEDIA", "GET_MEDIA", "LIST_FRAGMENTS", "GET_MEDIA_FOR_FRAGMENT_LIST",
	"GET_HLS_STREAMING_SESSION_URL", "GET_DASH_STREAMING_SESSION_URL", "GET_CLIP", "GET_IMAGES"}

func resourceARN(region, account, kind, name string, created time.Time) string {
	return "arn:aws:kinesisvideo:" + region + ":" + account + ":" + kind + "/" + name + "/" + strconv.FormatInt(created.UnixMilli(), 10)
}

// ParsedARN is a video resource ARN taken apart.
type ParsedARN struct {
	Region, Account string
	Kind            string // "stream" or "channel"
	Name            string
	CreatedMillis   int64
}

// ParseARN takes a stream or channel ARN apart; ok is false when it is not
// arn:{partition}:kinesisvideo:{region}:{account}:{stream|channel}/{name}/{millis}.
func ParseARN(arn string) (p ParsedARN, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kinesisvideo" || parts[3] == "" || parts[4] == "" {
		return p, false
	}
	res := strings.Split(parts[5], "/")
	if len(res) != 3 || (res[0] != "stream" && res[0] != "channel") || !validName(res[1]) {
		return p, false
	}
	ms, err := strconv.ParseInt(res[2], 10, 64)
	if err != nil || ms < 0 {
		return p, false
	}
	return ParsedARN{Region: parts[3], Account: parts[4], Kind: res[0], Name: res[1], CreatedMillis: ms}, true
}

func recordKey(sc Scope, kind, name string) string {
	return keyPrefix + sc.Account + "/" + sc.Region + "/" + kind + "/" + name
}

func streamNotFound() *Error {
	// moto's message for a missing stream (AWS's wording, as far as public
	// evidence goes).
	return errorf(KindNotFound, "The requested stream is not found or not active.")
}

// loadStream reads a stream record; st is nil when absent or expired (rev
// is then the expired record's revision, or 0).
func (s *Service) loadStream(ctx context.Context, sc Scope, name string) (*Stream, uint64, error) {
	return loadRecord[Stream](ctx, s, sc, "stream", name)
}

// resolveStream finds the stream ref names in the caller's scope.
func (s *Service) resolveStream(ctx context.Context, sc Scope, ref StreamRef) (*Stream, uint64, error) {
	return resolveRecord[Stream](ctx, s, sc, ref.Name, ref.ARN, streamKind)
}

var streamKind = recordKind{kind: "stream", label: "Kinesis video stream", noun: "stream", field: "Stream", notFound: streamNotFound}

// Resolve returns the stream ref names (by name in the caller's scope, or
// by ARN, whose creation time must match: a stream re-created under the
// same name is another stream). It is the data plane's way in: the record
// has the retention, creation time and status PutMedia needs.
func (s *Service) Resolve(ctx context.Context, sc Scope, ref StreamRef) (*Stream, error) {
	st, _, err := s.resolveStream(ctx, sc, ref)
	return st, err
}

// CreateStreamInput is CreateStream's input.
type CreateStreamInput struct {
	Name, DeviceName, MediaType, KMSKeyID string
	RetentionHours                        int
	Tags                                  map[string]string
	StorageTier                           string // "" for HOT
}

// CreateStream creates a stream, CREATING for Config.CreateDelay.
func (s *Service) CreateStream(ctx context.Context, sc Scope, in CreateStreamInput) (*Stream, error) {
	sc = s.scope(sc)
	if !validName(in.Name) {
		return nil, errorf(KindInvalidArgument, "The stream name %q must match [a-zA-Z0-9_.-]{1,256}.", in.Name)
	}
	if in.RetentionHours < 0 || in.RetentionHours > MaxRetentionHours {
		return nil, errorf(KindInvalidArgument, "DataRetentionInHours must be between 0 and %d.", MaxRetentionHours)
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	tier := in.StorageTier
	if tier == "" {
		tier = "HOT"
	}
	if tier != "HOT" && tier != "WARM" {
		return nil, errorf(KindInvalidArgument, "DefaultStorageTier must be HOT or WARM.")
	}
	existing, rev, err := s.loadStream(ctx, sc, in.Name)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return nil, errorf(KindInUse, "The stream %s already exists.", in.Name)
	}
	n, err := s.count(ctx, sc, "stream")
	if err != nil {
		return nil, err
	}
	if n >= s.cfg.StreamLimit {
		return nil, errorf(KindStreamLimit, "This account has reached the limit of %d streams in %s.", s.cfg.StreamLimit, sc.Region)
	}
	now := s.cfg.Now().Truncate(time.Millisecond)
	kms := in.KMSKeyID
	if kms == "" {
		kms = fmt.Sprintf(defaultKMSAliasShape, sc.Region, sc.Account)
	}
	st := &Stream{Account: sc.Account, Region: sc.Region, Name: in.Name, DeviceName: in.DeviceName, MediaType: in.MediaType,
		KMSKeyID: kms, RetentionHours: in.RetentionHours, StorageTier: tier, Tags: maps.Clone(in.Tags),
		Version: newVersion(), Created: now, Status: StatusCreating, ActiveAt: now.Add(s.cfg.CreateDelay)}
	if s.cfg.CreateDelay <= 0 {
		st.Status = StatusActive
	}
	b, _ := json.Marshal(st)
	key := recordKey(sc, "stream", in.Name)
	ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: b}, nil)
	if err != nil {
		return nil, internal(err)
	}
	if !ok {
		return nil, errorf(KindInUse, "The stream %s already exists.", in.Name)
	}
	return st, nil
}

// count counts the live records of a kind in a scope.
func (s *Service) count(ctx context.Context, sc Scope, kind string) (int, error) {
	n := 0
	now := s.cfg.Now()
	err := s.meta.Scan(ctx, keyPrefix+sc.Account+"/"+sc.Region+"/"+kind+"/", func(_ string, v []byte, _ uint64) error {
		var l lifecycle
		if json.Unmarshal(v, &l) == nil && !l.goneAt(now) {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, internal(err)
	}
	return n, nil
}

// ListStreams lists the streams whose names begin with prefix, in name
// order, after the name after ("" from the start), at most max (1..10000;
// 0 means 10000). next is the last name listed when more follow.
func (s *Service) ListStreams(ctx context.Context, sc Scope, prefix, after string, max int) (list []*Stream, next string, err error) {
	sc = s.scope(sc)
	now := s.cfg.Now()
	err = s.list(ctx, sc, "stream", prefix, after, max, func(v []byte) bool {
		var st Stream
		if json.Unmarshal(v, &st) != nil || st.life().goneAt(now) {
			return false
		}
		st.Status = st.life().statusAt(now)
		list = append(list, &st)
		return true
	}, &next)
	if len(list) > 0 && next != "" {
		list = list[:len(list)-1]
	}
	return list, next, err
}

// list scans the records of a kind in name order, handing each value to
// add (which reports whether it counted), and sets *next when
// more than max were found (add is then called max+1 times; the caller
// drops the last).
func (s *Service) list(ctx context.Context, sc Scope, kind, prefix, after string, max int, add func(v []byte) bool, next *string) error {
	if max <= 0 || max > MaxListResults {
		max = MaxListResults
	}
	base := keyPrefix + sc.Account + "/" + sc.Region + "/" + kind + "/"
	n := 0
	last := ""
	errStop := errors.New("stop")
	err := s.meta.Scan(ctx, base+prefix, func(key string, v []byte, _ uint64) error {
		name := strings.TrimPrefix(key, base)
		if after != "" && name <= after {
			return nil
		}
		if !add(v) {
			return nil
		}
		n++
		if n > max {
			*next = last
			return errStop
		}
		last = name
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return internal(err)
	}
	return nil
}

// changeStream applies fn to the stream under optimistic concurrency: the
// stream must not be DELETING, must be ACTIVE when active is set, and must
// be at version when version is non-empty. A successful change gets a new
// Version.
func (s *Service) changeStream(ctx context.Context, sc Scope, ref StreamRef, version string, active bool, fn func(st *Stream) error) (*Stream, error) {
	return changeRecord[Stream](ctx, s, sc, ref.Name, ref.ARN, streamKind, version, active, fn)
}

// UpdateStream changes the device name and/or media type (nil: unchanged).
func (s *Service) UpdateStream(ctx context.Context, sc Scope, ref StreamRef, version string, deviceName, mediaType *string) (*Stream, error) {
	return s.changeStream(ctx, sc, ref, version, true, func(st *Stream) error {
		if deviceName != nil {
			st.DeviceName = *deviceName
		}
		if mediaType != nil {
			st.MediaType = *mediaType
		}
		return nil
	})
}

// Retention operations.
const (
	IncreaseRetention = "INCREASE_DATA_RETENTION"
	DecreaseRetention = "DECREASE_DATA_RETENTION"
)

// UpdateDataRetention increases or decreases the retention by change
// hours (≥ 1); the result must stay within 0..MaxRetentionHours.
func (s *Service) UpdateDataRetention(ctx context.Context, sc Scope, ref StreamRef, version, op string, change int) (*Stream, error) {
	if change < 1 {
		return nil, errorf(KindInvalidArgument, "DataRetentionChangeInHours must be at least 1.")
	}
	if op != IncreaseRetention && op != DecreaseRetention {
		return nil, errorf(KindInvalidArgument, "Operation must be %s or %s.", IncreaseRetention, DecreaseRetention)
	}
	return s.changeStream(ctx, sc, ref, version, true, func(st *Stream) error {
		h := st.RetentionHours + change
		if op == DecreaseRetention {
			h = st.RetentionHours - change
		}
		if h < 0 {
			return errorf(KindInvalidArgument, "The stream %s retains data for %d hours; it cannot be decreased by %d.", st.Name, st.RetentionHours, change)
		}
		if h > MaxRetentionHours {
			return errorf(KindInvalidArgument, "The data retention of stream %s cannot exceed %d hours.", st.Name, MaxRetentionHours)
		}
		st.RetentionHours = h
		return nil
	})
}

// UpdateStorageTier sets StreamStorageConfiguration.DefaultStorageTier.
func (s *Service) UpdateStorageTier(ctx context.Context, sc Scope, ref StreamRef, version, tier string) (*Stream, error) {
	if tier != "HOT" && tier != "WARM" {
		return nil, errorf(KindInvalidArgument, "DefaultStorageTier must be HOT or WARM.")
	}
	return s.changeStream(ctx, sc, ref, version, true, func(st *Stream) error {
		st.StorageTier = tier
		return nil
	})
}

// DeleteStream deletes the stream the ARN names (at version, if given): it
// is DELETING for Config.DeleteDelay, then gone.
func (s *Service) DeleteStream(ctx context.Context, sc Scope, arn, version string) error {
	for attempt := 0; ; attempt++ {
		st, rev, err := s.resolveStream(ctx, sc, StreamRef{ARN: arn})
		if err != nil {
			return err
		}
		if version != "" && version != st.Version {
			return errorf(KindVersionMismatch, "The version %s of stream %s is not its current version.", version, st.Name)
		}
		if st.Status == StatusDeleting {
			return errorf(KindInUse, "The stream %s is being deleted.", st.Name)
		}
		key := recordKey(Scope{st.Account, st.Region}, "stream", st.Name)
		ok, err := s.remove(ctx, key, rev, func() any {
			st.Status, st.GoneAt, st.Version = StatusDeleting, s.cfg.Now().Add(s.cfg.DeleteDelay), newVersion()
			return st
		})
		if err != nil || ok {
			return err
		}
		if attempt >= maxCommitAttempts {
			return errorf(KindInUse, "The stream %s is being changed by another request; retry.", st.Name)
		}
	}
}

// remove deletes the record at rev, or, with a DeleteDelay, stores the
// DELETING record deleting returns.
func (s *Service) remove(ctx context.Context, key string, rev uint64, deleting func() any) (bool, error) {
	var ok bool
	var err error
	if s.cfg.DeleteDelay <= 0 {
		ok, _, err = s.meta.Commit(ctx, map[string]uint64{key: rev}, nil, []string{key})
	} else {
		b, _ := json.Marshal(deleting())
		ok, _, err = s.meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: b}, nil)
	}
	if err != nil {
		return false, internal(err)
	}
	return ok, nil
}

// Sweep removes DELETING records whose time is up (streams and channels of
// every account and region); it returns how many it removed. Its owner
// runs it periodically.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	gone := map[string]uint64{}
	err := s.meta.Scan(ctx, keyPrefix, func(key string, v []byte, rev uint64) error {
		var l lifecycle
		if json.Unmarshal(v, &l) == nil && l.goneAt(now) {
			gone[key] = rev
		}
		return nil
	})
	if err != nil {
		return 0, internal(err)
	}
	n := 0
	for key, rev := range gone {
		ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, nil, []string{key})
		if err != nil {
			return n, internal(err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// TagStream adds or replaces tags (at most MaxTags in all).
func (s *Service) TagStream(ctx context.Context, sc Scope, ref StreamRef, tags map[string]string) error {
	_, err := s.changeStream(ctx, sc, ref, "", false, func(st *Stream) error {
		merged := maps.Clone(st.Tags)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, tags)
		if err := checkTags(merged); err != nil {
			return err
		}
		st.Tags = merged
		return nil
	})
	return err
}

// UntagStream removes tags by key (absent keys are ignored).
func (s *Service) UntagStream(ctx context.Context, sc Scope, ref StreamRef, keys []string) error {
	_, err := s.changeStream(ctx, sc, ref, "", false, func(st *Stream) error {
		for _, k := range keys {
			delete(st.Tags, k)
		}
		return nil
	})
	return err
}

// UpdateImageGeneration stores (or, with nil, removes) the stream's image
// generation configuration. Generating images needs stored media:
// DataRetentionInHours must be above 0.
func (s *Service) UpdateImageGeneration(ctx context.Context, sc Scope, ref StreamRef, cfg *ImageGeneration) error {
	if cfg != nil {
		if cfg.SamplingInterval < MinSamplingInterval || cfg.SamplingInterval > MaxSamplingInterval {
			return errorf(KindInvalidArgument, "SamplingInterval must be between %d and %d milliseconds.", MinSamplingInterval, MaxSamplingInterval)
		}
		if q, ok := cfg.FormatConfig["JPEGQuality"]; ok {
			n, err := strconv.Atoi(q)
			if cfg.Format != "JPEG" || err != nil || n < 1 || n > 100 {
				return errorf(KindInvalidArgument, "FormatConfig JPEGQuality must be an integer from 1 to 100, and only with the JPEG format.")
			}
		}
	}
	_, err := s.changeStream(ctx, sc, ref, "", false, func(st *Stream) error {
		if cfg != nil && st.RetentionHours == 0 {
			return errorf(KindNoDataRetention, "The stream %s retains no data (DataRetentionInHours is 0).", st.Name)
		}
		st.ImageGeneration = cfg
		return nil
	})
	return err
}

// UpdateNotification stores (or, with nil, removes) the stream's
// notification configuration; it needs DataRetentionInHours above 0.
func (s *Service) UpdateNotification(ctx context.Context, sc Scope, ref StreamRef, cfg *Notification) error {
	_, err := s.changeStream(ctx, sc, ref, "", false, func(st *Stream) error {
		if cfg != nil && st.RetentionHours == 0 {
			return errorf(KindNoDataRetention, "The stream %s retains no data (DataRetentionInHours is 0).", st.Name)
		}
		st.Notification = cfg
		return nil
	})
	return err
}

// DataEndpoint is GetDataEndpoint: the stream must exist and apiName be
// one of APINames; the answer is base, the server's own URL (every API of
// every stream is served on the one port).
func (s *Service) DataEndpoint(ctx context.Context, sc Scope, ref StreamRef, apiName, base string) (string, error) {
	known := false
	for _, n := range APINames {
		known = known || n == apiName
	}
	if !known {
		return "", errorf(KindInvalidArgument, "APIName %s is not one of %s.", apiName, strings.Join(APINames, ", "))
	}
	if _, _, err := s.resolveStream(ctx, sc, ref); err != nil {
		return "", err
	}
	return strings.TrimSuffix(base, "/"), nil
}

// EdgeConfiguration is Describe/DeleteEdgeConfiguration: no stream has
// one here (no edge agent runs), so after resolving the stream it answers
// KindEdgeConfigNotFound.
func (s *Service) EdgeConfiguration(ctx context.Context, sc Scope, ref StreamRef) error {
	st, _, err := s.resolveStream(ctx, sc, ref)
	if err != nil {
		return err
	}
	return errorf(KindEdgeConfigNotFound, "The stream %s has no edge configuration.", st.Name)
}

// StartEdgeConfigurationUpdate refuses: edge configurations need an AWS
// IoT Greengrass edge agent, which this server does not run. A stream with
// no retention is refused as AWS refuses it (KindNoDataRetention).
func (s *Service) StartEdgeConfigurationUpdate(ctx context.Context, sc Scope, ref StreamRef) error {
	st, _, err := s.resolveStream(ctx, sc, ref)
	if err != nil {
		return err
	}
	if st.RetentionHours == 0 {
		return errorf(KindNoDataRetention, "The stream %s retains no data (DataRetentionInHours is 0).", st.Name)
	}
	return errorf(KindUnsupported, "Edge configurations need an AWS IoT Greengrass edge agent, which this endpoint does not run.")
}
