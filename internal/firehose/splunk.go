package firehose

// The Splunk destination: Firehose's delivery to a Splunk HTTP Event
// Collector (HEC) with indexer acknowledgements, as AWS documents it
// (developer guide, "Data delivery failure handling: Splunk", "Splunk data
// delivery errors"; API reference SplunkDestinationConfiguration).
//
// One delivery attempt:
//
//	POST <HECEndpoint>/services/collector/raw     (HECEndpointType Raw)
//	POST <HECEndpoint>/services/collector/event   (HECEndpointType Event)
//	  Authorization: Splunk <HECToken>
//	  X-Splunk-Request-Channel: <GUID of the delivery stream>
//	  body: the batch's records concatenated as they are (AWS adds no
//	        delimiters; for Event the records must be HEC event JSON)
//	← 200 {"text":"Success","code":0,"ackId":N}
//	POST <HECEndpoint>/services/collector/ack     (same headers), polled
//	  body: {"acks":[N]}
//	← 200 {"acks":{"N":false}} … {"acks":{"N":true}}
//
// The attempt succeeds when the ack is true within
// HECAcknowledgmentTimeoutInSeconds. Any failure (an HEC error, a transport
// error, an ack timeout) is retried with backoff for RetryOptions
// DurationInSeconds, a counter that starts after the first attempt fails and
// leaves out the time spent waiting for acks (AWS: an attempt started before
// the retry duration expires still waits its full ack timeout). Then every
// record goes to the S3Configuration under splunk-failed, one JSON line each
// ({attemptsMade, arrivalTimestamp, errorCode, errorMessage,
// attemptEndingTimestamp, rawData, EventId}). With S3BackupMode AllEvents,
// delivered batches are also written to the S3Configuration.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

func init() {
	destinations[DestSplunk] = destination{
		normalize: normalizeSplunk,
		deliver:   deliverSplunk,
		redact:    func(desc map[string]any) { delete(desc, "HECToken") }, // the HEC token is never described
	}
}

// DestSplunk is the Splunk destination kind (SplunkDestinationConfiguration).
const DestSplunk = "Splunk"

// splunkTiming is the cadence of Splunk deliveries. AWS documents neither
// its ack polling interval nor its backoff; these are ours. Tests shorten
// them (the model forbids an ack timeout under 180 s, so a test scales the
// unit instead: HECAcknowledgmentTimeoutInSeconds × ackUnit). Only tests
// write it, before any delivery starts.
var splunkTiming = struct {
	poll    time.Duration // between two ack queries (1 s)
	ackUnit time.Duration // one second of HECAcknowledgmentTimeoutInSeconds (1 s)
	backoff time.Duration // first retry backoff, doubled up to 1 min (1 s)
}{poll: time.Second, ackUnit: time.Second, backoff: time.Second}

// AWS's defaults and ranges (API reference; the retry duration default is
// the console's, as the API states none).
const (
	splunkAckTimeoutDefault = 180 // HECAcknowledgmentTimeoutInSeconds, 180–600
	splunkRetryDefault      = 300 // RetryOptions.DurationInSeconds, 0–7200
	splunkBufferMBDefault   = 5   // BufferingHints.SizeInMBs, 1–5
	splunkIntervalDefault   = 60  // BufferingHints.IntervalInSeconds, 0–60
)

