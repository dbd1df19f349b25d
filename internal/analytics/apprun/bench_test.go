package apprun

import (
	"testing"
	"time"

	"github.com/rheos/rheos/internal/analytics"
	"github.com/rheos/rheos/internal/analytics/engine"
	"github.com/rheos/rheos/internal/analytics/nexmark"
)

// BenchmarkNexmark runs each workload of the benchmark end to end on one
// goroutine (one core): Nexmark JSON records mapped to rows as an input
// schema says, the application's pump, its output rows serialised as JSON.
// events/s is per core; the windowed workloads advance the clock every
// 1,000 events (1 ms of event time apart, so a 1 s window closes every
// 1,000 events).
//
//	go test ./internal/analytics/apprun -run '^$' -bench Nexmark -benchtime 200000x
func BenchmarkNexmark(b *testing.B) {
	var cols []analytics.RecordColumn
	var ecols []engine.Column
	for _, c := range nexmark.BidColumns {
		cols = append(cols, analytics.RecordColumn{Name: c[0], SqlType: c[1], Mapping: c[2]})
		ecols = append(ecols, engine.Column{Name: c[0], Type: c[1]})
	}
	sch, err := compileSchema(analytics.SourceSchema{RecordFormat: analytics.RecordFormat{RecordFormatType: "JSON",
		MappingParameters: &analytics.MappingParameters{JSONMappingParameters: &analytics.JSONMapping{RecordRowPath: "$"}}}, RecordColumns: cols})
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"q0", "q1", "q2", "tumbling", "sliding", "stagger", "join"} {
		b.Run(q, func(b *testing.B) {
			prog, err := engine.Compile(nexmark.Queries[q], []engine.Stream{{Name: "SOURCE_SQL_STREAM_001", Columns: ecols}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			var outCols []engine.Column
			for _, s := range prog.Streams() {
				if s.Name == "OUT" {
					outCols = s.Columns
				}
			}
			base := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
			var pending []engine.Row
			emitted, bytesOut := 0, 0
			inst := prog.Start(base, func(stream string, row engine.Row) {
				if stream == "OUT" {
					pending = append(pending, row)
				}
			})
			gen := nexmark.New(1, base, time.Millisecond)
			var buf []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				buf, _ = gen.Next(buf[:0])
				rows, err := sch.rows(buf)
				if err != nil {
					b.Fatal(err)
				}
				now := base.Add(time.Duration(i) * time.Millisecond)
				for _, r := range rows {
					inst.Insert("SOURCE_SQL_STREAM_001", engine.Row{Rowtime: now, Values: r})
				}
				if i%1000 == 999 {
					inst.Advance(now)
				}
				if len(pending) >= 256 || i == b.N-1 {
					for _, rec := range serialise("JSON", outCols, pending) {
						bytesOut += len(rec)
					}
					emitted += len(pending)
					pending = pending[:0]
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(emitted)/float64(b.N), "out/event")
		})
	}
}
