package video

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/metastore"
)

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T, mut func(*Config)) (*Service, *clock) {
	t.Helper()
	st, err := metastore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)}
	cfg := Config{Account: "000000000000", Now: clk.now}
	if mut != nil {
		mut(&cfg)
	}
	return New(cfg, st), clk
}

var sc = Scope{Account: "000000000000", Region: "us-east-1"}

func kindOf(err error) Kind {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return 0
}

func wantKind(t *testing.T, err error, k Kind) {
	t.Helper()
	if kindOf(err) != k {
		t.Fatalf("got %v (kind %d), want kind %d", err, kindOf(err), k)
	}
}

var versionRE = regexp.MustCompile(`^[a-zA-Z0-9]{1,64}$`)

func TestStreamLifecycle(t *testing.T) {
	ctx := context.Background()
	s, clk := newService(t, func(c *Config) { c.CreateDelay = time.Second })
	st, err := s.CreateStream(ctx, sc, CreateStreamInput{Name: "cam-1", MediaType: "video/h264", RetentionHours: 24, Tags: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	wantARN := "arn:aws:kinesisvideo:us-east-1:000000000000:stream/cam-1/1767225600123"
	if st.ARN() != wantARN || st.Status != StatusCreating || !versionRE.MatchString(st.Version) ||
		st.KMSKeyID != "arn:aws:kms:us-east-1:000000000000:alias/aws/kinesisvideo" || st.StorageTier != "HOT" {
		t.Fatalf("created %+v (ARN %s)", st, st.ARN())
	}
	_, err = s.CreateStream(ctx, sc, CreateStreamInput{Name: "cam-1"})
	wantKind(t, err, KindInUse)
	if err.Error() != "The stream cam-1 already exists." {
		t.Errorf("message %q", err)
	}
	// CREATING refuses updates until the delay has passed.
	_, err = s.UpdateStream(ctx, sc, StreamRef{Name: "cam-1"}, st.Version, nil, nil)
	wantKind(t, err, KindInUse)
	clk.add(time.Second)
	byARN, err := s.Resolve(ctx, sc, StreamRef{ARN: wantARN})
	if err != nil || byARN.Status != StatusActive || byARN.RetentionHours != 24 || !byARN.Created.Equal(st.Created) {
		t.Fatalf("resolve by ARN: %+v %v", byARN, err)
	}
	// A stale version is refused; the current one is taken and replaced.
	dev := "dev-1"
	_, err = s.UpdateStream(ctx, sc, StreamRef{Name: "cam-1"}, "stale", &dev, nil)
	wantKind(t, err, KindVersionMismatch)
	up, err := s.UpdateStream(ctx, sc, StreamRef{Name: "cam-1"}, st.Version, &dev, nil)
	if err != nil || up.DeviceName != "dev-1" || up.MediaType != "video/h264" || up.Version == st.Version {
		t.Fatalf("update: %+v %v", up, err)
	}
	// Retention: INCREASE, DECREASE, never below 0.
	r, err := s.UpdateDataRetention(ctx, sc, StreamRef{ARN: wantARN}, up.Version, IncreaseRetention, 6)
	if err != nil || r.RetentionHours != 30 {
		t.Fatalf("increase: %+v %v", r, err)
	}
	_, err = s.UpdateDataRetention(ctx, sc, StreamRef{ARN: wantARN}, r.Version, DecreaseRetention, 31)
	wantKind(t, err, KindInvalidArgument)
	_, err = s.UpdateDataRetention(ctx, sc, StreamRef{ARN: wantARN}, r.Version, DecreaseRetention, 0)
	wantKind(t, err, KindInvalidArgument)
	r, err = s.UpdateDataRetention(ctx, sc, StreamRef{ARN: wantARN}, r.Version, DecreaseRetention, 30)
	if err != nil || r.RetentionHours != 0 {
		t.Fatalf("decrease: %+v %v", r, err)
	}
	// Delete with a stale version, then the current one.
	err = s.DeleteStream(ctx, sc, wantARN, "stale")
	wantKind(t, err, KindVersionMismatch)
	if err := s.DeleteStream(ctx, sc, wantARN, r.Version); err != nil {
		t.Fatal(err)
	}
	_, err = s.Resolve(ctx, sc, StreamRef{Name: "cam-1"})
	wantKind(t, err, KindNotFound)
	if err.Error() != "The requested stream is not found or not active." {
		t.Errorf("message %q", err)
	}
	// Re-created under the same name: the old ARN names nothing.
	clk.add(time.Millisecond)
	if _, err := s.CreateStream(ctx, sc, CreateStreamInput{Name: "cam-1"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Resolve(ctx, sc, StreamRef{ARN: wantARN})
	wantKind(t, err, KindNotFound)
}

func TestStreamValidation(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t, nil)
	for _, in := range []CreateStreamInput{
		{Name: ""}, {Name: "has space"}, {Name: strings.Repeat("a", 257)}, {Name: "x", RetentionHours: -1},
		{Name: "x", RetentionHours: MaxRetentionHours + 1}, {Name: "x", StorageTier: "COLD"},
	} {
		_, err := s.CreateStream(ctx, sc, in)
		wantKind(t, err, KindInvalidArgument)
	}
	tags := map[string]string{}
	for i := range MaxTags + 1 {
		tags[fmt.Sprint("k", i)] = "v"
	}
	_, err := s.CreateStream(ctx, sc, CreateStreamInput{Name: "x", Tags: tags})
	wantKind(t, err, KindTagLimit)
	_, err = s.Resolve(ctx, sc, StreamRef{})
	wantKind(t, err, KindInvalidArgument)
	_, err = s.Resolve(ctx, sc, StreamRef{ARN: "arn:aws:kinesis:us-east-1:000000000000:stream/x"})
	wantKind(t, err, KindInvalidResourceFormat)
	// Another account's stream is not found.
	st, _ := s.CreateStream(ctx, sc, CreateStreamInput{Name: "mine"})
	_, err = s.Resolve(ctx, Scope{Account: "111111111111", Region: "us-east-1"}, StreamRef{ARN: st.ARN()})
	wantKind(t, err, KindNotFound)
	_, err = s.Resolve(ctx, sc, StreamRef{Name: "other", ARN: st.ARN()})
	wantKind(t, err, KindInvalidArgument)
}

func TestStreamLimitsAndList(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t, func(c *Config) { c.StreamLimit = 5 })
	for _, n := range []string{"b-2", "a-1", "b-1", "c-1", "b-3"} {
		if _, err := s.CreateStream(ctx, sc, CreateStreamInput{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.CreateStream(ctx, sc, CreateStreamInput{Name: "d"})
	wantKind(t, err, KindStreamLimit)
	var names []string
	after := ""
	for {
		page, next, err := s.ListStreams(ctx, sc, "b-", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range page {
			names = append(names, st.Name)
		}
		if next == "" {
			break
		}
		after = next
	}
	if strings.Join(names, ",") != "b-1,b-2,b-3" {
		t.Fatalf("pages: %v", names)
	}
	all, next, err := s.ListStreams(ctx, sc, "", "", 0)
	if err != nil || len(all) != 5 || next != "" || all[0].Name != "a-1" {
		t.Fatalf("all: %d %q %v", len(all), next, err)
	}
	// Another region has its own streams.
	other, _, _ := s.ListStreams(ctx, Scope{Account: sc.Account, Region: "eu-west-1"}, "", "", 0)
	if len(other) != 0 {
		t.Fatalf("eu-west-1: %d", len(other))
	}
}

func TestDeleteDelayAndSweep(t *testing.T) {
	ctx := context.Background()
	s, clk := newService(t, func(c *Config) { c.DeleteDelay = time.Second })
	st, _ := s.CreateStream(ctx, sc, CreateStreamInput{Name: "s"})
	ch, _ := s.CreateChannel(ctx, sc, CreateChannelInput{Name: "c"})
	if err := s.DeleteStream(ctx, sc, st.ARN(), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteChannel(ctx, sc, ch.ARN(), ""); err != nil {
		t.Fatal(err)
	}
	got, err := s.Resolve(ctx, sc, StreamRef{Name: "s"})
	if err != nil || got.Status != StatusDeleting {
		t.Fatalf("deleting: %+v %v", got, err)
	}
	wantKind(t, s.DeleteStream(ctx, sc, st.ARN(), ""), KindInUse)
	_, err = s.CreateStream(ctx, sc, CreateStreamInput{Name: "s"})
	wantKind(t, err, KindInUse)
	if n, _ := s.Sweep(ctx); n != 0 {
		t.Fatalf("swept %d early", n)
	}
	clk.add(time.Second)
	_, err = s.Resolve(ctx, sc, StreamRef{Name: "s"})
	wantKind(t, err, KindNotFound)
	// The name is free again even before the sweep.
	if _, err := s.CreateStream(ctx, sc, CreateStreamInput{Name: "s"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(ctx); n != 1 || err != nil { // the channel; the stream's record was replaced
		t.Fatalf("sweep: %d %v", n, err)
	}
}

func TestStreamTagsAndConfigurations(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t, nil)
	st, _ := s.CreateStream(ctx, sc, CreateStreamInput{Name: "s", Tags: map[string]string{"a": "1"}})
	if err := s.TagStream(ctx, sc, StreamRef{Name: "s"}, map[string]string{"b": "2", "a": "3"}); err != nil {
		t.Fatal(err)
	}
	if err := s.UntagStream(ctx, sc, StreamRef{ARN: st.ARN()}, []string{"b", "zz"}); err != nil {
		t.Fatal(err)
	}
	tags, err := s.Tags(ctx, sc, st.ARN())
	if err != nil || len(tags) != 1 || tags["a"] != "3" {
		t.Fatalf("tags %v %v", tags, err)
	}
	many := map[string]string{}
	for i := range MaxTags {
		many[fmt.Sprint("k", i)] = "v"
	}
	wantKind(t, s.TagStream(ctx, sc, StreamRef{Name: "s"}, many), KindTagLimit)
	wantKind(t, s.Tag(ctx, sc, "arn:aws:kinesisvideo:us-east-1:000000000000:stream/nope/1", nil), KindNotFound)
	wantKind(t, s.Tag(ctx, sc, "not-an-arn", nil), KindInvalidResourceFormat)

	img := &ImageGeneration{Status: "ENABLED", ImageSelectorType: "SERVER_TIMESTAMP", DestinationURI: "s3://b/p", DestinationRegion: "us-east-1",
		SamplingInterval: 1000, Format: "JPEG", FormatConfig: map[string]string{"JPEGQuality": "80"}}
	wantKind(t, s.UpdateImageGeneration(ctx, sc, StreamRef{Name: "s"}, img), KindNoDataRetention)
	wantKind(t, s.UpdateNotification(ctx, sc, StreamRef{Name: "s"}, &Notification{Status: "ENABLED", DestinationURI: "arn:aws:sns:us-east-1:000000000000:t"}), KindNoDataRetention)
	cur, _ := s.Resolve(ctx, sc, StreamRef{Name: "s"})
	if _, err := s.UpdateDataRetention(ctx, sc, StreamRef{Name: "s"}, cur.Version, IncreaseRetention, 1); err != nil {
		t.Fatal(err)
	}
	bad := *img
	bad.SamplingInterval = 100
	wantKind(t, s.UpdateImageGeneration(ctx, sc, StreamRef{Name: "s"}, &bad), KindInvalidArgument)
	bad = *img
	bad.FormatConfig = map[string]string{"JPEGQuality": "101"}
	wantKind(t, s.UpdateImageGeneration(ctx, sc, StreamRef{Name: "s"}, &bad), KindInvalidArgument)
	if err := s.UpdateImageGeneration(ctx, sc, StreamRef{Name: "s"}, img); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateNotification(ctx, sc, StreamRef{Name: "s"}, &Notification{Status: "ENABLED", DestinationURI: "arn:aws:sns:us-east-1:000000000000:t"}); err != nil {
		t.Fatal(err)
	}
	cur, _ = s.Resolve(ctx, sc, StreamRef{Name: "s"})
	if cur.ImageGeneration == nil || cur.ImageGeneration.SamplingInterval != 1000 || cur.Notification == nil {
		t.Fatalf("configs %+v", cur)
	}
	_, err = s.UpdateStorageTier(ctx, sc, StreamRef{Name: "s"}, "old", "WARM")
	wantKind(t, err, KindVersionMismatch)
	if up, err := s.UpdateStorageTier(ctx, sc, StreamRef{Name: "s"}, cur.Version, "WARM"); err != nil || up.StorageTier != "WARM" {
		t.Fatalf("tier %+v %v", up, err)
	}
	// Data endpoint: every API name, the base URL answered.
	for _, api := range APINames {
		u, err := s.DataEndpoint(ctx, sc, StreamRef{Name: "s"}, api, "http://127.0.0.1:4567/")
		if err != nil || u != "http://127.0.0.1:4567" {
			t.Fatalf("%s: %q %v", api, u, err)
		}
	}
	_, err = s.DataEndpoint(ctx, sc, StreamRef{Name: "s"}, "PUT_SOMETHING", "http://h")
	wantKind(t, err, KindInvalidArgument)
	_, err = s.DataEndpoint(ctx, sc, StreamRef{Name: "gone"}, "PUT_MEDIA", "http://h")
	wantKind(t, err, KindNotFound)
	// Edge agent operations.
	wantKind(t, s.EdgeConfiguration(ctx, sc, StreamRef{Name: "s"}), KindEdgeConfigNotFound)
	wantKind(t, s.StartEdgeConfigurationUpdate(ctx, sc, StreamRef{Name: "s"}), KindUnsupported)
}

func TestChannels(t *testing.T) {
	ctx := context.Background()
	s, clk := newService(t, func(c *Config) { c.CreateDelay = time.Second; c.ChannelLimit = 3 })
	ch, err := s.CreateChannel(ctx, sc, CreateChannelInput{Name: "door", Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if ch.ARN() != "arn:aws:kinesisvideo:us-east-1:000000000000:channel/door/1767225600123" || ch.Type != SingleMaster ||
		ch.MessageTTLSeconds != 60 || ch.Status != StatusCreating {
		t.Fatalf("created %+v", ch)
	}
	_, err = s.CreateChannel(ctx, sc, CreateChannelInput{Name: "door"})
	wantKind(t, err, KindInUse)
	for _, in := range []CreateChannelInput{{Name: "x", MessageTTLSeconds: 4}, {Name: "x", MessageTTLSeconds: 121}, {Name: "x", Type: "MESH"}, {Name: "a/b"}} {
		_, err := s.CreateChannel(ctx, sc, in)
		wantKind(t, err, KindInvalidArgument)
	}
	if _, err := s.CreateChannel(ctx, sc, CreateChannelInput{Name: "mesh", Type: FullMesh, MessageTTLSeconds: 5}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ChannelEndpoints(ctx, sc, ch.ARN(), nil, "", "http://h:1")
	wantKind(t, err, KindInUse) // still CREATING
	clk.add(time.Second)
	eps, err := s.ChannelEndpoints(ctx, sc, ch.ARN(), nil, RoleViewer, "http://h:1")
	if err != nil || fmt.Sprint(eps) != "[{WSS ws://h:1} {HTTPS http://h:1}]" {
		t.Fatalf("endpoints %v %v", eps, err)
	}
	eps, _ = s.ChannelEndpoints(ctx, sc, ch.ARN(), []string{"WEBRTC", "WSS", "WSS"}, RoleMaster, "https://h:2/")
	if fmt.Sprint(eps) != "[{WEBRTC https://h:2} {WSS wss://h:2}]" {
		t.Fatalf("tls endpoints %v", eps)
	}
	_, err = s.ChannelEndpoints(ctx, sc, ch.ARN(), nil, "OBSERVER", "http://h")
	wantKind(t, err, KindInvalidArgument)
	ttl := 120
	_, err = s.UpdateChannel(ctx, sc, ch.ARN(), "stale", &ttl)
	wantKind(t, err, KindVersionMismatch)
	up, err := s.UpdateChannel(ctx, sc, ch.ARN(), ch.Version, &ttl)
	if err != nil || up.MessageTTLSeconds != 120 || up.Version == ch.Version {
		t.Fatalf("update %+v %v", up, err)
	}
	if err := s.Tag(ctx, sc, ch.ARN(), map[string]string{"k2": "v2"}); err != nil {
		t.Fatal(err)
	}
	tags, _ := s.Tags(ctx, sc, ch.ARN())
	if len(tags) != 2 {
		t.Fatalf("tags %v", tags)
	}
	// Media storage: the stream must exist and retain data.
	st, _ := s.CreateStream(ctx, sc, CreateStreamInput{Name: "rec"})
	wantKind(t, s.UpdateMediaStorage(ctx, sc, ch.ARN(), MediaStorage{Status: "ENABLED", StreamARN: st.ARN()}), KindNoDataRetention)
	st2, _ := s.CreateStream(ctx, sc, CreateStreamInput{Name: "rec2", RetentionHours: 1})
	clk.add(time.Second)
	if err := s.UpdateMediaStorage(ctx, sc, ch.ARN(), MediaStorage{Status: "ENABLED", StreamARN: st2.ARN()}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.ResolveChannel(ctx, sc, ChannelRef{Name: "door"})
	if got.MediaStorage == nil || got.MediaStorage.StreamARN != st2.ARN() {
		t.Fatalf("media storage %+v", got.MediaStorage)
	}
	list, _, _ := s.ListChannels(ctx, sc, "do", "", 0)
	if len(list) != 1 || list[0].Name != "door" {
		t.Fatalf("list %v", list)
	}
	if _, err := s.CreateChannel(ctx, sc, CreateChannelInput{Name: "third"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateChannel(ctx, sc, CreateChannelInput{Name: "fourth"})
	wantKind(t, err, KindChannelLimit)
	wantKind(t, s.DeleteChannel(ctx, sc, got.ARN(), "stale"), KindVersionMismatch)
	if err := s.DeleteChannel(ctx, sc, got.ARN(), got.Version); err != nil {
		t.Fatal(err)
	}
	_, err = s.ResolveChannel(ctx, sc, ChannelRef{ARN: got.ARN()})
	wantKind(t, err, KindNotFound)
}

func TestConcurrentUpdatesOneWins(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t, nil)
	st, _ := s.CreateStream(ctx, sc, CreateStreamInput{Name: "s"})
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := fmt.Sprint("d", i)
			_, results[i] = s.UpdateStream(ctx, sc, StreamRef{Name: "s"}, st.Version, &d, nil)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		if err == nil {
			ok++
		} else if kindOf(err) != KindVersionMismatch {
			t.Fatalf("unexpected %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d updates at the same version succeeded", ok)
	}
}
