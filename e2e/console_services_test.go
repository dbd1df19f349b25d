package e2e

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gtypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesisanalytics"
	katypes "github.com/aws/aws-sdk-go-v2/service/kinesisanalytics/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/chromedp"

	"github.com/rheos/rheos/internal/sdktest"
	"github.com/rheos/rheos/internal/signaling/signalingclient"
)

// The browser tests of the console's service pages (Firehose, the S3
// browser, Analytics, Video, Functions) against the real binary, in
// Debian's headless Chromium, with console_test.go's browser (screenshots
// in $RHEOS_CONSOLE_SCREENSHOTS; RHEOS_CONSOLE_DOCS=1 also writes them into
// docs/console/): what a person does on the page, checked on the page.

// svcConsole opens the console of the server at addr (auth off on
// loopback: no login) in a browser of console_test.go's, on the shell.
func svcConsole(t *testing.T, addr string) *browser {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	b := consoleBrowser(t)
	b.do("open the console", chromedp.Navigate("http://"+addr+"/console/"))
	b.wait("the shell", `document.documentElement.dataset.ready === '1'`)
	return b
}

// open goes to a console route (#/...).
func (b *browser) open(hash string) { eval[bool](b, `(location.hash = `+jsString(hash)+`, true)`) }

// click clicks the first element a CSS selector matches, once there is one.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.wait(sel, `!!document.querySelector(`+jsString(sel)+`)`)
	eval[bool](b, `(document.querySelector(`+jsString(sel)+`).click(), true)`)
}

// scroll brings the element a CSS selector matches to the top, below the
// sticky header (before a screenshot of the viewport).
func (b *browser) scroll(sel string) {
	eval[bool](b, `(document.querySelector(`+jsString(sel)+`).scrollIntoView(), window.scrollBy(0, -60), true)`)
}

// text is a JavaScript expression's string value.
func (b *browser) text(js string) string { b.t.Helper(); return eval[string](b, js) }

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

func sdkConfig(addr string) (aws.Credentials, string) {
	return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}, "http://" + addr
}

