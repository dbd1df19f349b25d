package video

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"time"
)

// ChannelRef names a signaling channel by ChannelName or ChannelARN.
type ChannelRef struct{ Name, ARN string }

// Channel types (AWS's ChannelType enum).
const (
	SingleMaster = "SINGLE_MASTER"
	FullMesh     = "FULL_MESH"
)

// Channel is a signaling channel's definition. Values returned by the
// service are copies: Status is the status at the time of the call.
type Channel struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Name    string `json:"name"`
	Type    string `json:"type"` // SINGLE_MASTER or FULL_MESH
	// MessageTTLSeconds is how long undelivered signaling messages are
	// kept (5..120, default 60).
	MessageTTLSeconds int               `json:"messageTtlSeconds"`
	Tags              map[string]string `json:"tags,omitempty"`
	Version           string            `json:"version"`
	Created           time.Time         `json:"created"`
	Status            string            `json:"status"`
	ActiveAt          time.Time         `json:"activeAt"`
	GoneAt            time.Time         `json:"goneAt,omitzero"`
	// MediaStorage links the channel to a stream for WebRTC ingestion (nil:
	// DISABLED).
	MediaStorage *MediaStorage `json:"mediaStorage,omitempty"`
}

// MediaStorage is a channel's MediaStorageConfiguration.
type MediaStorage struct {
	StreamARN string `json:"streamArn,omitempty"`
	Status    string `json:"status"` // ENABLED or DISABLED
}

// ARN is the channel's ARN:
// arn:aws:kinesisvideo:{region}:{account}:channel/{name}/{creationEpochMillis}.
func (ch *Channel) ARN() string {
	return resourceARN(ch.Region, ch.Account, "channel", ch.Name, ch.Created)
}

func (ch *Channel) life() lifecycle {
	return lifecycle{Status: ch.Status, ActiveAt: ch.ActiveAt, GoneAt: ch.GoneAt}
}

func channelNotFound() *Error {
	return errorf(KindNotFound, "The requested channel is not found or not active.")
}

func (s *Service) loadChannel(ctx context.Context, sc Scope, name string) (*Channel, uint64, error) {
	return loadRecord[Channel](ctx, s, sc, "channel", name)
}

func (s *Service) resolveChannel(ctx context.Context, sc Scope, ref ChannelRef) (*Channel, uint64, error) {
	return resolveRecord[Channel](ctx, s, sc, ref.Name, ref.ARN, channelKind)
}

var channelKind = recordKind{kind: "channel", label: "signaling channel", noun: "signaling channel", field: "Channel", notFound: channelNotFound}

// ResolveChannel returns the channel ref names (by ARN, the creation time
// must match). The signaling relay builds on it.
func (s *Service) ResolveChannel(ctx context.Context, sc Scope, ref ChannelRef) (*Channel, error) {
	ch, _, err := s.resolveChannel(ctx, sc, ref)
	return ch, err
}

// CreateChannelInput is CreateSignalingChannel's input.
type CreateChannelInput struct {
	Name string
	Type string // "" for SINGLE_MASTER
	// MessageTTLSeconds: 0 for the default (60).
	MessageTTLSeconds int
	Tags              map[string]string
}

// CreateChannel creates a signaling channel, CREATING for
// Config.CreateDelay.
func (s *Service) CreateChannel(ctx context.Context, sc Scope, in CreateChannelInput) (*Channel, error) {
	sc = s.scope(sc)
	if !validName(in.Name) {
		return nil, errorf(KindInvalidArgument, "The channel name %q must match [a-zA-Z0-9_.-]{1,256}.", in.Name)
	}
	typ := in.Type
	if typ == "" {
		typ = SingleMaster
	}
	if typ != SingleMaster && typ != FullMesh {
		return nil, errorf(KindInvalidArgument, "ChannelType must be %s or %s.", SingleMaster, FullMesh)
	}
	ttl := in.MessageTTLSeconds
	if ttl == 0 {
		ttl = DefaultMessageTTL
	}
	if err := checkTTL(ttl); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	existing, rev, err := s.loadChannel(ctx, sc, in.Name)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return nil, errorf(KindInUse, "The signaling channel %s already exists.", in.Name)
	}
	n, err := s.count(ctx, sc, "channel")
	if err != nil {
		return nil, err
	}
	if n >= s.cfg.ChannelLimit {
		return nil, errorf(KindChannelLimit, "This account has reached the limit of %d signaling channels in %s.", s.cfg.ChannelLimit, sc.Region)
	}
	now := s.cfg.Now().Truncate(time.Millisecond)
	ch := &Channel{Account: sc.Account, Region: sc.Region, Name: in.Name, Type: typ, MessageTTLSeconds: ttl,
		Tags: maps.Clone(in.Tags), Version: newVersion(), Created: now, Status: StatusCreating, ActiveAt: now.Add(s.cfg.CreateDelay)}
	if s.cfg.CreateDelay <= 0 {
		ch.Status = StatusActive
	}
	b, _ := json.Marshal(ch)
	key := recordKey(sc, "channel", in.Name)
	ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: b}, nil)
	if err != nil {
		return nil, internal(err)
	}
	if !ok {
		return nil, errorf(KindInUse, "The signaling channel %s already exists.", in.Name)
	}
	return ch, nil
}

