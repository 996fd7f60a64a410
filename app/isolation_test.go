package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/landfall/landfall/analyser/local/speech/stream"
	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/apiserver/sfnapi"
	"github.com/landfall/landfall/apiserver/sqsapi"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/client"
	"github.com/landfall/landfall/types"
)

// knownOpen lists the access cases that are not enforced yet, each with
// the reason, keyed by case: who, then the route or action, as the test
// names it in its failures ("B POST /v1/failures/{id}/redrive", "B side
// effects POST / AWSStepFunctions.StopExecution"). A listed case that
// starts passing fails the test, so the list can only shrink; a listed
// case that no longer exists fails too. Every case is enforced today.
var knownOpen = map[string]string{}

// TestIsolation enumerates every route the server serves (its route
// table with the mounted workflow API expanded, the OpenAPI document's
// paths, and every Step Functions action) and checks, for each, that a
// caller without a credential is refused, that tenant B's key (Bearer, and
// signing with its access key on the Step Functions endpoint) reaches none
// of tenant A's work and changes none of it, that tenant and reviewer keys
// cannot change the installation, that reviewer keys change nothing, and
// that operator keys read nothing of a tenant's, and that reviewer keys
// reach review work only: every route but the review queue's refuses
// them, and a media item of their own tenant's that is not in review is
// refused on every route that names one. After every request the
// admin's view of A's work and of the installation must be unchanged. New
// routes are covered without changing the test.
func TestIsolation(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		runIsolation(t, "")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		runIsolation(t, postgresDB(t, "isolation"))
	})
}

// routeKind is who a route is for.
type routeKind string

const (
	kindPublic   routeKind = "public"   // no credential needed
	kindOperator routeKind = "operator" // metrics: operators and admins
	kindTenant   routeKind = "tenant"   // a tenant's work
	kindShared   routeKind = "shared"   // installation resources every tenant reads (state machines, activities)
	kindAdmin    routeKind = "admin"    // changes the installation
	kindProtocol routeKind = "protocol" // a Step Functions action on a tenant's work
	kindProtoAdm routeKind = "protoadm" // a Step Functions action that changes the installation
)

// tinyPNG is a 1×1 image: small enough that no rule starts the pipeline
// for it, so tenant A's work stays as the test left it.
const tinyPNGBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

// probe is one route to exercise: a REST method and pattern, or a Step
// Functions action.
type probe struct {
	method, pattern string
	action          string // Step Functions action ("" for REST)
	kind            routeKind
	access          apiserver.Access // the route table's access ("" for expanded routes)
}

func (p probe) id() string {
	if p.action != "" {
		return "POST / " + target(p.action)
	}
	return p.method + " " + p.pattern
}

// aState is tenant A's work the probes aim at.
type aState struct {
	mediaID      string // in A's review queue
	notInReview  string // a media item of A's never queued for review
	failureID    int64
	ruleName     string
	smName       string
	smARN        string
	activityName string
	activityARN  string
	execARN      string
	tusID        string // a resumable upload in progress
	liveID       string // a live caption session in progress ("" without the recogniser)
	// taskToken is the token of the activity task an execution of A's
	// waits on (handed to the installation's worker, and leaked here to
	// B's probes).
	taskToken string
}

