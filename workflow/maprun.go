package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Map run statuses, as Step Functions names them.
const (
	mapRunRunning   = "RUNNING"
	mapRunSucceeded = "SUCCEEDED"
	mapRunFailed    = "FAILED"
	mapRunAborted   = "ABORTED"
)

// MapRun is the run of a distributed Map state: its iterations are the
// run's child executions (one per item, or per batch of an ItemBatcher).
type MapRun struct {
	ARN          string     `json:"mapRunArn"`
	ExecutionARN string     `json:"executionArn"`
	StateName    string     `json:"stateName"`
	Status       string     `json:"status"`
	StartDate    time.Time  `json:"startDate"`
	StopDate     *time.Time `json:"stopDate,omitempty"`
	// MaxConcurrency is how many iterations run at once.
	MaxConcurrency int `json:"maxConcurrency"`
	// ToleratedFailureCount and ToleratedFailurePercentage are -1 when
	// the Map sets none.
	ToleratedFailureCount      int     `json:"toleratedFailureCount"`
	ToleratedFailurePercentage float64 `json:"toleratedFailurePercentage"`
	// Items counts the Map's items by the state of the iteration that
	// holds them; Executions counts the iterations.
	Items, Executions MapRunCounts

	// frameID and gen locate the iterations: the Map frame's children of
	// that generation.
	frameID string
	gen     int64
}

