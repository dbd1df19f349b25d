// Package nexmark generates the Nexmark benchmark's event stream (an
// auction site's Person, Auction and Bid events in the default 2 % / 6 % /
// 92 % mix, with the field distributions of the Flink/Beam generators,
// seedable) as the JSON records a Kinesis Data Analytics application reads,
// and holds the benchmark's queries in the KDA SQL dialect
// (../shared/reference/analytics.md §7).
package nexmark

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Generator makes events deterministically from a seed.
type Generator struct {
	rnd       *rand.Rand
	n         int64
	base      time.Time
	step      time.Duration
	people    int64
	auctions  int64
	buf       []byte
	firstName []string
	states    []string
	cities    []string
}

// New returns a generator whose events start at base, step apart.
func New(seed uint64, base time.Time, step time.Duration) *Generator {
	return &Generator{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), base: base, step: step,
		firstName: []string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"},
		states:    []string{"AZ", "CA", "ID", "OR", "WA", "WY"},
		cities:    []string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"},
	}
}

// Kind is an event kind.
type Kind int

// Event kinds.
const (
	Person Kind = iota
	Auction
	Bid
)

// Next appends the next event's JSON to dst and returns it and its kind.
// Every event carries "type" ("person", "auction", "bid") and its fields in
// the Nexmark names; dateTime is milliseconds since the epoch.
func (g *Generator) Next(dst []byte) ([]byte, Kind) {
	id := g.n
	g.n++
	ts := g.base.Add(time.Duration(id) * g.step).UnixMilli()
	switch m := id % 50; {
	case m == 0:
		g.people++
		p := 1000 + g.people
		dst = append(dst, `{"type":"person","id":`...)
		dst = strconv.AppendInt(dst, p, 10)
		dst = append(dst, `,"name":"`...)
		dst = append(dst, g.firstName[g.rnd.IntN(len(g.firstName))]...)
		dst = append(dst, ` `...)
		dst = append(dst, g.firstName[g.rnd.IntN(len(g.firstName))]...)
		dst = append(dst, `","emailAddress":"user`...)
		dst = strconv.AppendInt(dst, p, 10)
		dst = append(dst, `@example.com","creditCard":"`...)
		dst = strconv.AppendInt(dst, 1000_0000_0000_0000+g.rnd.Int64N(9000_0000_0000_0000), 10)
		dst = append(dst, `","city":"`...)
		dst = append(dst, g.cities[g.rnd.IntN(len(g.cities))]...)
		dst = append(dst, `","state":"`...)
		dst = append(dst, g.states[g.rnd.IntN(len(g.states))]...)
		dst = append(dst, `","dateTime":`...)
		dst = strconv.AppendInt(dst, ts, 10)
		return append(dst, '}'), Person
	case m <= 3:
		g.auctions++
		a := 1000 + g.auctions
		dst = append(dst, `{"type":"auction","id":`...)
		dst = strconv.AppendInt(dst, a, 10)
		dst = append(dst, `,"itemName":"item-`...)
		dst = strconv.AppendInt(dst, a, 10)
		dst = append(dst, `","initialBid":`...)
		initial := 100 + g.rnd.Int64N(10_000)
		dst = strconv.AppendInt(dst, initial, 10)
		dst = append(dst, `,"reserve":`...)
		dst = strconv.AppendInt(dst, initial+g.rnd.Int64N(10_000), 10)
		dst = append(dst, `,"dateTime":`...)
		dst = strconv.AppendInt(dst, ts, 10)
		dst = append(dst, `,"expires":`...)
		dst = strconv.AppendInt(dst, ts+10_000+g.rnd.Int64N(100_000), 10)
		dst = append(dst, `,"seller":`...)
		dst = strconv.AppendInt(dst, 1000+max(1, g.rnd.Int64N(max(1, g.people))), 10)
		dst = append(dst, `,"category":`...)
		dst = strconv.AppendInt(dst, 10+g.rnd.Int64N(5), 10)
		return append(dst, '}'), Auction
	default:
		// Bids go mostly to recent auctions (the generator's "hot" ones).
		auction := 1000 + max(1, g.auctions-g.rnd.Int64N(min(100, max(1, g.auctions))))
		dst = append(dst, `{"type":"bid","auction":`...)
		dst = strconv.AppendInt(dst, auction, 10)
		dst = append(dst, `,"bidder":`...)
		dst = strconv.AppendInt(dst, 1000+max(1, g.rnd.Int64N(max(1, g.people))), 10)
		dst = append(dst, `,"price":`...)
		dst = strconv.AppendInt(dst, 100+g.rnd.Int64N(1_000_000), 10)
		dst = append(dst, `,"channel":"`...)
		dst = append(dst, []string{"Google", "Facebook", "Baidu", "Apple"}[g.rnd.IntN(4)]...)
		dst = append(dst, `","url":"https://www.nexmark.com/item.htm?query=1&channel_id=`...)
		dst = strconv.AppendInt(dst, g.rnd.Int64N(1000), 10)
		dst = append(dst, `","dateTime":`...)
		dst = strconv.AppendInt(dst, ts, 10)
		return append(dst, '}'), Bid
	}
}

