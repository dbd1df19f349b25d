package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/rheos/rheos/internal/kpl"
	"github.com/rheos/rheos/internal/sdktest"
)

// The web console's browser tests: Debian's headless Chromium (installed by
// scripts/test-deps.sh; missing, the tests fail) driven by chromedp against
// the real binary. Screenshots go to $RHEOS_CONSOLE_SCREENSHOTS (default: the
// test's temporary directory); RHEOS_CONSOLE_DOCS=1 also writes the ones the
// README shows into docs/console/.

// browser is one headless Chromium tab with the page's uncaught exceptions
// collected (a console page must not throw).
type browser struct {
	t      *testing.T
	ctx    context.Context
	shots  string
	mu     sync.Mutex
	thrown []string
}

// consoleBrowser starts Chromium for the test; it is stopped at cleanup.
func consoleBrowser(t *testing.T) *browser {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("chromium is not installed: scripts/test-deps.sh installs Debian's chromium (make test runs it)")
	}
	shots := os.Getenv("RHEOS_CONSOLE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 860), chromedp.Flag("disable-gpu", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t, shots: shots}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			b.mu.Lock()
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.thrown = append(b.thrown, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber))
			b.mu.Unlock()
		}
	}))
	b.ctx = ctx
	if err := chromedp.Do(ctx); err != nil { // start the browser now, without a deadline
		cancel()
		cancelA()
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelA()
	})
	return b
}

// noExceptions fails the test if a page threw.
func (b *browser) noExceptions() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.thrown) > 0 {
		b.t.Errorf("uncaught exceptions in the console: %v", b.thrown)
	}
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	b.shot("failure-" + strings.ReplaceAll(what, " ", "-"))
	text, _ := b.evalErr(`document.querySelector('main')?.innerText.slice(0, 3000) || document.body.innerText.slice(0, 3000)`)
	b.t.Fatalf("%s: %v\npage:\n%s", what, err, text)
}

func (b *browser) evalErr(expr string) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr, chromedp.EvalAwaitPromise))
	return string(v), err
}

// eval evaluates a JavaScript expression and decodes its value into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("evaluating "+expr, err)
	}
	return v
}

