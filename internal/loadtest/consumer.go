package loadtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"net/http"
	"sync"
	"time"
)

// X-Amz-Target values of the operations the lean client sends.
const (
	targetPutRecords       = "Kinesis_20131202.PutRecords"
	targetPutRecord        = "Kinesis_20131202.PutRecord"
	targetGetShardIterator = "Kinesis_20131202.GetShardIterator"
	targetGetRecords       = "Kinesis_20131202.GetRecords"
)

// Signature headers of the lean client: syntactically valid SigV4 that is
// never verified (the date is fixed, the signature made up).
const (
	leanAmzDate = "20260101T000000Z"
	leanAuth    = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, " +
		"SignedHeaders=host;x-amz-date, Signature=" +
		"3f1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"
)

// leanClient sends AWS JSON 1.1 requests with net/http, without the SDK.
// It is safe for concurrent use; each caller brings its own buffer.
type leanClient struct {
	hc  *http.Client
	url string
}

// call posts body as operation target and reads a 200 response into buf.
// Any other status is an error carrying the AWS error type and message.
func (c *leanClient) call(ctx context.Context, target string, body []byte, buf *bytes.Buffer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = http.Header{
		"Content-Type":  {"application/x-amz-json-1.1"},
		"X-Amz-Target":  {target},
		"X-Amz-Date":    {leanAmzDate},
		"Authorization": {leanAuth},
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.Unmarshal(buf.Bytes(), &e)
		return fmt.Errorf("%s: HTTP %d %s: %s", target, resp.StatusCode, e.Type, e.Message)
	}
	return nil
}

// latestIterator returns a LATEST shard iterator.
func (c *leanClient) latestIterator(ctx context.Context, stream, shard string) (string, error) {
	body, _ := json.Marshal(map[string]string{"StreamName": stream, "ShardId": shard, "ShardIteratorType": "LATEST"})
	var buf bytes.Buffer
	if err := c.call(ctx, targetGetShardIterator, body, &buf); err != nil {
		return "", err
	}
	var out struct{ ShardIterator string }
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		return "", fmt.Errorf("GetShardIterator response: %w", err)
	}
	return out.ShardIterator, nil
}

// getRecordsLimit is the most records one GetRecords may return.
const getRecordsLimit = 10000

// consumer polls one shard with GetRecords until its context ends, or until
// the shard is closed and read to its end. Its fields are its own until run
// returns.
type consumer struct {
	c    *leanClient
	iter string
	// Enhanced fan-out consumers use these instead of c and iter.
	sdk         *kinesis.Client
	consumerARN string
	shard       string
	streamMu    sync.Mutex
	stream      *kinesis.SubscribeToShardEventStream
	dataLen     int // base64 length of a record of this run
	poll        time.Duration
	tr          *tracker
	live        *live

	lat      histogram // put→get
	requests uint64
	errs     uint64
	corrupt  uint64 // records of this run whose length is wrong
	firstErr error
}

func (k *consumer) run(ctx context.Context) {
	if k.sdk != nil {
		k.runEFO(ctx)
		return
	}
	var (
		buf bytes.Buffer
		hs  []header
		out getRecordsOut
	)
	for ctx.Err() == nil {
		body, _ := json.Marshal(struct {
			ShardIterator string
			Limit         int
		}{k.iter, getRecordsLimit})
		err := k.c.call(ctx, targetGetRecords, body, &buf)
		now := time.Now()
		if ctx.Err() != nil {
			return
		}
		k.requests++
		if err == nil {
			err = out.scan(buf.Bytes())
		}
		if err != nil {
			k.errs++
			if k.firstErr == nil {
				k.firstErr = err
			}
			sleepUntil(ctx, time.Now().Add(k.poll))
			continue
		}
		hs = hs[:0]
		foreign := 0
		for _, data := range out.Records {
			h, ok := parseHeaderBase64(data)
			if !ok || h.tag != k.tr.tag {
				foreign++
				continue
			}
			if len(data) != k.dataLen {
				k.corrupt++
			}
			k.lat.record(now.Sub(time.Unix(0, h.sent)))
			hs = append(hs, h)
		}
		k.tr.markSeen(hs)
		if foreign > 0 {
			k.tr.markForeign(foreign)
		}
		k.live.read.Add(uint64(len(hs)))
		if !out.HasNext {
			return // closed and read to its end
		}
		k.iter = out.NextShardIterator
		if len(out.Records) == 0 {
			sleepUntil(ctx, time.Now().Add(k.poll))
		}
	}
}

// encodedLen is the base64 length of a record of size bytes.
func encodedLen(size int) int { return base64.StdEncoding.EncodedLen(size) }

