package export

import (
	"archive/zip"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/graphauth/graphauth/internal/notemd"
	"github.com/graphauth/graphauth/internal/onenote"
)

// How an export runs: workers (as many as the OneNote budget allows at once) fetch pages and
// their images and attachments, each page staged to files on disk; one writer takes the staged
// pages in OneNote's order and streams them into one zip on disk. Memory holds a few pages,
// never the notebook; disk holds the zip and at most `window` staged pages, and is bounded by
// MaxBytes. The onenote client paces every request to Graph's budget and retries 429s, 5xx
// and time-outs; a page that still fails is named in export-report.md, never dropped.

// jobState is the running job's record, shared by the writer and the heartbeat.
type jobState struct {
	mu       sync.Mutex
	j        Job
	problems []Problem // all of them, for the report
}

func (s *jobState) update(f func(j *Job)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.j)
}

func (s *jobState) snapshot() Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.j
	j.Problems = append([]Problem(nil), s.j.Problems...)
	return j
}

// maxProblemsInRecord bounds the job record; the report lists them all.
const maxProblemsInRecord = 20

func (s *jobState) problem(p Problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, p)
	if len(s.j.Problems) < maxProblemsInRecord {
		s.j.Problems = append(s.j.Problems, p)
	}
}

// diskBudget counts the bytes a job has on disk (zip + staged files).
type diskBudget struct {
	used atomic.Int64
	max  int64
}

func (d *diskBudget) take(n int64) error {
	if d.used.Add(n) > d.max {
		return ErrTooLarge
	}
	return nil
}

func (d *diskBudget) give(n int64) { d.used.Add(-n) }

// budgetWriter counts what is written against the budget and fails once it is spent.
type budgetWriter struct {
	w io.Writer
	d *diskBudget
	n int64
}

func (b *budgetWriter) Write(p []byte) (int, error) {
	if err := b.d.take(int64(len(p))); err != nil {
		return 0, err
	}
	n, err := b.w.Write(p)
	b.n += int64(n)
	return n, err
}

type runner struct {
	src         Source
	scope       Scope
	dir         string // the job's own directory
	st          *jobState
	disk        *diskBudget
	concurrency int
	plan        *plan
	failed      map[int]bool // pages not exported (the writer's only)
	zipPath     string
}

// staged is a fetched page waiting for the writer.
type staged struct {
	content   string            // file holding the page's HTML
	size      int64             // bytes staged (content and resources)
	resources []notemd.Resource // in reading order
	files     map[string]string // resource id -> staged file, for those fetched
	lost      []Problem         // images and attachments that could not be fetched
	err       error             // the page itself could not be fetched or read
}

