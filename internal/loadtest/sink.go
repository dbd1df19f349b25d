package loadtest

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Sink is a do-nothing Kinesis endpoint: it decodes PutRecords/PutRecord
// bodies with encoding/json, keeps nothing and answers with made-up
// sequence numbers. It is the yardstick for "how fast can this client go
// against a server that costs nothing": `rheos bench-sink` serves it.
func Sink() http.Handler {
	const shards = 4
	seq := strings.Repeat("4", 56)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		op = op[strings.LastIndexByte(op, '.')+1:]
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch op {
		case "PutRecords":
			var in struct {
				StreamName string
				Records    []struct {
					Data         []byte
					PartitionKey string
				}
			}
			if err := json.Unmarshal(body, &in); err != nil {
				w.WriteHeader(400)
				io.WriteString(w, `{"__type":"SerializationException"}`)
				return
			}
			var b strings.Builder
			b.WriteString(`{"FailedRecordCount":0,"Records":[`)
			for i := range in.Records {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"SequenceNumber":"%s","ShardId":"shardId-%012d"}`, seq, i%shards)
			}
			b.WriteString("]}")
			io.WriteString(w, b.String())
		case "PutRecord":
			var in struct {
				Data         []byte
				PartitionKey string
			}
			json.Unmarshal(body, &in)
			fmt.Fprintf(w, `{"SequenceNumber":"%s","ShardId":"shardId-000000000000"}`, seq)
		case "DescribeStreamSummary":
			fmt.Fprintf(w, `{"StreamDescriptionSummary":{"StreamName":"bench","StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/bench","StreamStatus":"ACTIVE","StreamModeDetails":{"StreamMode":"PROVISIONED"},"RetentionPeriodHours":24,"StreamCreationTimestamp":1,"EnhancedMonitoring":[{"ShardLevelMetrics":[]}],"EncryptionType":"NONE","OpenShardCount":%d,"ConsumerCount":0}}`, shards)
		case "ListShards":
			var b strings.Builder
			b.WriteString(`{"Shards":[`)
			for i := 0; i < shards; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"ShardId":"shardId-%012d","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"1"},"SequenceNumberRange":{"StartingSequenceNumber":"%s"}}`, i, seq)
			}
			b.WriteString("]}")
			io.WriteString(w, b.String())
		case "DescribeStream":
			fmt.Fprintf(w, `{"StreamDescription":{"StreamName":"bench","StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/bench","StreamStatus":"ACTIVE","StreamModeDetails":{"StreamMode":"PROVISIONED"},"Shards":[],"HasMoreShards":false,"RetentionPeriodHours":24,"StreamCreationTimestamp":1,"EnhancedMonitoring":[{"ShardLevelMetrics":[]}],"EncryptionType":"NONE"}}`)
		case "CreateStream":
		case "GetShardIterator":
			io.WriteString(w, `{"ShardIterator":"AAAA"}`)
		case "GetRecords":
			io.WriteString(w, `{"Records":[],"NextShardIterator":"AAAA","MillisBehindLatest":0}`)
		default:
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"UnknownOperationException"}`)
		}
	})
}

// SinkCommand runs `rheos bench-sink [--addr host:port]`.
func SinkCommand(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench-sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:4566", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Addr: *addr, Handler: Sink(), Protocols: &p}
	fmt.Fprintln(stderr, "bench-sink: do-nothing Kinesis endpoint on", *addr, "(pid "+strconv.Itoa(os.Getpid())+")")
	return srv.ListenAndServe()
}
