package videoplay

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/video"
	"github.com/rheos/rheos/internal/videoplay/pack"
)

// bandwidth estimates the peak bit rate of the fragments (bits/s).
func bandwidth(fs []video.Fragment) int64 {
	peak := int64(0)
	for _, f := range fs {
		if d := f.Duration.Seconds(); d > 0 {
			peak = max(peak, int64(float64(f.Size*8)/d))
		}
	}
	return max(peak, 1)
}

// masterPlaylist is the HLS master playlist: one variant, the media
// playlist of track 1 (its segments carry every track).
func masterPlaylist(ss *session, tracks *pack.Tracks, fs []video.Fragment, tok string) []byte {
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n")
	fmt.Fprintf(&b, "#EXT-X-VERSION:%d\n", hlsVersion(ss))
	fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,CODECS=\"%s\"", bandwidth(fs), tracks.Codecs())
	if tracks.Video.Width > 0 && tracks.Video.Height > 0 {
		fmt.Fprintf(&b, ",RESOLUTION=%dx%d", tracks.Video.Width, tracks.Video.Height)
	}
	fmt.Fprintf(&b, "\ngetHLSMediaPlaylist.m3u8?SessionToken=%s&TrackNumber=1\n", tok)
	return b.Bytes()
}

func hlsVersion(ss *session) int {
	if ss.Container == ContainerFMP4 {
		return 7
	}
	return 3
}

