package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVideoWithAWSCLI: the Kinesis Video Streams control plane through AWS
// CLI v2 against the real binary: a stream created, described, listed by
// a name condition, updated, its retention increased, its data endpoint
// asked for, tagged and untagged, refused deletion at a stale version and
// deleted; a signaling channel created, described, asked for its endpoints
// and deleted.
func TestVideoWithAWSCLI(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	endpoint := "http://" + p.addr
	run := func(args ...string) (string, error) {
		cmd := exec.Command("/usr/bin/aws", append([]string{"--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_PAGER=",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(v any, args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if v != nil {
			if err := json.Unmarshal([]byte(out), v); err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return out
	}
	var created struct{ StreamARN string }
	must(&created, "kinesisvideo", "create-stream", "--stream-name", "cam-1", "--media-type", "video/h264",
		"--data-retention-in-hours", "24", "--tags", "team=video")
	if !strings.HasPrefix(created.StreamARN, "arn:aws:kinesisvideo:us-east-1:000000000000:stream/cam-1/") {
		t.Fatalf("ARN %q", created.StreamARN)
	}
	must(nil, "kinesisvideo", "create-stream", "--stream-name", "door-1")
	if out, err := run("kinesisvideo", "create-stream", "--stream-name", "cam-1"); err == nil || !strings.Contains(out, "ResourceInUseException") {
		t.Errorf("duplicate: %v\n%s", err, out)
	}
	type info struct {
		StreamInfo struct {
			StreamName, StreamARN, MediaType, Version, Status string
			DataRetentionInHours                              int
			CreationTime                                      string // the CLI prints epoch seconds as ISO 8601
		}
	}
	describe := func() info {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var d info
			must(&d, "kinesisvideo", "describe-stream", "--stream-name", "cam-1")
			if d.StreamInfo.Status == "ACTIVE" || time.Now().After(deadline) {
				return d
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	d := describe()
	if d.StreamInfo.StreamARN != created.StreamARN || d.StreamInfo.Status != "ACTIVE" || d.StreamInfo.DataRetentionInHours != 24 ||
		!recent(d.StreamInfo.CreationTime) {
		t.Fatalf("describe: %+v", d)
	}
	var list struct{ StreamInfoList []struct{ StreamName string } }
	must(&list, "kinesisvideo", "list-streams", "--stream-name-condition", "ComparisonOperator=BEGINS_WITH,ComparisonValue=cam")
	if len(list.StreamInfoList) != 1 || list.StreamInfoList[0].StreamName != "cam-1" {
		t.Fatalf("list: %+v", list)
	}
	if out, err := run("kinesisvideo", "update-stream", "--stream-name", "cam-1", "--current-version", "stale", "--media-type", "video/h265"); err == nil ||
		!strings.Contains(out, "VersionMismatchException") {
		t.Errorf("stale update: %v\n%s", err, out)
	}
	must(nil, "kinesisvideo", "update-stream", "--stream-name", "cam-1", "--current-version", d.StreamInfo.Version, "--media-type", "video/h265")
	d = describe()
	must(nil, "kinesisvideo", "update-data-retention", "--stream-arn", created.StreamARN, "--current-version", d.StreamInfo.Version,
		"--operation", "INCREASE_DATA_RETENTION", "--data-retention-change-in-hours", "6")
	d = describe()
	if d.StreamInfo.MediaType != "video/h265" || d.StreamInfo.DataRetentionInHours != 30 {
		t.Fatalf("after updates: %+v", d)
	}
	var ep struct{ DataEndpoint string }
	must(&ep, "kinesisvideo", "get-data-endpoint", "--stream-name", "cam-1", "--api-name", "PUT_MEDIA")
	if ep.DataEndpoint != endpoint {
		t.Fatalf("data endpoint %q, want %q", ep.DataEndpoint, endpoint)
	}
	must(nil, "kinesisvideo", "tag-stream", "--stream-name", "cam-1", "--tags", "env=dev")
	must(nil, "kinesisvideo", "untag-stream", "--stream-arn", created.StreamARN, "--tag-key-list", "team")
	var tags struct{ Tags map[string]string }
	must(&tags, "kinesisvideo", "list-tags-for-stream", "--stream-name", "cam-1")
	if len(tags.Tags) != 1 || tags.Tags["env"] != "dev" {
		t.Fatalf("tags %v", tags.Tags)
	}
	if out, err := run("kinesisvideo", "delete-stream", "--stream-arn", created.StreamARN, "--current-version", "stale"); err == nil ||
		!strings.Contains(out, "VersionMismatchException") {
		t.Errorf("stale delete: %v\n%s", err, out)
	}
	d = describe()
	must(nil, "kinesisvideo", "delete-stream", "--stream-arn", created.StreamARN, "--current-version", d.StreamInfo.Version)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := run("kinesisvideo", "describe-stream", "--stream-arn", created.StreamARN)
		if err != nil && strings.Contains(out, "ResourceNotFoundException") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream still there: %s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A signaling channel.
	var ch struct{ ChannelARN string }
	must(&ch, "kinesisvideo", "create-signaling-channel", "--channel-name", "door", "--single-master-configuration", "MessageTtlSeconds=30")
	if !strings.HasPrefix(ch.ChannelARN, "arn:aws:kinesisvideo:us-east-1:000000000000:channel/door/") {
		t.Fatalf("channel ARN %q", ch.ChannelARN)
	}
	var cd struct {
		ChannelInfo struct {
			ChannelName, ChannelType, ChannelStatus, Version string
			SingleMasterConfiguration                        struct{ MessageTtlSeconds int }
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		must(&cd, "kinesisvideo", "describe-signaling-channel", "--channel-arn", ch.ChannelARN)
		if cd.ChannelInfo.ChannelStatus == "ACTIVE" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if cd.ChannelInfo.ChannelType != "SINGLE_MASTER" || cd.ChannelInfo.ChannelStatus != "ACTIVE" || cd.ChannelInfo.SingleMasterConfiguration.MessageTtlSeconds != 30 {
		t.Fatalf("channel %+v", cd)
	}
	var eps struct {
		ResourceEndpointList []struct{ Protocol, ResourceEndpoint string }
	}
	must(&eps, "kinesisvideo", "get-signaling-channel-endpoint", "--channel-arn", ch.ChannelARN,
		"--single-master-channel-endpoint-configuration", "Protocols=WSS,HTTPS,Role=MASTER")
	got := map[string]string{}
	for _, e := range eps.ResourceEndpointList {
		got[e.Protocol] = e.ResourceEndpoint
	}
	if len(got) != 2 || got["WSS"] != "ws://"+p.addr || got["HTTPS"] != endpoint {
		t.Fatalf("endpoints %+v", eps)
	}
	must(nil, "kinesisvideo", "delete-signaling-channel", "--channel-arn", ch.ChannelARN, "--current-version", cd.ChannelInfo.Version)
	deadline = time.Now().Add(10 * time.Second)
	for {
		out, err := run("kinesisvideo", "describe-signaling-channel", "--channel-name", "door")
		if err != nil && strings.Contains(out, "ResourceNotFoundException") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("channel still there: %s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// recent reports whether an ISO 8601 time the CLI printed is within the
// last ten minutes.
func recent(iso string) bool {
	ts, err := time.Parse(time.RFC3339Nano, iso)
	return err == nil && time.Since(ts) < 10*time.Minute && time.Since(ts) > -time.Minute
}
