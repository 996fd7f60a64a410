package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// ---- review queue ----

const reviewCols = `tenant_id, media_id, filename, kind, state, reasons, priority, round, escalations, execution_id,
	task_token, created_at, opened_at, due_at, claimed_by, claim_expires_at, decision, resumed_at, refusal`

func (s *Store) scanReview(sc interface{ Scan(...any) error }) (*catalog.Review, error) {
	r := &catalog.Review{}
	var reasons, decision string
	var kind string
	if err := sc.Scan(&r.TenantID, &r.MediaID, &r.Filename, &kind, &r.State, textScan{&reasons}, &r.Priority, &r.Round,
		&r.Escalations, &r.ExecutionID, &r.TaskToken, timeScan{&r.CreatedAt}, timeScan{&r.OpenedAt}, optTimeScan{&r.DueAt},
		&r.ClaimedBy, optTimeScan{&r.ClaimExpiresAt}, textScan{&decision}, optTimeScan{&r.ResumedAt}, &r.Refusal); err != nil {
		return nil, err
	}
	r.Kind = types.Kind(kind)
	if err := json.Unmarshal([]byte(reasons), &r.Reasons); err != nil {
		return nil, err
	}
	if decision != "" {
		r.Decision = &catalog.ReviewDecision{}
		if err := json.Unmarshal([]byte(decision), r.Decision); err != nil {
			return nil, err
		}
	}
	// A lapsed claim is no claim.
	if r.ClaimExpiresAt != nil && !r.ClaimExpiresAt.After(s.clock()) {
		r.ClaimedBy, r.ClaimExpiresAt = "", nil
	}
	if r.ClaimedBy == "" {
		r.ClaimExpiresAt = nil
	}
	return r, nil
}

func (s *Store) reviewGet(ctx context.Context, qr queryer, tenant, media string, lock bool) (*catalog.Review, error) {
	query := `SELECT ` + reviewCols + ` FROM cat_reviews WHERE tenant_id = ? AND media_id = ?`
	if lock {
		query += s.d.ForUpdate
	}
	r, err := s.scanReview(qr.QueryRowContext(ctx, s.q(query), tenant, media))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errcode.New(errcode.NotFound, "catalog: media %q has no review item", media)
	}
	if err != nil {
		return nil, dbErr(err, "read review")
	}
	return r, nil
}

func reasonCodes(rs []catalog.ReviewReason) string {
	var b strings.Builder
	b.WriteByte(',')
	for _, r := range rs {
		b.WriteString(r.Code)
		b.WriteByte(',')
	}
	return b.String()
}

