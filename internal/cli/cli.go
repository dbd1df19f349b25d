// Package cli owns the rheos command line: `serve` (flags → config → server)
// and the client commands, grouped by service (`rheos kinesis streams|put|tail`,
// with `streams`, `put` and `tail` kept as short forms), that talk to a server
// through the AWS SDK for Go v2, like any other client.
package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"golang.org/x/term"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/kpl"
	"github.com/rheos/rheos/internal/loadtest"
	"github.com/rheos/rheos/internal/server"
)

const usage = `rheos: a self-hosted, AWS-compatible Kinesis.

Usage:
  rheos serve [--addr 127.0.0.1:4566] [--data-dir ./rheos-data] [--config file.json]
  rheos config print [serve flags]   (the effective configuration, secrets redacted)
  rheos cluster status [--endpoint URL]   (metadata store, blob store, read cache, upload backlog)
  rheos kinesis streams create NAME [--shards N | --on-demand]
  rheos kinesis streams list
  rheos kinesis streams describe NAME
  rheos kinesis streams delete NAME
  rheos kinesis put STREAM KEY [DATA]  (without DATA: one record per stdin line)
  rheos kinesis tail STREAM [--from trim-horizon|latest|timestamp] [--timestamp RFC3339]
  rheos functions list                (name, runtime or kind, handler, timeout, state)
  rheos functions mappings            (event source mappings: uuid, function, source, state, last result)
  rheos firehose list                 (delivery streams: name, status, type, destination, version)
  rheos firehose describe NAME
  rheos firehose put NAME [RECORD...] (records as arguments, or lines on stdin; a newline is appended to each)
  rheos video webrtc-demo CHANNEL [--listen 127.0.0.1:8080]   (a browser page viewing a signaling channel)
  rheos bench [--client lean|sdk] [--duration 10s] [--server-pid PID] ...   (load tool; bench -h)
  rheos bench-sink [--addr 127.0.0.1:4566]   (a do-nothing endpoint: the client-bound ceiling for bench)

Client commands are grouped by service ("kinesis"); "rheos streams", "rheos put"
and "rheos tail" remain as short forms of the kinesis ones. They take --endpoint (default http://127.0.0.1:4566, env RHEOS_ENDPOINT)
and --region (default us-east-1).
`

// Main runs the command line and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stderr)
	case "kinesis":
		var ok bool
		if len(args) > 1 && isHelp(args[1]) {
			usageOf(stdout, "rheos kinesis")
			return 0
		}
		if len(args) > 1 {
			err, ok = kinesisCmd(args[1], args[2:], stdin, stdout)
		}
		if !ok {
			fmt.Fprintf(stderr, "rheos kinesis: want streams, put or tail\n\n%s", usage)
			return 2
		}
	case "streams", "put", "tail": // short forms of the kinesis commands
		err, _ = kinesisCmd(args[0], args[1:], stdin, stdout)
	case "bench":
		err = loadtest.Command(args[1:], stdout, stderr)
	case "functions":
		err = functionsCmd(args[1:], stdout)
	case "firehose":
		err = firehoseCmd(args[1:], stdin, stdout)
	case "analytics":
		err = analyticsCmd(args[1:], stdin, stdout)
	case "video":
		err = videoCmd(args[1:], stdout, stderr)
	case "config":
		err = configCmd(args[1:], stdout)
	case "cluster":
		err = clusterCmd(args[1:], stdout)
	case "bench-sink":
		err = loadtest.SinkCommand(args[1:], stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "rheos: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "rheos:", err)
		return 1
	}
	return 0
}

// kinesisCmd runs a Data Streams client command; ok is false for an
// unknown one.
func kinesisCmd(name string, args []string, stdin io.Reader, stdout io.Writer) (err error, ok bool) {
	switch name {
	case "streams":
		return streams(args, stdout), true
	case "put":
		return put(args, stdin, stdout), true
	case "tail":
		return tail(args, stdout), true
	}
	return nil, false
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func serve(args []string, stderr io.Writer) error {
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads the credentials (root and principals) from the same
	// flags, environment and config file, without a restart.
	reload := func() (config.Config, error) { return config.Load(args, os.Getenv) }
	srv, err := server.New(ctx, cfg, logger, server.Options{Reload: reload})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		return err
	}
	return srv.Serve(ctx)
}

// clientFlags parses the common client flags and returns a Kinesis client.
func clientFlags(fs *flag.FlagSet) func() *kinesis.Client {
	def := os.Getenv("RHEOS_ENDPOINT")
	if def == "" {
		def = "http://127.0.0.1:4566"
	}
	endpoint := fs.String("endpoint", def, "server endpoint")
	region := fs.String("region", "us-east-1", "region")
	return func() *kinesis.Client {
		return kinesis.New(kinesis.Options{
			Region:       *region,
			BaseEndpoint: aws.String(*endpoint),
			Credentials:  credentials.NewStaticCredentialsProvider("rheos", "rheos", ""),
		})
	}
}

