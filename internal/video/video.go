// Package video owns Kinesis Video Streams' control-plane state: video
// streams' and signaling channels' definitions (names, ARNs, opaque
// versions, statuses, retention, media type, KMS key, tags, the stored
// image-generation, notification, storage-tier and media-storage
// configurations), with AWS's rules: name patterns, a new Version on every
// change and optimistic concurrency on it, CREATING → ACTIVE after a short
// delay, DELETING until the record is swept, retention changes by
// INCREASE/DECREASE, tag limits and account limits. Records are JSON values
// in the metadata store under "video/{account}/{region}/stream/{name}" and
// ".../channel/{name}", each change one compare-and-swap commit.
//
// It does not carry media: the data plane (PutMedia, fragments, playback)
// builds on Resolve and Stream's fields; signaling relays build on
// ResolveChannel. It knows no HTTP and no AWS wire format: videoapi maps
// its error kinds to AWS exceptions, and the server supplies the store and
// the base URLs endpoints are answered with.
//
// Statuses are evaluated lazily against the injected clock (a CREATING
// record whose ActiveAt has passed is ACTIVE; a DELETING record whose
// GoneAt has passed does not exist), so the service owns no goroutine;
// Sweep removes expired DELETING records and is run periodically by its
// owner.
package video

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"
)

// MetaStore is the durable metadata the service needs (metastore.Store
// satisfies it). Commit with compare[key] == 0 requires the key to be
// absent. Scan callbacks must not call the store.
type MetaStore interface {
	Get(ctx context.Context, key string) ([]byte, uint64, error)
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte, rev uint64) error) error
	Commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (ok bool, rev uint64, err error)
}

// Scope is an account and a region (each has its own streams and
// channels).
type Scope struct{ Account, Region string }

// Kind classifies an error; videoapi maps each to one AWS exception.
type Kind int

// Error kinds.
const (
	KindNotFound              Kind = iota + 1 // no such stream or channel (or not in this account)
	KindInUse                                 // name taken, or the resource is not ACTIVE
	KindInvalidArgument                       // a value AWS's rules refuse
	KindVersionMismatch                       // CurrentVersion is not the current one
	KindStreamLimit                           // too many streams in the account and region
	KindChannelLimit                          // too many channels in the account and region
	KindTagLimit                              // more than MaxTags tags on a resource
	KindNoDataRetention                       // the operation needs DataRetentionInHours > 0
	KindInvalidResourceFormat                 // an ARN that names no video resource kind
	KindEdgeConfigNotFound                    // the stream has no edge configuration
	KindUnsupported                           // an operation this server does not carry out
	KindInternal                              // the store failed
)

// Error is a domain error.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

func internal(err error) *Error {
	return &Error{Kind: KindInternal, Msg: "metadata store failed: " + err.Error(), Err: err}
}

// Statuses (AWS's Status enum).
const (
	StatusCreating = "CREATING"
	StatusActive   = "ACTIVE"
	StatusUpdating = "UPDATING"
	StatusDeleting = "DELETING"
)

// Limits (AWS's, Kinesis Video Streams developer guide, "Quotas").
const (
	MaxTags              = 50    // tags per stream or channel
	MaxRetentionHours    = 87600 // ten years
	MaxStreams           = 10000 // streams per account and region (AWS's default quota)
	MaxChannels          = 10000 // signaling channels per account and region
	DefaultMessageTTL    = 60    // seconds, SingleMasterConfiguration.MessageTtlSeconds
	MinMessageTTL        = 5
	MaxMessageTTL        = 120
	MaxListResults       = 10000 // ListStreams / ListSignalingChannels MaxResults
	maxCommitAttempts    = 20
	versionLength        = 20
	versionAlphabet      = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	keyPrefix            = "video/"
	defaultKMSAliasShape = "arn:aws:kms:%s:%s:alias/aws/kinesisvideo"
)

// Config configures the service.
type Config struct {
	// Account is the default account (calls with no account). Required.
	Account string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// CreateDelay is how long a new stream or channel stays CREATING.
	// Default 0: ACTIVE at once.
	CreateDelay time.Duration
	// DeleteDelay is how long a deleted stream or channel stays DELETING
	// before it is gone (its name free again). Default 0: gone at once.
	DeleteDelay time.Duration
	// StreamLimit is the number of streams per account and region.
	// Default MaxStreams.
	StreamLimit int
	// ChannelLimit is the number of signaling channels per account and
	// region. Default MaxChannels.
	ChannelLimit int
}

// Service is the control plane of video streams and signaling channels.
// It is safe for concurrent use: every change is a compare-and-swap commit
// of one record, retried on a conflict.
type Service struct {
	cfg  Config
	meta MetaStore
}

// New returns the service over the metadata store.
func New(cfg Config, meta MetaStore) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StreamLimit <= 0 {
		cfg.StreamLimit = MaxStreams
	}
	if cfg.ChannelLimit <= 0 {
		cfg.ChannelLimit = MaxChannels
	}
	return &Service{cfg: cfg, meta: meta}
}

func (s *Service) scope(sc Scope) Scope {
	if sc.Account == "" {
		sc.Account = s.cfg.Account
	}
	return sc
}

// newVersion returns a fresh opaque version ([a-zA-Z0-9]{20}).
func newVersion() string {
	b := make([]byte, versionLength)
	rand.Read(b)
	for i := range b {
		b[i] = versionAlphabet[int(b[i])%len(versionAlphabet)]
	}
	return string(b)
}

// validName reports whether name matches [a-zA-Z0-9_.-]{1,256} (stream and
// channel names).
func validName(name string) bool {
	if len(name) < 1 || len(name) > 256 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// lifecycle is the status bookkeeping streams and channels share.
type lifecycle struct {
	// Status is the stored status: CREATING (until ActiveAt), ACTIVE, or
	// DELETING (until GoneAt).
	Status   string    `json:"status"`
	ActiveAt time.Time `json:"activeAt"`
	GoneAt   time.Time `json:"goneAt,omitzero"`
}

// statusAt is the status at now.
func (l lifecycle) statusAt(now time.Time) string {
	if l.Status == StatusCreating && !now.Before(l.ActiveAt) {
		return StatusActive
	}
	return l.Status
}

// goneAt reports whether a DELETING record has expired at now.
func (l lifecycle) goneAt(now time.Time) bool {
	return l.Status == StatusDeleting && !now.Before(l.GoneAt)
}

// checkTags applies AWS's tag rules to a merged tag set.
func checkTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return errorf(KindTagLimit, "The number of tags on the resource would exceed the limit of %d.", MaxTags)
	}
	return nil
}