// MapRunCounts counts a map run's items or child executions.
type MapRunCounts struct {
	Pending   int `json:"pending"`
	Running   int `json:"running"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	TimedOut  int `json:"timedOut"`
	Aborted   int `json:"aborted"`
	Total     int `json:"total"`
	// ResultsWritten counts the ended ones whose results a ResultWriter
	// wrote (all of them once the run succeeded with one).
	ResultsWritten int `json:"resultsWritten"`
}

// ---- in a transition ----

// startMapRun takes a distributed Map's items out of its frame into the
// map run's rows, so that each iteration's transition reads only its own
// item, and records the run.
func (t *txn) startMapRun(f *frameRow, cs *childSpec, out outcome) error {
	id := uuidLike()
	arn := t.e.arn("mapRun", smNameOf(t.exec.smARN)+"/"+out.stateName+":"+id)
	d, err := t.prog.detachMapItems(f.frame, arn)
	if err != nil {
		return err
	}
	f.frame = d.frame
	cs.Run, cs.Tmpl = arn, d.template
	if t.runItems == nil {
		t.runItems = map[string][]json.RawMessage{}
	}
	t.runItems[arn] = d.items
	// A run that does not commit leaves an entry nothing asks for.
	t.e.mapItems.put(arn, d.items)
	st := t.e.st
	t.mapRuns = append(t.mapRuns, st.MapRunInsertStmt(&mapRunInsertParams{ARN: arn, ExecutionARN: t.exec.arn, FrameID: f.id, Gen: cs.Gen,
		Path: f.path, StateName: out.stateName, Total: len(d.items), MaxConcurrency: out.maxConcurrency,
		ToleratedCount: out.toleratedCount, ToleratedPercent: out.toleratedPercent, StartUS: micros(t.now)}))
	t.mapRuns = append(t.mapRuns, st.MapItemInsertStmts(&mapItemInsertParams{Run: arn, Items: d.items, Sizes: d.sizes})...)
	return nil
}

// mapItem reads item i of the total of map run run: from the items this
// process keeps, which a run of at most cachedRunItems items is read
// into at its first use here, or from its row.
func (t *txn) mapItem(run string, i, total int) (json.RawMessage, error) {
	items, ok := t.runItems[run]
	if !ok {
		items, ok = t.e.mapItems.get(run)
	}
	if !ok && total <= cachedRunItems {
		var err error
		if items, err = t.e.st.MapItemList(t.ctx, t.tx, &mapItemGetParams{Run: run}); err != nil {
			return nil, err
		}
		if len(items) != total {
			return nil, fmt.Errorf("map run %s: %d items stored, want %d", run, len(items), total)
		}
		t.e.mapItems.put(run, items)
		ok = true
	}
	if ok {
		if i < 0 || i >= len(items) {
			return nil, fmt.Errorf("map run %s: no item %d of %d", run, i, len(items))
		}
		return items[i], nil
	}
	item, err := t.e.st.MapItemGet(t.ctx, t.tx, &mapItemGetParams{Run: run, Index: i})
	if errors.Is(err, errNoRows) {
		return nil, fmt.Errorf("map run %s: no item %d", run, i)
	}
	return item, err
}

// mapRunItems reads every item of map run run, in order.
func (t *txn) mapRunItems(run string, total int) ([]json.RawMessage, error) {
	if items, ok := t.runItems[run]; ok {
		return items, nil
	}
	if items, ok := t.e.mapItems.get(run); ok {
		t.e.mapItems.drop(run)
		return items, nil
	}
	items, err := t.e.st.MapItemList(t.ctx, t.tx, &mapItemGetParams{Run: run})
	if err != nil {
		return nil, err
	}
	if len(items) != total {
		return nil, fmt.Errorf("map run %s: %d items stored, want %d", run, len(items), total)
	}
	return items, nil
}

// mapRunEnd sets the status of map run run (none when run is empty).
func (t *txn) mapRunEnd(run, status string) {
	if run == "" {
		return
	}
	var stop int64
	if status != mapRunRunning {
		stop = micros(t.now)
	}
	t.mapRuns = append(t.mapRuns, t.e.st.MapRunStatusStmt(&mapRunStatusParams{ARN: run, Status: status, StopUS: stop}))
}

// cachedRunItems is the most items of one map run a process keeps in
// memory; a larger run's iterations each read their item's row.
const cachedRunItems = 100000

// cachedItemBytes bounds the bytes of the items kept (least recently used
// runs go first).
const cachedItemBytes = 64 << 20

// itemCache keeps the items of recent map runs, which never change once
// stored: an iteration's transition finds its item without a query.
type itemCache struct {
	mu    sync.Mutex
	runs  map[string]*cachedRun
	bytes int
	clock int64
}

type cachedRun struct {
	items []json.RawMessage
	bytes int
	used  int64
}

func (c *itemCache) get(run string) ([]json.RawMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.runs[run]
	if !ok {
		return nil, false
	}
	c.clock++
	r.used = c.clock
	return r.items, true
}

func (c *itemCache) put(run string, items []json.RawMessage) {
	n := 0
	for _, it := range items {
		n += len(it) + 24
	}
	if len(items) > cachedRunItems || n > cachedItemBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs == nil {
		c.runs = map[string]*cachedRun{}
	}
	if old, ok := c.runs[run]; ok {
		c.bytes -= old.bytes
	}
	c.clock++
	c.runs[run] = &cachedRun{items: items, bytes: n, used: c.clock}
	c.bytes += n
	for c.bytes > cachedItemBytes {
		var oldest string
		var at int64 = -1
		for k, r := range c.runs {
			if at < 0 || r.used < at {
				oldest, at = k, r.used
			}
		}
		c.bytes -= c.runs[oldest].bytes
		delete(c.runs, oldest)
	}
}

func (c *itemCache) drop(run string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.runs[run]; ok {
		c.bytes -= r.bytes
		delete(c.runs, run)
	}
}

// ---- API ----

// ListMapRuns lists the map runs of an execution, oldest first, paged by
// limit (default 100, at most 1000) and the token of the previous page.
func (e *Engine) ListMapRuns(ctx context.Context, execARN string, limit int, next string) ([]MapRun, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	after, err := pageIndex(next)
	if err != nil {
		return nil, "", err
	}
	var runs []MapRun
	err = e.b.run(ctx, func(tx dbtx) error {
		var err error
		runs, err = e.st.MapRunList(ctx, tx, &mapRunListParams{ExecutionARN: execARN, Offset: after, Limit: limit + 1})
		if err != nil {
			return err
		}
		for i := range runs {
			if i == limit {
				break
			}
			if err := e.st.MapRunCount(ctx, tx, &runs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if len(runs) > limit {
		return runs[:limit], strconv.Itoa(after + limit), nil
	}
	return runs, "", nil
}

// DescribeMapRun describes a map run with the counts of its items and
// child executions.
func (e *Engine) DescribeMapRun(ctx context.Context, arn string) (*MapRun, error) {
	var run *MapRun
	err := e.b.run(ctx, func(tx dbtx) error {
		var err error
		if run, err = e.st.MapRunGet(ctx, tx, arn); err != nil {
			return err
		}
		return e.st.MapRunCount(ctx, tx, run)
	})
	if errors.Is(err, errNoRows) {
		return nil, errcode.New(errcode.NotFound, "map run %s does not exist", arn)
	}
	return run, err
}

// ListMapRunExecutions lists the child executions of a map run (one per
// iteration), in item order, paged like ListMapRuns. Their ARNs name the
// run and the iteration's index.
func (e *Engine) ListMapRunExecutions(ctx context.Context, arn string, status string, limit int, next string) ([]Execution, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	after, err := pageIndex(next)
	if err != nil {
		return nil, "", err
	}
	var out []Execution
	err = e.b.run(ctx, func(tx dbtx) error {
		run, err := e.st.MapRunGet(ctx, tx, arn)
		if err != nil {
			return err
		}
		out, err = e.st.MapRunChildList(ctx, tx, &mapRunChildListParams{Run: run, Status: status, AfterIndex: after, Limit: limit + 1})
		return err
	})
	if errors.Is(err, errNoRows) {
		return nil, "", errcode.New(errcode.NotFound, "map run %s does not exist", arn)
	}
	if err != nil {
		return nil, "", err
	}
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1].Name
		idx, _ := strconv.Atoi(last[strings.LastIndexByte(last, '-')+1:])
		return out, strconv.Itoa(idx + 1), nil
	}
	return out, "", nil
}

// MapRunExecution returns the execution a map run belongs to, for access
// checks.
func (e *Engine) MapRunExecution(ctx context.Context, arn string) (string, error) {
	run, err := e.DescribeMapRun(ctx, arn)
	if err != nil {
		return "", err
	}
	return run.ExecutionARN, nil
}

func pageIndex(next string) (int, error) {
	if next == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(next)
	if err != nil || n < 0 {
		return 0, errcode.New(errcode.Invalid, "nextToken %q is not a token this server issued", next)
	}
	return n, nil
}

// ---- store ----

// mapRunStore holds map runs and their items.
type mapRunStore interface {
	MapRunInsertStmt(p *mapRunInsertParams) stmt
	// MapItemInsertStmts stores a run's items, 500 a statement.
	MapItemInsertStmts(p *mapItemInsertParams) []stmt
	MapRunStatusStmt(p *mapRunStatusParams) stmt
	// MapRunAbortStmt aborts the running map runs of an execution whose
	// Map frame's path starts with Prefix.
	MapRunAbortStmt(p *mapRunAbortParams) stmt
	MapItemGet(ctx context.Context, tx dbtx, p *mapItemGetParams) (json.RawMessage, error)
	// MapItemList reads all of a run's items in order.
	MapItemList(ctx context.Context, tx dbtx, p *mapItemGetParams) ([]json.RawMessage, error)
	MapRunGet(ctx context.Context, tx dbtx, arn string) (*MapRun, error)
	MapRunList(ctx context.Context, tx dbtx, p *mapRunListParams) ([]MapRun, error)
	// MapRunCount fills a run's item and child execution counts.
	MapRunCount(ctx context.Context, tx dbtx, run *MapRun) error
	// MapRunChildList lists a run's iterations as child executions.
	MapRunChildList(ctx context.Context, tx dbtx, p *mapRunChildListParams) ([]Execution, error)
}

var _ mapRunStore = (*sqlStore)(nil)

type mapRunInsertParams struct {
	ARN, ExecutionARN, FrameID, Path, StateName string
	Gen                                         int64
	Total, MaxConcurrency, ToleratedCount       int
	ToleratedPercent                            float64
	StartUS                                     int64
}

type mapItemInsertParams struct {
	Run   string
	Items []json.RawMessage
	Sizes []int
}

type mapItemGetParams struct {
	Run   string
	Index int
}

type mapRunStatusParams struct {
	ARN, Status string
	StopUS      int64
}

type mapRunAbortParams struct {
	ExecutionARN, Prefix string
	StopUS               int64
}

type mapRunListParams struct {
	ExecutionARN  string
	Offset, Limit int
}

type mapRunChildListParams struct {
	Run        *MapRun
	Status     string
	AfterIndex int
	Limit      int
}

func (s *sqlStore) MapRunInsertStmt(p *mapRunInsertParams) stmt {
	return stmt{`INSERT INTO wf_map_runs (arn, execution_arn, frame_id, gen, path, state_name, status, total, max_concurrency, tolerated_count, tolerated_percent, start_us) VALUES (` +
		s.seq(1, 12) + `)`, []any{p.ARN, p.ExecutionARN, p.FrameID, p.Gen, p.Path, p.StateName, mapRunRunning, p.Total, p.MaxConcurrency,
		p.ToleratedCount, p.ToleratedPercent, p.StartUS}}
}

// MapItemInsertStmts stores a run's items, 500 a statement.
func (s *sqlStore) MapItemInsertStmts(p *mapItemInsertParams) []stmt {
	const per, rows = 4, 500
	var out []stmt
	for start := 0; start < len(p.Items); start += rows {
		end := min(start+rows, len(p.Items))
		var q strings.Builder
		q.WriteString(`INSERT INTO wf_map_items (run, idx, item, n) VALUES `)
		args := make([]any, 0, (end-start)*per)
		for i := start; i < end; i++ {
			if i > start {
				q.WriteByte(',')
			}
			q.WriteString("(" + s.seq((i-start)*per+1, per) + ")")
			args = append(args, p.Run, i, string(p.Items[i]), p.Sizes[i])
		}
		out = append(out, stmt{q.String(), args})
	}
	return out
}

func (s *sqlStore) MapRunStatusStmt(p *mapRunStatusParams) stmt {
	return stmt{`UPDATE wf_map_runs SET status = ` + s.placeholder(1) + `, stop_us = ` + s.placeholder(2) + ` WHERE arn = ` + s.placeholder(3),
		[]any{p.Status, p.StopUS, p.ARN}}
}

// MapRunAbortStmt aborts the running map runs of an execution whose Map
// frame's path starts with Prefix.
func (s *sqlStore) MapRunAbortStmt(p *mapRunAbortParams) stmt {
	return stmt{`UPDATE wf_map_runs SET status = 'ABORTED', stop_us = ` + s.placeholder(1) + ` WHERE execution_arn = ` + s.placeholder(2) +
		` AND status = 'RUNNING' AND path LIKE ` + s.placeholder(3) + ` ESCAPE '\'`, []any{p.StopUS, p.ExecutionARN, likePrefix(p.Prefix)}}
}