// parse parses flags that may follow positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "help" }

// usageOf prints the usage lines of the commands starting with prefix.
func usageOf(w io.Writer, prefix string) {
	fmt.Fprintln(w, "Usage:")
	for _, line := range strings.Split(usage, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), prefix) {
			fmt.Fprintln(w, line)
		}
	}
	fmt.Fprintln(w, "\nEach command takes -h for its flags. Client commands take --endpoint (default\nhttp://127.0.0.1:4566, env RHEOS_ENDPOINT) and --region (default us-east-1).")
}

func streams(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("streams: want create, list, describe or delete (rheos kinesis streams -h)")
	}
	if isHelp(args[0]) {
		usageOf(stdout, "rheos kinesis streams")
		return nil
	}
	fs := flag.NewFlagSet("streams "+args[0], flag.ContinueOnError)
	client := clientFlags(fs)
	shards := fs.Int("shards", 1, "shard count (create)")
	onDemand := fs.Bool("on-demand", false, "create an ON_DEMAND stream")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	ctx := context.Background()
	c := client()
	need := func() (string, error) {
		if len(pos) != 1 {
			return "", fmt.Errorf("streams %s: want exactly one stream name", args[0])
		}
		return pos[0], nil
	}
	switch args[0] {
	case "create":
		name, err := need()
		if err != nil {
			return err
		}
		in := &kinesis.CreateStreamInput{StreamName: &name}
		if *onDemand {
			in.StreamModeDetails = &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}
		} else {
			in.ShardCount = aws.Int32(int32(*shards))
		}
		if _, err := c.CreateStream(ctx, in); err != nil {
			return err
		}
		w := kinesis.NewStreamExistsWaiter(c, func(o *kinesis.StreamExistsWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
		if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: &name}, 30*time.Second); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s\n", name)
	case "list":
		p := kinesis.NewListStreamsPaginator(c, &kinesis.ListStreamsInput{})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, s := range out.StreamSummaries {
				fmt.Fprintf(stdout, "%s\t%s\t%s\n", aws.ToString(s.StreamName), s.StreamStatus, s.StreamModeDetails.StreamMode)
			}
		}
	case "describe":
		name, err := need()
		if err != nil {
			return err
		}
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &name})
		if err != nil {
			return err
		}
		d := out.StreamDescriptionSummary
		fmt.Fprintf(stdout, "name:\t%s\narn:\t%s\nstatus:\t%s\nmode:\t%s\nopen shards:\t%d\nretention:\t%dh\n",
			aws.ToString(d.StreamName), aws.ToString(d.StreamARN), d.StreamStatus, d.StreamModeDetails.StreamMode,
			aws.ToInt32(d.OpenShardCount), aws.ToInt32(d.RetentionPeriodHours))
		shards, err := listShards(ctx, c, name)
		if err != nil {
			return err
		}
		{
			for _, s := range shards {
				state := "open"
				if s.SequenceNumberRange.EndingSequenceNumber != nil {
					state = "closed"
				}
				fmt.Fprintf(stdout, "  %s\t%s\t%s..%s\n", aws.ToString(s.ShardId), state,
					aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
			}
		}
	case "delete":
		name, err := need()
		if err != nil {
			return err
		}
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: &name}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleting %s\n", name)
	default:
		return fmt.Errorf("streams: unknown subcommand %q", args[0])
	}
	return nil
}

func put(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("put", flag.ContinueOnError)
	client := clientFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 || len(pos) > 3 {
		return errors.New("put: want STREAM KEY [DATA]")
	}
	c := client()
	ctx := context.Background()
	stream, key := pos[0], pos[1]
	one := func(data []byte) error {
		out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: &stream, PartitionKey: &key, Data: data})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\n", aws.ToString(out.ShardId), aws.ToString(out.SequenceNumber))
		return nil
	}
	if len(pos) == 3 {
		return one([]byte(pos[2]))
	}
	// One record per line, sent in PutRecords batches of up to 500.
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 10<<20)
	var batch []types.PutRecordsRequestEntry
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &stream, Records: batch})
		if err != nil {
			return err
		}
		for _, r := range out.Records {
			if r.ErrorCode != nil {
				fmt.Fprintf(stdout, "error\t%s\t%s\n", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
				continue
			}
			fmt.Fprintf(stdout, "%s\t%s\n", aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber))
		}
		batch = batch[:0]
		return nil
	}
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		batch = append(batch, types.PutRecordsRequestEntry{PartitionKey: &key, Data: line})
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return flush()
}