// TestConsoleServicesFirehoseToS3: a delivery stream into the built-in S3
// with small buffering and a backup; records put; on the Firehose page its
// detail shows the delivered object, the delivery metrics and the backup
// prefix, and its S3 output link opens the S3 browser at the prefix;
// browsing down the prefixes to the object, its preview shows the records
// as pretty-printed JSON, and it downloads; a test record is put from the
// page.
func TestConsoleServicesFirehoseToS3(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	cred, base := sdkConfig(p.addr)
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(base), UsePathStyle: true,
		Credentials: credentials.StaticCredentialsProvider{Value: cred}, HTTPClient: sdktest.HTTPClient(nil)})
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	createAndWait(t, p.addr, map[string]any{
		"DeliveryStreamName": "clicks",
		"ExtendedS3DestinationConfiguration": map[string]any{
			"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::lake",
			"Prefix": "clicks/!{timestamp:yyyy}/", "ErrorOutputPrefix": "errors/",
			"BufferingHints": map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0},
			"S3BackupMode":   "Enabled", "S3BackupConfiguration": map[string]any{"RoleARN": "arn:aws:iam::000000000000:role/f",
				"BucketARN": "arn:aws:s3:::lake", "Prefix": "raw/", "BufferingHints": map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0}},
		},
	})
	var recs []any
	for i := range 5 {
		recs = append(recs, map[string]any{"Data": base64.StdEncoding.EncodeToString(fmt.Appendf(nil, `{"click":%d,"page":"/home"}`+"\n", i))})
	}
	if st, out, err := firehoseCall(p.addr, "PutRecordBatch", map[string]any{"DeliveryStreamName": "clicks", "Records": recs}); err != nil || st != 200 {
		t.Fatalf("put: %d %v %v", st, out, err)
	}

	b := svcConsole(t, p.addr)
	b.open("#/firehose")
	b.wait("the delivery stream in the list", `document.querySelector('a.delivery-link')?.textContent === 'clicks'`)
	if row := b.text(`document.querySelector('#main tbody tr').innerText`); !strings.Contains(row, "Direct put") || !strings.Contains(row, "S3") || !strings.Contains(row, "1 MiB / 0 s") {
		t.Errorf("list row %q: want source, destination and buffering", row)
	}
	// The detail: the delivered object appears under "Latest deliveries",
	// and the delivery in its metrics (read as the page opens: reopened
	// until both show).
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.open("#/firehose/clicks")
		b.wait("the latest deliveries", `!!document.querySelector('.latest-objects') && !document.querySelector('.latest-objects').innerText.includes('Loading')`)
		if b.text(`String(document.querySelectorAll('a.delivered-object').length)`) != "0" &&
			strings.HasSuffix(b.text(`document.getElementById('fh-freshness')?.textContent || ''`), " s") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no delivered object or no data freshness on the delivery stream's page")
		}
		b.open("#/")
		time.Sleep(500 * time.Millisecond)
	}
	// Its delivery metrics: the delivery counted.
	if got := b.text(`document.getElementById('fh-deliveries')?.textContent || ''`); !strings.Contains(got, " ok, 0 failed") || strings.HasPrefix(got, "0 ok") {
		t.Errorf("deliveries %q", got)
	}
	b.shot("console-firehose")
	if got := b.text(`document.querySelector('a.s3-place[data-what="Backup"]')?.textContent || ''`); got != "s3://lake/raw/" {
		t.Errorf("backup link %q, want s3://lake/raw/", got)
	}
	// Its S3 output: the browser at the static part of the prefix.
	b.click(`a.s3-place[data-what="Output"]`)
	b.wait("the S3 browser at the output prefix", `location.hash.startsWith('#/s3/lake/p/clicks')`)
	// Down the prefixes to the object.
	for range 5 {
		b.wait("a prefix or an object", `!!document.querySelector('a.prefix-link, a.object-link')`)
		if b.text(`String(!!document.querySelector('a.object-link'))`) == "true" {
			break
		}
		b.click(`a.prefix-link`)
		b.wait("the listing", `!!document.querySelector('#s3-listing')`)
	}
	b.click(`a.object-link`)
	b.wait("the object's preview", `!!document.getElementById('s3-preview')`)
	preview := b.text(`document.getElementById('s3-preview').textContent`)
	if !strings.Contains(preview, `"click": 0`) || !strings.Contains(preview, `"click": 4`) || !strings.Contains(preview, `"page": "/home"`) {
		t.Errorf("preview is not the records pretty-printed:\n%s", preview)
	}
	b.shot("console-s3-preview")
	b.click("#s3-download")
	b.wait("the object downloaded", `document.getElementById('toasts').innerText.includes('Downloaded clicks-')`)
	// A test record from the delivery stream's page.
	b.open("#/firehose/clicks")
	b.wait("the put form", `!!document.getElementById('fh-data')`)
	eval[bool](b, setValue("#fh-data", `{"click":99}`))
	b.click("#fh-put")
	b.wait("the record accepted", `document.getElementById('toasts').innerText.includes('accepted')`)
	b.noExceptions()
}