func checkTTL(ttl int) error {
	if ttl < MinMessageTTL || ttl > MaxMessageTTL {
		return errorf(KindInvalidArgument, "MessageTtlSeconds must be between %d and %d.", MinMessageTTL, MaxMessageTTL)
	}
	return nil
}

// ListChannels lists channels like ListStreams lists streams.
func (s *Service) ListChannels(ctx context.Context, sc Scope, prefix, after string, max int) (list []*Channel, next string, err error) {
	sc = s.scope(sc)
	now := s.cfg.Now()
	err = s.list(ctx, sc, "channel", prefix, after, max, func(v []byte) bool {
		var ch Channel
		if json.Unmarshal(v, &ch) != nil || ch.life().goneAt(now) {
			return false
		}
		ch.Status = ch.life().statusAt(now)
		list = append(list, &ch)
		return true
	}, &next)
	if len(list) > 0 && next != "" {
		list = list[:len(list)-1]
	}
	return list, next, err
}

// changeChannel is changeStream for channels.
func (s *Service) changeChannel(ctx context.Context, sc Scope, ref ChannelRef, version string, active bool, fn func(ch *Channel) error) (*Channel, error) {
	return changeRecord[Channel](ctx, s, sc, ref.Name, ref.ARN, channelKind, version, active, fn)
}

// UpdateChannel changes the message TTL (nil: unchanged) at version.
func (s *Service) UpdateChannel(ctx context.Context, sc Scope, arn, version string, ttl *int) (*Channel, error) {
	if ttl != nil {
		if err := checkTTL(*ttl); err != nil {
			return nil, err
		}
	}
	return s.changeChannel(ctx, sc, ChannelRef{ARN: arn}, version, true, func(ch *Channel) error {
		if ttl != nil {
			ch.MessageTTLSeconds = *ttl
		}
		return nil
	})
}

// DeleteChannel deletes the channel the ARN names (at version, if given).
func (s *Service) DeleteChannel(ctx context.Context, sc Scope, arn, version string) error {
	for attempt := 0; ; attempt++ {
		ch, rev, err := s.resolveChannel(ctx, sc, ChannelRef{ARN: arn})
		if err != nil {
			return err
		}
		if version != "" && version != ch.Version {
			return errorf(KindVersionMismatch, "The version %s of signaling channel %s is not its current version.", version, ch.Name)
		}
		if ch.Status == StatusDeleting {
			return errorf(KindInUse, "The signaling channel %s is being deleted.", ch.Name)
		}
		key := recordKey(Scope{ch.Account, ch.Region}, "channel", ch.Name)
		ok, err := s.remove(ctx, key, rev, func() any {
			ch.Status, ch.GoneAt, ch.Version = StatusDeleting, s.cfg.Now().Add(s.cfg.DeleteDelay), newVersion()
			return ch
		})
		if err != nil || ok {
			return err
		}
		if attempt >= maxCommitAttempts {
			return errorf(KindInUse, "The signaling channel %s is being changed by another request; retry.", ch.Name)
		}
	}
}

// Channel endpoint protocols and roles.
const (
	ProtocolWSS    = "WSS"
	ProtocolHTTPS  = "HTTPS"
	ProtocolWebRTC = "WEBRTC"
	RoleMaster     = "MASTER"
	RoleViewer     = "VIEWER"
)

// Endpoint is one entry of GetSignalingChannelEndpoint's
// ResourceEndpointList.
type Endpoint struct{ Protocol, URL string }