func (s *sqlStore) MapItemGet(ctx context.Context, tx dbtx, p *mapItemGetParams) (json.RawMessage, error) {
	var item string
	err := tx.queryRow(ctx, `SELECT item FROM wf_map_items WHERE run = `+s.placeholder(1)+` AND idx = `+s.placeholder(2), p.Run, p.Index).Scan(&item)
	return json.RawMessage(item), err
}

func (s *sqlStore) MapItemList(ctx context.Context, tx dbtx, p *mapItemGetParams) ([]json.RawMessage, error) {
	r, err := tx.query(ctx, `SELECT item FROM wf_map_items WHERE run = `+s.placeholder(1)+` ORDER BY idx`, p.Run)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []json.RawMessage
	for r.Next() {
		var item string
		if err := r.Scan(&item); err != nil {
			return nil, err
		}
		out = append(out, json.RawMessage(item))
	}
	return out, r.Err()
}

const mapRunCols = `arn, execution_arn, frame_id, gen, state_name, status, max_concurrency, tolerated_count, tolerated_percent, start_us, stop_us`

func scanMapRun(r row) (MapRun, error) {
	var run MapRun
	var start, stop int64
	if err := r.Scan(&run.ARN, &run.ExecutionARN, &run.frameID, &run.gen, &run.StateName, &run.Status, &run.MaxConcurrency,
		&run.ToleratedFailureCount, &run.ToleratedFailurePercentage, &start, &stop); err != nil {
		return run, err
	}
	run.StartDate = fromMicros(start)
	if stop > 0 {
		t := fromMicros(stop)
		run.StopDate = &t
	}
	return run, nil
}