func (s *Store) ReviewOpen(ctx context.Context, p *catalog.ReviewOpenParams) (*catalog.Review, error) {
	if err := catalog.ValidateReviewOpen(p); err != nil {
		return nil, err
	}
	if err := catalog.ValidateKind("kind", p.Kind); err != nil {
		return nil, err
	}
	if err := catalog.ValidateOutboxEvents("events", p.Events); err != nil {
		return nil, err
	}
	reasons, err := json.Marshal(p.Reasons)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "catalog: reasons")
	}
	var out *catalog.Review
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.mediaGet(ctx, tx, p.MediaID, p.TenantID, false); err != nil {
			return err
		}
		now := s.clock()
		esc := 0
		if p.Escalate {
			esc = 1
		}
		// The first round inserts the row; when it exists already the
		// insert does nothing and the row is read locked, so rounds opened
		// at once (two workers running the same task) take turns on it
		// instead of racing to insert.
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO cat_reviews (tenant_id, media_id, filename, kind, state, reasons,
			reason_codes, priority, round, escalations, execution_id, task_token, created_at, opened_at, due_at, claimed_by,
			claim_expires_at, decision, decided_at, resumed_at, refusal, decided_by)
			VALUES (?, ?, ?, ?, 'OPEN', ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, '', NULL, NULL, NULL, NULL, '', '')
			ON CONFLICT (tenant_id, media_id) DO NOTHING`),
			p.TenantID, p.MediaID, p.Filename, string(p.Kind), string(reasons), reasonCodes(p.Reasons), p.Priority, esc,
			p.ExecutionID, p.TaskToken, s.t(now), s.t(now), s.optT(p.DueAt))
		if err != nil {
			return dbErr(err, "insert review")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			old, err := s.reviewGet(ctx, tx, p.TenantID, p.MediaID, true)
			if err != nil {
				return err
			}
			if old.TaskToken == p.TaskToken {
				// This round is open already (the task that opens it ran
				// again): no new round, no second event.
				out = old
				return nil
			}
			_, err = tx.ExecContext(ctx, s.q(`UPDATE cat_reviews SET filename = ?, kind = ?, state = 'OPEN', reasons = ?,
				reason_codes = ?, priority = ?, round = round + 1, escalations = escalations + ?, execution_id = ?, task_token = ?,
				opened_at = ?, due_at = ?, claimed_by = '', claim_expires_at = NULL, decision = NULL, decided_at = NULL,
				decided_by = '', resumed_at = NULL WHERE tenant_id = ? AND media_id = ? AND round = ?`),
				p.Filename, string(p.Kind), string(reasons), reasonCodes(p.Reasons), p.Priority, esc, p.ExecutionID, p.TaskToken,
				s.t(now), s.optT(p.DueAt), p.TenantID, p.MediaID, old.Round)
			if err != nil {
				return dbErr(err, "reopen review")
			}
		}
		if err := s.outboxInsert(ctx, tx, "events", p.Events); err != nil {
			return err
		}
		out, err = s.reviewGet(ctx, tx, p.TenantID, p.MediaID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) ReviewGet(ctx context.Context, p *catalog.ReviewGetParams) (*catalog.Review, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if err := catalog.ValidateID("media_id", p.MediaID); err != nil {
		return nil, err
	}
	if err := s.live(); err != nil {
		return nil, err
	}
	return s.reviewGet(ctx, s.db, p.TenantID, p.MediaID, false)
}

func (s *Store) ReviewList(ctx context.Context, p *catalog.ReviewListParams) (*catalog.ReviewPage, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if err := s.live(); err != nil {
		return nil, err
	}
	limit, err := limitOf("limit", p.Limit, 50, 500)
	if err != nil {
		return nil, err
	}
	where := []string{"tenant_id = ?"}
	args := []any{p.TenantID}
	if p.VisibleTo != "" {
		where, args = append(where, "(state = 'OPEN' OR decided_by = ?)"), append(args, p.VisibleTo)
	}
	switch p.State {
	case "":
		where = append(where, "state = 'OPEN'")
	case "all":
	case catalog.ReviewOpen, catalog.ReviewDecided, catalog.ReviewDone:
		where, args = append(where, "state = ?"), append(args, p.State)
	default:
		return nil, catalog.Invalidf("state: %q (want OPEN, DECIDED, DONE or all)", p.State)
	}
	if p.Reason != "" {
		if !catalog.ValidReasonCode(p.Reason) {
			return nil, catalog.Invalidf("reason: %q is not a reason code (a-z, 0-9, _)", p.Reason)
		}
		where, args = append(where, "instr(reason_codes, ?) > 0"), append(args, ","+p.Reason+",")
		if s.d.Numbered {
			where[len(where)-1] = "strpos(reason_codes, ?) > 0"
		}
	}
	if p.Kind != "" {
		if err := catalog.ValidateKind("kind", p.Kind); err != nil {
			return nil, err
		}
		where, args = append(where, "kind = ?"), append(args, string(p.Kind))
	}
	if p.OlderThan < 0 {
		return nil, catalog.Invalidf("older_than: negative")
	}
	if p.OlderThan > 0 {
		where, args = append(where, "opened_at <= ?"), append(args, s.t(s.clock().Add(-p.OlderThan)))
	}
	var order string
	switch p.Sort {
	case "", catalog.ReviewSortPriority:
		order = "priority DESC, opened_at, media_id"
	case catalog.ReviewSortAge:
		order = "opened_at, media_id"
	case catalog.ReviewSortDue:
		order = "CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, due_at, opened_at, media_id"
	default:
		return nil, catalog.Invalidf("sort: %q (want priority, age or due)", p.Sort)
	}
	offset := 0
	if p.Cursor != "" {
		n, err := strconv.Atoi(p.Cursor)
		if err != nil || n < 0 {
			return nil, catalog.Invalidf("cursor: %q is not a cursor of this list", p.Cursor)
		}
		offset = n
	}
	query := `SELECT ` + reviewCols + ` FROM cat_reviews WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order +
		` LIMIT ` + strconv.Itoa(limit+1) + ` OFFSET ` + strconv.Itoa(offset)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, dbErr(err, "list reviews")
	}
	defer rows.Close()
	page := &catalog.ReviewPage{Reviews: []*catalog.Review{}}
	for rows.Next() {
		r, err := s.scanReview(rows)
		if err != nil {
			return nil, dbErr(err, "list reviews")
		}
		page.Reviews = append(page.Reviews, r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err, "list reviews")
	}
	if len(page.Reviews) > limit {
		page.Reviews = page.Reviews[:limit]
		page.Next = strconv.Itoa(offset + limit)
	}
	return page, nil
}