// normalizeSplunk checks a Splunk configuration and fills in AWS's defaults.
func normalizeSplunk(out map[string]any) (map[string]any, error) {
	ep := str(out, "HECEndpoint")
	if !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
		return nil, errorf(KindInvalidArgument, "Invalid HECEndpoint %q: it must be an http or https URL.", ep)
	}
	switch t := str(out, "HECEndpointType"); t {
	case "Raw", "Event":
	default:
		return nil, errorf(KindInvalidArgument, "Invalid HECEndpointType %q: it must be Raw or Event.", t)
	}
	if str(out, "HECToken") == "" {
		// AWS also takes the token from Secrets Manager, which this
		// endpoint does not read.
		return nil, errorf(KindInvalidArgument, "HECToken is required (SecretsManagerConfiguration is not served by this endpoint).")
	}
	setDefault(out, "HECAcknowledgmentTimeoutInSeconds", int64(splunkAckTimeoutDefault))
	if n := intOf(out, "HECAcknowledgmentTimeoutInSeconds"); n < 180 || n > 600 {
		return nil, errorf(KindInvalidArgument, "HECAcknowledgmentTimeoutInSeconds must be between 180 and 600, not %d.", n)
	}
	ro := mapOf(out, "RetryOptions")
	setDefault(ro, "DurationInSeconds", int64(splunkRetryDefault))
	if n := intOf(ro, "DurationInSeconds"); n < 0 || n > 7200 {
		return nil, errorf(KindInvalidArgument, "RetryOptions.DurationInSeconds must be between 0 and 7200, not %d.", n)
	}
	out["RetryOptions"] = ro
	setDefault(out, "S3BackupMode", "FailedEventsOnly")
	switch m := str(out, "S3BackupMode"); m {
	case "FailedEventsOnly", "AllEvents":
	default:
		return nil, errorf(KindInvalidArgument, "Invalid S3BackupMode %q: it must be FailedEventsOnly or AllEvents.", m)
	}
	bh := mapOf(out, "BufferingHints")
	setDefault(bh, "SizeInMBs", int64(splunkBufferMBDefault))
	setDefault(bh, "IntervalInSeconds", int64(splunkIntervalDefault))
	if n := intOf(bh, "SizeInMBs"); n < 1 || n > 5 {
		return nil, errorf(KindInvalidArgument, "BufferingHints.SizeInMBs must be between 1 and 5 for Splunk, not %d.", n)
	}
	if n := intOf(bh, "IntervalInSeconds"); n < 0 || n > 60 {
		return nil, errorf(KindInvalidArgument, "BufferingHints.IntervalInSeconds must be between 0 and 60 for Splunk, not %d.", n)
	}
	out["BufferingHints"] = bh
	return out, nil
}

// splunkError is a failed attempt: AWS's error code and message.
type splunkError struct{ code, msg string }

// AWS's Splunk error codes and messages (developer guide, "Splunk data
// delivery errors"; the messages are AWS's, shortened).
var splunkErrors = map[string]string{
	"Splunk.ProxyWithoutStickySessions": "If you have a proxy (ELB or other) between Firehose and the HEC node, you must enable sticky sessions to support HEC ACKs.",
	"Splunk.DisabledToken":              "The HEC token is disabled. Enable the token to allow data delivery to Splunk.",
	"Splunk.InvalidToken":               "The HEC token is invalid. Update Firehose with a valid HEC token.",
	"Splunk.InvalidDataFormat":          "The data is not formatted correctly. To see how to properly format data for Raw or Event HEC endpoints, see Splunk Event Data.",
	"Splunk.InvalidIndex":               "The HEC token or input is configured with an invalid index. Check your index configuration and try again.",
	"Splunk.ServerError":                "Data delivery to Splunk failed due to a server error from the HEC node. Firehose will retry sending the data if the retry duration in your Firehose is greater than 0. If all the retries fail, Firehose backs up the data to Amazon S3.",
	"Splunk.DisabledAck":                "Indexer acknowledgement is disabled for the HEC token. Enable indexer acknowledgement and try again.",
	"Splunk.AckTimeout":                 "Did not receive an acknowledgement from HEC before the HEC acknowledgement timeout expired. Despite the acknowledgement timeout, it's possible the data was indexed successfully in Splunk. Firehose backs up in Amazon S3 data for which the acknowledgement timeout expired.",
	"Splunk.ConnectionTimeout":          "The connection to Splunk timed out. This might be a transient error and the request will be retried. Firehose backs up the data to Amazon S3 if all retries fail.",
	"Splunk.InvalidEndpoint":            "Could not connect to the HEC endpoint. Make sure that the HEC endpoint URL is valid and reachable from Firehose.",
	"Splunk.ConnectionClosed":           "Unable to send data to Splunk due to a connection failure. This might be a transient error. Increasing the retry duration in your Firehose configuration might guard against such transient failures.",
	"Splunk.SSLUnverified":              "Could not connect to the HEC endpoint. The host does not match the certificate provided by the peer. Make sure that the certificate and the host are valid.",
	"Splunk.SSLHandshake":               "Could not connect to the HEC endpoint. Make sure that the certificate and the host are valid.",
}

