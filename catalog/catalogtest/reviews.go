package catalogtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

func (b *bundle) review(t *testing.T, m *catalog.Media, token string, reasons ...string) *catalog.Review {
	t.Helper()
	var rs []catalog.ReviewReason
	for _, c := range reasons {
		rs = append(rs, catalog.ReviewReason{Code: c, Detail: "because " + c})
	}
	r, err := b.st.ReviewOpen(b.ctx, &catalog.ReviewOpenParams{TenantID: m.TenantID, MediaID: m.ID, Filename: m.Filename,
		Kind: m.Kind, Reasons: rs, TaskToken: token, ExecutionID: "exec-" + m.ID})
	ok(t, err)
	return r
}

func testReviewQueue(t *testing.T, b *bundle) {
	audio := b.media(t, catalog.MediaCreateParams{Filename: "a.mp3", Kind: types.KindAudio})
	b.clock.Advance(time.Minute)
	video := b.media(t, catalog.MediaCreateParams{Filename: "v.mp4", Kind: types.KindVideo})
	other := b.media(t, catalog.MediaCreateParams{TenantID: "globex", Kind: types.KindAudio})

	r := b.review(t, audio, "tok-a1", catalog.ReasonLowConfidence, catalog.ReasonTenantPolicy)
	if r.State != catalog.ReviewOpen || r.Round != 1 || r.TaskToken != "tok-a1" || len(r.Reasons) != 2 || r.Filename != "a.mp3" {
		t.Fatalf("opened %+v", r)
	}
	b.clock.Advance(time.Hour)
	ev := event("review-queued-" + video.ID)
	_, err := b.st.ReviewOpen(b.ctx, &catalog.ReviewOpenParams{TenantID: "acme", MediaID: video.ID, Filename: "v.mp4", Kind: types.KindVideo,
		Reasons:  []catalog.ReviewReason{{Code: catalog.ReasonModeration, Detail: "Violence 91%", Times: []float64{3, 7.5}}},
		Priority: 5, TaskToken: "tok-v1", DueAt: b.clock.Now().Add(time.Hour), Events: []catalog.OutboxEvent{ev}})
	ok(t, err)
	b.review(t, other, "tok-o1", catalog.ReasonTenantPolicy)

	// The event went to the outbox with the item.
	evs := must[[]*catalog.OutboxEvent](t)(b.st.OutboxClaim(b.ctx, &catalog.OutboxClaimParams{}))
	if len(evs) != 1 || evs[0].ID != ev.ID {
		t.Fatalf("outbox %+v", evs)
	}

	// A media item of another tenant, or none, cannot be queued.
	_, err = b.st.ReviewOpen(b.ctx, &catalog.ReviewOpenParams{TenantID: "acme", MediaID: other.ID,
		Reasons: []catalog.ReviewReason{{Code: "x"}}, TaskToken: "t"})
	wantCode(t, err, errcode.NotFound)
	_, err = b.st.ReviewOpen(b.ctx, &catalog.ReviewOpenParams{TenantID: "acme", MediaID: audio.ID, TaskToken: "t"})
	wantCode(t, err, errcode.Invalid, "reason")
	_, err = b.st.ReviewOpen(b.ctx, &catalog.ReviewOpenParams{TenantID: "acme", MediaID: audio.ID, TaskToken: "t",
		Reasons: []catalog.ReviewReason{{Code: "Bad Code"}}})
	wantCode(t, err, errcode.Invalid, "reasons/0/code")

	ids := func(p *catalog.ReviewPage) string {
		var s []string
		for _, r := range p.Reviews {
			s = append(s, r.Filename+":"+r.TenantID)
		}
		return strings.Join(s, ",")
	}
	list := func(p catalog.ReviewListParams) string {
		t.Helper()
		if p.TenantID == "" {
			p.TenantID = "acme"
		}
		return ids(must[*catalog.ReviewPage](t)(b.st.ReviewList(b.ctx, &p)))
	}
	// Priority first, then age; by age; by due time; filters.
	for _, c := range []struct {
		p    catalog.ReviewListParams
		want string
	}{
		{catalog.ReviewListParams{}, "v.mp4:acme,a.mp3:acme"},
		{catalog.ReviewListParams{Sort: catalog.ReviewSortAge}, "a.mp3:acme,v.mp4:acme"},
		{catalog.ReviewListParams{Sort: catalog.ReviewSortDue}, "v.mp4:acme,a.mp3:acme"},
		{catalog.ReviewListParams{Reason: catalog.ReasonModeration}, "v.mp4:acme"},
		{catalog.ReviewListParams{Reason: "low_confidence"}, "a.mp3:acme"},
		{catalog.ReviewListParams{Reason: "low"}, ""},
		{catalog.ReviewListParams{Kind: types.KindAudio}, "a.mp3:acme"},
		{catalog.ReviewListParams{OlderThan: 30 * time.Minute}, "a.mp3:acme"},
		{catalog.ReviewListParams{State: catalog.ReviewDone}, ""},
		{catalog.ReviewListParams{TenantID: "globex"}, ":globex"},
	} {
		if got := list(c.p); got != c.want {
			t.Errorf("list %+v = %q, want %q", c.p, got, c.want)
		}
	}
	page := must[*catalog.ReviewPage](t)(b.st.ReviewList(b.ctx, &catalog.ReviewListParams{TenantID: "acme", Limit: 1}))
	if len(page.Reviews) != 1 || page.Next == "" {
		t.Fatalf("page %+v", page)
	}
	page = must[*catalog.ReviewPage](t)(b.st.ReviewList(b.ctx, &catalog.ReviewListParams{TenantID: "acme", Limit: 1, Cursor: page.Next}))
	if ids(page) != "a.mp3:acme" || page.Next != "" {
		t.Fatalf("second page %+v", page)
	}
	for _, p := range []catalog.ReviewListParams{{State: "maybe"}, {Sort: "size"}, {Cursor: "x"}, {Reason: "a,b"}, {Kind: "text"}, {Limit: 501}} {
		p.TenantID = "acme"
		_, err := b.st.ReviewList(b.ctx, &p)
		wantCode(t, err, errcode.Invalid)
	}
	got := b.st.ReviewGet
	r, err = got(b.ctx, &catalog.ReviewGetParams{TenantID: "acme", MediaID: video.ID})
	ok(t, err)
	if r.DueAt == nil || r.Priority != 5 || len(r.Reasons[0].Times) != 2 {
		t.Fatalf("get %+v", r)
	}
	_, err = got(b.ctx, &catalog.ReviewGetParams{TenantID: "globex", MediaID: video.ID})
	wantCode(t, err, errcode.NotFound)

	counts := must[*catalog.ReviewCounts](t)(b.st.ReviewCounts(b.ctx, &catalog.ReviewCountsParams{TenantID: "acme"}))
	if counts.Open != 2 || counts.ByReason[catalog.ReasonModeration] != 1 || counts.ByReason[catalog.ReasonTenantPolicy] != 1 ||
		counts.ByReason[catalog.ReasonLowConfidence] != 1 || counts.Claimed != 0 {
		t.Fatalf("counts %+v", counts)
	}
}