func runIsolation(t *testing.T, db string) {
	b := keyedApp(t, db)
	st := seedTenantA(t, b)

	probes := enumerateProbes(t, b)
	if len(probes) < 40 {
		t.Fatalf("only %d probes: the route enumeration is broken", len(probes))
	}

	// A's own key reaches A's work: the identifiers are right, so B's
	// refusals below mean something.
	for _, path := range []string{"/v1/media/" + st.mediaID, fmt.Sprintf("/v1/failures/%d", st.failureID), "/v1/executions/" + st.execARN} {
		if r := b.do(t, &b.tenantA, "GET", path, nil, nil); r.status != 200 {
			t.Fatalf("tenant A reading its own %s: %s", path, r)
		}
	}
	if st.liveID != "" {
		// A's live session is listed for A and for nobody else.
		if r := b.do(t, &b.tenantA, "GET", "/v1/live/sessions", nil, nil); r.status != 200 || !strings.Contains(string(r.body), st.liveID) {
			t.Fatalf("tenant A listing its own live sessions: %s", r)
		}
		if r := b.do(t, &b.tenantB, "GET", "/v1/live/sessions", nil, nil); r.status != 200 || strings.Contains(string(r.body), st.liveID) {
			t.Fatalf("tenant B listing live sessions sees A's: %s", r)
		}
		if r := b.do(t, &b.tenantB, "GET", "/v1/live/"+st.liveID+"/captions", nil, nil); r.status != 404 {
			t.Fatalf("tenant B following A's live captions: %s", r)
		}
	}
	if r := b.sfnCall(t, &b.tenantA, "DescribeExecution", map[string]any{"executionArn": st.execARN}, ""); r.status != 200 {
		t.Fatalf("tenant A describing its own execution over the Step Functions protocol: %s", r)
	}

	base := snapshot(t, b, st)
	notInReview := *st
	notInReview.mediaID = st.notInReview
	seen := map[string]bool{}
	check := func(caseID string, ok bool, detail string) {
		t.Helper()
		seen[caseID] = true
		reason, open := knownOpen[caseID]
		switch {
		case ok && open:
			t.Errorf("%s: now enforced; remove it from knownOpen (%s)", caseID, reason)
		case !ok && !open:
			t.Errorf("%s: %s", caseID, detail)
		}
	}
	// sideEffects compares A's work with the baseline, and takes a new
	// baseline after a change so one failure does not mask the next.
	sideEffects := func() string {
		now := snapshot(t, b, st)
		if now == base {
			return ""
		}
		diff := firstDiff(base, now)
		base = now
		return "changed tenant A's work or the installation: " + diff
	}
	leaks := []string{st.mediaID, st.execARN, st.tusID, tenantA, b.tenantA.key.ID}
	// effects checks, as its own case, that who's request changed nothing.
	effects := func(who string, p probe) {
		d := sideEffects()
		check(who+" side effects "+p.id(), d == "", d)
	}
	refused := func(r response) bool { return r.status == 403 || r.code() == "AccessDeniedException" }
	// tenantB checks B's answer on A's work: refused, or (for routes that
	// serve B's own work or the installation's shared resources) nothing
	// of A's in it.
	tenantB := func(who string, p probe, r response) {
		switch p.kind {
		case kindAdmin, kindOperator, kindProtoAdm:
			check(who+" "+p.id(), refused(r), "want 403 or AccessDeniedException, got "+r.String())
			return
		}
		leaked := ""
		if r.status/100 == 2 {
			for _, l := range leaks {
				if strings.Contains(string(r.body), l) {
					leaked = l
				}
			}
		}
		switch {
		case r.status/100 == 2 && leaked != "":
			check(who+" "+p.id(), false, fmt.Sprintf("answered with tenant A's %q: %s", leaked, r))
		case r.status/100 == 2 && p.kind == kindTenant && strings.Contains(p.pattern, "{"),
			r.status/100 == 2 && p.kind == kindProtocol && !ownOrShared(p.action):
			check(who+" "+p.id(), false, "reached tenant A's resource: "+r.String())
		case r.status/100 == 5:
			check(who+" "+p.id(), false, "server error: "+r.String())
		default:
			check(who+" "+p.id(), true, "")
		}
	}

	for _, p := range probes {
		// No credential.
		r := b.send(t, nil, p, st, "")
		switch {
		case p.kind == kindPublic:
			check("none "+p.id(), r.status != 401 && r.status != 403, "public route refused: "+r.String())
			continue
		case p.action != "":
			// The Step Functions endpoint refuses as AWS does.
			check("none "+p.id(), r.status == 403 && r.code() == "MissingAuthenticationTokenException", "want 403 MissingAuthenticationTokenException, got "+r.String())
		default:
			check("none "+p.id(), r.status == 401, "want 401, got "+r.String())
		}
		effects("none", p)

		// Tenant B on A's work, with its Bearer key and, on the Step
		// Functions endpoint, signing with its access key.
		tenantB("B", p, b.send(t, &b.tenantB, p, st, ""))
		effects("B", p)
		if p.action != "" {
			tenantB("B signed", p, b.sendSigned(t, &b.tenantB, p, st))
			effects("B signed", p)
		} else {
			// Tenant B naming tenant A.
			r = b.send(t, &b.tenantB, p, st, tenantA)
			check("B?tenant=A "+p.id(), r.status == 403, "want 403, got "+r.String())
			effects("B?tenant=A", p)
		}

		// Tenant A on the installation.
		if p.kind == kindAdmin || p.kind == kindProtoAdm {
			r = b.send(t, &b.tenantA, p, st, "")
			check("A "+p.id(), refused(r), "want 403 or AccessDeniedException, got "+r.String())
			effects("A", p)
		}

		// A's reviewer changes neither A's work nor the installation.
		if p.kind == kindAdmin || p.kind == kindProtoAdm || p.access == apiserver.AccessTenantWrite {
			r = b.send(t, &b.reviewerA, p, st, "")
			check("reviewer "+p.id(), refused(r), "want 403 or AccessDeniedException, got "+r.String())
			effects("reviewer", p)
		}

		// The operator reads no tenant's work and changes nothing, but
		// for what activity workers do (operator keys run them): poll
		// activity tasks and settle the running ones. Those are not sent
		// here: settling A's task would end it (TestVisionWorker* cover
		// operator workers).
		if p.kind != kindOperator && !workerAction(p.action) {
			r = b.send(t, &b.operator, p, st, "")
			check("operator "+p.id(), refused(r), "want 403 or AccessDeniedException, got "+r.String())
			effects("operator", p)
		}

		// A's reviewer, aiming at A's item that is not in review: the
		// queue-wide review routes answer without it; every other route
		// refuses, saying what a reviewer key reaches.
		r = b.send(t, &b.reviewerA, p, &notInReview, "")
		switch {
		case p.access == apiserver.AccessReview:
			leaked := ""
			for _, l := range []string{st.notInReview, st.execARN, st.tusID, st.taskToken} {
				if strings.Contains(string(r.body), l) {
					leaked = l
				}
			}
			check("reviewer "+p.id(), r.status == 200 && leaked == "", fmt.Sprintf("want 200 without %q, got %s", leaked, r))
		case p.kind == kindAdmin || p.kind == kindOperator:
			check("reviewer "+p.id(), refused(r), "want 403 or AccessDeniedException, got "+r.String())
		default:
			check("reviewer "+p.id(), refused(r) && (p.method == "HEAD" || strings.Contains(string(r.body), "reviewer keys")),
				"want 403 or AccessDeniedException saying what reviewer keys reach, got "+r.String())
		}
		effects("reviewer", p)
	}
	// A's reviewer reaches the item in review: its queue entry (which has
	// no analysis to show: 409, not a refusal), record, signed links and
	// versions.
	for _, path := range []string{"/v1/reviews/" + st.mediaID, "/v1/media/" + st.mediaID, "/v1/media/" + st.mediaID + "/versions"} {
		if r := b.do(t, &b.reviewerA, "GET", path, nil, nil); r.status != 200 && !(r.status == 409 && strings.HasPrefix(path, "/v1/reviews/")) {
			t.Errorf("A's reviewer reading %s of the item in review: %s", path, r)
		}
	}
	if r := b.do(t, &b.reviewerA, "POST", "/v1/media/"+st.mediaID+"/links", nil, nil); r.status != 200 {
		t.Errorf("A's reviewer asking links to the item in review: %s", r)
	}
	if r := b.do(t, &b.reviewerA, "GET", "/v1/reviews?state=all", nil, nil); r.status != 200 || !strings.Contains(string(r.body), st.mediaID) {
		t.Errorf("A's reviewer listing the queue: %s", r)
	}
	// Search: A finds its entries; B's searches, facets and searches within
	// A's file see nothing of A's.
	if r := b.do(t, &b.tenantA, "GET", "/v1/search?q=quokkacanary", nil, nil); r.status != 200 || !strings.Contains(string(r.body), st.mediaID) {
		t.Fatalf("tenant A searching its own entries: %s", r)
	}
	for _, q := range []string{"q=quokkacanary", "q=label:quokkacanary", "q=entity:zebedee", "q=zebedee+canary", "q=quokacanary", "q=canary&facets=true",
		"q=slide+field:ocr", "q=quokkacanary&media_id=" + st.mediaID} {
		r := b.do(t, &b.tenantB, "GET", "/v1/search?"+q, nil, nil)
		// The answer repeats the query; A's entries would show as groups or
		// facet values.
		var res struct {
			Groups []json.RawMessage
			Facets map[string][]struct{ Value string }
		}
		_ = json.Unmarshal(r.body, &res)
		leaked := strings.Contains(string(r.body), st.mediaID) || len(res.Groups) > 0
		for _, vs := range res.Facets {
			for _, v := range vs {
				leaked = leaked || strings.Contains(strings.ToLower(v.Value), "quokka") || strings.Contains(strings.ToLower(v.Value), "zebedee")
			}
		}
		switch {
		case strings.Contains(q, "media_id="):
			check("B search within A's file", r.status == 404 && len(res.Groups) == 0, "want 404, got "+r.String())
		default:
			check("B search "+q, r.status == 200 && !leaked, "want 200 without A's entries, got "+r.String())
		}
		effects("B search", probe{method: "GET", pattern: "/v1/search?" + q})
	}
	t.Logf("%d routes and actions probed, %d access cases checked, %d known open", len(probes), len(seen), len(knownOpen))
	for id, reason := range knownOpen {
		if !seen[id] {
			t.Errorf("knownOpen lists %q (%s), which no longer exists", id, reason)
		}
	}
}