func (s *sqlStore) MapRunGet(ctx context.Context, tx dbtx, arn string) (*MapRun, error) {
	run, err := scanMapRun(tx.queryRow(ctx, `SELECT `+mapRunCols+` FROM wf_map_runs WHERE arn = `+s.placeholder(1), arn))
	if err != nil {
		return nil, err
	}
	return &run, nil
}

func (s *sqlStore) MapRunList(ctx context.Context, tx dbtx, p *mapRunListParams) ([]MapRun, error) {
	r, err := tx.query(ctx, `SELECT `+mapRunCols+` FROM wf_map_runs WHERE execution_arn = `+s.placeholder(1)+
		` ORDER BY start_us, arn LIMIT `+strconv.Itoa(p.Limit)+` OFFSET `+strconv.Itoa(p.Offset), p.ExecutionARN)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []MapRun
	for r.Next() {
		run, err := scanMapRun(r)
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, r.Err()
}

// executionStatusOf is the status of the child execution of an iteration
// whose frame has status status.
func executionStatusOf(status string) string {
	switch status {
	case frameSucceeded:
		return StatusSucceeded
	case frameFailed:
		return StatusFailed
	case frameCanceled:
		return StatusAborted
	}
	return StatusRunning
}

// MapRunCount fills a run's counts from its iterations' frames and its
// items' rows: an item is pending until its iteration's frame exists.
func (s *sqlStore) MapRunCount(ctx context.Context, tx dbtx, run *MapRun) error {
	r, err := tx.query(ctx, `SELECT f.status, COUNT(*), SUM(i.n) FROM wf_frames f JOIN wf_map_items i ON i.run = `+s.placeholder(1)+` AND i.idx = f.idx
		WHERE f.parent_id = `+s.placeholder(2)+` AND f.gen = `+s.placeholder(3)+` GROUP BY f.status`, run.ARN, run.frameID, run.gen)
	if err != nil {
		return err
	}
	defer r.Close()
	run.Items, run.Executions = MapRunCounts{}, MapRunCounts{}
	for r.Next() {
		var status string
		var execs, items int
		if err := r.Scan(&status, &execs, &items); err != nil {
			return err
		}
		for _, c := range []struct {
			counts *MapRunCounts
			n      int
		}{{&run.Items, items}, {&run.Executions, execs}} {
			switch executionStatusOf(status) {
			case StatusSucceeded:
				c.counts.Succeeded += c.n
			case StatusFailed:
				c.counts.Failed += c.n
			case StatusAborted:
				c.counts.Aborted += c.n
			default:
				c.counts.Running += c.n
			}
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	var execs, items int
	if err := tx.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(n), 0) FROM wf_map_items WHERE run = `+s.placeholder(1), run.ARN).Scan(&execs, &items); err != nil {
		return err
	}
	for _, c := range []struct {
		counts *MapRunCounts
		total  int
	}{{&run.Items, items}, {&run.Executions, execs}} {
		c.counts.Total = c.total
		c.counts.Pending = c.total - c.counts.Succeeded - c.counts.Failed - c.counts.Aborted - c.counts.Running
		if run.Status == mapRunSucceeded {
			c.counts.ResultsWritten = c.counts.Succeeded + c.counts.Failed
		}
	}
	return nil
}

// MapRunChildList lists a run's iterations as child executions.
func (s *sqlStore) MapRunChildList(ctx context.Context, tx dbtx, p *mapRunChildListParams) ([]Execution, error) {
	q := `SELECT idx, status, created_us, updated_us, output, error, cause FROM wf_frames WHERE parent_id = ` + s.placeholder(1) +
		` AND gen = ` + s.placeholder(2) + ` AND idx >= ` + s.placeholder(3)
	args := []any{p.Run.frameID, p.Run.gen, p.AfterIndex}
	switch p.Status {
	case "":
	case StatusSucceeded:
		q += ` AND status = 'succeeded'`
	case StatusFailed:
		q += ` AND status = 'failed'`
	case StatusAborted:
		q += ` AND status = 'canceled'`
	case StatusRunning:
		q += ` AND status NOT IN ('succeeded', 'failed', 'canceled')`
	default:
		return []Execution{}, nil
	}
	r, err := tx.query(ctx, q+` ORDER BY idx LIMIT `+strconv.Itoa(p.Limit), args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	run := p.Run
	// A child's ARN is the run's, as an execution: …:execution:MACHINE/STATE:RUN-ID-INDEX.
	base := strings.Replace(run.ARN, ":mapRun:", ":execution:", 1)
	machine := base[:strings.LastIndexByte(base, ':')]
	machine = strings.Replace(machine, ":execution:", ":stateMachine:", 1)
	out := []Execution{}
	for r.Next() {
		var idx int
		var status string
		var created, updated int64
		var output, errName, cause *string
		if err := r.Scan(&idx, &status, &created, &updated, &output, &errName, &cause); err != nil {
			return nil, err
		}
		name := base[strings.LastIndexByte(base, ':')+1:] + "-" + strconv.Itoa(idx)
		x := Execution{ARN: base + "-" + strconv.Itoa(idx), StateMachineARN: machine, Name: name, Status: executionStatusOf(status),
			StartDate: fromMicros(created), Error: deref(errName), Cause: deref(cause)}
		if x.Status != StatusRunning {
			t := fromMicros(updated)
			x.StopDate = &t
			if output != nil {
				x.Output = json.RawMessage(*output)
			}
		}
		out = append(out, x)
	}
	return out, r.Err()
}