func testReviewClaims(t *testing.T, b *bundle) {
	m := b.media(t, catalog.MediaCreateParams{})
	b.review(t, m, "tok-1", catalog.ReasonTenantPolicy)
	claim := func(who string, lease time.Duration) (*catalog.Review, error) {
		return b.st.ReviewClaim(b.ctx, &catalog.ReviewClaimParams{TenantID: "acme", MediaID: m.ID, Reviewer: who, Lease: lease})
	}
	r, err := claim("ann", time.Minute)
	ok(t, err)
	if r.ClaimedBy != "ann" || r.ClaimExpiresAt == nil {
		t.Fatalf("claim %+v", r)
	}
	_, err = claim("bob", 0)
	wantCode(t, err, errcode.FailedPrecond, "claimed by ann")
	counts := must[*catalog.ReviewCounts](t)(b.st.ReviewCounts(b.ctx, &catalog.ReviewCountsParams{TenantID: "acme"}))
	if counts.Claimed != 1 {
		t.Fatalf("counts %+v", counts)
	}
	// The holder extends; bob cannot release ann's claim.
	_, err = claim("ann", 2*time.Minute)
	ok(t, err)
	_, err = b.st.ReviewRelease(b.ctx, &catalog.ReviewReleaseParams{TenantID: "acme", MediaID: m.ID, Reviewer: "bob"})
	wantCode(t, err, errcode.FailedPrecond, "claimed by ann")
	// A lapsed claim is no claim.
	b.clock.Advance(3 * time.Minute)
	r, err = b.st.ReviewGet(b.ctx, &catalog.ReviewGetParams{TenantID: "acme", MediaID: m.ID})
	ok(t, err)
	if r.ClaimedBy != "" {
		t.Fatalf("lapsed claim still shown: %+v", r)
	}
	_, err = claim("bob", 0)
	ok(t, err)
	// bob's claim keeps ann from deciding.
	_, err = b.st.ReviewDecide(b.ctx, &catalog.ReviewDecideParams{TenantID: "acme", MediaID: m.ID, Reviewer: "ann", Outcome: catalog.OutcomeApproved})
	wantCode(t, err, errcode.FailedPrecond, "claimed by bob")
	r, err = b.st.ReviewRelease(b.ctx, &catalog.ReviewReleaseParams{TenantID: "acme", MediaID: m.ID, Reviewer: "bob"})
	ok(t, err)
	if r.ClaimedBy != "" {
		t.Fatalf("released %+v", r)
	}
	_, err = claim("", 0)
	wantCode(t, err, errcode.Invalid, "reviewer")
	_, err = claim("ann", 48*time.Hour)
	wantCode(t, err, errcode.Invalid, "lease")
	_, err = b.st.ReviewClaim(b.ctx, &catalog.ReviewClaimParams{TenantID: "globex", MediaID: m.ID, Reviewer: "x"})
	wantCode(t, err, errcode.NotFound)
}