// execute plans, fetches and writes the zip at r.zipPath.
func (r *runner) execute(ctx context.Context) error {
	r.st.update(func(j *Job) { j.Phase = "listing" })
	p, err := makePlan(ctx, r.src, r.scope, r.concurrency, func(n int) {
		r.st.update(func(j *Job) { j.Pages = n })
	})
	if err != nil {
		return err
	}
	r.plan = p
	r.failed = map[int]bool{}
	for _, pr := range p.problems {
		r.st.problem(pr)
	}
	r.st.update(func(j *Job) {
		j.ScopeName, j.Pages, j.Phase = p.name, len(p.pages), "exporting"
		j.FileName = notemd.FileName(p.name) + ".zip"
	})

	r.zipPath = filepath.Join(r.dir, "export.zip")
	f, err := os.OpenFile(r.zipPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(&budgetWriter{w: f, d: r.disk}, 64<<10)
	zw := zip.NewWriter(bw)

	// Workers stage pages; the writer waits for page i, so slots are filled in any order.
	n := len(p.pages)
	slots := make([]chan staged, n)
	for i := range slots {
		slots[i] = make(chan staged, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// window bounds the pages fetched ahead of the writer (disk and memory).
	window := make(chan struct{}, 4*r.concurrency)
	next := make(chan int)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(next)
		for i := range n {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	})
	for range r.concurrency {
		wg.Go(func() {
			for i := range next {
				slots[i] <- r.stage(ctx, i)
			}
		})
	}
	defer func() {
		cancel()
		wg.Wait()
		// Staged files of pages never written are removed with the job's directory.
	}()

	for i := range n {
		r.st.update(func(j *Job) { j.Current = p.pages[i].meta.Title })
		var s staged
		select {
		case s = <-slots[i]:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		err := r.write(ctx, zw, i, s)
		r.disk.give(s.size)
		<-window
		if err != nil {
			return err
		}
	}
	r.st.update(func(j *Job) { j.Current = "" })
	if err := r.writeIndexes(zw); err != nil {
		return err
	}
	if err := r.writeReport(zw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finish the zip: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("finish the zip: %w", err)
	}
	return f.Close()
}

// stage fetches page i and its resources into files of the job's directory.
func (r *runner) stage(ctx context.Context, i int) (s staged) {
	pg := r.plan.pages[i]
	content, err := r.src.PageContent(ctx, pg.meta.ID)
	if err != nil {
		return staged{err: err}
	}
	res, err := notemd.Resources(content)
	if err != nil {
		return staged{err: fmt.Errorf("read the page's HTML: %w", err)}
	}
	s = staged{resources: res, files: map[string]string{}}
	s.content = filepath.Join(r.dir, "p"+strconv.Itoa(i)+".html")
	if err := r.disk.take(int64(len(content))); err != nil {
		s.size, s.err = int64(len(content)), err
		return s
	}
	s.size += int64(len(content))
	if err := os.WriteFile(s.content, content, 0o600); err != nil {
		s.err = err
		return s
	}
	for k, res := range res {
		name := filepath.Join(r.dir, "p"+strconv.Itoa(i)+"-"+strconv.Itoa(k))
		n, err := r.fetch(ctx, res.ID, name)
		s.size += n
		if err != nil {
			if errors.Is(err, ErrTooLarge) || ctx.Err() != nil {
				s.err = err
				return s
			}
			pr := problemOf(err)
			pr.Item = itemName(res)
			s.lost = append(s.lost, pr)
			continue
		}
		s.files[res.ID] = name
	}
	return s
}

// fetch streams one resource to a file. onenote retries before the first byte; a body cut off
// half-way is fetched again, twice at most.
func (r *runner) fetch(ctx context.Context, id, name string) (int64, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var n int64
		n, err = r.fetchOnce(ctx, id, name)
		if err == nil || errors.Is(err, ErrTooLarge) || ctx.Err() != nil || isGraphError(err) {
			return n, err
		}
		r.disk.give(n)
	}
	return 0, err
}

func isGraphError(err error) bool {
	var oe *onenote.Error
	return errors.As(err, &oe) || errors.Is(err, onenote.ErrInvalidID)
}

func (r *runner) fetchOnce(ctx context.Context, id, name string) (int64, error) {
	res, err := r.src.Resource(ctx, id)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	f, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	bw := &budgetWriter{w: f, d: r.disk}
	_, err = io.Copy(bw, res.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return bw.n, err
}

// write adds page i to the zip: its Markdown, then its images and attachments under assets/.
func (r *runner) write(ctx context.Context, zw *zip.Writer, i int, s staged) error {
	pg := r.plan.pages[i]
	fail := func(err error) {
		pr := problemOf(err)
		pr.Page, pr.Section = pg.meta.Title, pg.section
		r.st.problem(pr)
		r.failed[i] = true
		r.st.update(func(j *Job) { j.PagesDone++; j.PagesFailed++ })
	}
	if s.err != nil {
		if errors.Is(s.err, ErrTooLarge) || ctx.Err() != nil {
			return s.err
		}
		fail(s.err)
		return nil
	}
	content, err := os.ReadFile(s.content)
	if err != nil {
		return err
	}
	_ = os.Remove(s.content)
	content, links := r.plan.rewriteLinks(content, pg.dir)

	var ok []notemd.Resource
	for _, res := range s.resources {
		if s.files[res.ID] != "" {
			ok = append(ok, res)
		}
	}
	pf := PlanPage(pg.meta.Title, ok, &pg.dir.assets)
	md, err := PageMarkdown(content, pf)
	if err != nil {
		fail(err)
		return nil
	}
	md = fixLinks(md, links)
	modified := pg.meta.LastModified
	if err := writeText(zw, pg.path(), modified, md); err != nil {
		return err
	}
	images, files := 0, 0
	for _, res := range ok {
		if err := r.copyStaged(zw, join(pg.dir.path, pf.Assets[res.ID]), modified, s.files[res.ID]); err != nil {
			return err
		}
		if res.Kind == "attachment" {
			files++
		} else {
			images++
		}
	}
	for _, pr := range s.lost {
		pr.Page, pr.Section = pg.meta.Title, pg.section
		r.st.problem(pr)
	}
	r.st.update(func(j *Job) {
		j.PagesDone++
		j.Images += images
		j.Attachments += files
		j.AssetsLost += len(s.lost)
	})
	return nil
}

func (r *runner) copyStaged(zw *zip.Writer, name string, modified time.Time, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close(); _ = os.Remove(file) }()
	// Images and PDFs are compressed already: store them as they are.
	return writeFile(zw, name, modified, zip.Store, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	})
}

// writeIndexes writes index.md in every folder: its sub-folders and pages, in OneNote's order.
func (r *runner) writeIndexes(zw *zip.Writer) error {
	failed := r.failed
	for _, f := range r.plan.folders {
		var b strings.Builder
		fmt.Fprintf(&b, "# %s\n\n", mdText(f.title))
		if f == r.plan.root {
			fmt.Fprintf(&b, "Exported from OneNote. What was and was not exported: [export report](%s).\n\n", reportName)
		}
		if len(f.entries) == 0 {
			b.WriteString("(no pages)\n")
		}
		for _, e := range f.entries {
			switch {
			case e.folder:
				fmt.Fprintf(&b, "- [%s/](%s/index.md)\n", mdText(e.title), url.PathEscape(e.name))
			case failed[e.page]:
				fmt.Fprintf(&b, "- %s (not exported: see the export report)\n", mdText(e.title))
			default:
				fmt.Fprintf(&b, "- [%s](%s)\n", mdText(e.title), url.PathEscape(e.name))
			}
		}
		if err := writeText(zw, join(f.path, "index.md"), time.Now(), b.String()); err != nil {
			return err
		}
	}
	return nil
}

// writeReport writes export-report.md: the counts, and every page, image or attachment that
// was not exported with Graph's error code and the number of attempts.
func (r *runner) writeReport(zw *zip.Writer) error {
	j := r.st.snapshot()
	r.st.mu.Lock()
	problems := append([]Problem(nil), r.st.problems...)
	r.st.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "# Export report: %s\n\n", mdText(r.plan.name))
	fmt.Fprintf(&b, "Exported from OneNote (%s) on %s.\n\n", j.Kind, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Pages exported: %d of %d\n", j.PagesDone-j.PagesFailed, j.Pages)
	fmt.Fprintf(&b, "- Images: %d\n- Attachments: %d\n", j.Images, j.Attachments)
	fmt.Fprintf(&b, "- Pages not exported: %d\n- Images and attachments not exported: %d\n\n", j.PagesFailed, j.AssetsLost)
	if len(problems) == 0 {
		b.WriteString("Everything was exported.\n")
	} else {
		b.WriteString("## Not exported\n\n| Page | Section | Image or attachment | Error code | HTTP status | Attempts | Why |\n|---|---|---|---|---|---|---|\n")
		for _, p := range problems {
			status, attempts := "", ""
			if p.Status != 0 {
				status = strconv.Itoa(p.Status)
			}
			if p.Attempts != 0 {
				attempts = strconv.Itoa(p.Attempts)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(p.Page), cell(p.Section), cell(p.Item),
				cell(p.Code), status, attempts, cell(p.Reason))
		}
	}
	return writeText(zw, reportName, time.Now(), b.String())
}

// mdText escapes what would start Markdown syntax in a title used as link text or heading.
func mdText(s string) string {
	return strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, "*", `\*`, "_", `\_`, "`", "\\`", "<", `\<`, "\n", " ").Replace(s)
}

func cell(s string) string { return strings.ReplaceAll(mdText(s), "|", `\|`) }

func itemName(r notemd.Resource) string {
	if r.Name != "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.ID
}

// problemOf describes a failed call for the report: Graph's code and status, the attempts, why.
func problemOf(err error) Problem {
	p := Problem{Reason: err.Error()}
	var oe *onenote.Error
	if errors.As(err, &oe) {
		p.Code, p.Status, p.Attempts = oe.Code, oe.Status, oe.Attempts
	}
	switch {
	case errors.Is(err, onenote.ErrNotFound):
		p.Reason = "Graph says it does not exist (deleted or moved while the export ran)"
	case errors.Is(err, onenote.ErrThrottled):
		p.Reason = "Graph kept throttling the app after every retry"
	case errors.Is(err, onenote.ErrUnavailable):
		p.Reason = "Graph was unavailable or too slow after every retry"
	case errors.Is(err, onenote.ErrTooLarge):
		p.Reason = "the page's HTML is larger than the app accepts (16 MiB)"
	case errors.Is(err, onenote.ErrScope), errors.Is(err, onenote.ErrUnauthenticated):
		p.Reason = "Graph refused the app's access token"
	case oe != nil:
		p.Reason = oe.Error()
	}
	return p
}
