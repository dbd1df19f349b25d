package loadtest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/term"
)

// Result holds the figures of one run; it is what --json prints.
type Result struct {
	Client     string  `json:"client"`
	Op         string  `json:"op"`
	RecordSize int     `json:"recordSize"`
	Batch      int     `json:"batch"` // records per request
	Producers  int     `json:"producers"`
	Shards     int     `json:"shards"` // open shards of the stream
	Rate       float64 `json:"rate"`   // records/s asked for; 0: unlimited
	// Seconds is the length of the load phase, from the first request to
	// the last response.
	Seconds     float64 `json:"seconds"`
	Interrupted bool    `json:"interrupted,omitempty"`
	// StreamDeleted reports that the run deleted the stream it had created
	// (Config.Keep not set).
	StreamDeleted bool `json:"streamDeleted,omitempty"`

	Requests         uint64  `json:"requests"`
	Records          uint64  `json:"records"` // acknowledged
	RecordsPerSecond float64 `json:"recordsPerSecond"`
	MiBPerSecond     float64 `json:"mibPerSecond"` // acknowledged payload bytes
	// PutLatency is measured per successful request, from just before it is
	// sent to its whole response read.
	PutLatency     Latency `json:"putLatencyMs"`
	Failed         uint64  `json:"failed"`         // records not acknowledged
	FailedRequests uint64  `json:"failedRequests"` // requests that failed as a whole
	FirstError     string  `json:"firstError,omitempty"`

	// Consumers is nil when the run had none.
	Consumers *ConsumerResult `json:"consumers,omitempty"`
	// Server is nil without --server-pid.
	Server *ServerResult `json:"server,omitempty"`
	// ClientCPUSeconds is this process's CPU time during the load phase.
	ClientCPUSeconds float64 `json:"clientCpuSeconds"`
}

// Latency holds quantiles in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
}

func latencyOf(h *histogram) Latency {
	ms := func(q float64) float64 { return float64(h.quantile(q)) / 1e6 }
	return Latency{P50: ms(0.5), P99: ms(0.99), P999: ms(0.999)}
}

// ConsumerResult holds what the consumers measured.
type ConsumerResult struct {
	Consumers int    `json:"consumers"`
	Requests  uint64 `json:"requests"`
	Read      uint64 `json:"read"` // distinct records of this run read
	// PutGet is from a record's send time to the GetRecords response that
	// carried it, including the wait between polls.
	PutGet      Latency `json:"putGetMs"`
	Lost        uint64  `json:"lost"`        // acknowledged, never read
	Duplicated  uint64  `json:"duplicated"`  // reads of a record already read
	UnackedRead uint64  `json:"unackedRead"` // read but never acknowledged
	Foreign     uint64  `json:"foreign"`     // records of another run or writer
	Corrupt     uint64  `json:"corrupt"`     // records of this run with a wrong length
	// CaughtUp reports whether every acknowledged record was read within
	// the drain time, CatchUpSeconds after the load stopped.
	CaughtUp       bool    `json:"caughtUp"`
	CatchUpSeconds float64 `json:"catchUpSeconds"`
	Errors         uint64  `json:"errors"`
	FirstError     string  `json:"firstError,omitempty"`
}

// ServerResult holds the server process's figures from /proc.
type ServerResult struct {
	PID int `json:"pid"`
	// CPUSeconds is user+system time during the load phase (serving the
	// consumers included).
	CPUSeconds         float64 `json:"cpuSeconds"`
	CPUSecondsPerGiB   float64 `json:"cpuSecondsPerGiB"`   // per GiB of acknowledged payload
	CPUMicrosPerRecord float64 `json:"cpuMicrosPerRecord"` // per acknowledged record
	PeakRSSMiB         float64 `json:"peakRssMiB"`         // largest VmRSS sampled every 100 ms
	VmHWMMiB           float64 `json:"vmHwmMiB"`           // the kernel's peak RSS since the process started
}