func testReviewDecideOnce(t *testing.T, b *bundle) {
	m := b.media(t, catalog.MediaCreateParams{})
	b.review(t, m, "tok-1", catalog.ReasonTenantPolicy)
	decide := func(who, outcome, reason string, round int) (*catalog.Review, error) {
		return b.st.ReviewDecide(b.ctx, &catalog.ReviewDecideParams{TenantID: "acme", MediaID: m.ID, Reviewer: who,
			Outcome: outcome, Reason: reason, Round: round, Version: 3})
	}
	_, err := decide("ann", catalog.OutcomeRejected, " ", 0)
	wantCode(t, err, errcode.Invalid, "reason")
	_, err = decide("ann", "maybe", "", 0)
	wantCode(t, err, errcode.Invalid, "outcome")
	_, err = decide("ann", catalog.OutcomeChangesRequested, "", 0)
	wantCode(t, err, errcode.Invalid, "step")
	_, err = decide("ann", catalog.OutcomeApproved, "", 2)
	wantCode(t, err, errcode.FailedPrecond, "round 1, not 2")

	// Eight reviewers decide at once: one wins, the others are refused.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, refused := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := decide("reviewer-"+string(rune('a'+i)), catalog.OutcomeApproved, "", 1)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errcode.Of(err) == errcode.FailedPrecond && strings.Contains(err.Error(), "already decided"),
				errcode.Of(err) == errcode.FailedPrecond && strings.Contains(err.Error(), "decided meanwhile"):
				refused++
			default:
				t.Errorf("decide: %v", err)
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 || refused != 7 {
		t.Fatalf("wins %d refused %d", wins, refused)
	}
	r, err := b.st.ReviewGet(b.ctx, &catalog.ReviewGetParams{TenantID: "acme", MediaID: m.ID})
	ok(t, err)
	if r.State != catalog.ReviewDecided || r.Decision == nil || r.Decision.Outcome != catalog.OutcomeApproved || r.Decision.Version != 3 ||
		r.Decision.Round != 1 {
		t.Fatalf("decided %+v", r)
	}
	// A double click after the decision is refused, naming it.
	_, err = decide(r.Decision.Reviewer, catalog.OutcomeRejected, "no", 0)
	wantCode(t, err, errcode.FailedPrecond, "already decided", "approved by "+r.Decision.Reviewer)

	// Not yet resumed: listed for the reconciler.
	b.clock.Advance(time.Minute)
	un := must[[]*catalog.Review](t)(b.st.ReviewUnresumed(b.ctx, &catalog.ReviewUnresumedParams{Before: b.clock.Now()}))
	if len(un) != 1 || un[0].MediaID != m.ID || un[0].TaskToken != "tok-1" {
		t.Fatalf("unresumed %+v", un)
	}
	// A resume of another round changes nothing.
	r = must[*catalog.Review](t)(b.st.ReviewResumed(b.ctx, &catalog.ReviewResumedParams{TenantID: "acme", MediaID: m.ID, Round: 2}))
	if r.State != catalog.ReviewDecided {
		t.Fatalf("other round resumed %+v", r)
	}
	r = must[*catalog.Review](t)(b.st.ReviewResumed(b.ctx, &catalog.ReviewResumedParams{TenantID: "acme", MediaID: m.ID, Round: 1}))
	if r.State != catalog.ReviewDone || r.ResumedAt == nil {
		t.Fatalf("resumed %+v", r)
	}
	if un := must[[]*catalog.Review](t)(b.st.ReviewUnresumed(b.ctx, &catalog.ReviewUnresumedParams{Before: b.clock.Now()})); len(un) != 0 {
		t.Fatalf("still unresumed %+v", un)
	}

	// A decision the execution refuses (its task ended) goes back to the
	// queue with the refusal; the next round clears it.
	m2 := b.media(t, catalog.MediaCreateParams{})
	b.review(t, m2, "tok-2", catalog.ReasonTenantPolicy)
	_, err = b.st.ReviewDecide(b.ctx, &catalog.ReviewDecideParams{TenantID: "acme", MediaID: m2.ID, Reviewer: "ann", Outcome: catalog.OutcomeApproved})
	ok(t, err)
	r = must[*catalog.Review](t)(b.st.ReviewResumed(b.ctx, &catalog.ReviewResumedParams{TenantID: "acme", MediaID: m2.ID, Round: 1,
		Refusal: "the review timed out"}))
	if r.State != catalog.ReviewOpen || r.Decision != nil || r.Refusal != "the review timed out" {
		t.Fatalf("refused %+v", r)
	}
	r, err = b.st.ReviewOpen(b.ctx, &catalog.ReviewOpenParams{TenantID: "acme", MediaID: m2.ID, TaskToken: "tok-3", Escalate: true,
		Priority: 10, Reasons: []catalog.ReviewReason{{Code: catalog.ReasonEscalated}}})
	ok(t, err)
	if r.Round != 2 || r.Escalations != 1 || r.TaskToken != "tok-3" || r.Priority != 10 || r.State != catalog.ReviewOpen {
		t.Fatalf("escalated %+v", r)
	}
}