// getRecordsOut is the part of a GetRecords response the consumer needs.
type getRecordsOut struct {
	Records           []string // base64 Data of each record
	NextShardIterator string
	HasNext           bool
}

var (
	keyData = []byte(`"Data":"`)
	keyNext = []byte(`"NextShardIterator":"`)
)

// scan extracts the records' Data and the next iterator without a full JSON
// decode: the tool must leave the CPU to the server it measures. A quote
// cannot occur unescaped inside a JSON string, so the member names found are
// real members.
func (o *getRecordsOut) scan(b []byte) error {
	o.Records, o.NextShardIterator, o.HasNext = o.Records[:0], "", false
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return fmt.Errorf("GetRecords: not a JSON object: %.80q", b)
	}
	for p := 0; ; {
		i := bytes.Index(b[p:], keyData)
		if i < 0 {
			break
		}
		start := p + i + len(keyData)
		end := bytes.IndexByte(b[start:], '"')
		if end < 0 {
			return fmt.Errorf("GetRecords: unterminated Data")
		}
		o.Records = append(o.Records, string(b[start:start+end]))
		p = start + end + 1
	}
	if i := bytes.Index(b, keyNext); i >= 0 {
		start := i + len(keyNext)
		end := bytes.IndexByte(b[start:], '"')
		if end < 0 {
			return fmt.Errorf("GetRecords: unterminated NextShardIterator")
		}
		o.NextShardIterator, o.HasNext = string(b[start:start+end]), true
	}
	return nil
}

// registerConsumer registers an enhanced fan-out consumer on the stream and
// waits until it is ACTIVE.
func registerConsumer(ctx context.Context, c *kinesis.Client, stream, name string) (string, error) {
	d, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &stream})
	if err != nil {
		return "", err
	}
	reg, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: d.StreamDescriptionSummary.StreamARN, ConsumerName: &name})
	if err != nil {
		return "", fmt.Errorf("registering consumer %s: %w", name, err)
	}
	for i := 0; ; i++ {
		out, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: reg.Consumer.ConsumerARN})
		if err == nil && out.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive {
			return *reg.Consumer.ConsumerARN, nil
		}
		if i > 300 {
			return "", fmt.Errorf("consumer %s never became ACTIVE: %v", name, err)
		}
		if !sleepUntil(ctx, time.Now().Add(50*time.Millisecond)) {
			return "", ctx.Err()
		}
	}
}

// subscribe opens the consumer's subscription to its shard.
func (k *consumer) subscribe(ctx context.Context, pos *types.StartingPosition) error {
	out, err := k.sdk.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: &k.consumerARN, ShardId: &k.shard, StartingPosition: pos})
	if err != nil {
		return err
	}
	k.streamMu.Lock()
	k.stream = out.GetStream()
	k.streamMu.Unlock()
	return nil
}

func (k *consumer) closeStream() {
	k.streamMu.Lock()
	if k.stream != nil {
		k.stream.Close()
	}
	k.streamMu.Unlock()
}

// runEFO receives pushed records, resubscribing after the subscription's
// lifetime from the last continuation sequence number.
func (k *consumer) runEFO(ctx context.Context) {
	// The subscription was opened before the load with the run's context:
	// end it when this consumer's context ends.
	stop := context.AfterFunc(ctx, k.closeStream)
	defer stop()
	defer k.closeStream()
	var hs []header
	for ctx.Err() == nil {
		var cont *string
		for ev := range k.stream.Events() {
			e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
			if !ok {
				continue
			}
			now := time.Now()
			hs = hs[:0]
			foreign := 0
			for _, r := range e.Value.Records {
				h, ok := parseHeader(r.Data)
				if !ok || h.tag != k.tr.tag {
					foreign++
					continue
				}
				if len(r.Data) != k.dataLen {
					k.corrupt++
				}
				k.lat.record(now.Sub(time.Unix(0, h.sent)))
				hs = append(hs, h)
			}
			k.tr.markSeen(hs)
			if foreign > 0 {
				k.tr.markForeign(foreign)
			}
			k.live.read.Add(uint64(len(hs)))
			k.requests++
			cont = e.Value.ContinuationSequenceNumber
		}
		if err := k.stream.Err(); err != nil && ctx.Err() == nil {
			k.errs++
			if k.firstErr == nil {
				k.firstErr = err
			}
		}
		k.closeStream()
		if ctx.Err() != nil || cont == nil {
			return
		}
		pos := &types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: cont}
		for ctx.Err() == nil {
			if err := k.subscribe(ctx, pos); err == nil {
				break
			}
			sleepUntil(ctx, time.Now().Add(k.poll))
		}
	}
}
