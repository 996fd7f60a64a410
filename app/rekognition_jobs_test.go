package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/internal/snsmsg"
	"github.com/landfall/landfall/internal/snsmsg/snstest"
	"github.com/landfall/landfall/types"
)

const (
	rekTopic = "arn:aws:sns:eu-west-1:111122223333:AmazonRekognitionLandfall"
	rekRole  = "arn:aws:iam::111122223333:role/LandfallRekognitionPublish"
)

// rekJob is one Rekognition Video job of the loopback service.
type rekJob struct {
	id, api, tag, token string
	done                bool
}

// rekGet is one GetLabelDetection/GetContentModeration call.
type rekGet struct {
	op, job, next string
	max           int
}

// fakeRekognition is a loopback Amazon Rekognition (and the S3 bucket a
// video is staged in) speaking the service's JSON protocol: video jobs
// stay IN_PROGRESS until the test ends them; their results come in two
// pages (NextToken); images are labelled at once.
type fakeRekognition struct {
	srv  *httptest.Server
	t    *testing.T
	mu   sync.Mutex
	jobs []*rekJob
	gets []rekGet
}

func newFakeRekognition(t *testing.T) *fakeRekognition {
	f := &fakeRekognition{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRekognition) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &body)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "RekognitionService.")
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(v)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch op {
	case "":
		if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/staging/landfall-staging/") {
			return // S3 PutObject of the staged video
		}
		f.t.Errorf("unexpected call %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusBadRequest)
	case "DetectLabels":
		reply(map[string]any{"LabelModelVersion": "3.0", "Labels": []any{
			map[string]any{"Name": "Harbour", "Confidence": 91.5, "Instances": []any{}, "Parents": []any{map[string]any{"Name": "Water"}}}}})
	case "DetectModerationLabels":
		reply(map[string]any{"ModerationModelVersion": "7.0", "ModerationLabels": []any{}})
	case "StartLabelDetection", "StartContentModeration":
		ch, _ := body["NotificationChannel"].(map[string]any)
		video, _ := body["Video"].(map[string]any)
		s3o, _ := video["S3Object"].(map[string]any)
		if ch["SNSTopicArn"] != rekTopic || ch["RoleArn"] != rekRole {
			f.t.Errorf("%s: notification channel %v", op, ch)
		}
		if s3o["Bucket"] != "staging" || !strings.HasPrefix(fmt.Sprint(s3o["Name"]), "landfall-staging/") {
			f.t.Errorf("%s: video %v is not the staged file", op, s3o)
		}
		token, _ := body["ClientRequestToken"].(string)
		tag, _ := body["JobTag"].(string)
		for _, j := range f.jobs {
			if j.token == token && j.api == op {
				reply(map[string]any{"JobId": j.id}) // idempotent start
				return
			}
		}
		j := &rekJob{id: fmt.Sprintf("%064x", len(f.jobs)+1), api: op, tag: tag, token: token}
		f.jobs = append(f.jobs, j)
		reply(map[string]any{"JobId": j.id})
	case "GetLabelDetection", "GetContentModeration":
		id, _ := body["JobId"].(string)
		next, _ := body["NextToken"].(string)
		max, _ := body["MaxResults"].(float64)
		f.gets = append(f.gets, rekGet{op: op, job: id, next: next, max: int(max)})
		var job *rekJob
		for _, j := range f.jobs {
			if j.id == id {
				job = j
			}
		}
		if job == nil {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"ResourceNotFoundException","Message":"no such job"}`)
			return
		}
		if !job.done {
			reply(map[string]any{"JobStatus": "IN_PROGRESS"})
			return
		}
		reply(rekPage(op, next))
	default:
		f.t.Errorf("unexpected Rekognition call %s", op)
		w.WriteHeader(http.StatusBadRequest)
	}
}

// rekPage is one page of a finished job's results, as GetLabelDetection
// and GetContentModeration answer (Timestamp in milliseconds): the first
// page holds the first shot's detections and a NextToken, the second the
// second shot's.
func rekPage(op, next string) map[string]any {
	meta := map[string]any{"Codec": "h264", "DurationMillis": 6000, "Format": "QuickTime / MOV", "FrameRate": 25, "FrameHeight": 240, "FrameWidth": 320}
	if op == "GetLabelDetection" {
		label := func(ts int, name string, conf float64, parents ...string) map[string]any {
			ps := []any{}
			for _, p := range parents {
				ps = append(ps, map[string]any{"Name": p})
			}
			l := map[string]any{"Name": name, "Confidence": conf, "Parents": ps, "Instances": []any{}}
			if name == "Boat" {
				l["Instances"] = []any{map[string]any{"Confidence": conf, "BoundingBox": map[string]any{"Width": 0.5, "Height": 0.25, "Left": 0.1, "Top": 0.2}}}
			}
			return map[string]any{"Timestamp": ts, "Label": l}
		}
		if next == "" {
			return map[string]any{"JobStatus": "SUCCEEDED", "LabelModelVersion": "3.0", "VideoMetadata": meta, "NextToken": "page-2",
				"Labels": []any{label(500, "Boat", 88.25, "Vehicle", "Transportation"), label(500, "Water", 95.5), label(1500, "Boat", 92.75, "Vehicle")}}
		}
		return map[string]any{"JobStatus": "SUCCEEDED", "LabelModelVersion": "3.0", "VideoMetadata": meta,
			"Labels": []any{label(3500, "Lighthouse", 81, "Building"), label(4500, "Water", 90)}}
	}
	flag := func(ts int, name, parent string, conf float64, level int) map[string]any {
		return map[string]any{"Timestamp": ts, "ModerationLabel": map[string]any{"Name": name, "ParentName": parent, "Confidence": conf, "TaxonomyLevel": level}}
	}
	if next == "" {
		return map[string]any{"JobStatus": "SUCCEEDED", "ModerationModelVersion": "7.0", "VideoMetadata": meta, "NextToken": "page-2",
			"ModerationLabels": []any{flag(1000, "Alcohol", "", 70.5, 1)}}
	}
	return map[string]any{"JobStatus": "SUCCEEDED", "ModerationModelVersion": "7.0", "VideoMetadata": meta,
		"ModerationLabels": []any{flag(4000, "Drinking", "Alcohol", 66.25, 2)}}
}

// started returns the jobs of api started so far.
func (f *fakeRekognition) started(api string) []rekJob {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []rekJob
	for _, j := range f.jobs {
		if j.api == api {
			out = append(out, *j)
		}
	}
	return out
}

func (f *fakeRekognition) finish(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.jobs {
		if j.id == id {
			j.done = true
		}
	}
}

// resultGets lists the Get calls that read results (not the one-result
// status check made when a job is started).
func (f *fakeRekognition) resultGets() []rekGet {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []rekGet
	for _, g := range f.gets {
		if g.max != 1 {
			out = append(out, g)
		}
	}
	return out
}

func (f *fakeRekognition) waitStarted(t *testing.T, api string) rekJob {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for len(f.started(api)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no %s job started", api)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return f.started(api)[0]
}

// rekognitionJobsApp is an app with one workflow worker whose labels and
// moderate tasks are Amazon Rekognition (the loopback fake), run on videos
// as Rekognition Video jobs completed through the SNS endpoint, whose
// messages are signed by s.
func rekognitionJobsApp(t *testing.T, f *fakeRekognition, s *snstest.Signer, heartbeat time.Duration, mods ...func(*config.Config)) (*App, *httptest.Server) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return testAppWith(t, func(c *config.Config) {
		c.Workers = 1
		c.Analysers["labels"] = "aws"
		c.Analysers["moderate"] = "aws"
		c.AWS.Endpoint = f.srv.URL
		c.AWS.TranscribeBucket = "staging"
		c.AWS.AsyncJobs = true
		c.AWS.JobHeartbeat = config.Duration{Duration: heartbeat}
		c.AWS.RekognitionSNSTopic = rekTopic
		c.AWS.RekognitionRoleARN = rekRole
		for _, mod := range mods {
			mod(c)
		}
	}, Options{SNSFetch: s.Fetch})
}

func postSNS(t *testing.T, srv *httptest.Server, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/intake/sns", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	req.Header.Set("X-Amz-Sns-Message-Type", "Notification")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func rekNotification(j rekJob, status string) string {
	api := map[string]string{"StartLabelDetection": "LABEL_DETECTION", "StartContentModeration": "CONTENT_MODERATION"}[j.api]
	b, _ := json.Marshal(map[string]any{"JobId": j.id, "Status": status, "API": api, "JobTag": j.tag, "Message": "",
		"Timestamp": time.Now().UnixMilli(), "Video": map[string]any{"S3ObjectName": "landfall-staging/x/harbour.mp4", "S3Bucket": "staging"}})
	return string(b)
}

// waitRejected waits for a media item to end REJECTED (or SUCCEEDED or
// FAILED, which the caller's check then refuses).
func waitRejected(t *testing.T, a *App, id string, within time.Duration) *catalog.Media {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m, err := a.Catalog.MediaGet(context.Background(), &catalog.MediaGetParams{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		switch m.Status {
		case types.StatusRejected, types.StatusSucceeded, types.StatusFailed:
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("media %s still %s after %s", id, m.Status, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func twoSlideVideo(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "harbour.mp4")
	if _, err := mediagen.Video(context.Background(), p, mediagen.VideoSpec{Width: 320, Height: 240,
		Slides: []mediagen.Slide{{Text: "Boats", Seconds: 3}, {Text: "Lighthouse", Seconds: 3}}}); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAsyncRekognitionVideoJobs labels and moderates a video with
// Rekognition Video jobs on an app with one workflow worker: while the
// label detection job runs, an image is processed from start to end on
// that worker; the job's SNS notification, signed and delivered to the
// SNS endpoint, resumes the execution, which reads both pages of results;
// the content moderation job follows the same way. The subscription is
// confirmed; messages with a bad signature or of another topic are
// refused.
func TestAsyncRekognitionVideoJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on generated media")
	}
	f := newFakeRekognition(t)
	s, err := snstest.New("eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	// The installation's moderation policy rejects alcohol, which the
	// content moderation job detects in both slides.
	a, srv := rekognitionJobsApp(t, f, s, time.Minute, func(c *config.Config) {
		c.Moderation = &config.ModerationPolicy{Reject: []config.ModerationRule{{Label: "Alcohol", MinConfidence: 60}}}
	})
	ctx, dir := context.Background(), t.TempDir()

	// The subscription is confirmed by visiting its SubscribeURL.
	if code, out := postSNS(t, srv, s.Confirmation(snsmsg.TypeSubscriptionConfirmation, rekTopic, "")); code != 200 || out["outcome"] != "subscribed" {
		t.Fatalf("subscription confirmation: %d %v", code, out)
	}
	if v := s.Visited(); len(v) != 1 || !strings.HasPrefix(v[0], "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription") {
		t.Fatalf("visited %v", v)
	}

	png := filepath.Join(dir, "quay.png")
	if err := mediagen.Image(ctx, png, mediagen.ImageSpec{Text: "Quay"}); err != nil {
		t.Fatal(err)
	}
	vid := upload(t, a, twoSlideVideo(t, dir))
	labels := f.waitStarted(t, "StartLabelDetection")
	if !strings.HasPrefix(labels.tag, "landfall-labels-") {
		t.Errorf("JobTag %q", labels.tag)
	}

	// The job runs; the one worker is free: the image goes through.
	img := upload(t, a, png)
	if m := waitDone(t, a, img.ID, 2*time.Minute); m.Status != types.StatusSucceeded || len(m.Insights.Labels) == 0 {
		t.Fatalf("image while the job runs: %s %s %+v", m.Status, m.Cause, m.Insights)
	}
	if cur, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: vid.ID}); err != nil || cur.Status != types.StatusProcessing {
		t.Fatalf("video while its job runs: %v %v", cur.Status, err)
	}
	if g := f.resultGets(); len(g) != 0 {
		t.Fatalf("results were read while the job ran: %+v", g)
	}

	// Refused: a tampered message, another topic's, an unsigned one.
	good := s.Notification(rekTopic, rekNotification(labels, "SUCCEEDED"), 2)
	var tampered map[string]any
	_ = json.Unmarshal(good, &tampered)
	tampered["Message"] = strings.Replace(tampered["Message"].(string), "SUCCEEDED", "FAILED", 1)
	bad, _ := json.Marshal(tampered)
	if code, out := postSNS(t, srv, bad); code != http.StatusForbidden || !strings.Contains(fmt.Sprint(out["detail"]), "does not verify") {
		t.Fatalf("a message whose signature does not verify: %d %v", code, out)
	}
	other := s.Notification("arn:aws:sns:eu-west-1:444455556666:Elsewhere", rekNotification(labels, "SUCCEEDED"), 2)
	if code, out := postSNS(t, srv, other); code != http.StatusForbidden || !strings.Contains(fmt.Sprint(out["detail"]), "not of aws.rekognition_sns_topic") {
		t.Fatalf("another topic's message: %d %v", code, out)
	}
	delete(tampered, "Signature")
	unsigned, _ := json.Marshal(tampered)
	if code, _ := postSNS(t, srv, unsigned); code != http.StatusBadRequest {
		t.Fatalf("an unsigned message: %d", code)
	}
	if g := f.resultGets(); len(g) != 0 {
		t.Fatalf("a refused message read results: %+v", g)
	}

	// The label detection job ends: its notification resumes the video.
	f.finish(labels.id)
	if code, out := postSNS(t, srv, good); code != 200 || out["outcome"] != "resumed" || out["media_id"] != vid.ID {
		t.Fatalf("label detection completion: %d %v", code, out)
	}
	mod := f.waitStarted(t, "StartContentModeration")
	f.finish(mod.id)
	// SignatureVersion 1 (SHA1withRSA) verifies too.
	if code, out := postSNS(t, srv, s.Notification(rekTopic, rekNotification(mod, "SUCCEEDED"), 1)); code != 200 || out["outcome"] != "resumed" {
		t.Fatalf("content moderation completion: %d %v", code, out)
	}
	m := waitRejected(t, a, vid.ID, 2*time.Minute)
	if m.Status != types.StatusRejected || !strings.Contains(m.Cause, "Drinking 66.2 ≥ 60.0 at 4.0s") {
		t.Fatalf("video: %s %s: %s", m.Status, m.Error, m.Cause)
	}

	// Both pages of each job were read, the second with the first's token.
	var pages []string
	for _, g := range f.resultGets() {
		pages = append(pages, g.op+":"+g.next)
	}
	sort.Strings(pages)
	if want := "GetContentModeration:,GetContentModeration:page-2,GetLabelDetection:,GetLabelDetection:page-2"; strings.Join(pages, ",") != want {
		t.Fatalf("result pages read %v, want %s", pages, want)
	}

	// Labels per shot: the first slide's (0–3 s) from page one, the
	// second's from page two, with Rekognition's boxes and parents.
	v := m.Insights.Vision
	if v == nil || v.LabelModel != "3.0" || v.ModerationModel != "7.0" || len(v.Shots) != 2 {
		t.Fatalf("vision: %+v", v)
	}
	first, second := v.Shots[0], v.Shots[1]
	if first.StartMS != 0 || second.StartMS < 2800 || second.StartMS > 3200 {
		t.Errorf("shot times %+v %+v", first, second)
	}
	if got := strings.Join(labelNames(first.Labels), ","); got != "Water,Boat" {
		t.Errorf("shot 0 labels %s, want Water,Boat", got)
	}
	for _, l := range first.Labels {
		if l.Name == "Boat" && (l.Confidence != 92.75 || len(l.Instances) != 1 || l.Instances[0].Box.Width != 0.5 || strings.Join(l.Parents, ",") != "Vehicle,Transportation") {
			t.Errorf("shot 0 Boat %+v", l)
		}
	}
	if got := strings.Join(labelNames(second.Labels), ","); got != "Water,Lighthouse" {
		t.Errorf("shot 1 labels %s, want Water,Lighthouse", got)
	}
	if len(first.Moderation) != 1 || first.Moderation[0].Name != "Alcohol" || len(second.Moderation) != 1 ||
		second.Moderation[0].ParentName != "Alcohol" || second.Moderation[0].TaxonomyLevel != 2 || second.Moderation[0].Timestamp != 4 {
		t.Errorf("moderation per shot %+v / %+v", first.Moderation, second.Moderation)
	}
	// The job analysed no frame of its own: the evidence of each flag is
	// the original's frame at the detection's time, a JPEG in the bucket
	// showing the slide of that time (navy "Boats" at 1 s, off-white
	// "Lighthouse" at 4 s).
	d := m.Insights.ModerationDecision
	if d == nil || d.Action != "reject" || len(d.Reasons) != 2 {
		t.Fatalf("moderation decision %+v", d)
	}
	for i, want := range []struct {
		ms  int64
		rgb [3]float64
	}{{1000, [3]float64{0x1E, 0x3A, 0x8A}}, {4000, [3]float64{0xF5, 0xF5, 0xF0}}} {
		r := d.Reasons[i]
		if r.TimestampMS != want.ms || r.EvidenceMS == nil || *r.EvidenceMS != want.ms || r.EvidenceMissing != "" ||
			r.Evidence != fmt.Sprintf("processed/%s/%s/evidence/at-%dms.jpg", vid.TenantID, vid.ID, want.ms) {
			t.Fatalf("reason %d: %+v", i, r)
		}
		b, err := a.Bucket.ReadAll(ctx, r.Evidence)
		if err != nil {
			t.Fatalf("evidence %s: %v", r.Evidence, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("evidence %s is not a JPEG: %v", r.Evidence, err)
		}
		// The band above the slide's text is its background.
		var sum [3]float64
		bd := img.Bounds()
		for y := bd.Min.Y; y < bd.Min.Y+bd.Dy()/6; y++ {
			for x := bd.Min.X; x < bd.Max.X; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				sum[0], sum[1], sum[2] = sum[0]+float64(cr>>8), sum[1]+float64(cg>>8), sum[2]+float64(cb>>8)
			}
		}
		for c := range sum {
			if got := sum[c] / float64(bd.Dx()*(bd.Dy()/6)); math.Abs(got-want.rgb[c]) > 40 {
				t.Errorf("evidence at %d ms: channel %d is %.0f, want about %.0f (the slide shown then)", want.ms, c, got, want.rgb[c])
			}
		}
	}
	found := false
	for _, l := range m.Insights.Labels {
		if l.Name == "Boat" {
			found = len(l.Timestamps) == 2 && l.Timestamps[0] == 0.5 && l.Timestamps[1] == 1.5
		}
	}
	if !found {
		t.Errorf("insights labels %+v: want Boat seen at 0.5 s and 1.5 s", m.Insights.Labels)
	}

	// A repeated notification finds no execution waiting; another
	// application's job on the topic is ignored.
	if code, _ := postSNS(t, srv, good); code != http.StatusNotFound {
		t.Fatalf("a repeated notification: %d, want 404", code)
	}
	foreign := rekJob{id: strings.Repeat("f", 64), api: "StartLabelDetection", tag: "someone-else"}
	if code, out := postSNS(t, srv, s.Notification(rekTopic, rekNotification(foreign, "SUCCEEDED"), 2)); code != 200 || out["outcome"] != "ignored" {
		t.Fatalf("another application's job: %d %v", code, out)
	}
	if n := len(f.started("StartLabelDetection")) + len(f.started("StartContentModeration")); n != 2 {
		t.Fatalf("%d jobs started, want 2", n)
	}
}

// TestAsyncRekognitionJobLost starts a label detection job whose
// notification never arrives: the state's heartbeat ends the wait and the
// item fails with Rekognition.JobLost.
func TestAsyncRekognitionJobLost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on generated media")
	}
	f := newFakeRekognition(t)
	s, err := snstest.New("eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	a, srv := rekognitionJobsApp(t, f, s, 2*time.Second)
	m := upload(t, a, twoSlideVideo(t, t.TempDir()))
	job := f.waitStarted(t, "StartLabelDetection")
	m = waitDone(t, a, m.ID, 2*time.Minute)
	if m.Status != types.StatusFailed || m.Error != "Rekognition.JobLost" || !strings.Contains(m.Cause, "aws.job_heartbeat") {
		t.Fatalf("%s %s: %s", m.Status, m.Error, m.Cause)
	}
	// The job ends after all: its notification is refused (the execution
	// no longer waits) and the job is forgotten.
	f.finish(job.id)
	if code, out := postSNS(t, srv, s.Notification(rekTopic, rekNotification(job, "SUCCEEDED"), 2)); code != http.StatusConflict {
		t.Fatalf("a late completion: %d %v, want 409", code, out)
	}
	if _, err := a.Catalog.JobGet(context.Background(), &catalog.JobGetParams{Service: "rekognition", ID: job.id}); err == nil {
		t.Fatal("the late job is still recorded")
	}
}

// TestAsyncRekognitionJobFailed: a label detection job Rekognition
// reports FAILED (its notification says so, and GetLabelDetection gives
// the reason) fails the item with the job's named error and reason.
func TestAsyncRekognitionJobFailed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on generated media")
	}
	f := newFakeRekognition(t)
	s, err := snstest.New("eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	inner := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == "RekognitionService.GetLabelDetection" {
			f.mu.Lock()
			failed := len(f.jobs) > 0 && f.jobs[0].done
			f.mu.Unlock()
			if failed {
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				io.WriteString(w, `{"JobStatus":"FAILED","StatusMessage":"Unsupported codec/format."}`)
				return
			}
		}
		inner.ServeHTTP(w, r)
	})
	a, srv := rekognitionJobsApp(t, f, s, time.Minute)
	m := upload(t, a, twoSlideVideo(t, t.TempDir()))
	job := f.waitStarted(t, "StartLabelDetection")
	f.finish(job.id)
	if code, out := postSNS(t, srv, s.Notification(rekTopic, rekNotification(job, "FAILED"), 2)); code != 200 || out["outcome"] != "failed" {
		t.Fatalf("failure notification: %d %v", code, out)
	}
	m = waitDone(t, a, m.ID, 2*time.Minute)
	if m.Status != types.StatusFailed || m.Error != "Media.Unsupported" || !strings.Contains(m.Cause, "Unsupported codec/format.") {
		t.Fatalf("%s %s: %s", m.Status, m.Error, m.Cause)
	}
}