// BidColumns is the input schema of an application reading bids (and the
// other events, whose bid columns are NULL): name, SQL type, JSON mapping.
var BidColumns = [][3]string{
	{"type", "VARCHAR(8)", "$.type"}, {"auction", "BIGINT", "$.auction"}, {"bidder", "BIGINT", "$.bidder"},
	{"price", "BIGINT", "$.price"}, {"channel", "VARCHAR(16)", "$.channel"}, {"dateTime", "BIGINT", "$.dateTime"},
	{"id", "BIGINT", "$.id"}, {"category", "BIGINT", "$.category"},
}

// Queries are the benchmark's workloads in the KDA dialect, over the input
// stream SOURCE_SQL_STREAM_001 with BidColumns; each writes OUT.
var Queries = map[string]string{
	// q0: pass-through.
	"q0": `CREATE OR REPLACE STREAM "OUT" ("auction" BIGINT, "bidder" BIGINT, "price" BIGINT, "dateTime" BIGINT);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM "auction", "bidder", "price", "dateTime" FROM "SOURCE_SQL_STREAM_001" WHERE "type" = 'bid';`,
	// q1: currency conversion.
	"q1": `CREATE OR REPLACE STREAM "OUT" ("auction" BIGINT, "bidder" BIGINT, "price" DOUBLE, "dateTime" BIGINT);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM "auction", "bidder", 0.908 * "price", "dateTime" FROM "SOURCE_SQL_STREAM_001" WHERE "type" = 'bid';`,
	// q2: selection.
	"q2": `CREATE OR REPLACE STREAM "OUT" ("auction" BIGINT, "price" BIGINT);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM "auction", "price" FROM "SOURCE_SQL_STREAM_001" WHERE "type" = 'bid' AND MOD("auction", 123) = 0;`,
	// tumbling: per-channel bid count and price range per second.
	"tumbling": `CREATE OR REPLACE STREAM "OUT" ("channel" VARCHAR(16), "bids" BIGINT, "lo" BIGINT, "hi" BIGINT);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM "channel", COUNT(*), MIN("price"), MAX("price") FROM "SOURCE_SQL_STREAM_001"
  WHERE "type" = 'bid' GROUP BY "channel", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND);`,
	// sliding: average price per auction over the last minute, per bid.
	"sliding": `CREATE OR REPLACE STREAM "OUT" ("auction" BIGINT, "avgPrice" DOUBLE);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM "auction", AVG(CAST("price" AS DOUBLE)) OVER w FROM "SOURCE_SQL_STREAM_001"
  WHERE "type" = 'bid' WINDOW w AS (PARTITION BY "auction" RANGE INTERVAL '1' MINUTE PRECEDING);`,
	// join: each bid with its auction's category, auctions of the last 10
	// seconds (a windowed stream-to-stream join; Nexmark q3/q4-like).
	"join": `CREATE OR REPLACE STREAM "A" ("id" BIGINT, "category" BIGINT);
CREATE OR REPLACE PUMP "PA" AS INSERT INTO "A" SELECT STREAM "id", "category" FROM "SOURCE_SQL_STREAM_001" WHERE "type" = 'auction';
CREATE OR REPLACE STREAM "OUT" ("auction" BIGINT, "price" BIGINT, "category" BIGINT);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM b."auction", b."price", a."category"
  FROM "SOURCE_SQL_STREAM_001" AS b JOIN "A" OVER (RANGE INTERVAL '10' SECOND PRECEDING) AS a ON b."auction" = a."id"
  WHERE b."type" = 'bid';`,
	// stagger: bids per bidder in a minute from that bidder's first bid.
	"stagger": `CREATE OR REPLACE STREAM "OUT" ("bidder" BIGINT, "bids" BIGINT);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM "bidder", COUNT(*) FROM "SOURCE_SQL_STREAM_001"
  WHERE "type" = 'bid' WINDOWED BY STAGGER (PARTITION BY "bidder" RANGE INTERVAL '1' MINUTE);`,
}