func tail(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	client := clientFlags(fs)
	from := fs.String("from", "latest", "trim-horizon, latest or timestamp")
	tsFlag := fs.String("timestamp", "", "start time (RFC3339) with --from timestamp")
	poll := fs.Duration("poll", 200*time.Millisecond, "poll interval when caught up")
	exitIdle := fs.Duration("exit-when-idle", 0, "exit after this long without new records (0: follow forever)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("tail: want STREAM")
	}
	stream := pos[0]
	c := client()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	in := kinesis.GetShardIteratorInput{StreamName: &stream}
	switch strings.ToLower(*from) {
	case "trim-horizon":
		in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
	case "latest":
		in.ShardIteratorType = types.ShardIteratorTypeLatest
	case "timestamp":
		t, err := time.Parse(time.RFC3339, *tsFlag)
		if err != nil {
			return fmt.Errorf("tail: --timestamp: %w", err)
		}
		in.ShardIteratorType = types.ShardIteratorTypeAtTimestamp
		in.Timestamp = &t
	default:
		return fmt.Errorf("tail: unknown --from %q", *from)
	}
	// Follow every shard; shards that close hand over to their children.
	iters := map[string]*string{}
	start := func(shardID string, typ types.ShardIteratorType) error {
		i := in
		i.ShardId = aws.String(shardID)
		if typ != "" {
			i.ShardIteratorType, i.Timestamp = typ, nil
		}
		out, err := c.GetShardIterator(ctx, &i)
		if err != nil {
			return err
		}
		iters[shardID] = out.ShardIterator
		return nil
	}
	shards, err := listShards(ctx, c, stream)
	if err != nil {
		return err
	}
	{
		for _, s := range shards {
			if s.SequenceNumberRange.EndingSequenceNumber != nil && in.ShardIteratorType == types.ShardIteratorTypeLatest {
				continue
			}
			if err := start(aws.ToString(s.ShardId), ""); err != nil {
				return err
			}
		}
	}
	lastData := time.Now()
	for ctx.Err() == nil && len(iters) > 0 {
		got := 0
		ids := make([]string, 0, len(iters))
		for id := range iters {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iters[id]})
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			for _, r := range out.Records {
				// KPL-aggregated records are shown as their user records,
				// numbered SEQUENCE:SUBSEQUENCE.
				if subs, ok, err := kpl.Deaggregate(r.Data); ok && err == nil {
					for i, u := range subs {
						fmt.Fprintf(stdout, "%s\t%s:%d\t%s\t%s\n", id, aws.ToString(r.SequenceNumber), i, u.PartitionKey, u.Data)
					}
					continue
				}
				fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", id, aws.ToString(r.SequenceNumber), aws.ToString(r.PartitionKey), r.Data)
			}
			got += len(out.Records)
			if out.NextShardIterator == nil {
				delete(iters, id)
				for _, ch := range out.ChildShards {
					if _, ok := iters[aws.ToString(ch.ShardId)]; !ok {
						if err := start(aws.ToString(ch.ShardId), types.ShardIteratorTypeTrimHorizon); err != nil {
							return err
						}
					}
				}
				continue
			}
			iters[id] = out.NextShardIterator
		}
		if got > 0 {
			lastData = time.Now()
			continue
		}
		if *exitIdle > 0 && time.Since(lastData) > *exitIdle {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(*poll):
		}
	}
	return nil
}

// listShards pages through ListShards.
func listShards(ctx context.Context, c *kinesis.Client, stream string) ([]types.Shard, error) {
	var all []types.Shard
	in := &kinesis.ListShardsInput{StreamName: &stream}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, err
		}
		all = append(all, out.Shards...)
		if out.NextToken == nil {
			return all, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// configCmd prints the effective configuration `rheos serve` would use with
// the same flags and environment, with secrets redacted.
func configCmd(args []string, stdout io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		usageOf(stdout, "rheos config")
		return nil
	}
	if len(args) == 0 || args[0] != "print" {
		return errors.New("config: want print (rheos config -h)")
	}
	cfg, err := config.Load(args[1:], os.Getenv)
	if err != nil {
		return err
	}
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "(redacted)"
	}
	cfg.RootSecretAccessKey = redact(cfg.RootSecretAccessKey)
	cfg.KMSSecretAccessKey = redact(cfg.KMSSecretAccessKey)
	cfg.FirehoseS3SecretAccessKey = redact(cfg.FirehoseS3SecretAccessKey)
	cfg.BlobsSecretAccessKey = redact(cfg.BlobsSecretAccessKey)
	for i := range cfg.Principals {
		cfg.Principals[i].SecretAccessKey = redact(cfg.Principals[i].SecretAccessKey)
		cfg.Principals[i].SessionToken = redact(cfg.Principals[i].SessionToken)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(cfg)
}