func (s *Store) ReviewCounts(ctx context.Context, p *catalog.ReviewCountsParams) (*catalog.ReviewCounts, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if err := s.live(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT reason_codes, claimed_by, claim_expires_at FROM cat_reviews
		WHERE tenant_id = ? AND state = 'OPEN'`), p.TenantID)
	if err != nil {
		return nil, dbErr(err, "count reviews")
	}
	defer rows.Close()
	out := &catalog.ReviewCounts{ByReason: map[string]int64{}}
	now := s.clock()
	for rows.Next() {
		var codes, by string
		var exp *time.Time
		if err := rows.Scan(&codes, &by, optTimeScan{&exp}); err != nil {
			return nil, dbErr(err, "count reviews")
		}
		out.Open++
		if by != "" && exp != nil && exp.After(now) {
			out.Claimed++
		}
		for _, c := range strings.Split(strings.Trim(codes, ","), ",") {
			if c != "" {
				out.ByReason[c]++
			}
		}
	}
	return out, dbErr(rows.Err(), "count reviews")
}

func (s *Store) ReviewClaim(ctx context.Context, p *catalog.ReviewClaimParams) (*catalog.Review, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if err := catalog.ValidateID("media_id", p.MediaID); err != nil {
		return nil, err
	}
	if p.Reviewer == "" {
		return nil, catalog.Invalidf("reviewer: required")
	}
	if err := catalog.ValidateText("reviewer", p.Reviewer, 200); err != nil {
		return nil, err
	}
	lease := p.Lease
	switch {
	case lease == 0:
		lease = 15 * time.Minute
	case lease < 0 || lease > 24*time.Hour:
		return nil, catalog.Invalidf("lease: %s is outside 0..24h", lease)
	}
	var out *catalog.Review
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.reviewGet(ctx, tx, p.TenantID, p.MediaID, true)
		if err != nil {
			return err
		}
		if r.State != catalog.ReviewOpen {
			return catalog.ReviewRefused("review of media %q is %s: there is nothing to claim", p.MediaID, r.State)
		}
		if r.ClaimedBy != "" && r.ClaimedBy != p.Reviewer {
			return catalog.ReviewRefused("review of media %q is claimed by %s until %s", p.MediaID, r.ClaimedBy,
				r.ClaimExpiresAt.Format(time.RFC3339))
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE cat_reviews SET claimed_by = ?, claim_expires_at = ?
			WHERE tenant_id = ? AND media_id = ?`), p.Reviewer, s.t(s.clock().Add(lease)), p.TenantID, p.MediaID); err != nil {
			return dbErr(err, "claim review")
		}
		out, err = s.reviewGet(ctx, tx, p.TenantID, p.MediaID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) ReviewRelease(ctx context.Context, p *catalog.ReviewReleaseParams) (*catalog.Review, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if err := catalog.ValidateID("media_id", p.MediaID); err != nil {
		return nil, err
	}
	var out *catalog.Review
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.reviewGet(ctx, tx, p.TenantID, p.MediaID, true)
		if err != nil {
			return err
		}
		if r.ClaimedBy != "" && r.ClaimedBy != p.Reviewer && !p.Force {
			return catalog.ReviewRefused("review of media %q is claimed by %s, not by %s", p.MediaID, r.ClaimedBy, p.Reviewer)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE cat_reviews SET claimed_by = '', claim_expires_at = NULL
			WHERE tenant_id = ? AND media_id = ?`), p.TenantID, p.MediaID); err != nil {
			return dbErr(err, "release review")
		}
		out, err = s.reviewGet(ctx, tx, p.TenantID, p.MediaID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// decidedBy describes an item's decision for a refusal.
func decidedBy(r *catalog.Review) string {
	if r.Decision == nil {
		return r.State
	}
	return r.Decision.Outcome + " by " + r.Decision.Reviewer + " at " + r.Decision.At.Format(time.RFC3339)
}

func (s *Store) ReviewDecide(ctx context.Context, p *catalog.ReviewDecideParams) (*catalog.Review, error) {
	if err := catalog.ValidateReviewDecide(p); err != nil {
		return nil, err
	}
	if err := catalog.ValidateOutboxEvents("events", p.Events); err != nil {
		return nil, err
	}
	var out *catalog.Review
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.reviewGet(ctx, tx, p.TenantID, p.MediaID, true)
		if err != nil {
			return err
		}
		if r.State != catalog.ReviewOpen {
			return catalog.ReviewRefused("review of media %q was already decided (%s); this decision was not applied",
				p.MediaID, decidedBy(r))
		}
		if p.Round != 0 && p.Round != r.Round {
			return catalog.ReviewRefused("review of media %q is at round %d, not %d (it was decided or escalated meanwhile); reload it and decide again",
				p.MediaID, r.Round, p.Round)
		}
		if r.ClaimedBy != "" && r.ClaimedBy != p.Reviewer {
			return catalog.ReviewRefused("review of media %q is claimed by %s until %s", p.MediaID, r.ClaimedBy,
				r.ClaimExpiresAt.Format(time.RFC3339))
		}
		now := s.clock()
		d := catalog.ReviewDecision{Outcome: p.Outcome, Reason: p.Reason, Reviewer: p.Reviewer, At: now, Round: r.Round,
			Version: p.Version, Step: p.Step, Vocabulary: p.Vocabulary}
		b, err := json.Marshal(&d)
		if err != nil {
			return errcode.Wrap(errcode.Invalid, err, "catalog: decision")
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE cat_reviews SET state = 'DECIDED', decision = ?, decided_at = ?, decided_by = ?,
			claimed_by = '', claim_expires_at = NULL, refusal = '' WHERE tenant_id = ? AND media_id = ? AND state = 'OPEN' AND round = ?`),
			string(b), s.t(now), p.Reviewer, p.TenantID, p.MediaID, r.Round)
		if err != nil {
			return dbErr(err, "decide review")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return catalog.ReviewRefused("review of media %q was decided meanwhile; this decision was not applied", p.MediaID)
		}
		if err := s.outboxInsert(ctx, tx, "events", p.Events); err != nil {
			return err
		}
		out, err = s.reviewGet(ctx, tx, p.TenantID, p.MediaID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) ReviewResumed(ctx context.Context, p *catalog.ReviewResumedParams) (*catalog.Review, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if err := catalog.ValidateID("media_id", p.MediaID); err != nil {
		return nil, err
	}
	if err := catalog.ValidateText("refusal", p.Refusal, 2000); err != nil {
		return nil, err
	}
	if err := catalog.ValidateOutboxEvents("events", p.Events); err != nil {
		return nil, err
	}
	var out *catalog.Review
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.reviewGet(ctx, tx, p.TenantID, p.MediaID, true)
		if err != nil {
			return err
		}
		if r.State != catalog.ReviewDecided || r.Round != p.Round {
			// Already recorded, or a later round opened: nothing to do.
			out = r
			return nil
		}
		if p.Refusal != "" {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE cat_reviews SET state = 'OPEN', decision = NULL, decided_at = NULL,
				decided_by = '', refusal = ? WHERE tenant_id = ? AND media_id = ?`), p.Refusal, p.TenantID, p.MediaID)
		} else {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE cat_reviews SET state = 'DONE', resumed_at = ?
				WHERE tenant_id = ? AND media_id = ?`), s.t(s.clock()), p.TenantID, p.MediaID)
		}
		if err != nil {
			return dbErr(err, "record review resumed")
		}
		if err := s.outboxInsert(ctx, tx, "events", p.Events); err != nil {
			return err
		}
		out, err = s.reviewGet(ctx, tx, p.TenantID, p.MediaID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) ReviewUnresumed(ctx context.Context, p *catalog.ReviewUnresumedParams) ([]*catalog.Review, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	limit, err := limitOf("limit", p.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	before := p.Before
	if before.IsZero() {
		before = s.clock()
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+reviewCols+` FROM cat_reviews WHERE state = 'DECIDED' AND decided_at < ?
		ORDER BY decided_at LIMIT `+strconv.Itoa(limit)), s.t(before))
	if err != nil {
		return nil, dbErr(err, "list unresumed reviews")
	}
	defer rows.Close()
	var out []*catalog.Review
	for rows.Next() {
		r, err := s.scanReview(rows)
		if err != nil {
			return nil, dbErr(err, "list unresumed reviews")
		}
		out = append(out, r)
	}
	return out, dbErr(rows.Err(), "list unresumed reviews")
}