// WriteText writes the figures for a person to read.
func (r *Result) WriteText(w io.Writer) {
	rate := "as fast as possible"
	if r.Rate > 0 {
		rate = fmt.Sprintf("at %s records/s", group(uint64(r.Rate)))
	}
	batch := ""
	if r.Op == "putrecords" {
		batch = fmt.Sprintf(", batches of %d", r.Batch)
	}
	fmt.Fprintf(w, "rheos bench: %s %s, %d-byte records%s, %d producers, %d shards, %s\n",
		r.Client, r.Op, r.RecordSize, batch, r.Producers, r.Shards, rate)
	if r.Interrupted {
		fmt.Fprintln(w, "  (interrupted)")
	}
	fmt.Fprintf(w, "  throughput   %s records/s   %.1f MiB/s   (%s records in %.2f s, %s requests)\n",
		group(uint64(r.RecordsPerSecond)), r.MiBPerSecond, group(r.Records), r.Seconds, group(r.Requests))
	fmt.Fprintf(w, "  put latency  p50 %s   p99 %s   p999 %s\n", ms(r.PutLatency.P50), ms(r.PutLatency.P99), ms(r.PutLatency.P999))
	if c := r.Consumers; c != nil {
		fmt.Fprintf(w, "  put→get      p50 %s   p99 %s\n", ms(c.PutGet.P50), ms(c.PutGet.P99))
		fmt.Fprintf(w, "  failed %s   lost %s   duplicated %s\n", group(r.Failed), group(c.Lost), group(c.Duplicated))
		caught := fmt.Sprintf("all read %.2f s after the load", c.CatchUpSeconds)
		if !c.CaughtUp {
			caught = "not all read when the drain ended"
		}
		fmt.Fprintf(w, "  consumers    %d, read %s records, %s", c.Consumers, group(c.Read), caught)
		if c.UnackedRead > 0 || c.Foreign > 0 || c.Corrupt > 0 || c.Errors > 0 {
			fmt.Fprintf(w, "; unacknowledged read %s, foreign %s, corrupt %s, errors %s",
				group(c.UnackedRead), group(c.Foreign), group(c.Corrupt), group(c.Errors))
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "  failed %s   (lost and duplicated not measured: no consumers)\n", group(r.Failed))
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "  server       %.2f CPU-s/GiB   %.2f CPU-µs/record   peak RSS %.1f MiB   VmHWM %.1f MiB   (%.2f CPU-s, pid %d)\n",
			s.CPUSecondsPerGiB, s.CPUMicrosPerRecord, s.PeakRSSMiB, s.VmHWMMiB, s.CPUSeconds, s.PID)
	}
	fmt.Fprintf(w, "  client       %.2f CPU-s\n", r.ClientCPUSeconds)
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first put error:  %s\n", r.FirstError)
	}
	if c := r.Consumers; c != nil && c.FirstError != "" {
		fmt.Fprintf(w, "  first read error: %s\n", c.FirstError)
	}
}

// ms formats milliseconds with three significant digits or so.
func ms(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// group formats n with thousands separators.
func group(n uint64) string {
	s := strconv.FormatUint(n, 10)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// Command runs `rheos bench` with its arguments: flags → Config → Run →
// report on stdout. It fails (after the report) if records were lost or
// duplicated, so that a script can rely on its exit status.
func Command(args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	if e := os.Getenv("RHEOS_ENDPOINT"); e != "" { // as the other client commands
		cfg.Endpoint = e
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Endpoint, "endpoint", cfg.Endpoint, "server endpoint")
	fs.StringVar(&cfg.Stream, "stream", cfg.Stream, "stream name")
	fs.IntVar(&cfg.Shards, "shards", cfg.Shards, "shard count when the stream is created")
	fs.StringVar(&cfg.Client, "client", cfg.Client, "producer client: lean (pre-encoded bodies) or sdk (AWS SDK for Go v2)")
	fs.StringVar(&cfg.Op, "op", cfg.Op, "putrecords or putrecord")
	fs.IntVar(&cfg.RecordSize, "record-size", cfg.RecordSize, "payload bytes per record (at least 24)")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "records per PutRecords request")
	fs.IntVar(&cfg.Producers, "producers", cfg.Producers, "concurrent producers")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "total records/s (0: as fast as possible)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the producers send")
	fs.BoolVar(&cfg.Consumers, "consumers", cfg.Consumers, "one GetRecords consumer per shard from LATEST")
	fs.DurationVar(&cfg.PollInterval, "poll-interval", cfg.PollInterval, "wait after an empty GetRecords")
	fs.BoolVar(&cfg.EFO, "efo", cfg.EFO, "consumers subscribe with enhanced fan-out (SubscribeToShard) instead of polling")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "after the load, how long to wait for the consumers to catch up")
	fs.IntVar(&cfg.ServerPID, "server-pid", cfg.ServerPID, "server process to measure through /proc (CPU, RSS)")
	fs.BoolVar(&cfg.Keep, "keep", cfg.Keep, "keep the stream when the run created it (by default it is deleted at the end)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Progress goes to stderr (stdout carries the report, maybe JSON): a
	// live line on a terminal, a line every 5 s otherwise.
	progress := stderr
	if f, ok := stderr.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		cfg.ProgressLines = true
	}
	res, err := Run(ctx, cfg, progress)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		res.WriteText(stdout)
	}
	if c := res.Consumers; c != nil && !res.Interrupted && (c.Lost > 0 || c.Duplicated > 0) {
		return fmt.Errorf("bench: %d records lost, %d duplicated", c.Lost, c.Duplicated)
	}
	return nil
}