// TestConsoleServicesAnalytics: a SQL application reading one stream and
// writing to another. On its page the graph shows input → in-app streams →
// pump → output; saving bad code shows the CodeValidationException at its
// line and column; Start runs it, records are put, and the live results
// show the rows the application wrote.
func TestConsoleServicesAnalytics(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	kc := client(p.addr)
	createStream(t, kc, "ticks", 1)
	createStream(t, kc, "doubled", 1)
	cred, base := sdkConfig(p.addr)
	ka := kinesisanalytics.New(kinesisanalytics.Options{Region: "us-east-1", BaseEndpoint: aws.String(base),
		Credentials: credentials.StaticCredentialsProvider{Value: cred}, HTTPClient: sdktest.HTTPClient(nil), RetryMaxAttempts: 1})
	role := aws.String("arn:aws:iam::000000000000:role/kda")
	code := `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), price DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker, price * 2 FROM "SOURCE_SQL_STREAM_001" WHERE price > 10;`
	_, err := ka.CreateApplication(context.Background(), &kinesisanalytics.CreateApplicationInput{
		ApplicationName: aws.String("doubler"), ApplicationCode: aws.String(code),
		Inputs: []katypes.Input{{NamePrefix: aws.String("SOURCE_SQL_STREAM"),
			KinesisStreamsInput: &katypes.KinesisStreamsInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/ticks"), RoleARN: role},
			InputSchema: &katypes.SourceSchema{RecordEncoding: aws.String("UTF-8"),
				RecordFormat: &katypes.RecordFormat{RecordFormatType: katypes.RecordFormatTypeJson,
					MappingParameters: &katypes.MappingParameters{JSONMappingParameters: &katypes.JSONMappingParameters{RecordRowPath: aws.String("$")}}},
				RecordColumns: []katypes.RecordColumn{{Name: aws.String("TICKER"), SqlType: aws.String("VARCHAR(4)"), Mapping: aws.String("$.ticker")},
					{Name: aws.String("PRICE"), SqlType: aws.String("DOUBLE"), Mapping: aws.String("$.price")}}}}},
		Outputs: []katypes.Output{{Name: aws.String("DESTINATION_SQL_STREAM"),
			KinesisStreamsOutput: &katypes.KinesisStreamsOutput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/doubled"), RoleARN: role},
			DestinationSchema:    &katypes.DestinationSchema{RecordFormatType: katypes.RecordFormatTypeJson}}},
	})
	if err != nil {
		t.Fatal(err)
	}

	b := svcConsole(t, p.addr)
	b.open("#/analytics")
	b.click(`a.app-link`)
	b.wait("the application's graph", `!!document.querySelector('svg.app-graph')`)
	b.shot("console-analytics-graph")
	// The graph: source stream → SOURCE_SQL_STREAM_001 → STREAM_PUMP → DESTINATION_SQL_STREAM → output stream.
	nodes := b.text(`[...document.querySelectorAll('svg.app-graph g.node')].map((g) => g.dataset.id).join(',')`)
	for _, want := range []string{"in:1.1", "s:SOURCE_SQL_STREAM_001", "p:STREAM_PUMP", "s:DESTINATION_SQL_STREAM", "out:1.1"} {
		if !strings.Contains(nodes, want) {
			t.Errorf("graph nodes %s: no %s", nodes, want)
		}
	}
	// Bad code: the exception at its line and column, the code unchanged.
	eval[bool](b, setValue("#sql-code", "CREATE STREAM x (a INT);\nSELEC * FROM x;"))
	b.click(`#sql-save`)
	b.wait("the validation error", `!!document.getElementById('sql-error-line')`)
	if msg := b.text(`document.getElementById('sql-error').innerText`); !strings.Contains(msg, "CodeValidationException at line 2, column 1") || !strings.Contains(msg, "SELEC") {
		t.Errorf("validation error shown as %q", msg)
	}
	b.scroll("#sql-title")
	b.shot("console-analytics-sql-error")
	eval[bool](b, setValue("#sql-code", code))
	b.click(`#sql-save`)
	b.wait("the code saved", `!document.getElementById('sql-error').textContent`)
	// Start from the trim horizon; records in; rows out.
	eval[bool](b, setValue("#app-start-pos", "TRIM_HORIZON"))
	b.click(`#app-start:not([disabled])`)
	b.wait("the application running", `document.getElementById('app-status')?.textContent === 'RUNNING'`)
	var entries []ktypes.PutRecordsRequestEntry
	for i := range 6 {
		entries = append(entries, ktypes.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: fmt.Appendf(nil, `{"ticker":"T%d","price":%d}`, i, 8+i)})
	}
	if _, err := kc.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String("ticks"), Records: entries}); err != nil {
		t.Fatal(err)
	}
	b.click(`#rows-watch`)
	// price > 10: T3 (11), T4 (12), T5 (13), doubled.
	b.wait("three rows", `document.querySelectorAll('#sql-rows tbody tr').length >= 3`)
	rows := b.text(`document.getElementById('sql-rows').innerText`)
	for _, want := range []string{"T3", "22", "T5", "26"} {
		if !strings.Contains(rows, want) {
			t.Errorf("rows have no %s:\n%s", want, rows)
		}
	}
	if strings.Contains(rows, "T1") {
		t.Errorf("rows include a filtered record:\n%s", rows)
	}
	b.scroll("#rows-title")
	b.shot("console-analytics")
	b.click(`#app-stop:not([disabled])`)
	b.wait("the application stopped", `document.getElementById('app-status')?.textContent === 'READY'`)
	b.noExceptions()
}