// testReviewVisibleTo: a reviewer's view of the queue is the OPEN items
// and the items whose current decision it took, in every state; a new
// round, or a refused decision, makes an item OPEN (and everyone's) again.
func testReviewVisibleTo(t *testing.T, b *bundle) {
	open := b.media(t, catalog.MediaCreateParams{Filename: "open.wav"})
	mine := b.media(t, catalog.MediaCreateParams{Filename: "mine.wav"})
	theirs := b.media(t, catalog.MediaCreateParams{Filename: "theirs.wav"})
	for i, m := range []*catalog.Media{open, mine, theirs} {
		b.review(t, m, fmt.Sprintf("tok-vis-%d", i), catalog.ReasonTenantPolicy)
	}
	decide := func(m *catalog.Media, who string) {
		t.Helper()
		_, err := b.st.ReviewDecide(b.ctx, &catalog.ReviewDecideParams{TenantID: "acme", MediaID: m.ID, Reviewer: who, Outcome: catalog.OutcomeApproved})
		ok(t, err)
	}
	decide(mine, "reviewer:ann")
	decide(theirs, "reviewer:bob")
	_ = must[*catalog.Review](t)(b.st.ReviewResumed(b.ctx, &catalog.ReviewResumedParams{TenantID: "acme", MediaID: mine.ID, Round: 1}))
	list := func(who, state string) string {
		t.Helper()
		p := must[*catalog.ReviewPage](t)(b.st.ReviewList(b.ctx, &catalog.ReviewListParams{TenantID: "acme", VisibleTo: who, State: state, Sort: catalog.ReviewSortAge}))
		var s []string
		for _, r := range p.Reviews {
			s = append(s, r.Filename)
			if !r.VisibleTo(who) && who != "" {
				t.Errorf("listed for %s but Review.VisibleTo says no: %+v", who, r)
			}
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct{ who, state, want string }{
		{"reviewer:ann", "all", "open.wav,mine.wav"},
		{"reviewer:ann", "", "open.wav"},
		{"reviewer:ann", catalog.ReviewDone, "mine.wav"},
		{"reviewer:bob", "all", "open.wav,theirs.wav"},
		{"reviewer:bob", catalog.ReviewDecided, "theirs.wav"},
		{"reviewer:cat", "all", "open.wav"},
		{"", "all", "open.wav,mine.wav,theirs.wav"},
	} {
		if got := list(c.who, c.state); got != c.want {
			t.Errorf("%s's list of state %q = %q, want %q", c.who, c.state, got, c.want)
		}
	}
	// Bob's decision refused by its execution: the item is OPEN again,
	// and nobody's decision.
	_ = must[*catalog.Review](t)(b.st.ReviewResumed(b.ctx, &catalog.ReviewResumedParams{TenantID: "acme", MediaID: theirs.ID, Round: 1, Refusal: "ended"}))
	if got := list("reviewer:cat", "all"); got != "open.wav,theirs.wav" {
		t.Errorf("after the refusal cat sees %q", got)
	}
	decide(theirs, "reviewer:cat")
	// Ann's item opens a new round (changes requested, back to review):
	// everyone's again; the old decision is forgotten.
	b.review(t, mine, "tok-vis-next", catalog.ReasonChangesRequested)
	if got := list("reviewer:bob", "all"); got != "open.wav,mine.wav" {
		t.Errorf("after the new round bob sees %q", got)
	}
	decide(mine, "reviewer:bob")
	if got := list("reviewer:ann", "all"); got != "open.wav" {
		t.Errorf("after bob decided the new round ann sees %q", got)
	}
}

// testReviewOpenOnce: opening the same round twice (the task that opens
// it ran again) neither starts a new round nor sends its event again;
// rounds opened at once for one item all land, one after the other.
func testReviewOpenOnce(t *testing.T, b *bundle) {
	m := b.media(t, catalog.MediaCreateParams{})
	open := func(token string, evID string) (*catalog.Review, error) {
		return b.st.ReviewOpen(b.ctx, &catalog.ReviewOpenParams{TenantID: "acme", MediaID: m.ID, TaskToken: token,
			Reasons: []catalog.ReviewReason{{Code: catalog.ReasonTenantPolicy}}, Events: []catalog.OutboxEvent{event(evID)}})
	}
	r := must[*catalog.Review](t)(open("tok-once-1", "ev-once-1"))
	again := must[*catalog.Review](t)(open("tok-once-1", "ev-once-1b"))
	if r.Round != 1 || again.Round != 1 || again.TaskToken != "tok-once-1" {
		t.Fatalf("opened %+v, again %+v", r, again)
	}
	evs := must[[]*catalog.OutboxEvent](t)(b.st.OutboxClaim(b.ctx, &catalog.OutboxClaimParams{}))
	if len(evs) != 1 || evs[0].ID != "ev-once-1" {
		t.Fatalf("outbox after opening the same round twice: %d events", len(evs))
	}
	// Four new rounds at once, for a fresh item: none lost, none fails.
	m2 := b.media(t, catalog.MediaCreateParams{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := b.st.ReviewOpen(b.ctx, &catalog.ReviewOpenParams{TenantID: "acme", MediaID: m2.ID, TaskToken: fmt.Sprintf("tok-race-%d", i),
				Reasons: []catalog.ReviewReason{{Code: catalog.ReasonTenantPolicy}}})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(t, err)
	}
	r = must[*catalog.Review](t)(b.st.ReviewGet(b.ctx, &catalog.ReviewGetParams{TenantID: "acme", MediaID: m2.ID}))
	if r.Round != 4 || r.State != catalog.ReviewOpen {
		t.Fatalf("after four rounds at once %+v", r)
	}
}

func testMediaVersions(t *testing.T, b *bundle) {
	m := b.media(t, catalog.MediaCreateParams{})
	add := func(kind string, after int64, body string) (*catalog.MediaVersion, error) {
		return b.st.MediaVersionAdd(b.ctx, &catalog.MediaVersionAddParams{TenantID: "acme", MediaID: m.ID, Kind: kind,
			Author: "ann", Round: 1, Body: json.RawMessage(body), After: after})
	}
	v, err := add(catalog.VersionMachine, 0, `{"transcript":"k"}`)
	ok(t, err)
	if v.Version != 1 {
		t.Fatalf("first version %+v", v)
	}
	b.clock.Advance(time.Second)
	v, err = add(catalog.VersionEdit, 1, `[{"op":"word","before":"a","after":"b"}]`)
	ok(t, err)
	if v.Version != 2 {
		t.Fatalf("second version %+v", v)
	}
	_, err = add(catalog.VersionEdit, 1, `[]`)
	wantCode(t, err, errcode.FailedPrecond, "version 2, not 1")
	if !errors.Is(err, catalog.ErrVersionConflict) {
		t.Fatalf("not a version conflict: %v", err)
	}
	_, err = add("draft", 0, `{}`)
	wantCode(t, err, errcode.Invalid, "kind")
	_, err = add(catalog.VersionEdit, 0, `{`)
	wantCode(t, err, errcode.Invalid, "body")
	_, err = b.st.MediaVersionAdd(b.ctx, &catalog.MediaVersionAddParams{TenantID: "globex", MediaID: m.ID, Kind: catalog.VersionEdit, Author: "x"})
	wantCode(t, err, errcode.NotFound)
	vs := must[[]*catalog.MediaVersion](t)(b.st.MediaVersionList(b.ctx, &catalog.MediaVersionListParams{TenantID: "acme", MediaID: m.ID}))
	if len(vs) != 2 || vs[0].Kind != catalog.VersionMachine || vs[1].Kind != catalog.VersionEdit || vs[1].Author != "ann" ||
		!strings.Contains(string(vs[1].Body), `"before":"a"`) || !vs[1].CreatedAt.After(vs[0].CreatedAt) {
		t.Fatalf("versions %+v", vs)
	}
	_, err = b.st.MediaVersionList(b.ctx, &catalog.MediaVersionListParams{TenantID: "globex", MediaID: m.ID})
	wantCode(t, err, errcode.NotFound)

	// Deleting the media item removes its review and versions.
	b.review(t, m, "tok", catalog.ReasonTenantPolicy)
	_, err = b.st.MediaDelete(b.ctx, &catalog.MediaDeleteParams{TenantID: "acme", ID: m.ID})
	ok(t, err)
	_, err = b.st.ReviewGet(b.ctx, &catalog.ReviewGetParams{TenantID: "acme", MediaID: m.ID})
	wantCode(t, err, errcode.NotFound)
	m2 := b.media(t, catalog.MediaCreateParams{ID: m.ID})
	_ = m2
	vs = must[[]*catalog.MediaVersion](t)(b.st.MediaVersionList(b.ctx, &catalog.MediaVersionListParams{TenantID: "acme", MediaID: m.ID}))
	if len(vs) != 0 {
		t.Fatalf("versions outlived their media: %+v", vs)
	}
}

func testSpeakerSearch(t *testing.T, b *bundle) {
	m := b.media(t, catalog.MediaCreateParams{})
	b.setStatus(t, m.ID, types.StatusProcessing)
	tr := &types.Transcript{Duration: 10, Text: "hello there. general greetings.",
		Words: []types.Word{{Text: "hello", Start: 0, End: 1, Speaker: "spk_0"}, {Text: "there.", Start: 1, End: 2, Speaker: "spk_0"},
			{Text: "general", Start: 4, End: 5, Speaker: "spk_1"}, {Text: "greetings.", Start: 5, End: 6, Speaker: "spk_1"}},
		Segments: []types.Segment{{Start: 0, End: 2, Text: "hello there.", Speaker: "spk_0", WordCount: 2},
			{ID: 1, Start: 4, End: 6, Text: "general greetings.", Speaker: "spk_1", FirstWord: 2, WordCount: 2}},
		Speakers: []types.Speaker{{Label: "spk_0", Seconds: 2}, {Label: "spk_1", Seconds: 2, Name: "Obi-Wan Kenobi"}}}
	_, err := b.st.MediaUpdate(b.ctx, &catalog.MediaUpdateParams{ID: m.ID, Transcript: tr})
	ok(t, err)
	hits := must[[]*catalog.SearchHit](t)(b.st.SearchQuery(b.ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: "kenobi"}))
	if len(hits) != 1 || hits[0].Source != catalog.SourceSpeaker || hits[0].Start != 4 || hits[0].End != 6 {
		t.Fatalf("hits %+v", hits)
	}
	hits = must[[]*catalog.SearchHit](t)(b.st.SearchQuery(b.ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: "kenobi", Source: catalog.SourceSpeaker}))
	if len(hits) != 1 {
		t.Fatalf("hits %+v", hits)
	}
	// A rename replaces the old name.
	tr.Speakers[1].Name = "Ben"
	_, err = b.st.MediaUpdate(b.ctx, &catalog.MediaUpdateParams{ID: m.ID, Transcript: tr})
	ok(t, err)
	if hits := must[[]*catalog.SearchHit](t)(b.st.SearchQuery(b.ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: "kenobi"})); len(hits) != 0 {
		t.Fatalf("old name still found: %+v", hits)
	}
}

