package tokenctl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	// mpb: a maintained, dependency-light progress-bar library (multi-bar,
	// EWMA rate and ETA decorators, dynamic totals, clean abort) used by
	// many Go CLIs; writing a bar that redraws correctly on every terminal
	// is not worth doing by hand.
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/spf13/cobra"
)

// errInterrupted is the error of long work stopped by Ctrl-C: its message
// says how to resume, and Run prints it.
var errInterrupted = errors.New("interrupted")

// progress shows how far long work is: a live bar with rate and ETA when
// stderr is a terminal, else a plain line every Options.ProgressEvery (logs
// and CI get no escape codes). It goes to stderr only, so stdout stays data.
type progress struct {
	name, unit string
	w          io.Writer
	every      time.Duration

	mu                sync.Mutex
	total, cur, base  int64
	start, last, tick time.Time

	p   *mpb.Progress
	bar *mpb.Bar
}

// newProgress starts showing work named name counted in unit; total 0 is
// unknown, done is what an earlier run already did (a resume).
func (a *app) newProgress(cmd *cobra.Command, name, unit string, total, done int64) *progress {
	now := time.Now()
	pr := &progress{name: name, unit: unit, w: cmd.ErrOrStderr(), every: a.o.ProgressEvery, total: total, cur: done, base: done,
		start: now, last: now, tick: now}
	if f, ok := pr.w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		pr.p = mpb.New(mpb.WithOutput(pr.w), mpb.WithWidth(36), mpb.WithRefreshRate(150*time.Millisecond))
		counters := decor.Current(0, "%d "+unit)
		if total > 0 {
			counters = decor.CountersNoUnit("%d/%d " + unit)
		}
		pr.bar = pr.p.AddBar(0,
			mpb.PrependDecorators(decor.Name(name+" "), counters),
			mpb.AppendDecorators(
				decor.OnComplete(decor.Percentage(decor.WCSyncSpace), "done"),
				decor.EwmaSpeed(0, " %.0f "+unit+"/s", 30),
				decor.OnComplete(decor.Name(" ETA "), ""),
				decor.OnComplete(decor.EwmaETA(decor.ET_STYLE_GO, 30), ""),
			))
		if total > 0 {
			pr.bar.SetTotal(total, false)
		}
		pr.bar.SetCurrent(done)
	}
	return pr
}

// set records that n units are done. A nil progress shows nothing.
func (pr *progress) set(n int64) {
	if pr == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	now := time.Now()
	if pr.bar != nil {
		if pr.total > 0 && n > pr.total {
			pr.total = n
			pr.bar.SetTotal(n, false)
		}
		pr.bar.EwmaSetCurrent(n, now.Sub(pr.last))
	} else if now.Sub(pr.tick) >= pr.every {
		pr.tick = now
		fmt.Fprintln(pr.w, pr.line(n, now))
	}
	pr.cur, pr.last = n, now
}

// line is a plain progress line: done, percent, rate and ETA.
func (pr *progress) line(n int64, now time.Time) string {
	elapsed := now.Sub(pr.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(n-pr.base) / elapsed.Seconds()
	}
	if pr.total <= 0 {
		return fmt.Sprintf("%s: %d %s, %.0f %s/s", pr.name, n, pr.unit, rate, pr.unit)
	}
	eta := "?"
	if rate > 0 && n <= pr.total {
		eta = (time.Duration(float64(pr.total-n)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("%s: %d/%d %s (%.0f %%), %.0f %s/s, ETA %s", pr.name, n, pr.total, pr.unit,
		100*float64(n)/float64(pr.total), rate, pr.unit, eta)
}

// finish stops showing progress: complete when err is nil, else aborted
// where it stands.
func (pr *progress) finish(err error) {
	if pr == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.bar != nil {
		if err == nil {
			pr.bar.SetTotal(-1, true)
		} else {
			pr.bar.Abort(false)
		}
		pr.p.Wait()
		return
	}
	elapsed := time.Since(pr.start).Round(time.Millisecond)
	if err == nil {
		fmt.Fprintf(pr.w, "%s: done, %d %s in %s\n", pr.name, pr.cur, pr.unit, elapsed)
		return
	}
	fmt.Fprintf(pr.w, "%s: stopped at %d %s after %s\n", pr.name, pr.cur, pr.unit, elapsed)
}
