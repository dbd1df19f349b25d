package videoplay

import (
	"bytes"
	"context"
	"encoding/base64"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/video"
	"github.com/rheos/rheos/internal/video/mkv"
)

// Per-image errors (the model's ImageError).
const (
	imageNoMedia    = "NO_MEDIA"
	imageMediaError = "MEDIA_ERROR"
)

// imageOut is the model's Image.
type imageOut struct {
	TimeStamp    float64
	Error        string `json:",omitempty"`
	ImageContent string `json:",omitempty"`
}

// imageRequest is GetImages' input as decoding needs it.
type imageRequest struct {
	format        string // JPEG or PNG
	quality       int    // 1..100 (JPEG)
	width, height int    // 0: the frame's
}

var ffmpegPath struct {
	once sync.Once
	path string
}

// ffmpeg returns the ffmpeg binary, "" when there is none.
func (a *API) ffmpeg() string {
	switch a.cfg.FFmpeg {
	case "-":
		return ""
	case "":
		ffmpegPath.once.Do(func() { ffmpegPath.path, _ = exec.LookPath("ffmpeg") })
		return ffmpegPath.path
	}
	return a.cfg.FFmpeg
}

// getImages serves GetImages: one image every SamplingInterval from
// StartTimestamp to EndTimestamp (at most 300 s apart), each the frame
// shown at that time, decoded by ffmpeg; NO_MEDIA where the stream has no
// fragment, MEDIA_ERROR where decoding fails or ffmpeg is not installed.
// NextToken is the next image's time.
func (a *API) getImages(ctx context.Context, c *awsproto.Call) (any, error) {
	in := c.Input
	sc := a.scope(c.Account, c.Region)
	ref := streamRef(c)
	st, err := a.retained(ctx, sc, ref)
	if err != nil {
		return nil, err
	}
	selector := str(in, "ImageSelectorType")
	start, ok1 := timeOf(in, "StartTimestamp")
	end, ok2 := timeOf(in, "EndTimestamp")
	if !ok1 || !ok2 {
		return nil, invalidArg("StartTimestamp and EndTimestamp are required.")
	}
	if end.Before(start) {
		return nil, invalidArg("EndTimestamp must not be before StartTimestamp.")
	}
	if end.Sub(start) > maxImageSpan {
		return nil, invalidArg("StartTimestamp and EndTimestamp are at most 300 seconds apart.")
	}
	interval := int64(defaultSamplingMs)
	if v, ok := integer(in, "SamplingInterval"); ok {
		if v < minSamplingMs {
			return nil, invalidArg("SamplingInterval must be at least %d ms.", minSamplingMs)
		}
		interval = v
	}
	req := imageRequest{format: str(in, "Format"), quality: 80}
	if q := str(obj(in, "FormatConfig"), "JPEGQuality"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > 100 {
			return nil, invalidArg("FormatConfig JPEGQuality must be an integer from 1 to 100.")
		}
		req.quality = n
	}
	w, hasW := integer(in, "WidthPixels")
	h, hasH := integer(in, "HeightPixels")
	if hasW != hasH {
		return nil, invalidArg("WidthPixels and HeightPixels are given together or not at all.")
	}
	req.width, req.height = int(w), int(h)
	maxResults := defaultImagesPage
	if v, ok := integer(in, "MaxResults"); ok {
		maxResults = int(v)
	}
	at := start
	if tok := str(in, "NextToken"); tok != "" {
		b, err := base64.StdEncoding.DecodeString(tok)
		ms, perr := strconv.ParseInt(string(b), 10, 64)
		if err != nil || perr != nil || ms < start.UnixMilli() || ms > end.UnixMilli() {
			return nil, invalidArg("The NextToken %s is not valid.", tok)
		}
		at = time.UnixMilli(ms)
	}
	out := struct {
		Images    []imageOut
		NextToken string `json:",omitempty"`
	}{Images: []imageOut{}}
	step := time.Duration(interval) * time.Millisecond
	for ; !at.After(end); at = at.Add(step) {
		if len(out.Images) == maxResults {
			out.NextToken = base64.StdEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMilli(), 10)))
			break
		}
		img := imageOut{TimeStamp: epoch(at)}
		content, ierr := a.imageAt(ctx, sc, video.StreamRef{ARN: st.ARN()}, selector, at, req)
		switch {
		case ierr != "":
			img.Error = ierr
		default:
			img.ImageContent = base64.StdEncoding.EncodeToString(content)
		}
		out.Images = append(out.Images, img)
	}
	return out, nil
}

// imageAt decodes the frame shown at t, or names the per-image error.
func (a *API) imageAt(ctx context.Context, sc video.Scope, ref video.StreamRef, selector string, t time.Time, req imageRequest) ([]byte, string) {
	fs, err := a.fragmentsIn(ctx, sc, ref, selector, t, t, 0, true)
	if err != nil || len(fs) == 0 {
		return nil, imageNoMedia
	}
	f := fs[len(fs)-1]
	off := t.Sub(stamp(&f, selector))
	if off > f.Duration {
		return nil, imageNoMedia
	}
	bin := a.ffmpeg()
	if bin == "" {
		return nil, imageMediaError
	}
	fm, err := a.media.ReadFragment(ctx, sc, ref, f.Number)
	if err != nil {
		return nil, imageNoMedia
	}
	img, err := decodeFrame(ctx, bin, mkv.AppendChunk(nil, fm.Header.EBML, fm.Header.Info, fm.Header.Tracks, fm.Cluster, nil), off, req)
	if err != nil {
		return nil, imageMediaError
	}
	return img, ""
}

// decodeFrame runs ffmpeg over one fragment's Matroska: the frame at
// offset from its start, encoded as JPEG or PNG.
func decodeFrame(ctx context.Context, bin string, mkvChunk []byte, offset time.Duration, req imageRequest) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	args := []string{"-hide_banner", "-loglevel", "error", "-f", "matroska", "-i", "pipe:0",
		"-ss", strconv.FormatFloat(max(offset.Seconds(), 0), 'f', 3, 64), "-frames:v", "1", "-an"}
	if req.width > 0 && req.height > 0 {
		args = append(args, "-vf", "scale="+strconv.Itoa(req.width)+":"+strconv.Itoa(req.height))
	}
	if req.format == "PNG" {
		args = append(args, "-c:v", "png", "-f", "image2pipe", "pipe:1")
	} else {
		// JPEGQuality 1..100 onto mjpeg's qscale 31..2.
		q := 31 - (req.quality-1)*29/99
		args = append(args, "-c:v", "mjpeg", "-q:v", strconv.Itoa(q), "-f", "image2pipe", "pipe:1")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = bytes.NewReader(mkvChunk)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	if out.Len() == 0 {
		return nil, exec.ErrNotFound
	}
	return out.Bytes(), nil
}