// TestConsoleServicesVideo: a Matroska recording (the fixture ffmpeg made:
// 10 s of H.264, ten fragments) sent with PutMedia; the Video page lists
// the fragments and plays the archived HLS session in its <video> element,
// with the browser's own HLS player and with the vendored hls.js, then the
// live session, each until the element reports decoded frames; a clip is
// downloaded; the signaling channel is listed with its endpoints and its
// connected master and viewer.
func TestConsoleServicesVideo(t *testing.T) {
	fixture, err := os.ReadFile("../internal/video/testdata/test.mkv")
	if err != nil {
		t.Fatal(err)
	}
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	if st, body := videoCall(t, p.addr, "/createStream", map[string]any{"StreamName": "cam", "DataRetentionInHours": 24, "MediaType": "video/h264"}); st != 200 {
		t.Fatalf("createStream: %d %s", st, body)
	}
	waitFor(t, func() bool {
		st, body := videoCall(t, p.addr, "/describeStream", map[string]any{"StreamName": "cam"})
		return st == 200 && bytes.Contains(body, []byte(`"ACTIVE"`))
	})
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/putMedia", bytes.NewReader(fixture))
	for k, v := range map[string]string{"x-amzn-stream-name": "cam", "x-amzn-fragment-timecode-type": "RELATIVE",
		"x-amzn-producer-start-timestamp": fmt.Sprintf("%d.000", time.Now().Add(-time.Minute).Unix()), "x-amzn-fragment-acknowledgment-required": "1"} {
		req.Header.Set(k, v)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), videoCreds, req, "UNSIGNED-PAYLOAD", "kinesisvideo", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	persisted := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if bytes.Contains(sc.Bytes(), []byte(`"PERSISTED"`)) {
			persisted++
		}
	}
	resp.Body.Close()
	if persisted != 10 {
		t.Fatalf("%d fragments persisted, want 10", persisted)
	}

	st, body := videoCall(t, p.addr, "/createSignalingChannel", map[string]any{"ChannelName": "door"})
	if st != 200 {
		t.Fatalf("createSignalingChannel: %d %s", st, body)
	}
	var ch struct{ ChannelARN string }
	json.Unmarshal(body, &ch)
	waitFor(t, func() bool {
		st, body := videoCall(t, p.addr, "/describeSignalingChannel", map[string]any{"ChannelARN": ch.ChannelARN})
		return st == 200 && bytes.Contains(body, []byte(`"ACTIVE"`))
	})
	// A master and a viewer connected to the channel.
	for _, id := range []string{"", "viewer-1"} {
		var ep struct {
			ResourceEndpointList []struct{ Protocol, ResourceEndpoint string }
		}
		role := map[bool]string{true: "MASTER", false: "VIEWER"}[id == ""]
		st, body := videoCall(t, p.addr, "/getSignalingChannelEndpoint", map[string]any{"ChannelARN": ch.ChannelARN,
			"SingleMasterChannelEndpointConfiguration": map[string]any{"Protocols": []string{"WSS"}, "Role": role}})
		if json.Unmarshal(body, &ep); st != 200 || len(ep.ResourceEndpointList) != 1 {
			t.Fatalf("getSignalingChannelEndpoint: %d %s", st, body)
		}
		c, err := signalingclient.Dial(context.Background(), signalingclient.Options{Endpoint: ep.ResourceEndpointList[0].ResourceEndpoint,
			ChannelARN: ch.ChannelARN, ClientID: id, Region: "us-east-1", AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"})
		if err != nil {
			t.Fatalf("connecting %s: %v", role, err)
		}
		t.Cleanup(func() { c.Close() })
	}

	b := svcConsole(t, p.addr)
	b.open("#/video")
	// The channel with its master endpoints.
	b.wait("the signaling channel", `!!document.getElementById('channel-list')?.innerText.includes('door')`)
	// Endpoints named for the host the browser reached (the console's call
	// carries it), not the console backend's own.
	if ch := b.text(`document.getElementById('channel-list').innerText`); !strings.Contains(ch, "WSS: ws://"+p.addr) || !strings.Contains(ch, "HTTPS: http://"+p.addr) {
		t.Errorf("channel endpoints: %q", ch)
	}
	// Its connected peers (the server's signaling endpoint).
	if peers := b.text(`document.querySelector('#channel-list .peers')?.innerText || ''`); !strings.Contains(peers, "master since") || !strings.Contains(peers, "viewer viewer-1 since") {
		t.Errorf("connected peers: %q", peers)
	}
	b.click(`a.video-link`)
	b.wait("ten fragments on the timeline", `document.querySelectorAll('#video-timeline rect.fragment').length === 10`)
	if ep := b.text(`document.querySelector('#main .panel').innerText`); !strings.Contains(ep, "http://"+p.addr) {
		t.Errorf("data endpoint not this server's address %s:\n%s", p.addr, ep)
	}
	for _, kind := range []string{"auto", "hlsjs"} {
		eval[bool](b, setValue("#video-player-kind", kind))
		b.click(`#video-play`)
		b.wait("decoded frames ("+kind+")", `(() => { const v = document.getElementById('video-player'); const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : v.webkitDecodedFrameCount; return !!v.dataset.player && q > 0; })()`)
		player := b.text(`document.getElementById('video-player').dataset.player`)
		t.Logf("player %s (%s): %s decoded frames", kind, player,
			b.text(`String(document.getElementById('video-player').getVideoPlaybackQuality().totalVideoFrames)`))
		if kind == "hlsjs" && player != "hls.js" {
			t.Errorf("asked for hls.js, played with %s", player)
		}
		if kind == "auto" {
			b.scroll("#play-title")
			b.shot("console-video")
		}
	}
	// Live: the session's playlist of the newest fragments.
	eval[bool](b, setValue("#video-mode", "LIVE"))
	eval[bool](b, setValue("#video-player-kind", "auto"))
	b.click(`#video-stop`)
	if n := b.text(`String(document.getElementById('video-player').getVideoPlaybackQuality().totalVideoFrames)`); n != "0" {
		t.Errorf("%s frames counted after Stop: the live check would count the archive's", n)
	}
	b.click(`#video-play`)
	b.wait("decoded frames (live)", `(() => { const v = document.getElementById('video-player'); return !!v.dataset.player && v.getVideoPlaybackQuality().totalVideoFrames > 0; })()`)
	// A clip of the range (GetClip through the console), saved as a file.
	b.click("#video-clip")
	b.wait("the clip downloaded", `document.getElementById('toasts').innerText.includes('Clip downloaded')`)
	b.noExceptions()
}

// TestConsoleServicesFunctions: a Node.js function (the test handler) fed
// by an event source mapping from a stream; the Functions page lists it
// with runtime, handler and state, invokes it with a test payload showing
// the result and the log tail, and shows the mapping's state.
func TestConsoleServicesFunctions(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the Node.js runtime cannot run")
	}
	addr := freePort(t)
	startServerWith(t, filepath.Join(t.TempDir(), "data"), addr, nil, "--functions-exec")
	cred, base := sdkConfig(addr)
	lc := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(base),
		Credentials: credentials.StaticCredentialsProvider{Value: cred}, HTTPClient: sdktest.HTTPClient(nil), RetryMaxAttempts: 1})
	ctx := context.Background()
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("echo"), Runtime: ltypes.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &ltypes.FunctionCode{ZipFile: nodeHandlerZip(t)}}); err != nil {
		t.Fatal(err)
	}
	createStream(t, client(addr), "orders", 1)
	if _, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("echo"),
		EventSourceArn: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/orders"), StartingPosition: ltypes.EventSourcePositionTrimHorizon,
		BatchSize: aws.Int32(10)}); err != nil {
		t.Fatal(err)
	}

	b := svcConsole(t, addr)
	b.open("#/functions")
	b.wait("the function and its mapping", `!!document.querySelector('a.function-link') && !!document.getElementById('esm-list')?.innerText.includes('stream/orders')`)
	if row := b.text(`document.querySelector('#main tbody tr').innerText`); !strings.Contains(row, "nodejs20.x") || !strings.Contains(row, "index.handler") || !strings.Contains(row, "Active") {
		t.Errorf("function row %q: want runtime, handler and state", row)
	}
	b.click(`a.function-link`)
	b.wait("the invoke form", `!!document.getElementById('fn-payload')`)
	eval[bool](b, setValue("#fn-payload", `{"order": 42}`))
	b.click(`#fn-invoke`)
	b.wait("the invocation's result", `!!document.querySelector('#fn-result .fn-log')`)
	if res := b.text(`document.querySelector('#fn-result .fn-response').textContent`); !strings.Contains(res, `"order": 42`) {
		t.Errorf("invocation result %q", res)
	}
	if log := b.text(`document.querySelector('#fn-result .fn-log').textContent`); !strings.Contains(log, "hello from node") {
		t.Errorf("log tail %q", log)
	}
	b.wait("the monitoring charts", `document.querySelectorAll('.monitoring figure').length === 2`)
	if esm := b.text(`document.getElementById('esm-list').innerText`); !strings.Contains(esm, "Enabl") {
		t.Errorf("mapping state: %q", esm)
	}
	b.scroll("#fn-invoke-title")
	b.shot("console-functions")
	b.noExceptions()
}