func testVocabulary(t *testing.T, b *bundle) {
	sug := func(tenant string, terms ...string) error {
		var ts []catalog.VocabularyTerm
		for _, x := range terms {
			ts = append(ts, catalog.VocabularyTerm{Term: x, Source: "word", MediaID: "m1"})
		}
		return b.st.VocabularySuggest(b.ctx, &catalog.VocabularySuggestParams{TenantID: tenant, Terms: ts})
	}
	ok(t, sug("acme", "Zanzibar", "Ahab", "zanzibar"))
	ok(t, sug("globex", "Initech"))
	list := func(tenant, state string) string {
		t.Helper()
		vs := must[[]*catalog.VocabularyTerm](t)(b.st.VocabularyList(b.ctx, &catalog.VocabularyListParams{TenantID: tenant, State: state}))
		var out []string
		for _, v := range vs {
			out = append(out, fmt.Sprintf("%s/%s/%d", v.Term, v.State, v.Count))
		}
		return strings.Join(out, ",")
	}
	if got := list("acme", ""); got != "Zanzibar/suggested/2,Ahab/suggested/1" {
		t.Fatalf("suggestions %q", got)
	}
	wantCode(t, sug("acme", "two\nlines"), errcode.Invalid, "terms/0/term")
	wantCode(t, sug("initech", "x"), errcode.NotFound)
	_, err := b.st.VocabularyAccept(b.ctx, &catalog.VocabularyAcceptParams{TenantID: "acme", Terms: []string{"Initech"}})
	wantCode(t, err, errcode.NotFound, "not suggestions")
	_, err = b.st.VocabularyAccept(b.ctx, &catalog.VocabularyAcceptParams{TenantID: "acme"})
	wantCode(t, err, errcode.Invalid, "terms")
	acc := must[[]*catalog.VocabularyTerm](t)(b.st.VocabularyAccept(b.ctx, &catalog.VocabularyAcceptParams{TenantID: "acme", Terms: []string{"ZANZIBAR"}, By: "ann"}))
	if len(acc) != 1 || acc[0].Term != "Zanzibar" || acc[0].AcceptedBy != "ann" || acc[0].AcceptedAt == nil {
		t.Fatalf("accepted %+v", acc)
	}
	acc = must[[]*catalog.VocabularyTerm](t)(b.st.VocabularyAccept(b.ctx, &catalog.VocabularyAcceptParams{TenantID: "acme", All: true, By: "ann"}))
	if len(acc) != 1 || acc[0].Term != "Ahab" {
		t.Fatalf("accepted all %+v", acc)
	}
	if got := list("acme", catalog.VocabularyAccepted); got != "Zanzibar/accepted/2,Ahab/accepted/1" {
		t.Fatalf("accepted list %q", got)
	}
	// A term suggested again stays accepted.
	ok(t, sug("acme", "ahab"))
	if got := list("acme", catalog.VocabularySuggested); got != "" {
		t.Fatalf("suggested after re-suggesting an accepted term: %q", got)
	}
	if got := list("globex", ""); got != "Initech/suggested/1" {
		t.Fatalf("globex %q", got)
	}
}
