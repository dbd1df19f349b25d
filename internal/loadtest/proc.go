package loadtest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Rheos runs on (`getconf CLK_TCK`).
const clockTicks = 100

// rssInterval is how often the server's resident set is sampled.
const rssInterval = 100 * time.Millisecond

// procCPU returns the CPU time (user + system) process pid has used, from
// /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces; the
	// fields after it start with field 3 (state). utime and stime are 14, 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	utime, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// procStatusKiB returns a "kB" field of /proc/PID/status, such as VmRSS.
func procStatusKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte(field+":"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(string(f[0]), 10, 64)
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// rssSampler records the largest VmRSS of a process, sampled every
// rssInterval by a goroutine that start launches and stop ends and waits for.
type rssSampler struct {
	pid  int
	done chan struct{}
	wg   sync.WaitGroup

	mu   sync.Mutex
	peak int64 // KiB
}

func (s *rssSampler) start() {
	s.done = make(chan struct{})
	s.sample()
	s.wg.Go(func() {
		t := time.NewTicker(rssInterval)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				s.sample()
			}
		}
	})
}

func (s *rssSampler) sample() {
	kb, err := procStatusKiB(s.pid, "VmRSS")
	if err != nil {
		return // the process may have exited; the peak so far stands
	}
	s.mu.Lock()
	s.peak = max(s.peak, kb)
	s.mu.Unlock()
}

// stop ends sampling, takes a last sample and returns the peak in KiB.
func (s *rssSampler) stop() int64 {
	close(s.done)
	s.wg.Wait()
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}