// seedTenantA creates A's work: an uploaded media item and a failure of
// it, a long-running execution, an execution waiting on an activity task
// (its token held by the admin as the installation's worker), a
// resumable upload in progress, and (as admin) the state machines, an
// activity and a rule.
func seedTenantA(t *testing.T, b *keyedBundle) *aState {
	t.Helper()
	ctx := context.Background()
	st := &aState{ruleName: "iso-rule", smName: "iso-wait", activityName: "iso-activity"}
	var sm struct {
		ARN string `json:"stateMachineArn"`
	}
	def := json.RawMessage(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`)
	b.mustJSON(t, &b.admin, "POST", "/v1/state-machines", map[string]any{"name": st.smName, "definition": def}, &sm)
	st.smARN = sm.ARN
	var act struct {
		ARN string `json:"activityArn"`
	}
	b.mustJSON(t, &b.admin, "POST", "/v1/activities", map[string]any{"name": st.activityName}, &act)
	st.activityARN = act.ARN
	rule := map[string]any{"name": st.ruleName, "description": "tenant A's canary", "state": "ENABLED",
		"event_pattern": map[string]any{"source": []string{"iso.canary"}},
		"targets":       []any{map[string]any{"id": "start", "type": "workflow", "state_machine": st.smName}}}
	b.mustJSON(t, &b.admin, "POST", "/v1/rules", rule, nil)

	var x struct {
		ARN string `json:"executionArn"`
	}
	b.mustJSON(t, &b.tenantA, "POST", "/v1/executions", map[string]any{"stateMachine": st.smARN, "name": "iso-canary"}, &x)
	st.execARN = x.ARN

	png, _ := base64.StdEncoding.DecodeString(tinyPNGBase64)
	r := b.do(t, &b.tenantA, "POST", "/v1/uploads?filename=canary.png", http.Header{"Content-Type": {"image/png"}}, png)
	if r.status/100 != 2 {
		t.Fatalf("tenant A upload: %s", r)
	}
	var m catalog.Media
	if err := json.Unmarshal(r.body, &m); err != nil || m.ID == "" || m.TenantID != tenantA {
		t.Fatalf("tenant A upload: %v %s", err, r)
	}
	st.mediaID = m.ID
	// A's search entries: a word said, a label and a person only A has.
	if err := b.app.Catalog.(catalog.SearchIndex).SearchIndexReplace(ctx, &catalog.SearchIndexReplaceParams{TenantID: tenantA, MediaID: m.ID,
		Entries: search.Entries(&catalog.Media{ID: m.ID, Filename: "canary.png", Insights: &types.Insights{
			Labels:   []types.Label{{Name: "Quokkacanary", Timestamps: []float64{1}}},
			Entities: types.Entities{People: []string{"Zebedee Canary"}},
			OCR:      []types.OCRText{{Text: "quokkacanary slide", First: 2, Last: 3}}}}, nil)}); err != nil {
		t.Fatal(err)
	}
	f, err := b.app.Catalog.FailureRecord(ctx, &catalog.FailureRecordParams{MediaID: m.ID, TenantID: tenantA, BucketKey: m.BucketKey,
		ExecutionID: st.execARN, StateName: "W", ErrorName: "Canary.Failed", Cause: "recorded by the isolation test", FailedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	st.failureID = f.ID
	// A second item of A's, never queued for review: out of reach of A's
	// reviewer key.
	other, err := b.app.Catalog.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: tenantA, BucketKey: "incoming/" + tenantA + "/not-in-review.png",
		Filename: "not-in-review.png", Kind: types.KindImage})
	if err != nil {
		t.Fatal(err)
	}
	st.notInReview = other.ID
	// A's media item waits in A's review queue.
	if _, err := b.app.Catalog.ReviewOpen(ctx, &catalog.ReviewOpenParams{TenantID: tenantA, MediaID: m.ID, Filename: m.Filename,
		TaskToken: "isolation-review-token", Reasons: []catalog.ReviewReason{{Code: catalog.ReasonTenantPolicy, Detail: "isolation test"}}}); err != nil {
		t.Fatal(err)
	}

	// An execution of A's waiting on an activity task, whose token the
	// installation's worker (the admin) holds.
	actDef, _ := json.Marshal(map[string]any{"StartAt": "T", "States": map[string]any{"T": map[string]any{"Type": "Task", "Resource": st.activityARN, "End": true}}})
	b.mustJSON(t, &b.admin, "POST", "/v1/state-machines", map[string]any{"name": "iso-activity-task", "definition": json.RawMessage(actDef)}, &sm)
	b.mustJSON(t, &b.tenantA, "POST", "/v1/executions", map[string]any{"stateMachine": sm.ARN, "name": "iso-waits-on-task"}, nil)
	for deadline := time.Now().Add(30 * time.Second); st.taskToken == ""; {
		r := b.sfnCall(t, &b.admin, "GetActivityTask", map[string]any{"activityArn": st.activityARN, "workerName": "iso-worker"}, "")
		var task struct {
			TaskToken string `json:"taskToken"`
		}
		if r.status != 200 || json.Unmarshal(r.body, &task) != nil {
			t.Fatalf("admin GetActivityTask: %s", r)
		}
		st.taskToken = task.TaskToken
		if st.taskToken == "" && time.Now().After(deadline) {
			t.Fatal("no activity task for tenant A's execution")
		}
	}

	// A resumable upload, ten bytes in.
	tus := http.Header{"Tus-Resumable": {"1.0.0"}, "Upload-Length": {"100"}, "Upload-Metadata": {"filename Y2FuYXJ5LmJpbg=="}}
	r = b.do(t, &b.tenantA, "POST", "/v1/uploads/tus/", tus, nil)
	loc := r.header.Get("Location")
	if r.status != 201 || loc == "" {
		t.Fatalf("tenant A resumable upload: %s", r)
	}
	st.tusID = loc[strings.LastIndex(loc, "/")+1:]
	if stream.Built {
		// A live caption session, open for the whole test.
		c := &client.Client{BaseURL: b.srv.URL, APIKey: b.tenantA.plain}
		ls, err := c.Live(ctx, types.LiveStart{Store: new(bool)})
		if err != nil {
			t.Fatalf("tenant A live session: %v", err)
		}
		t.Cleanup(func() { _ = ls.End(context.Background()); _ = ls.Err() })
		m := <-ls.Messages()
		if m.Landfall.Event != "started" {
			t.Fatalf("tenant A live session: %+v", m)
		}
		st.liveID = m.Landfall.SessionID
	}
	r = b.do(t, &b.tenantA, "PATCH", "/v1/uploads/tus/"+st.tusID, http.Header{"Tus-Resumable": {"1.0.0"},
		"Content-Type": {"application/offset+octet-stream"}, "Upload-Offset": {"0"}}, []byte("0123456789"))
	if r.status != 204 {
		t.Fatalf("tenant A resumable upload, first bytes: %s", r)
	}
	return st
}

// enumerateProbes lists every route: the server's table, with mounted
// handlers expanded into the workflow API's routes and the Step Functions
// endpoint into its actions, and the OpenAPI document's operations.
func enumerateProbes(t *testing.T, b *keyedBundle) []probe {
	t.Helper()
	var out []probe
	have := map[string]bool{}
	add := func(p probe) {
		if !have[p.id()] {
			have[p.id()] = true
			out = append(out, p)
		}
	}
	wfRoutes := b.wf.Routes()
	table := b.app.API.Routes()
	// routed reports whether the table serves method and path (a pattern
	// ending in "/" serves its subtree; "{$}" ends a pattern exactly).
	routed := func(method, path string) bool {
		for _, rt := range table {
			// A wildcard to the end ({key...}) is documented as {key}.
			pat := strings.ReplaceAll(strings.TrimSuffix(rt.Pattern, "{$}"), "...}", "}")
			if (rt.Method == "" || rt.Method == method) && (pat == path || strings.HasSuffix(pat, "/") && strings.HasPrefix(path, pat) && !strings.HasSuffix(rt.Pattern, "{$}")) {
				return true
			}
		}
		return false
	}
	for _, rt := range table {
		switch {
		case rt.Method == "POST" && rt.Pattern == "/{$}":
			for _, a := range sfnapi.Actions() {
				add(probe{method: "POST", pattern: "/", action: a, kind: actionKind(a)})
			}
			// The engine's queues over the SQS protocol, on the same
			// endpoint: the installation's, like activity polls.
			for _, a := range sqsapi.Actions() {
				add(probe{method: "POST", pattern: "/", action: "AmazonSQS." + a, kind: kindProtoAdm})
			}
		case rt.Method == "" && rt.Access == apiserver.AccessCaller:
			// A mounted API: its own routes under the prefix.
			n := 0
			for _, wr := range wfRoutes {
				m, path, _ := strings.Cut(wr, " ")
				if path == rt.Pattern || strings.HasSuffix(rt.Pattern, "/") && strings.HasPrefix(path, rt.Pattern) {
					add(probe{method: m, pattern: path, kind: workflowKind(m, path)})
					n++
				}
			}
			if n == 0 && !strings.HasSuffix(rt.Pattern, "/") {
				t.Errorf("mount %s: no listed route serves it, so its access cannot be probed", rt.Pattern)
			}
		case rt.Method == "":
			// A handler of any method over a subtree (resumable uploads):
			// create under the pattern, and act on one of A's below it.
			add(probe{method: "POST", pattern: rt.Pattern, kind: accessKind(rt.Access), access: rt.Access})
			if strings.HasSuffix(rt.Pattern, "/") {
				for _, m := range []string{"HEAD", "PATCH", "DELETE", "GET"} {
					add(probe{method: m, pattern: rt.Pattern + "{id}", kind: accessKind(rt.Access), access: rt.Access})
				}
			}
		default:
			add(probe{method: rt.Method, pattern: rt.Pattern, kind: accessKind(rt.Access), access: rt.Access})
		}
	}
	// The OpenAPI document's operations, in case one is served without a
	// route table entry.
	r := b.do(t, nil, "GET", "/openapi.json", nil, nil)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || len(doc.Paths) == 0 {
		t.Fatalf("openapi.json: %v %s", err, r)
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			m = strings.ToUpper(m)
			if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, m) {
				continue
			}
			if have[m+" "+path] || routed(m, path) {
				continue
			}
			kind := kindTenant
			if path == "/healthz" || path == "/openapi.json" {
				kind = kindPublic
			}
			add(probe{method: m, pattern: path, kind: kind})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id() < out[j].id() })
	return out
}

// workerAction reports whether a Step Functions action is one an activity
// worker with an operator key performs.
func workerAction(action string) bool {
	switch action {
	case "GetActivityTask", "SendTaskHeartbeat", "SendTaskSuccess", "SendTaskFailure":
		return true
	}
	return false
}

func accessKind(a apiserver.Access) routeKind {
	switch a {
	case apiserver.AccessWorker:
		// Activity workers' files: operators and admins holding a running
		// task's token; tenants are refused.
		return kindOperator
	case apiserver.AccessPublic:
		return kindPublic
	case apiserver.AccessOperator:
		return kindOperator
	case apiserver.AccessInstallation:
		return kindAdmin
	}
	return kindTenant
}

// workflowKind classifies a workflow API route: state machines and
// activities are the installation's (tenants may list and describe them),
// polling activity tasks is the installation's workers', executions and
// task tokens are tenants'.
func workflowKind(method, path string) routeKind {
	if strings.HasPrefix(path, "/v1/state-machines") || strings.HasPrefix(path, "/v1/activities") {
		if method == "GET" && !strings.HasSuffix(path, "/tasks") {
			return kindShared
		}
		return kindAdmin
	}
	return kindTenant
}

// actionKind classifies a Step Functions action the same way.
// target is the X-Amz-Target of a probe's action: a Step Functions
// action by name, or another protocol's target in full.
func target(action string) string {
	if strings.Contains(action, ".") {
		return action
	}
	return "AWSStepFunctions." + action
}

// signingService is the service an AWS SDK signs a probe's action for.
func signingService(action string) string {
	if strings.HasPrefix(action, "AmazonSQS.") {
		return "sqs"
	}
	return "states"
}

func actionKind(a string) routeKind {
	if a == "GetActivityTask" {
		return kindProtoAdm
	}
	for _, verb := range []string{"Create", "Update", "Delete", "Tag", "Untag", "Publish"} {
		if strings.HasPrefix(a, verb) && !strings.Contains(a, "Execution") {
			return kindProtoAdm
		}
	}
	return kindProtocol
}

// ownOrShared reports whether a Step Functions action, given tenant A's
// identifiers, may still succeed for tenant B: it lists or starts B's own
// executions, reads the installation's state machines and activities, or
// checks or runs a definition given in the request (TestState,
// ValidateStateMachineDefinition), which addresses nothing stored. Every
// other action addresses A's execution or task token.
func ownOrShared(action string) bool {
	return strings.HasPrefix(action, "List") || strings.HasPrefix(action, "Start") || action == "TestState" || action == "ValidateStateMachineDefinition" ||
		strings.HasPrefix(action, "Describe") && !strings.Contains(action, "Execution") && !strings.Contains(action, "MapRun")
}

// pathValue is the value a probe puts in a path parameter: tenant A's
// resource of the collection the parameter follows.
func pathValue(st *aState, b *keyedBundle, collection, param string) string {
	switch param {
	case "export":
		return "transcript.json"
	case "action":
		return "success"
	}
	switch collection {
	case "media":
		return st.mediaID
	case "failures":
		return fmt.Sprint(st.failureID)
	case "rules":
		return st.ruleName
	case "state-machines":
		return st.smName
	case "executions":
		return url.PathEscape(st.execARN)
	case "activities":
		return st.activityName
	case "tenants":
		return tenantA
	case "keys":
		return b.tenantA.key.ID
	case "tus":
		return st.tusID
	case "live":
		return st.liveID
	}
	return st.mediaID
}

// probeBodies are request bodies for routes that take one; others get {}.
// Each aims at tenant A's work, or changes the installation.
func probeBodies(st *aState) map[string]any {
	def := json.RawMessage(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	return map[string]any{
		"POST /v1/executions":            map[string]any{"stateMachine": st.smARN, "name": "iso-probe", "tenant": tenantA},
		"POST /v1/executions/{arn}/stop": map[string]any{"error": "Probe", "cause": "isolation probe"},
		"POST /v1/tasks/{action}":        map[string]any{"taskToken": st.taskToken, "output": map[string]any{}},
		"POST /v1/state-machines":        map[string]any{"name": "iso-probe", "definition": def},
		"PUT /v1/state-machines/{name}":  map[string]any{"definition": def},
		"POST /v1/activities":            map[string]any{"name": "iso-probe"},
		"POST /v1/rules": map[string]any{"name": st.ruleName, "state": "DISABLED",
			"event_pattern": map[string]any{"source": []string{"iso.probe"}}, "targets": []any{}},
		"POST /v1/events":        map[string]any{"entries": []any{map[string]any{"source": "iso.canary", "detail-type": "Probe", "detail": "{}"}}},
		"POST /v1/admin/tenants": map[string]any{"id": "iso-probe"},
		"POST /v1/admin/keys":    map[string]any{"role": "admin", "name": "iso-probe"},
	}
}

// send makes a probe's request as key (none when nil), naming tenant when
// it is set.
func (b *keyedBundle) send(t *testing.T, key *testKey, p probe, st *aState, tenant string) response {
	t.Helper()
	if p.action != "" {
		return b.sfnCall(t, key, p.action, sfnProbeBody(st), tenant)
	}
	segs := strings.Split(strings.TrimPrefix(p.pattern, "/"), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			name := strings.Trim(s, "{}$.")
			coll := ""
			if i > 0 {
				coll = segs[i-1]
			}
			segs[i] = pathValue(st, b, coll, name)
		}
	}
	path := "/" + strings.Join(segs, "/")
	q := url.Values{}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	hdr := http.Header{"Content-Type": {"application/json"}}
	var body []byte
	switch {
	case p.method == "POST" && p.pattern == "/v1/uploads":
		q.Set("filename", "probe.png")
		hdr.Set("Content-Type", "image/png")
		body, _ = base64.StdEncoding.DecodeString(tinyPNGBase64)
	case strings.HasPrefix(p.pattern, "/v1/uploads/tus"):
		hdr.Set("Tus-Resumable", "1.0.0")
		hdr.Del("Content-Type")
		switch p.method {
		case "POST":
			hdr.Set("Upload-Length", "68")
			hdr.Set("Upload-Metadata", "filename cHJvYmUucG5n")
		case "PATCH":
			hdr.Set("Content-Type", "application/offset+octet-stream")
			hdr.Set("Upload-Offset", "10")
			body = []byte("probe")
		}
	case p.method != "GET" && p.method != "DELETE":
		v, ok := probeBodies(st)[p.id()]
		if !ok {
			v = map[string]any{}
		}
		body, _ = json.Marshal(v)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return b.do(t, key, p.method, path, hdr, body)
}

// sendSigned makes a Step Functions probe's request signed with key's
// access key id and secret access key, as the AWS SDKs sign.
func (b *keyedBundle) sendSigned(t *testing.T, key *testKey, p probe, st *aState) response {
	t.Helper()
	raw, _ := json.Marshal(sfnProbeBody(st))
	req, err := http.NewRequest("POST", b.srv.URL+"/", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", target(p.action))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	sum := sha256.Sum256(raw)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key.accessKeyID, SecretAccessKey: key.secretAccessKey},
		req, hex.EncodeToString(sum[:]), signingService(p.action), "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: rb}
}

// sfnProbeBody names tenant A's execution and the installation's state
// machine and activity in every member a Step Functions action reads.
func sfnProbeBody(st *aState) map[string]any {
	return map[string]any{
		"stateMachineArn": st.smARN, "executionArn": st.execARN, "activityArn": st.activityARN,
		"name": "iso-probe", "definition": `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
		"roleArn": "arn:aws:iam::000000000000:role/probe", "input": "{}", "output": "{}",
		"taskToken": st.taskToken, "error": "Probe", "cause": "isolation probe", "maxResults": 100,
	}
}