func splunkErr(code string) *splunkError { return &splunkError{code: code, msg: splunkErrors[code]} }

// hecCodeError maps an HEC status code (Splunk's "Troubleshoot HTTP Event
// Collector" table) to AWS's error code.
func hecCodeError(code int, status int) *splunkError {
	switch code {
	case 1:
		return splunkErr("Splunk.DisabledToken")
	case 2, 3, 4:
		return splunkErr("Splunk.InvalidToken")
	case 5, 6, 12, 13, 15:
		return splunkErr("Splunk.InvalidDataFormat")
	case 7:
		return splunkErr("Splunk.InvalidIndex")
	case 10, 11: // the channel unknown to the node: a proxy spreading a channel over nodes
		return splunkErr("Splunk.ProxyWithoutStickySessions")
	case 14:
		return splunkErr("Splunk.DisabledAck")
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return splunkErr("Splunk.InvalidToken")
	}
	return splunkErr("Splunk.ServerError")
}

// transportError maps a failed HTTP exchange to AWS's error code.
func transportError(err error) *splunkError {
	var hostErr x509.HostnameError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var nerr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &hostErr):
		return splunkErr("Splunk.SSLUnverified")
	case errors.As(err, &certErr), errors.As(err, &recErr):
		return splunkErr("Splunk.SSLHandshake")
	case errors.As(err, &nerr) && nerr.Timeout():
		return splunkErr("Splunk.ConnectionTimeout")
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return splunkErr("Splunk.InvalidEndpoint")
	}
	return splunkErr("Splunk.ConnectionClosed")
}

// splunkChannel is the delivery stream's HEC channel: a GUID derived from
// its ARN, so that it stays the same across restarts.
func splunkChannel(m *streamMeta) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(m.arn())).String()
}

// deliverSplunk delivers one batch to Splunk (see the file comment).
func deliverSplunk(ctx context.Context, s *Service, m *streamMeta, b *batch, data [][]byte) error {
	retry := time.Duration(intOf(mapOf(m.Dest, "RetryOptions"), "DurationInSeconds")) * time.Second
	ackTimeout := time.Duration(intOf(m.Dest, "HECAcknowledgmentTimeoutInSeconds")) * splunkTiming.ackUnit
	body := bytes.Join(data, nil)
	backoff := splunkTiming.backoff
	var spent time.Duration // the retry counter: time since the first failure, ack waits left out
	attempts := 0
	var last *splunkError
	for {
		attempts++
		started := s.cfg.Now()
		waited, err := s.splunkAttempt(ctx, m, body, ackTimeout)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.observeDelivery(m, "Splunk", err == nil, data, b.oldest())
		if err == nil {
			if str(m.Dest, "S3BackupMode") == "AllEvents" {
				s3 := mapOf(m.Dest, "S3Configuration")
				return s.retryS3(ctx, m, b.oldest(), func() error { return s.putS3Object(ctx, m, s3, b.oldest(), data) })
			}
			return nil
		}
		last = err
		if attempts > 1 {
			spent += s.cfg.Now().Sub(started) - waited
		}
		s.cfg.Logger.Warn("firehose: Splunk delivery failed", "stream", m.Name, "errorCode", err.code, "attempt", attempts)
		if spent+backoff > retry {
			break
		}
		waited, werr := waitJitter(ctx, backoff)
		if werr != nil {
			return werr
		}
		spent += waited
		backoff = min(backoff*2, time.Minute)
	}
	return s.backupFailed(ctx, m, b, "splunk-failed", splunkFailedLines(m, b, data, attempts, last, s.cfg.Now()))
}