// wait polls a JavaScript condition until it holds (across a navigation,
// which ends a poll early).
func (b *browser) wait(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, time.Until(deadline)+time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(50*time.Millisecond)))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || !navigating(err) {
			b.fail("waiting for "+what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// navigating reports whether err is a page's navigation ending a poll.
func navigating(err error) bool {
	for _, s := range []string{"navigated or closed", "context was destroyed", "Cannot find context with specified id"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// shot saves a PNG of the viewport as name.png (and into docs/console with
// RHEOS_CONSOLE_DOCS=1 unless name starts with "failure").
func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if !strings.HasPrefix(name, "failure") { // the toasts of earlier steps would cover the page
		chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.toast').forEach(e => e.remove())`))
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Error(err)
	}
	b.t.Logf("screenshot: %s", p)
	if os.Getenv("RHEOS_CONSOLE_DOCS") == "1" && !strings.HasPrefix(name, "failure") {
		if err := os.WriteFile(filepath.Join("..", "docs", "console", name+".png"), png, 0o644); err != nil {
			b.t.Error(err)
		}
	}
}

// setValue sets a form control's value and fires its change and input
// events (what a user's choice does).
func setValue(sel, value string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, sel, value)
}

const rowsJS = `document.querySelectorAll('#records tbody tr').length`

// ordersLink selects the list's link to the stream "orders".
const ordersLink = "'a.stream-link[href=\"#/streams/orders\"]'"

// TestConsoleDataStreams walks the Data Streams pages of a server without
// login (auth none, loopback): create a stream, put records, browse and
// decode them (JSON, hex, base64, KPL de-aggregation), search, download,
// put from the console, watch the lag fall to zero, split a shard and see
// the lineage, see the server page, and delete the stream.
func TestConsoleDataStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	b := consoleBrowser(t)
	base := "http://" + p.addr + "/console/"
	c := client(p.addr)
	ctx := context.Background()

	// Background traffic on another stream, so that the rates and charts
	// have something to draw.
	createStream(t, c, "clicks", 1)
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("clicks"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: "LATEST"})
		if err != nil {
			return
		}
		next := it.ShardIterator
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			entries := make([]types.PutRecordsRequestEntry, 1+i%7)
			for j := range entries {
				entries[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("user-", j)), Data: []byte(`{"page":"/home"}`)}
			}
			c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("clicks"), Records: entries})
			if out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: next}); err == nil {
				next = out.NextShardIterator
			}
		}
	}()
	defer func() { close(stop); bg.Wait() }()

	// First paint of the shell on loopback.
	b.do("open the console", chromedp.Navigate(base))
	b.wait("the shell", `document.documentElement.dataset.ready === '1'`)
	paint := eval[map[string]float64](b, `Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]))`)
	t.Logf("first paint %.0f ms, first contentful paint %.0f ms (loopback, headless Chromium)", paint["first-paint"], paint["first-contentful-paint"])
	if fp := paint["first-contentful-paint"]; fp <= 0 || fp > 5000 {
		// The issue asks < 300 ms on loopback (measured ~100-250 ms); the
		// bound catches a blocking resource, not a busy CI machine.
		t.Errorf("first contentful paint %.0f ms", fp)
	}

	// Create a stream through the form.
	b.do("create a stream",
		chromedp.SendKeys(chromedp.CSS("#create-name"), "orders"),
		chromedp.Evaluate[chromedp.Void](setValue("#create-shards", "2")),
		chromedp.Click(chromedp.CSS("#create-btn")))
	b.wait("the stream in the list", `!!document.querySelector(`+ordersLink+`)`)

	// Records: JSON ones on three keys, one binary, one KPL aggregate.
	perShard := map[string]int{}
	put := func(pk string, data []byte) string {
		t.Helper()
		out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String(pk), Data: data})
		if err != nil {
			t.Fatal(err)
		}
		perShard[aws.ToString(out.ShardId)]++
		return aws.ToString(out.ShardId)
	}
	for i := 0; i < 30; i++ {
		put(fmt.Sprintf("customer-%d", i%3), fmt.Appendf(nil, `{"n":%d,"kind":"order"}`, i))
	}
	put("binary", []byte{0, 1, 2, 0xff, 0xfe})
	put("kpl", kpl.Aggregate([]kpl.Record{{PartitionKey: "kpl-a", Data: []byte("agg-1")}, {PartitionKey: "kpl-b", Data: []byte("agg-2")}, {PartitionKey: "kpl-a", Data: []byte("agg-3")}}))
	putAt := time.Now()

	// The stream list (with rates once sampled) in dark theme, for the docs.
	b.do("reload the list", chromedp.Navigate(base+"#/streams"))
	b.wait("the list", `document.querySelector(`+ordersLink+`)?.closest('tr').querySelector('.badge').textContent === 'ACTIVE'`)
	b.do("dark theme", chromedp.Click(chromedp.CSS("#theme")))
	if th := eval[string](b, `document.documentElement.dataset.theme`); th != "dark" && th != "light" {
		t.Fatalf("theme toggle set %q", th)
	}

	// The record browser from TRIM_HORIZON over every open shard.
	b.do("open the records", chromedp.Click(chromedp.CSS(`a.stream-link[href="#/streams/orders"]`)))
	b.wait("the stream page", `!!document.querySelector('#tab-records')`)
	b.do("the records tab", chromedp.Click(chromedp.CSS("#tab-records")))
	b.wait("the reader", `!!document.querySelector('#rec-read')`)
	b.do("read", chromedp.Click(chromedp.CSS("#rec-read")))
	b.wait("34 rows (30 JSON, 1 binary, 3 de-aggregated)", rowsJS+` === 34`)
	b.wait("KPL user records", `[...document.querySelectorAll('#records pre')].some(p => p.textContent === '[KPL] agg-2')`)
	b.do("JSON", chromedp.Evaluate[chromedp.Void](setValue("#rec-decode", "json")))
	b.wait("pretty JSON", `[...document.querySelectorAll('#records pre')].some(p => p.textContent.includes('"kind": "order"'))`)
	b.shot("console-records")
	b.do("hex", chromedp.Evaluate[chromedp.Void](setValue("#rec-decode", "hex")))
	b.wait("hex", `[...document.querySelectorAll('#records pre')].some(p => p.textContent.includes('7b 22 6e 22 3a'))`)
	b.wait("binary as hex", `[...document.querySelectorAll('#records pre')].some(p => p.textContent.includes('00 01 02 ff fe'))`)
	b.do("base64", chromedp.Evaluate[chromedp.Void](setValue("#rec-decode", "base64")))
	b.wait("base64", `[...document.querySelectorAll('#records pre')].some(p => p.textContent.startsWith('eyJuIjo'))`)
	b.do("KPL off", chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector('#rec-kpl'); e.click(); return true })()`))
	b.wait("the aggregate as one row", rowsJS+` === 32`)
	b.do("search", chromedp.Evaluate[chromedp.Void](setValue("#rec-search", "customer-1")))
	b.wait("only customer-1", rowsJS+` === 10 && [...document.querySelectorAll('#records .pk')].every(e => e.textContent === 'customer-1')`)

	// Download as JSON lines (the blob the page hands the browser).
	eval[bool](b, `(() => { window.__blobs = []; const o = URL.createObjectURL; URL.createObjectURL = (x) => { window.__blobs.push(x); return o.call(URL, x) }; return true })()`)
	b.do("download", chromedp.Click(chromedp.CSS("#rec-download")))
	lines := eval[string](b, `window.__blobs[0].text()`)
	ls := strings.Split(strings.TrimSpace(lines), "\n")
	var first struct {
		PartitionKey string `json:"partitionKey"`
		Data         string `json:"data"`
		ShardID      string `json:"shardId"`
	}
	if len(ls) != 10 || json.Unmarshal([]byte(ls[0]), &first) != nil || first.PartitionKey != "customer-1" || first.Data == "" || first.ShardID == "" {
		t.Fatalf("downloaded %d lines, first %q", len(ls), ls[0])
	}

	// Put from the console, then find it.
	b.do("put a test record",
		chromedp.Evaluate[chromedp.Void](setValue("#put-pk", "console-pk")),
		chromedp.Evaluate[chromedp.Void](setValue("#put-data", "hello from the browser")),
		chromedp.Click(chromedp.CSS("#put-btn")))
	b.wait("the put's acknowledgement", `[...document.querySelectorAll('.toast')].some(e => e.textContent.startsWith('Put into shardId-'))`)
	b.do("utf-8", chromedp.Evaluate[chromedp.Void](setValue("#rec-decode", "utf8")), chromedp.Evaluate[chromedp.Void](setValue("#rec-search", "console-pk")),
		chromedp.Click(chromedp.CSS("#rec-read")))
	b.wait("the console's record", rowsJS+` === 1 && document.querySelector('#records pre').textContent === 'hello from the browser'`)

	// AT_SEQUENCE_NUMBER of the put (from its acknowledgement) finds it
	// first; AT_TIMESTAMP now, after every put, finds nothing (a future
	// time is refused, as by AWS).
	ack := strings.Fields(eval[string](b, `[...document.querySelectorAll('.toast')].find(e => e.textContent.startsWith('Put into shardId-')).textContent`))
	shard, seq := ack[2], ack[4]
	b.do("read at the put's sequence number",
		chromedp.Evaluate[chromedp.Void](setValue("#rec-search", "")),
		chromedp.Evaluate[chromedp.Void](setValue("#rec-shard", shard)),
		chromedp.Evaluate[chromedp.Void](setValue("#rec-type", "AT_SEQUENCE_NUMBER")),
		chromedp.Evaluate[chromedp.Void](setValue("#rec-start", seq)),
		chromedp.Click(chromedp.CSS("#rec-read")))
	b.wait("the record at the sequence number", rowsJS+` === 1 && document.querySelector('#records code').textContent === `+fmt.Sprintf("%q", seq))
	b.do("read at a later timestamp",
		chromedp.Evaluate[chromedp.Void](setValue("#rec-shard", "*")),
		chromedp.Evaluate[chromedp.Void](setValue("#rec-type", "AT_TIMESTAMP")),
		chromedp.Evaluate[chromedp.Void](setValue("#rec-start", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))),
		chromedp.Click(chromedp.CSS("#rec-read")))
	b.wait("nothing after it", `document.querySelector('#rec-status').textContent === '0 records read.' && `+rowsJS+` === 0`)
	b.do("back to the start", chromedp.Evaluate[chromedp.Void](setValue("#rec-type", "TRIM_HORIZON")))

	// Lag: one record at a time from the start of a shard is behind the
	// tip by the records' age; reading on catches up to 0.
	if d := time.Until(putAt.Add(1200 * time.Millisecond)); d > 0 {
		time.Sleep(d)
	}
	busiest := ""
	for id, n := range perShard {
		if busiest == "" || n > perShard[busiest] {
			busiest = id
		}
	}
	b.do("read one from the start of the busiest shard",
		chromedp.Evaluate[chromedp.Void](setValue("#rec-search", "")),
		chromedp.Evaluate[chromedp.Void](setValue("#rec-shard", busiest)),
		chromedp.Evaluate[chromedp.Void](setValue("#rec-limit", "1")),
		chromedp.Click(chromedp.CSS("#rec-read")))
	b.wait("one record of one shard", rowsJS+` === 1 && document.querySelectorAll('#lag .lag').length === 1`)
	behind := eval[string](b, `document.querySelector('#lag .lag').dataset.ms`)
	if behind == "" || behind == "0" || len(behind) < 4 {
		t.Fatalf("MillisBehindLatest after one record of many: %q, want >= 1000", behind)
	}
	b.do("read on", chromedp.Evaluate[chromedp.Void](setValue("#rec-limit", "1000")), chromedp.Click(chromedp.CSS("#rec-more")))
	b.wait("caught up", `document.querySelector('#lag .lag').dataset.ms === '0'`)
	t.Logf("lag moved from %s ms to 0", behind)

	// Live tail: a record put now appears without clicking.
	b.do("tail", chromedp.Click(chromedp.CSS("#rec-tail")))
	for i := 0; put(fmt.Sprintf("tail-%d", i), []byte("tailed")) != busiest; i++ { // until one lands on the shard tailed
		if i == 100 {
			t.Fatalf("no key of 100 lands on %s", busiest)
		}
	}
	b.wait("the tailed record", `[...document.querySelectorAll('#records pre')].some(p => p.textContent === 'tailed')`)
	b.do("stop tail", chromedp.Click(chromedp.CSS("#rec-tail")))

	// Split shard 0 at its midpoint: the map and the lineage show the
	// parent closed and its two children.
	b.do("overview", chromedp.Click(chromedp.CSS("#tab-overview")))
	b.wait("the split form", `!!document.querySelector('#split-btn') && !document.querySelector('#split-btn').disabled`)
	b.do("split", chromedp.Evaluate[chromedp.Void](setValue("#split-shard", "shardId-000000000000")), chromedp.Click(chromedp.CSS("#split-btn")))
	b.wait("the children in the lineage", `(() => { const rows = [...document.querySelectorAll('#lineage tbody tr')].map(r => r.innerText);
		return rows.length === 4 && rows.some(r => r.startsWith('shardId-000000000000') && r.includes('closed') && r.includes('shardId-000000000002, shardId-000000000003'))
			&& rows.some(r => r.startsWith('shardId-000000000003') && r.includes('open') && r.includes('shardId-000000000000')) })()`)
	b.wait("the stream's traffic chart", `!!document.querySelector('section[aria-labelledby=traffic-title] svg.chart')`)
	b.wait("the map: 3 open, 1 closed", `document.querySelectorAll('#shardmap rect.open').length === 3 && document.querySelectorAll('#shardmap rect.closed').length === 1 && document.querySelectorAll('#shardmap line.lineage').length === 2`)
	b.shot("console-shards")

	// Merge the two children back: shard 4, whose parents are 2 and 3.
	b.do("merge", chromedp.Evaluate[chromedp.Void](setValue("#merge-shard", "shardId-000000000002")), chromedp.Click(chromedp.CSS("#merge-btn")))
	b.wait("the merged shard in the lineage", `[...document.querySelectorAll('#lineage tbody tr')].some(r => r.innerText.startsWith('shardId-000000000004') && r.innerText.includes('shardId-000000000002, shardId-000000000003'))`)

	// Consumers and lag: an enhanced fan-out consumer subscribed to the
	// merged shard shows how far behind it is; settings and tags.
	orders, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: orders.StreamDescriptionSummary.StreamARN, ConsumerName: aws.String("tail")})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		d, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: reg.Consumer.ConsumerARN})
		if err == nil && d.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive {
			break
		}
		if i > 500 {
			t.Fatal("consumer never ACTIVE")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sub, err := c.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: reg.Consumer.ConsumerARN, ShardId: aws.String("shardId-000000000004"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.GetStream().Close()
	go func() {
		for range sub.GetStream().Events() {
		}
	}()
	if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String("k"), Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	b.do("consumers", chromedp.Click(chromedp.CSS("#tab-consumers")))
	b.wait("the consumers tab", `!!document.querySelector('#efo') && !!document.querySelector('#esm table, #esm p')`)
	b.wait("the consumer's lag", `document.querySelector('#efo').innerText.includes('shardId-000000000004: ')`)
	b.do("shard-level metrics", chromedp.Click(chromedp.CSS("#shard-metrics")))
	b.wait("shard-level metrics on", `document.querySelector('#shard-metrics')?.textContent === 'Disable shard-level metrics'`)
	b.do("settings", chromedp.Click(chromedp.CSS("#tab-settings")))
	b.wait("tags", `!!document.querySelector('#tag-add')`)
	b.do("add a tag", chromedp.SendKeys(chromedp.CSS("#tag-key"), "team"), chromedp.SendKeys(chromedp.CSS("#tag-value"), "payments"), chromedp.Click(chromedp.CSS("#tag-add")))
	b.wait("the tag", `document.querySelector('#tags').innerText.includes('payments')`)
	b.do("retention", chromedp.Evaluate[chromedp.Void](setValue("#retention-hours", "48")), chromedp.Click(chromedp.CSS("#retention-btn")))
	b.wait("the new retention", `[...document.querySelectorAll('.toast')].some(e => e.textContent === 'Retention set to 48 hours')`)
	if d, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("orders")}); err != nil || aws.ToInt32(d.StreamDescriptionSummary.RetentionPeriodHours) != 48 {
		t.Fatalf("retention after the console set 48 hours: %v %v", d, err)
	}
	tags, err := c.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String("orders")})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "payments" {
		t.Fatalf("tags after the console added one: %+v %v", tags, err)
	}

	if os.Getenv("RHEOS_CONSOLE_DOCS") == "1" {
		time.Sleep(20 * time.Second) // longer charts for the README's pictures
	}

	// The server page, in the other theme.
	b.do("the server page", chromedp.Click(chromedp.CSS("#theme")), chromedp.Navigate(base+"#/server"))
	b.wait("health and config", `document.querySelector('main').innerText.includes('Health') && !!document.querySelector('#config')`)
	if cfg := eval[string](b, `document.querySelector('#config').textContent`); !strings.Contains(cfg, `"dataDir"`) {
		t.Fatalf("config: %s", cfg)
	}
	b.wait("disk use per stream", `(document.querySelector('#stream-disk')?.innerText || '').includes('orders')`)
	b.shot("console-server")

	// Delete from the list.
	b.do("the list", chromedp.Navigate(base+"#/streams"))
	b.wait("the list", `!!document.querySelector('button[data-stream="orders"]')`)
	b.shot("console-streams")
	b.do("delete", chromedp.Click(chromedp.CSS(`button[data-stream="orders"]`)))
	b.wait("the confirmation", `!!document.querySelector('#dlg-yes')`)
	b.do("confirm", chromedp.Click(chromedp.CSS("#dlg-yes")))
	b.wait("deleting or gone", `(() => { const a = document.querySelector(`+ordersLink+`); return !a || a.closest('tr').querySelector('.badge').textContent === 'DELETING' })()`)
	b.noExceptions()
}

// consoleSecurityConfig: the root, an operator with kinesis:*, and a viewer
// who may read, create and put but not delete.
const consoleSecurityConfig = `{"auth": {"principals": [
 {"name": "ops", "accessKeyId": "AKIDOPS", "secretAccessKey": "ops-secret", "account": "000000000000",
  "policies": [{"Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]}]},
 {"name": "viewer", "accessKeyId": "AKIDVIEWER", "secretAccessKey": "viewer-secret", "account": "000000000000",
  "policies": [{"Statement": [{"Effect": "Allow", "Action": ["kinesis:List*", "kinesis:Describe*", "kinesis:Get*", "kinesis:PutRecord"], "Resource": "*"}]}]}
]}}`

// consoleHTTP is a cookie-keeping client that does not follow redirects.
func consoleHTTP(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func consoleLogin(t *testing.T, hc *http.Client, base, key, secret string) *http.Response {
	t.Helper()
	resp, err := hc.PostForm(base+"login", url.Values{"access_key_id": {key}, "secret_access_key": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// consoleCall posts one Kinesis call through the console backend.
func consoleCall(t *testing.T, hc *http.Client, base, csrf, op, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"api/aws/kinesis", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func consoleCSRF(t *testing.T, hc *http.Client, base string) string {
	t.Helper()
	resp, err := hc.Get(base + "api/session")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ CSRF string }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&s) != nil || s.CSRF == "" {
		t.Fatalf("session: %d", resp.StatusCode)
	}
	return s.CSRF
}

// TestConsoleSecurity: with --auth verify the console asks for a login;
// no session is sent to the login; a wrong secret is refused; a mutating
// request without the CSRF token is refused; and a principal whose
// policies do not allow kinesis:DeleteStream cannot delete from the
// console (the console's call is authorized like an SDK call).
func TestConsoleSecurity(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rheos.json")
	if err := os.WriteFile(cfg, []byte(consoleSecurityConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServerWith(t, filepath.Join(dir, "data"), freePort(t),
		[]string{"RHEOS_ROOT_ACCESS_KEY_ID=AKIDROOT", "RHEOS_ROOT_SECRET_ACCESS_KEY=root-secret"}, "--auth", "verify", "--config", cfg)
	base := "http://" + p.addr + "/console/"
	root := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + p.addr), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDROOT", "root-secret", ""), HTTPClient: sdktest.HTTPClient(nil)})
	createStream(t, root, "keep", 1)

	// No session: the shell redirects to the login, the API answers 401.
	hc := consoleHTTP(t)
	resp, err := hc.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Fatalf("no session: %d %q, want 303 to /console/login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, _ := consoleCall(t, hc, base, "x", "ListStreams", "{}"); code != http.StatusUnauthorized {
		t.Fatalf("API call without a session: %d", code)
	}

	// A wrong secret (and an unknown key) is refused, with no session.
	for _, kv := range [][2]string{{"AKIDVIEWER", "not-the-secret"}, {"AKIDNOBODY", "viewer-secret"}, {"AKIDVIEWER", ""}} {
		if r := consoleLogin(t, hc, base, kv[0], kv[1]); r.StatusCode != http.StatusUnauthorized || len(r.Cookies()) != 0 {
			t.Fatalf("login %s with a wrong secret: %d cookies %v", kv[0], r.StatusCode, r.Cookies())
		}
	}

	// Signed in: no CSRF token, 403; with it, the call runs as the viewer.
	if r := consoleLogin(t, hc, base, "AKIDVIEWER", "viewer-secret"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	csrf := consoleCSRF(t, hc, base)
	if code, body := consoleCall(t, hc, base, "", "CreateStream", `{"StreamName":"x","ShardCount":1}`); code != http.StatusForbidden {
		t.Fatalf("call without the CSRF token: %d %s", code, body)
	}
	if code, body := consoleCall(t, hc, base, "wrong"+csrf, "CreateStream", `{"StreamName":"x","ShardCount":1}`); code != http.StatusForbidden {
		t.Fatalf("call with a wrong CSRF token: %d %s", code, body)
	}
	if code, body := consoleCall(t, hc, base, csrf, "ListStreams", `{}`); code != 200 || !strings.Contains(body, `"keep"`) {
		t.Fatalf("ListStreams as the viewer: %d %s", code, body)
	}
	// The viewer's policies do not allow CreateStream either: the router's
	// authorization answers, as to an SDK.
	if code, body := consoleCall(t, hc, base, csrf, "CreateStream", `{"StreamName":"x","ShardCount":1}`); code != 400 || !strings.Contains(body, "AccessDeniedException") {
		t.Fatalf("CreateStream as the viewer: %d %s", code, body)
	}
	// Server information is for a root.
	if resp, err := hc.Get(base + "api/info/config"); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("config as the viewer: %v %v", resp.StatusCode, err)
	}

	// In the browser: the login form, a wrong secret, then the viewer
	// trying to delete.
	b := consoleBrowser(t)
	b.do("open the console", chromedp.Navigate(base))
	b.wait("the login form", `location.pathname === '/console/login' && !!document.querySelector('#akid')`)
	b.do("a wrong secret", chromedp.SendKeys(chromedp.CSS("#akid"), "AKIDVIEWER"), chromedp.SendKeys(chromedp.CSS("#secret"), "guess"),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	b.wait("refused", `!!document.querySelector('#login-error')`)
	b.shot("console-login")
	b.do("the right secret", chromedp.Evaluate[chromedp.Void](setValue("#secret", "viewer-secret")), chromedp.Click(chromedp.CSS("button[type=submit]")))
	b.wait("the shell", `document.documentElement.dataset.ready === '1' && document.querySelector('#who').textContent.endsWith(':user/viewer')`)
	b.wait("the stream", `!!document.querySelector('button[data-stream="keep"]')`)
	b.do("delete", chromedp.Click(chromedp.CSS(`button[data-stream="keep"]`)))
	b.wait("the confirmation", `!!document.querySelector('#dlg-yes')`)
	b.do("confirm", chromedp.Click(chromedp.CSS("#dlg-yes")))
	b.wait("access denied", `[...document.querySelectorAll('.toast.error')].some(e => e.textContent.includes('AccessDeniedException') && e.textContent.includes('kinesis:DeleteStream'))`)
	d, err := root.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("keep")})
	if err != nil || d.StreamDescriptionSummary.StreamStatus != "ACTIVE" {
		t.Fatalf("after the viewer's delete: %v %v", d, err)
	}
	// Sign out: the session is gone.
	b.do("sign out", chromedp.Click(chromedp.CSS("#logout")))
	b.wait("the login form again", `location.pathname === '/console/login'`)
	b.do("back", chromedp.Navigate(base))
	b.wait("still the login", `location.pathname === '/console/login'`)

	// The operator may delete, through the same path.
	hc2 := consoleHTTP(t)
	consoleLogin(t, hc2, base, "AKIDOPS", "ops-secret")
	if code, body := consoleCall(t, hc2, base, consoleCSRF(t, hc2, base), "DeleteStream", `{"StreamName":"keep"}`); code != 200 {
		t.Fatalf("DeleteStream as ops: %d %s", code, body)
	}
	b.noExceptions()
}