// ---- media versions ----

func (s *Store) MediaVersionAdd(ctx context.Context, p *catalog.MediaVersionAddParams) (*catalog.MediaVersion, error) {
	if err := catalog.ValidateMediaVersionAdd(p); err != nil {
		return nil, err
	}
	body := string(p.Body)
	if body == "" {
		body = "null"
	}
	var out *catalog.MediaVersion
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Lock the media row: versions of one item are numbered one
		// writer at a time.
		if _, err := s.mediaGet(ctx, tx, p.MediaID, p.TenantID, true); err != nil {
			return err
		}
		var last int64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(version), 0) FROM cat_media_versions
			WHERE tenant_id = ? AND media_id = ?`), p.TenantID, p.MediaID).Scan(&last); err != nil {
			return dbErr(err, "read media versions")
		}
		if p.After != 0 && p.After != last {
			return &errcode.Error{Code: errcode.FailedPrecond, Err: catalog.ErrVersionConflict,
				Message: "catalog: media " + strconv.Quote(p.MediaID) + " is at version " + strconv.FormatInt(last, 10) +
					", not " + strconv.FormatInt(p.After, 10) + ": someone changed it meanwhile; reload and edit again"}
		}
		now := s.clock()
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO cat_media_versions (tenant_id, media_id, version, kind, author, round,
			created_at, body, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			p.TenantID, p.MediaID, last+1, p.Kind, p.Author, p.Round, s.t(now), body, p.Note); err != nil {
			return dbErr(err, "add media version")
		}
		out = &catalog.MediaVersion{MediaID: p.MediaID, TenantID: p.TenantID, Version: last + 1, Kind: p.Kind, Author: p.Author,
			Round: p.Round, CreatedAt: now, Body: json.RawMessage(body), Note: p.Note}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) MediaVersionList(ctx context.Context, p *catalog.MediaVersionListParams) ([]*catalog.MediaVersion, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if err := catalog.ValidateID("media_id", p.MediaID); err != nil {
		return nil, err
	}
	if err := s.live(); err != nil {
		return nil, err
	}
	if _, err := s.mediaGet(ctx, s.db, p.MediaID, p.TenantID, false); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT version, kind, author, round, created_at, body, note FROM cat_media_versions
		WHERE tenant_id = ? AND media_id = ? ORDER BY version`), p.TenantID, p.MediaID)
	if err != nil {
		return nil, dbErr(err, "list media versions")
	}
	defer rows.Close()
	out := []*catalog.MediaVersion{}
	for rows.Next() {
		v := &catalog.MediaVersion{MediaID: p.MediaID, TenantID: p.TenantID}
		var body string
		if err := rows.Scan(&v.Version, &v.Kind, &v.Author, &v.Round, timeScan{&v.CreatedAt}, textScan{&body}, &v.Note); err != nil {
			return nil, dbErr(err, "list media versions")
		}
		v.Body = json.RawMessage(body)
		out = append(out, v)
	}
	return out, dbErr(rows.Err(), "list media versions")
}