// mediaPlaylist is the HLS media playlist of the fragments: ENDLIST when
// the session's range is over (ON_DEMAND, or LIVE_REPLAY past its end),
// a sliding window otherwise; discontinuities per the session's mode;
// PROGRAM-DATE-TIME when asked.
func mediaPlaylist(ss *session, fs []video.Fragment, tok string, now time.Time) []byte {
	var b bytes.Buffer
	target := 1.0
	for _, f := range fs {
		target = max(target, math.Ceil(f.Duration.Seconds()))
	}
	b.WriteString("#EXTM3U\n")
	fmt.Fprintf(&b, "#EXT-X-VERSION:%d\n", hlsVersion(ss))
	fmt.Fprintf(&b, "#EXT-X-TARGETDURATION:%d\n", int(target))
	fmt.Fprintf(&b, "#EXT-X-MEDIA-SEQUENCE:%d\n", fs[0].Seq)
	ended := ss.Mode == ModeOnDemand || ss.Mode == ModeLiveReplay && ss.End != 0 && now.UnixMilli() > ss.End
	if ss.Mode == ModeOnDemand {
		b.WriteString("#EXT-X-PLAYLIST-TYPE:VOD\n")
	}
	if ss.Container == ContainerFMP4 {
		fmt.Fprintf(&b, "#EXT-X-MAP:URI=\"getMP4InitFragment.mp4?SessionToken=%s\"\n", tok)
	}
	for i, f := range fs {
		if i > 0 {
			prev := fs[i-1]
			gap := stamp(&f, ss.Selector).Sub(stamp(&prev, ss.Selector).Add(prev.Duration))
			if ss.Disc == always || ss.Disc == onDisc && (gap > discontinuityGap || gap < -discontinuityGap) {
				b.WriteString("#EXT-X-DISCONTINUITY\n")
			}
		}
		if ss.ShowTS {
			fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", stamp(&f, ss.Selector).UTC().Format("2006-01-02T15:04:05.000Z"))
		}
		fmt.Fprintf(&b, "#EXTINF:%.3f,\n", f.Duration.Seconds())
		if ss.Container == ContainerTS {
			fmt.Fprintf(&b, "getTSFragment.ts?FragmentNumber=%s&SessionToken=%s\n", f.Number, tok)
		} else {
			fmt.Fprintf(&b, "getMP4MediaFragment.mp4?FragmentNumber=%s&SessionToken=%s\n", f.Number, tok)
		}
	}
	if ended {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	return b.Bytes()
}

// isoDuration formats a duration as xs:duration ("PT10.000S").
func isoDuration(d time.Duration) string { return fmt.Sprintf("PT%.3fS", d.Seconds()) }

// dashManifest is the MPD of the fragments: static for ON_DEMAND (and a
// LIVE_REPLAY past its end), dynamic otherwise; one Period, one
// AdaptationSet per track kind, a SegmentList of the fragments' fMP4
// segments with a SegmentTimeline on the 90 kHz clock of their tfdt.
func dashManifest(ss *session, tracks *pack.Tracks, fs []video.Fragment, tok string, now time.Time) []byte {
	xmlTok := strings.ReplaceAll(tok, "&", "&amp;")
	static := ss.Mode == ModeOnDemand || ss.Mode == ModeLiveReplay && ss.End != 0 && now.UnixMilli() > ss.End
	first := stamp(&fs[0], ss.Selector)
	last := stamp(&fs[len(fs)-1], ss.Selector).Add(fs[len(fs)-1].Duration)
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:kvs="urn:aws:kinesisvideo:mpd:2018" profiles="urn:mpeg:dash:profile:isoff-live:2011" minBufferTime="PT2S"`)
	if static {
		fmt.Fprintf(&b, ` type="static" mediaPresentationDuration="%s">`+"\n", isoDuration(last.Sub(first)))
	} else {
		fmt.Fprintf(&b, ` type="dynamic" availabilityStartTime="%s" publishTime="%s" minimumUpdatePeriod="PT1S" timeShiftBufferDepth="%s" suggestedPresentationDelay="PT3S">`+"\n",
			first.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano), isoDuration(max(last.Sub(first), time.Second)))
	}
	b.WriteString(`  <Period id="0" start="PT0S">` + "\n")
	rep := func(mime, id, codecs, extra string, scale uint32) {
		fmt.Fprintf(&b, `    <AdaptationSet mimeType="%s" segmentAlignment="true" startWithSAP="1">`+"\n", mime)
		fmt.Fprintf(&b, `      <Representation id="%s" codecs="%s" bandwidth="%d"%s>`+"\n", id, codecs, bandwidth(fs), extra)
		fmt.Fprintf(&b, `        <SegmentList timescale="%d" presentationTimeOffset="%d">`+"\n", scale, ticksOf(first, scale))
		fmt.Fprintf(&b, `          <Initialization sourceURL="getMP4InitFragment.mp4?SessionToken=%s"/>`+"\n", xmlTok)
		b.WriteString("          <SegmentTimeline>\n")
		for _, f := range fs {
			st := stamp(&f, ss.Selector)
			fmt.Fprintf(&b, `            <S t="%d" d="%d"/>`+"\n", ticksOf(st, scale), ticksOf(st.Add(f.Duration), scale)-ticksOf(st, scale))
		}
		b.WriteString("          </SegmentTimeline>\n")
		for _, f := range fs {
			fmt.Fprintf(&b, `          <SegmentURL media="getMP4MediaFragment.mp4?FragmentNumber=%s&amp;SessionToken=%s"`, f.Number, xmlTok)
			if ss.ShowNum {
				fmt.Fprintf(&b, ` kvs:fn="%s"`, f.Number)
			}
			if ss.ShowTS {
				fmt.Fprintf(&b, ` kvs:ts="%d"`, stamp(&f, ss.Selector).UnixMilli())
			}
			b.WriteString("/>\n")
		}
		b.WriteString("        </SegmentList>\n      </Representation>\n    </AdaptationSet>\n")
	}
	extra := ""
	if tracks.Video.Width > 0 {
		extra = fmt.Sprintf(` width="%d" height="%d"`, tracks.Video.Width, tracks.Video.Height)
	}
	codecs, _, _ := strings.Cut(tracks.Codecs(), ",")
	rep("video/mp4", "1", codecs, extra, pack.VideoTimeScale)
	b.WriteString("  </Period>\n</MPD>\n")
	return b.Bytes()
}

func ticksOf(t time.Time, scale uint32) int64 {
	ns := t.UnixNano()
	s := int64(scale)
	return ns/1e9*s + ns%1e9*s/1e9
}