// sfnCall makes a Step Functions protocol request with key's Bearer
// credential.
func (b *keyedBundle) sfnCall(t *testing.T, key *testKey, action string, body map[string]any, tenant string) response {
	t.Helper()
	raw, _ := json.Marshal(body)
	path := "/"
	if tenant != "" {
		path += "?tenant=" + url.QueryEscape(tenant)
	}
	return b.do(t, key, "POST", path, http.Header{"X-Amz-Target": {target(action)}, "Content-Type": {"application/x-amz-json-1.0"}}, raw)
}

// snapshot renders tenant A's work and the installation's resources, as
// the admin reads them, in a form that changes only when they do.
func snapshot(t *testing.T, b *keyedBundle, st *aState) string {
	t.Helper()
	get := func(path string, keep ...string) string {
		r := b.do(t, &b.admin, "GET", path, nil, nil)
		if r.status != 200 {
			return fmt.Sprintf("%s: %d", path, r.status)
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("snapshot %s: %v", path, err)
		}
		if len(keep) > 0 {
			v = project(v, keep)
		}
		out, _ := json.Marshal(v)
		return path + " " + string(out)
	}
	a := "?tenant=" + tenantA
	parts := []string{
		get("/v1/executions/"+url.PathEscape(st.execARN), "executionArn", "status", "stopDate", "redriveCount", "tenant"),
		get("/v1/executions"+a, "executionArn", "status", "tenant"),
		get("/v1/media/"+st.mediaID+a, "id", "tenant_id", "filename", "size", "sha256"),
		get("/v1/media"+a, "id", "tenant_id"),
		get(fmt.Sprintf("/v1/failures/%d%s", st.failureID, a), "id", "media_id", "redriven_at", "redrive_execution_id"),
		get("/v1/reviews"+a+"&state=all", "media_id", "state", "round", "claimed_by", "decision", "refusal"),
		get("/v1/media/"+st.mediaID+"/versions"+a, "version", "kind", "author"),
		get("/v1/rules", "name", "state", "spec"),
		get("/v1/state-machines", "stateMachineArn", "name", "definition", "revision"),
		get("/v1/activities", "activityArn", "name"),
		get("/v1/admin/tenants", "id", "disabled_at"),
		get("/v1/admin/keys", "id", "role", "tenant_id", "revoked_at", "expires_at", "generation"),
	}
	r := b.do(t, &b.tenantA, "HEAD", "/v1/uploads/tus/"+st.tusID, http.Header{"Tus-Resumable": {"1.0.0"}}, nil)
	parts = append(parts, fmt.Sprintf("tus %s: %d offset %s of %s", st.tusID, r.status, r.header.Get("Upload-Offset"), r.header.Get("Upload-Length")))
	return strings.Join(parts, "\n")
}

// project keeps only the named members of every object in v (at any
// depth under arrays and wrapper objects).
func project(v any, keep []string) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = project(e, keep)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		matched := false
		for _, k := range keep {
			if e, ok := x[k]; ok {
				out[k] = e
				matched = true
			}
		}
		if matched {
			return out
		}
		// A wrapper ({"executions": [...], "nextToken": …}): project
		// its arrays.
		for k, e := range x {
			if _, ok := e.([]any); ok {
				out[k] = project(e, keep)
			}
		}
		return out
	}
	return v
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range al {
		if i < len(bl) && al[i] != bl[i] {
			return fmt.Sprintf("\nbefore: %s\nafter:  %s", al[i], bl[i])
		}
	}
	return "(lines added or removed)"
}