// ---- vocabulary ----

func (s *Store) VocabularySuggest(ctx context.Context, p *catalog.VocabularySuggestParams) error {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return err
	}
	if len(p.Terms) > 500 {
		return catalog.Invalidf("terms: at most 500 at once")
	}
	for i, t := range p.Terms {
		if err := catalog.ValidateVocabularyTerm("terms/"+strconv.Itoa(i)+"/term", t.Term); err != nil {
			return err
		}
		if err := catalog.ValidateText("terms/"+strconv.Itoa(i)+"/source", t.Source, 32); err != nil {
			return err
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.tenantExists(ctx, tx, "tenant_id", p.TenantID); err != nil {
			return err
		}
		now := s.clock()
		for _, t := range p.Terms {
			term := strings.TrimSpace(t.Term)
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO cat_vocabulary (tenant_id, term_key, term, state, source, media_id, count,
				created_at, accepted_at, accepted_by) VALUES (?, ?, ?, 'suggested', ?, ?, 1, ?, NULL, '')
				ON CONFLICT (tenant_id, term_key) DO UPDATE SET count = cat_vocabulary.count + 1`),
				p.TenantID, strings.ToLower(term), term, t.Source, t.MediaID, s.t(now)); err != nil {
				return dbErr(err, "suggest vocabulary")
			}
		}
		return nil
	})
}

const vocabCols = `tenant_id, term, state, source, media_id, count, created_at, accepted_at, accepted_by`

func scanVocab(sc interface{ Scan(...any) error }) (*catalog.VocabularyTerm, error) {
	v := &catalog.VocabularyTerm{}
	err := sc.Scan(&v.TenantID, &v.Term, &v.State, &v.Source, &v.MediaID, &v.Count, timeScan{&v.CreatedAt}, optTimeScan{&v.AcceptedAt}, &v.AcceptedBy)
	return v, err
}

func (s *Store) VocabularyList(ctx context.Context, p *catalog.VocabularyListParams) ([]*catalog.VocabularyTerm, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if err := s.live(); err != nil {
		return nil, err
	}
	q, args := `SELECT `+vocabCols+` FROM cat_vocabulary WHERE tenant_id = ?`, []any{p.TenantID}
	switch p.State {
	case "":
	case catalog.VocabularySuggested, catalog.VocabularyAccepted:
		q, args = q+` AND state = ?`, append(args, p.State)
	default:
		return nil, catalog.Invalidf("state: %q (want suggested, accepted or none)", p.State)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+` ORDER BY count DESC, term_key LIMIT 5000`), args...)
	if err != nil {
		return nil, dbErr(err, "list vocabulary")
	}
	defer rows.Close()
	out := []*catalog.VocabularyTerm{}
	for rows.Next() {
		v, err := scanVocab(rows)
		if err != nil {
			return nil, dbErr(err, "list vocabulary")
		}
		out = append(out, v)
	}
	return out, dbErr(rows.Err(), "list vocabulary")
}

func (s *Store) VocabularyAccept(ctx context.Context, p *catalog.VocabularyAcceptParams) ([]*catalog.VocabularyTerm, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if !p.All && len(p.Terms) == 0 {
		return nil, catalog.Invalidf("terms: name the suggestions to accept, or accept all")
	}
	if err := catalog.ValidateText("by", p.By, 200); err != nil {
		return nil, err
	}
	var keys []any
	for i, t := range p.Terms {
		if err := catalog.ValidateVocabularyTerm("terms/"+strconv.Itoa(i), t); err != nil {
			return nil, err
		}
		keys = append(keys, strings.ToLower(strings.TrimSpace(t)))
	}
	var out []*catalog.VocabularyTerm
	err := s.tx(ctx, func(tx *sql.Tx) error {
		where, args := `tenant_id = ? AND state = 'suggested'`, []any{p.TenantID}
		if !p.All {
			where += ` AND term_key IN (?` + strings.Repeat(", ?", len(keys)-1) + `)`
			args = append(args, keys...)
		}
		rows, err := tx.QueryContext(ctx, s.q(`SELECT `+vocabCols+` FROM cat_vocabulary WHERE `+where), args...)
		if err != nil {
			return dbErr(err, "read vocabulary")
		}
		for rows.Next() {
			v, err := scanVocab(rows)
			if err != nil {
				rows.Close()
				return dbErr(err, "read vocabulary")
			}
			out = append(out, v)
		}
		rows.Close()
		if !p.All && len(out) != len(keys) {
			return errcode.New(errcode.NotFound, "catalog: %d of the %d terms are not suggestions of tenant %s", len(keys)-len(out), len(keys), p.TenantID)
		}
		now := s.clock()
		upd := append([]any{s.t(now), p.By}, args...)
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE cat_vocabulary SET state = 'accepted', accepted_at = ?, accepted_by = ? WHERE `+where), upd...); err != nil {
			return dbErr(err, "accept vocabulary")
		}
		for _, v := range out {
			v.State, v.AcceptedAt, v.AcceptedBy = catalog.VocabularyAccepted, &now, p.By
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []*catalog.VocabularyTerm{}
	}
	return out, nil
}
