package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	kv "github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	kvt "github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/aws/smithy-go"

	"github.com/rheos/rheos/internal/sdktest"
)

func (ts *testServer) videoClient() *kv.Client {
	return kv.New(kv.Options{Region: region, BaseEndpoint: aws.String(ts.url), Retryer: aws.NopRetryer{}, HTTPClient: sdktest.HTTPClient(nil),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
}

// waitVideoActive polls DescribeStream until the stream is ACTIVE.
func waitVideoActive(t testing.TB, c *kv.Client, name string) *kvt.StreamInfo {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := c.DescribeStream(context.Background(), &kv.DescribeStreamInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeStream %s: %v", name, err)
		}
		if out.StreamInfo.Status == kvt.StatusActive {
			return out.StreamInfo
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not ACTIVE", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantVideoError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

var videoVersion = regexp.MustCompile(`^[a-zA-Z0-9]{1,64}$`)

// TestVideoStreams: the stream operations through the AWS SDK for Go v2.
func TestVideoStreams(t *testing.T) {
	ts := newServer(t)
	c := ts.videoClient()
	ctx := context.Background()
	start := time.Now().Add(-time.Second)
	out, err := c.CreateStream(ctx, &kv.CreateStreamInput{StreamName: aws.String("cam-1"), MediaType: aws.String("video/h264"),
		DataRetentionInHours: aws.Int32(24), DeviceName: aws.String("dev"), Tags: map[string]string{"team": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.StreamARN)
	if !regexp.MustCompile(`^arn:aws:kinesisvideo:us-east-1:000000000000:stream/cam-1/\d{13}$`).MatchString(arn) {
		t.Fatalf("ARN %s", arn)
	}
	_, err = c.CreateStream(ctx, &kv.CreateStreamInput{StreamName: aws.String("cam-1")})
	var inUse *kvt.ResourceInUseException
	if !errors.As(err, &inUse) || inUse.ErrorMessage() != "The stream cam-1 already exists." {
		t.Fatalf("duplicate: %v", err)
	}
	info := waitVideoActive(t, c, "cam-1")
	if aws.ToString(info.StreamARN) != arn || aws.ToString(info.MediaType) != "video/h264" || aws.ToString(info.DeviceName) != "dev" ||
		aws.ToInt32(info.DataRetentionInHours) != 24 || !videoVersion.MatchString(aws.ToString(info.Version)) ||
		aws.ToString(info.KmsKeyId) != "arn:aws:kms:us-east-1:000000000000:alias/aws/kinesisvideo" ||
		info.CreationTime.Before(start) || info.CreationTime.After(time.Now()) {
		t.Fatalf("info %+v", info)
	}
	byARN, err := c.DescribeStream(ctx, &kv.DescribeStreamInput{StreamARN: aws.String(arn)})
	if err != nil || aws.ToString(byARN.StreamInfo.StreamName) != "cam-1" {
		t.Fatalf("by ARN: %v", err)
	}
	_, err = c.DescribeStream(ctx, &kv.DescribeStreamInput{StreamName: aws.String("nope")})
	var rnf *kvt.ResourceNotFoundException
	if !errors.As(err, &rnf) || rnf.ErrorMessage() != "The requested stream is not found or not active." {
		t.Fatalf("missing: %v", err)
	}
	for _, n := range []string{"cam-2", "door"} {
		if _, err := c.CreateStream(ctx, &kv.CreateStreamInput{StreamName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	// ListStreams: a name condition, and pages of one.
	l, err := c.ListStreams(ctx, &kv.ListStreamsInput{StreamNameCondition: &kvt.StreamNameCondition{ComparisonOperator: kvt.ComparisonOperatorBeginsWith, ComparisonValue: aws.String("cam")}})
	if err != nil || len(l.StreamInfoList) != 2 || l.NextToken != nil {
		t.Fatalf("list: %+v %v", l, err)
	}
	var names []string
	p := kv.NewListStreamsPaginator(c, &kv.ListStreamsInput{MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.StreamInfoList {
			names = append(names, aws.ToString(s.StreamName))
		}
	}
	if strings.Join(names, ",") != "cam-1,cam-2,door" {
		t.Fatalf("pages %v", names)
	}
	_, err = c.ListStreams(ctx, &kv.ListStreamsInput{MaxResults: aws.Int32(10001)})
	wantVideoError(t, err, "ValidationException")
	// UpdateStream: stale version, then current.
	_, err = c.UpdateStream(ctx, &kv.UpdateStreamInput{StreamName: aws.String("cam-1"), CurrentVersion: aws.String("stale"), MediaType: aws.String("video/h265")})
	var vm *kvt.VersionMismatchException
	if !errors.As(err, &vm) {
		t.Fatalf("stale update: %v", err)
	}
	if _, err := c.UpdateStream(ctx, &kv.UpdateStreamInput{StreamARN: aws.String(arn), CurrentVersion: info.Version, MediaType: aws.String("video/h265")}); err != nil {
		t.Fatal(err)
	}
	info2, _ := c.DescribeStream(ctx, &kv.DescribeStreamInput{StreamName: aws.String("cam-1")})
	if aws.ToString(info2.StreamInfo.MediaType) != "video/h265" || aws.ToString(info2.StreamInfo.Version) == aws.ToString(info.Version) {
		t.Fatalf("after update %+v", info2.StreamInfo)
	}
	// UpdateDataRetention.
	v := info2.StreamInfo.Version
	if _, err := c.UpdateDataRetention(ctx, &kv.UpdateDataRetentionInput{StreamName: aws.String("cam-1"), CurrentVersion: v,
		Operation: kvt.UpdateDataRetentionOperationIncreaseDataRetention, DataRetentionChangeInHours: aws.Int32(6)}); err != nil {
		t.Fatal(err)
	}
	info3, _ := c.DescribeStream(ctx, &kv.DescribeStreamInput{StreamName: aws.String("cam-1")})
	if aws.ToInt32(info3.StreamInfo.DataRetentionInHours) != 30 {
		t.Fatalf("retention %d", aws.ToInt32(info3.StreamInfo.DataRetentionInHours))
	}
	_, err = c.UpdateDataRetention(ctx, &kv.UpdateDataRetentionInput{StreamName: aws.String("cam-1"), CurrentVersion: info3.StreamInfo.Version,
		Operation: kvt.UpdateDataRetentionOperationDecreaseDataRetention, DataRetentionChangeInHours: aws.Int32(31)})
	var ia *kvt.InvalidArgumentException
	if !errors.As(err, &ia) {
		t.Fatalf("decrease below 0: %v", err)
	}
	// GetDataEndpoint: the server's own URL for every API.
	for _, api := range kvt.APIName("").Values() {
		ep, err := c.GetDataEndpoint(ctx, &kv.GetDataEndpointInput{StreamName: aws.String("cam-1"), APIName: api})
		if err != nil || aws.ToString(ep.DataEndpoint) != ts.url {
			t.Fatalf("%s: %v %v", api, aws.ToString(ep.DataEndpoint), err)
		}
	}
	// Tags on the stream, by name and by ARN.
	if _, err := c.TagStream(ctx, &kv.TagStreamInput{StreamName: aws.String("cam-1"), Tags: map[string]string{"env": "dev"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagStream(ctx, &kv.UntagStreamInput{StreamARN: aws.String(arn), TagKeyList: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForStream(ctx, &kv.ListTagsForStreamInput{StreamName: aws.String("cam-1")})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["env"] != "dev" {
		t.Fatalf("tags %v %v", tags, err)
	}
	if _, err := c.TagResource(ctx, &kv.TagResourceInput{ResourceARN: aws.String(arn), Tags: []kvt.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &kv.UntagResourceInput{ResourceARN: aws.String(arn), TagKeyList: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	rt, err := c.ListTagsForResource(ctx, &kv.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if err != nil || len(rt.Tags) != 1 || rt.Tags["k"] != "v" {
		t.Fatalf("resource tags %v %v", rt, err)
	}
	many := map[string]string{}
	for i := range 50 {
		many["t"+string(rune('A'+i%26))+string(rune('a'+i/26))] = "v"
	}
	_, err = c.TagStream(ctx, &kv.TagStreamInput{StreamName: aws.String("cam-1"), Tags: many})
	var tl *kvt.TagsPerResourceExceededLimitException
	if !errors.As(err, &tl) {
		t.Fatalf("51 tags: %v", err)
	}
	// Stored configurations.
	if _, err := c.UpdateImageGenerationConfiguration(ctx, &kv.UpdateImageGenerationConfigurationInput{StreamName: aws.String("cam-2"),
		ImageGenerationConfiguration: &kvt.ImageGenerationConfiguration{Status: kvt.ConfigurationStatusEnabled, ImageSelectorType: kvt.ImageSelectorTypeServerTimestamp,
			DestinationConfig: &kvt.ImageGenerationDestinationConfig{Uri: aws.String("s3://bucket/p"), DestinationRegion: aws.String("us-east-1")},
			SamplingInterval:  aws.Int32(1000), Format: kvt.FormatJpeg}}); err == nil {
		t.Fatal("image generation on a stream without retention accepted")
	} else {
		var nd *kvt.NoDataRetentionException
		if !errors.As(err, &nd) {
			t.Fatalf("no retention: %v", err)
		}
	}
	img := &kvt.ImageGenerationConfiguration{Status: kvt.ConfigurationStatusEnabled, ImageSelectorType: kvt.ImageSelectorTypeProducerTimestamp,
		DestinationConfig: &kvt.ImageGenerationDestinationConfig{Uri: aws.String("s3://bucket/p"), DestinationRegion: aws.String("us-east-1")},
		SamplingInterval:  aws.Int32(2000), Format: kvt.FormatJpeg, FormatConfig: map[string]string{"JPEGQuality": "75"}, WidthPixels: aws.Int32(640), HeightPixels: aws.Int32(480)}
	if _, err := c.UpdateImageGenerationConfiguration(ctx, &kv.UpdateImageGenerationConfigurationInput{StreamName: aws.String("cam-1"), ImageGenerationConfiguration: img}); err != nil {
		t.Fatal(err)
	}
	ig, err := c.DescribeImageGenerationConfiguration(ctx, &kv.DescribeImageGenerationConfigurationInput{StreamARN: aws.String(arn)})
	if err != nil || ig.ImageGenerationConfiguration == nil || aws.ToInt32(ig.ImageGenerationConfiguration.SamplingInterval) != 2000 ||
		ig.ImageGenerationConfiguration.FormatConfig["JPEGQuality"] != "75" || aws.ToInt32(ig.ImageGenerationConfiguration.HeightPixels) != 480 ||
		aws.ToString(ig.ImageGenerationConfiguration.DestinationConfig.Uri) != "s3://bucket/p" {
		t.Fatalf("image generation %+v %v", ig, err)
	}
	if _, err := c.UpdateNotificationConfiguration(ctx, &kv.UpdateNotificationConfigurationInput{StreamName: aws.String("cam-1"),
		NotificationConfiguration: &kvt.NotificationConfiguration{Status: kvt.ConfigurationStatusEnabled,
			DestinationConfig: &kvt.NotificationDestinationConfig{Uri: aws.String("arn:aws:sns:us-east-1:000000000000:topic")}}}); err != nil {
		t.Fatal(err)
	}
	nc, err := c.DescribeNotificationConfiguration(ctx, &kv.DescribeNotificationConfigurationInput{StreamName: aws.String("cam-1")})
	if err != nil || nc.NotificationConfiguration == nil || nc.NotificationConfiguration.Status != kvt.ConfigurationStatusEnabled {
		t.Fatalf("notification %+v %v", nc, err)
	}
	empty, err := c.DescribeNotificationConfiguration(ctx, &kv.DescribeNotificationConfigurationInput{StreamName: aws.String("cam-2")})
	if err != nil || empty.NotificationConfiguration != nil {
		t.Fatalf("no notification %+v %v", empty, err)
	}
	ssc, err := c.DescribeStreamStorageConfiguration(ctx, &kv.DescribeStreamStorageConfigurationInput{StreamName: aws.String("cam-1")})
	if err != nil || ssc.StreamStorageConfiguration.DefaultStorageTier != kvt.DefaultStorageTierHot || aws.ToString(ssc.StreamARN) != arn {
		t.Fatalf("storage %+v %v", ssc, err)
	}
	cur := waitVideoActive(t, c, "cam-1")
	if _, err := c.UpdateStreamStorageConfiguration(ctx, &kv.UpdateStreamStorageConfigurationInput{StreamName: aws.String("cam-1"), CurrentVersion: cur.Version,
		StreamStorageConfiguration: &kvt.StreamStorageConfiguration{DefaultStorageTier: kvt.DefaultStorageTierWarm}}); err != nil {
		t.Fatal(err)
	}
	ssc, _ = c.DescribeStreamStorageConfiguration(ctx, &kv.DescribeStreamStorageConfigurationInput{StreamName: aws.String("cam-1")})
	if ssc.StreamStorageConfiguration.DefaultStorageTier != kvt.DefaultStorageTierWarm {
		t.Fatalf("tier %v", ssc.StreamStorageConfiguration.DefaultStorageTier)
	}
	// Edge agent operations: what an account without edge configurations gets.
	_, err = c.DescribeEdgeConfiguration(ctx, &kv.DescribeEdgeConfigurationInput{StreamName: aws.String("cam-1")})
	var enf *kvt.StreamEdgeConfigurationNotFoundException
	if !errors.As(err, &enf) {
		t.Fatalf("describe edge: %v", err)
	}
	_, err = c.DeleteEdgeConfiguration(ctx, &kv.DeleteEdgeConfigurationInput{StreamName: aws.String("nope")})
	if !errors.As(err, &rnf) {
		t.Fatalf("delete edge of a missing stream: %v", err)
	}
	le, err := c.ListEdgeAgentConfigurations(ctx, &kv.ListEdgeAgentConfigurationsInput{HubDeviceArn: aws.String("arn:aws:iot:us-east-1:000000000000:thing/hub")})
	if err != nil || len(le.EdgeConfigs) != 0 {
		t.Fatalf("list edge %v %v", le, err)
	}
	_, err = c.StartEdgeConfigurationUpdate(ctx, &kv.StartEdgeConfigurationUpdateInput{StreamName: aws.String("cam-1"), EdgeConfig: &kvt.EdgeConfig{
		HubDeviceArn: aws.String("arn:aws:iot:us-east-1:000000000000:thing/hub"), RecorderConfig: &kvt.RecorderConfig{MediaSourceConfig: &kvt.MediaSourceConfig{
			MediaUriSecretArn: aws.String("arn:aws:secretsmanager:us-east-1:000000000000:secret:cam"), MediaUriType: kvt.MediaUriTypeRtspUri}}}})
	if !errors.As(err, &ia) {
		t.Fatalf("start edge: %v", err)
	}
	mr, err := c.DescribeMappedResourceConfiguration(ctx, &kv.DescribeMappedResourceConfigurationInput{StreamName: aws.String("cam-1")})
	if err != nil || len(mr.MappedResourceConfigurationList) != 0 {
		t.Fatalf("mapped %v %v", mr, err)
	}
	// DeleteStream: stale version, then current; then gone.
	cur = waitVideoActive(t, c, "cam-1")
	_, err = c.DeleteStream(ctx, &kv.DeleteStreamInput{StreamARN: aws.String(arn), CurrentVersion: aws.String("stale")})
	if !errors.As(err, &vm) {
		t.Fatalf("stale delete: %v", err)
	}
	if _, err := c.DeleteStream(ctx, &kv.DeleteStreamInput{StreamARN: aws.String(arn), CurrentVersion: cur.Version}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.DescribeStream(ctx, &kv.DescribeStreamInput{StreamARN: aws.String(arn)})
		if errors.As(err, &rnf) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still there: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestVideoSignalingChannels: the signaling channel operations.
func TestVideoSignalingChannels(t *testing.T) {
	ts := newServer(t)
	c := ts.videoClient()
	ctx := context.Background()
	out, err := c.CreateSignalingChannel(ctx, &kv.CreateSignalingChannelInput{ChannelName: aws.String("door"),
		Tags: []kvt.Tag{{Key: aws.String("site"), Value: aws.String("home")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ChannelARN)
	if !regexp.MustCompile(`^arn:aws:kinesisvideo:us-east-1:000000000000:channel/door/\d{13}$`).MatchString(arn) {
		t.Fatalf("ARN %s", arn)
	}
	_, err = c.CreateSignalingChannel(ctx, &kv.CreateSignalingChannelInput{ChannelName: aws.String("door")})
	var inUse *kvt.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("duplicate: %v", err)
	}
	_, err = c.CreateSignalingChannel(ctx, &kv.CreateSignalingChannelInput{ChannelName: aws.String("x"), SingleMasterConfiguration: &kvt.SingleMasterConfiguration{MessageTtlSeconds: aws.Int32(121)}})
	wantVideoError(t, err, "ValidationException")
	var info *kvt.ChannelInfo
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := c.DescribeSignalingChannel(ctx, &kv.DescribeSignalingChannelInput{ChannelName: aws.String("door")})
		if err != nil {
			t.Fatal(err)
		}
		if info = d.ChannelInfo; info.ChannelStatus == kvt.StatusActive || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if aws.ToString(info.ChannelARN) != arn || info.ChannelType != kvt.ChannelTypeSingleMaster || info.ChannelStatus != kvt.StatusActive ||
		aws.ToInt32(info.SingleMasterConfiguration.MessageTtlSeconds) != 60 || !videoVersion.MatchString(aws.ToString(info.Version)) {
		t.Fatalf("info %+v", info)
	}
	if _, err := c.CreateSignalingChannel(ctx, &kv.CreateSignalingChannelInput{ChannelName: aws.String("garage"), ChannelType: kvt.ChannelTypeSingleMaster}); err != nil {
		t.Fatal(err)
	}
	l, err := c.ListSignalingChannels(ctx, &kv.ListSignalingChannelsInput{ChannelNameCondition: &kvt.ChannelNameCondition{ComparisonOperator: kvt.ComparisonOperatorBeginsWith, ComparisonValue: aws.String("ga")}})
	if err != nil || len(l.ChannelInfoList) != 1 || aws.ToString(l.ChannelInfoList[0].ChannelName) != "garage" {
		t.Fatalf("list %+v %v", l, err)
	}
	// Endpoints: the server's own URLs, ws:// and http:// without TLS.
	ep, err := c.GetSignalingChannelEndpoint(ctx, &kv.GetSignalingChannelEndpointInput{ChannelARN: aws.String(arn),
		SingleMasterChannelEndpointConfiguration: &kvt.SingleMasterChannelEndpointConfiguration{Protocols: []kvt.ChannelProtocol{kvt.ChannelProtocolWss, kvt.ChannelProtocolHttps}, Role: kvt.ChannelRoleViewer}})
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(ts.url, "http://")
	if len(ep.ResourceEndpointList) != 2 || ep.ResourceEndpointList[0].Protocol != kvt.ChannelProtocolWss || aws.ToString(ep.ResourceEndpointList[0].ResourceEndpoint) != "ws://"+host ||
		aws.ToString(ep.ResourceEndpointList[1].ResourceEndpoint) != "http://"+host {
		t.Fatalf("endpoints %+v", ep.ResourceEndpointList)
	}
	// Update: stale version, then current.
	_, err = c.UpdateSignalingChannel(ctx, &kv.UpdateSignalingChannelInput{ChannelARN: aws.String(arn), CurrentVersion: aws.String("stale"),
		SingleMasterConfiguration: &kvt.SingleMasterConfiguration{MessageTtlSeconds: aws.Int32(30)}})
	var vm *kvt.VersionMismatchException
	if !errors.As(err, &vm) {
		t.Fatalf("stale: %v", err)
	}
	if _, err := c.UpdateSignalingChannel(ctx, &kv.UpdateSignalingChannelInput{ChannelARN: aws.String(arn), CurrentVersion: info.Version,
		SingleMasterConfiguration: &kvt.SingleMasterConfiguration{MessageTtlSeconds: aws.Int32(30)}}); err != nil {
		t.Fatal(err)
	}
	// Tags through the resource operations.
	if _, err := c.TagResource(ctx, &kv.TagResourceInput{ResourceARN: aws.String(arn), Tags: []kvt.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &kv.UntagResourceInput{ResourceARN: aws.String(arn), TagKeyList: []string{"site"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &kv.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["k"] != "v" {
		t.Fatalf("tags %v %v", tags, err)
	}
	_, err = c.ListTagsForResource(ctx, &kv.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:kinesisvideo:us-east-1:000000000000:channel/none/1")})
	var rnf *kvt.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("missing channel tags: %v", err)
	}
	// Media storage: linked to a stream that retains data.
	ms, err := c.DescribeMediaStorageConfiguration(ctx, &kv.DescribeMediaStorageConfigurationInput{ChannelName: aws.String("door")})
	if err != nil || ms.MediaStorageConfiguration.Status != kvt.MediaStorageConfigurationStatusDisabled {
		t.Fatalf("media storage %+v %v", ms, err)
	}
	st, err := c.CreateStream(ctx, &kv.CreateStreamInput{StreamName: aws.String("rec"), DataRetentionInHours: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateMediaStorageConfiguration(ctx, &kv.UpdateMediaStorageConfigurationInput{ChannelARN: aws.String(arn),
		MediaStorageConfiguration: &kvt.MediaStorageConfiguration{Status: kvt.MediaStorageConfigurationStatusEnabled, StreamARN: st.StreamARN}}); err != nil {
		t.Fatal(err)
	}
	ms, _ = c.DescribeMediaStorageConfiguration(ctx, &kv.DescribeMediaStorageConfigurationInput{ChannelARN: aws.String(arn)})
	if ms.MediaStorageConfiguration.Status != kvt.MediaStorageConfigurationStatusEnabled || aws.ToString(ms.MediaStorageConfiguration.StreamARN) != aws.ToString(st.StreamARN) {
		t.Fatalf("media storage %+v", ms.MediaStorageConfiguration)
	}
	// Delete: stale version, then without one.
	_, err = c.DeleteSignalingChannel(ctx, &kv.DeleteSignalingChannelInput{ChannelARN: aws.String(arn), CurrentVersion: aws.String("stale")})
	if !errors.As(err, &vm) {
		t.Fatalf("stale delete: %v", err)
	}
	if _, err := c.DeleteSignalingChannel(ctx, &kv.DeleteSignalingChannelInput{ChannelARN: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSignalingChannelEndpoint(ctx, &kv.GetSignalingChannelEndpointInput{ChannelARN: aws.String(arn)})
	if !errors.As(err, &rnf) && !errors.As(err, new(*kvt.ResourceInUseException)) {
		t.Fatalf("endpoint of a deleted channel: %v", err)
	}
}

// TestVideoErrorEnvelope: errors as AWS sends them: the exception's REST
// status, x-amzn-ErrorType, and a JSON body with "message".
func TestVideoErrorEnvelope(t *testing.T) {
	ts := newServer(t)
	post := func(path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, req,
			hex.EncodeToString(sum[:]), "kinesisvideo", region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("/describeStream", `{"StreamName":"missing"}`)
	defer resp.Body.Close()
	var body map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 404 || resp.Header.Get("x-amzn-ErrorType") != "ResourceNotFoundException" ||
		body["message"] != "The requested stream is not found or not active." {
		t.Fatalf("status %d, type %q, body %v", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
	}
	resp2 := post("/updateStream", `{"StreamName":"missing"}`)
	resp2.Body.Close()
	if resp2.StatusCode != 400 { // CurrentVersion is required
		t.Fatalf("missing CurrentVersion: %d %s", resp2.StatusCode, resp2.Header.Get("x-amzn-ErrorType"))
	}
}
