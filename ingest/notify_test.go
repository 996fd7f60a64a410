package ingest

import (
	"encoding/json"
	"strings"
	"testing"
)

const s3Doc = `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
"eventTime":"2026-11-26T10:00:00.000Z","eventName":"ObjectCreated:Put",
"s3":{"s3SchemaVersion":"1.0","bucket":{"name":"media","arn":"arn:aws:s3:::media"},
"object":{"key":"incoming/acme/My+Talk%281%29.mp4","size":52428800,"eTag":"d41d8cd98f00b204e9800998ecf8427e","sequencer":"0055AED6DCD90281E5"}}},
{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"media"},"object":{"key":"x"}}}]}`

func TestParseS3Notification(t *testing.T) {
	evs, err := ParseNotification([]byte(s3Doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1 (removals skipped)", len(evs))
	}
	var d struct {
		Bucket struct{ Name string }
		Object struct {
			Key  string
			Size int64
		}
		Reason string
	}
	if err := json.Unmarshal(evs[0].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d.Bucket.Name != "media" || d.Object.Key != "incoming/acme/My Talk(1).mp4" || d.Object.Size != 52428800 || d.Reason != "PutObject" {
		t.Fatalf("detail %s", evs[0].Detail)
	}
	if evs[0].Time.Format("2006-01-02T15:04:05Z") != "2026-11-26T10:00:00Z" {
		t.Fatalf("time %v", evs[0].Time)
	}
}

func TestParseSNSWrappedAndEventBridge(t *testing.T) {
	wrapped, _ := json.Marshal(map[string]string{"Type": "Notification", "Message": s3Doc})
	evs, err := ParseNotification(wrapped)
	if err != nil || len(evs) != 1 {
		t.Fatalf("SNS: %v %d", err, len(evs))
	}
	eb := `{"version":"0","id":"17793124-05d4-b198-2fde-7ededc63b103","detail-type":"Object Created","source":"aws.s3",
"account":"111122223333","time":"2021-11-12T00:00:00Z","region":"ca-central-1","resources":["arn:aws:s3:::media"],
"detail":{"version":"0","bucket":{"name":"media"},"object":{"key":"incoming/acme/a.wav","size":5,"etag":"b1946ac92492d2347c6235b4d2611184"},"reason":"PutObject"}}`
	evs, err = ParseNotification([]byte(eb))
	if err != nil || len(evs) != 1 || evs[0].ID != "17793124-05d4-b198-2fde-7ededc63b103" {
		t.Fatalf("EventBridge: %v %+v", err, evs)
	}
}

func TestParseNotificationRejects(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{``, "empty"},
		{`[1,2]`, "not a JSON object"},
		{`{"hello":1}`, "not an S3 event notification"},
		{`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":""},"object":{"key":"k"}}}]}`, "/Records/0/s3/bucket/name"},
		{`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}`, "/Records/0/s3/object/key"},
		{`{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{}}`, "/detail-type"},
		{`{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{}}}`, "/detail/object/key"},
		{`{"Type":"SubscriptionConfirmation","Message":"x"}`, "not a Notification"},
	} {
		_, err := ParseNotification([]byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseNotification(%.40q) = %v, want %q", tc.body, err, tc.want)
		}
	}
	if evs, err := ParseNotification([]byte(`{"Service":"Amazon S3","Event":"s3:TestEvent"}`)); err != nil || len(evs) != 0 {
		t.Errorf("test event: %v %v", evs, err)
	}
}

func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(s3Doc))
	f.Add([]byte(`{"Type":"Notification","Message":"{}"}`))
	f.Add([]byte(`{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		evs, err := ParseNotification(b)
		if err == nil {
			for _, ev := range evs {
				if ev.Source != "aws.s3" || ev.DetailType != "Object Created" {
					t.Fatalf("bad event %+v", ev)
				}
			}
		}
	})
}