// splunkFailedLines renders the records AWS gave up on as its splunk-failed
// JSON lines. rawData is what was sent (after processing); the arrival time
// and EventId are the record's when processing kept one record per record.
func splunkFailedLines(m *streamMeta, b *batch, data [][]byte, attempts int, last *splunkError, now time.Time) [][]byte {
	lines := make([][]byte, len(data))
	for i, d := range data {
		r := b.records[0]
		if len(data) == len(b.records) {
			r = b.records[i]
		}
		line, _ := json.Marshal(map[string]any{
			"attemptsMade": attempts, "arrivalTimestamp": r.Timestamp, "errorCode": last.code, "errorMessage": last.msg,
			"attemptEndingTimestamp": now.UnixMilli(), "rawData": base64.StdEncoding.EncodeToString(d),
			"EventId": recordID(m.LogKey, r.Seq) + "." + strconv.Itoa(i),
		})
		lines[i] = append(line, '\n')
	}
	return lines
}

// hecResponse is HEC's answer to a send or an ack query.
type hecResponse struct {
	Text  string          `json:"text"`
	Code  *int            `json:"code"`
	AckID *int64          `json:"ackId"`
	Acks  map[string]bool `json:"acks"`
}

// splunkAttempt sends the batch once and waits for its acknowledgement. It
// returns how long it waited for the ack and, if the attempt failed, why.
func (s *Service) splunkAttempt(ctx context.Context, m *streamMeta, body []byte, ackTimeout time.Duration) (time.Duration, *splunkError) {
	path := "/services/collector/raw"
	if str(m.Dest, "HECEndpointType") == "Event" {
		path = "/services/collector/event"
	}
	ans, err := s.hecPost(ctx, m, path, body)
	if err != nil {
		return 0, err
	}
	if ans.AckID == nil {
		return 0, splunkErr("Splunk.DisabledAck") // a 200 without an ackId: acks are off for the token
	}
	id := strconv.FormatInt(*ans.AckID, 10)
	query := []byte(`{"acks":[` + id + `]}`)
	start := time.Now()
	deadline := time.NewTimer(ackTimeout)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Since(start), splunkErr("Splunk.AckTimeout")
		case <-deadline.C:
			return time.Since(start), splunkErr("Splunk.AckTimeout")
		case <-time.After(splunkTiming.poll):
		}
		ack, err := s.hecPost(ctx, m, "/services/collector/ack", query)
		if err != nil {
			if ctx.Err() == nil && (err.code == "Splunk.ConnectionClosed" || err.code == "Splunk.ConnectionTimeout" || err.code == "Splunk.ServerError") {
				continue // a transient failure of one query: ask again until the timeout
			}
			return time.Since(start), err
		}
		if ack.Acks[id] {
			return time.Since(start), nil
		}
	}
}

// hecPost sends one request to the collector and decodes HEC's answer.
func (s *Service) hecPost(ctx context.Context, m *streamMeta, path string, body []byte) (*hecResponse, *splunkError) {
	url := strings.TrimRight(str(m.Dest, "HECEndpoint"), "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, splunkErr("Splunk.InvalidEndpoint")
	}
	req.Header.Set("Authorization", "Splunk "+str(m.Dest, "HECToken"))
	req.Header.Set("X-Splunk-Request-Channel", splunkChannel(m))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, transportError(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, transportError(err)
	}
	var ans hecResponse
	jsonErr := json.Unmarshal(raw, &ans)
	ok := resp.StatusCode == http.StatusOK && jsonErr == nil
	if path == "/services/collector/ack" {
		ok = ok && ans.Acks != nil // an ack answer carries no code
	} else {
		ok = ok && ans.Code != nil && *ans.Code == 0
	}
	if !ok {
		code := -1
		if jsonErr == nil && ans.Code != nil {
			code = *ans.Code
		}
		e := hecCodeError(code, resp.StatusCode)
		return nil, &splunkError{code: e.code, msg: fmt.Sprintf("%s (HEC answered %d: %s)", e.msg, resp.StatusCode, strings.TrimSpace(string(raw[:min(len(raw), 256)])))}
	}
	return &ans, nil
}