// nodeHandlerZip is the deployment package of the Node.js test handler
// (internal/server/testdata/functions/node/index.js).
func nodeHandlerZip(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile("../internal/server/testdata/functions/node/index.js")
	if err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("index.js")
	w.Write(src)
	zw.Close()
	return zbuf.Bytes()
}

// TestConsoleServicesGlue: a Glue database and a partitioned table over S3;
// the Data Catalog page lists the database, its table with its columns and
// partition keys, and links the table's location into the S3 browser.
func TestConsoleServicesGlue(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	cred, base := sdkConfig(p.addr)
	gc := glue.New(glue.Options{Region: "us-east-1", BaseEndpoint: aws.String(base),
		Credentials: credentials.StaticCredentialsProvider{Value: cred}, HTTPClient: sdktest.HTTPClient(nil), RetryMaxAttempts: 1})
	ctx := context.Background()
	if _, err := gc.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gtypes.DatabaseInput{Name: aws.String("lake"), Description: aws.String("click data")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := gc.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: &gtypes.TableInput{Name: aws.String("clicks"),
		TableType: aws.String("EXTERNAL_TABLE"), PartitionKeys: []gtypes.Column{{Name: aws.String("dt"), Type: aws.String("string")}},
		StorageDescriptor: &gtypes.StorageDescriptor{Location: aws.String("s3://lake/clicks/"),
			Columns: []gtypes.Column{{Name: aws.String("page"), Type: aws.String("string")}, {Name: aws.String("ms"), Type: aws.String("bigint"), Comment: aws.String("latency")}}}}}); err != nil {
		t.Fatal(err)
	}

	b := svcConsole(t, p.addr)
	b.open("#/glue")
	b.click(`a.glue-db-link`)
	b.wait("the table", `!!document.querySelector('a.glue-table-link')`)
	if row := b.text(`document.querySelector('#main tbody tr').innerText`); !strings.Contains(row, "EXTERNAL_TABLE") || !strings.Contains(row, "dt") || !strings.Contains(row, "s3://lake/clicks/") {
		t.Errorf("table row %q", row)
	}
	b.click(`a.glue-table-link`)
	b.wait("the columns", `!!document.querySelector('#glue-columns tbody')`)
	if cols := b.text(`document.getElementById('glue-columns').innerText`); !strings.Contains(cols, "ms\tbigint\tlatency") || !strings.Contains(cols, "page\tstring") {
		t.Errorf("columns %q", cols)
	}
	b.shot("console-glue")
	b.click(`a.s3-location`)
	b.wait("the S3 browser at the table's location", `location.hash === '#/s3/lake/p/clicks%2F'`)
	b.noExceptions()
}