// ChannelEndpoints is GetSignalingChannelEndpoint: for each protocol asked
// (default WSS and HTTPS; duplicates answered once) the server's own URL.
// base is the URL the client reached the server at (http://host:port or
// https://host:port): WSS answers it as ws:// or wss:// accordingly, HTTPS
// and WEBRTC as is. role is MASTER (default) or VIEWER.
func (s *Service) ChannelEndpoints(ctx context.Context, sc Scope, arn string, protocols []string, role, base string) ([]Endpoint, error) {
	if role == "" {
		role = RoleMaster
	}
	if role != RoleMaster && role != RoleViewer {
		return nil, errorf(KindInvalidArgument, "Role must be %s or %s.", RoleMaster, RoleViewer)
	}
	if len(protocols) == 0 {
		protocols = []string{ProtocolWSS, ProtocolHTTPS}
	}
	ch, _, err := s.resolveChannel(ctx, sc, ChannelRef{ARN: arn})
	if err != nil {
		return nil, err
	}
	if ch.Status != StatusActive {
		return nil, errorf(KindInUse, "The signaling channel %s is not ACTIVE (it is %s).", ch.Name, ch.Status)
	}
	base = strings.TrimSuffix(base, "/")
	ws := "ws" + strings.TrimPrefix(base, "http") // http→ws, https→wss
	var out []Endpoint
	seen := map[string]bool{}
	for _, p := range protocols {
		if seen[p] {
			continue
		}
		seen[p] = true
		switch p {
		case ProtocolWSS:
			out = append(out, Endpoint{p, ws})
		case ProtocolHTTPS, ProtocolWebRTC:
			out = append(out, Endpoint{p, base})
		default:
			return nil, errorf(KindInvalidArgument, "Protocol %s is not one of WSS, HTTPS, WEBRTC.", p)
		}
	}
	return out, nil
}

// UpdateMediaStorage stores the channel's media storage configuration:
// ENABLED needs StreamARN naming a stream of the account that retains data.
func (s *Service) UpdateMediaStorage(ctx context.Context, sc Scope, arn string, cfg MediaStorage) error {
	switch cfg.Status {
	case "ENABLED":
		if cfg.StreamARN == "" {
			return errorf(KindInvalidArgument, "StreamARN is required when the media storage configuration is ENABLED.")
		}
		st, err := s.Resolve(ctx, sc, StreamRef{ARN: cfg.StreamARN})
		if err != nil {
			return err
		}
		if st.RetentionHours == 0 {
			return errorf(KindNoDataRetention, "The stream %s retains no data (DataRetentionInHours is 0).", st.Name)
		}
	case "DISABLED":
	default:
		return errorf(KindInvalidArgument, "Status must be ENABLED or DISABLED.")
	}
	_, err := s.changeChannel(ctx, sc, ChannelRef{ARN: arn}, "", false, func(ch *Channel) error {
		c := cfg
		ch.MediaStorage = &c
		return nil
	})
	return err
}

// TagChannel adds or replaces tags (at most MaxTags in all).
func (s *Service) TagChannel(ctx context.Context, sc Scope, arn string, tags map[string]string) error {
	_, err := s.changeChannel(ctx, sc, ChannelRef{ARN: arn}, "", false, func(ch *Channel) error {
		merged := maps.Clone(ch.Tags)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, tags)
		if err := checkTags(merged); err != nil {
			return err
		}
		ch.Tags = merged
		return nil
	})
	return err
}

// UntagChannel removes tags by key.
func (s *Service) UntagChannel(ctx context.Context, sc Scope, arn string, keys []string) error {
	_, err := s.changeChannel(ctx, sc, ChannelRef{ARN: arn}, "", false, func(ch *Channel) error {
		for _, k := range keys {
			delete(ch.Tags, k)
		}
		return nil
	})
	return err
}

// Tag tags the stream or channel an ARN names (TagResource).
func (s *Service) Tag(ctx context.Context, sc Scope, arn string, tags map[string]string) error {
	p, ok := ParseARN(arn)
	if !ok {
		return errorf(KindInvalidResourceFormat, "The resource ARN %s is not a Kinesis video stream or signaling channel ARN.", arn)
	}
	if p.Kind == "channel" {
		return s.TagChannel(ctx, sc, arn, tags)
	}
	return s.TagStream(ctx, sc, StreamRef{ARN: arn}, tags)
}

// Untag removes tags from the stream or channel an ARN names.
func (s *Service) Untag(ctx context.Context, sc Scope, arn string, keys []string) error {
	p, ok := ParseARN(arn)
	if !ok {
		return errorf(KindInvalidResourceFormat, "The resource ARN %s is not a Kinesis video stream or signaling channel ARN.", arn)
	}
	if p.Kind == "channel" {
		return s.UntagChannel(ctx, sc, arn, keys)
	}
	return s.UntagStream(ctx, sc, StreamRef{ARN: arn}, keys)
}

// Tags returns the tags of the stream or channel an ARN names.
func (s *Service) Tags(ctx context.Context, sc Scope, arn string) (map[string]string, error) {
	p, ok := ParseARN(arn)
	if !ok {
		return nil, errorf(KindInvalidResourceFormat, "The resource ARN %s is not a Kinesis video stream or signaling channel ARN.", arn)
	}
	if p.Kind == "channel" {
		ch, err := s.ResolveChannel(ctx, sc, ChannelRef{ARN: arn})
		if err != nil {
			return nil, err
		}
		return ch.Tags, nil
	}
	st, err := s.Resolve(ctx, sc, StreamRef{ARN: arn})
	if err != nil {
		return nil, err
	}
	return st.Tags, nil
}
