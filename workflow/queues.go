package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/landfall/landfall/errcode"
)

// Message queues with SQS's semantics (at-least-once delivery, a
// visibility timeout per receive, long polling), kept in the engine's
// database. The SQS JSON protocol serves them to AWS SDK workers, and
// sqs:sendMessage tasks send into them.

// Errors of the queue API, matched with errors.Is (they come wrapped in
// errcode.NotFound and errcode.Invalid).
var (
	ErrQueueDoesNotExist = errors.New("queue does not exist")
	ErrReceiptInvalid    = errors.New("receipt handle is invalid")
)

// Queue attributes and their defaults (SQS's).
var queueDefaults = map[string]int{
	"VisibilityTimeout":             30,
	"DelaySeconds":                  0,
	"MessageRetentionPeriod":        345600,
	"ReceiveMessageWaitTimeSeconds": 0,
	"MaximumMessageSize":            262144,
}

var queueLimits = map[string][2]int{
	"VisibilityTimeout":             {0, 43200},
	"DelaySeconds":                  {0, 900},
	"MessageRetentionPeriod":        {60, 1209600},
	"ReceiveMessageWaitTimeSeconds": {0, 20},
	"MaximumMessageSize":            {1024, 262144},
}

var queueNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// Message is a received message.
type Message struct {
	ID            string `json:"MessageId"`
	ReceiptHandle string `json:"ReceiptHandle"`
	MD5OfBody     string `json:"MD5OfBody"`
	Body          string `json:"Body"`
	// Attributes are the system attributes (ApproximateReceiveCount,
	// SentTimestamp, ApproximateFirstReceiveTimestamp), as strings.
	Attributes map[string]string `json:"Attributes,omitempty"`
	// MessageAttributes are the sender's, as given (JSON).
	MessageAttributes json.RawMessage `json:"MessageAttributes,omitempty"`
}

// SendMessageParams sends one message.
type SendMessageParams struct {
	QueueURL string
	Body     string
	// DelaySeconds < 0 takes the queue's DelaySeconds.
	DelaySeconds int
	// MessageAttributes are kept and returned to receivers as given.
	MessageAttributes json.RawMessage
}

// ReceiveParams receives up to Max messages.
type ReceiveParams struct {
	QueueURL string
	Max      int // 1 to 10 (default 1)
	// VisibilityTimeout < 0 takes the queue's.
	VisibilityTimeout int
	// WaitSeconds < 0 takes the queue's ReceiveMessageWaitTimeSeconds;
	// at most 20.
	WaitSeconds int
}

// queueWake wakes long polls of ReceiveMessage in this process.
type queueWake struct {
	mu sync.Mutex
	ch chan struct{}
}

func (w *queueWake) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

func (w *queueWake) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

func (e *Engine) queueWake() *queueWake { return &e.queues }

// QueueURL returns the URL of queue name: the configured base (default
// http://localhost), the account and the name.
func (e *Engine) QueueURL(name string) string {
	base := strings.TrimSuffix(e.cfg.QueueURLBase, "/")
	if base == "" {
		base = "http://localhost"
	}
	return base + "/" + e.cfg.Account + "/" + name
}

// queueName returns the queue a URL names: any host, a path ending in
// /ACCOUNT/NAME with this engine's account.
func (e *Engine) queueName(queueURL string) (string, error) {
	u, err := url.Parse(queueURL)
	if err != nil || queueURL == "" {
		return "", errcode.Wrap(errcode.NotFound, ErrQueueDoesNotExist, "QueueUrl %q is not a queue URL", clipText(queueURL))
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 || parts[len(parts)-2] != e.cfg.Account || !queueNamePattern.MatchString(parts[len(parts)-1]) {
		return "", errcode.Wrap(errcode.NotFound, ErrQueueDoesNotExist, "QueueUrl %q names no queue of account %s (want …/%s/NAME)", clipText(queueURL), e.cfg.Account, e.cfg.Account)
	}
	return parts[len(parts)-1], nil
}

func clipText(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// CreateQueue creates a queue, or returns the URL of the one that exists
// with the same attributes (other attributes are AlreadyExists, SQS's
// QueueNameExists).
func (e *Engine) CreateQueue(ctx context.Context, name string, attrs map[string]string) (string, error) {
	if strings.HasSuffix(name, ".fifo") {
		return "", errcode.New(errcode.Invalid, "QueueName %q: FIFO queues are not served; use a standard queue", name)
	}
	if !queueNamePattern.MatchString(name) {
		return "", errcode.New(errcode.Invalid, "QueueName %q: 1 to 80 letters, digits, hyphens and underscores", clipText(name))
	}
	full, err := queueAttributes(attrs)
	if err != nil {
		return "", err
	}
	doc, _ := json.Marshal(full)
	err = e.withTx(ctx, func(tx dbtx) error {
		got, err := e.st.QueueGet(ctx, tx, name)
		if err == nil {
			if got != string(doc) {
				return errcode.New(errcode.AlreadyExists, "queue %s already exists with other attributes", name)
			}
			return nil
		}
		if !errors.Is(err, errNoRows) {
			return err
		}
		return e.st.QueueInsert(ctx, tx, name, string(doc), micros(e.now()))
	})
	if err != nil {
		return "", err
	}
	return e.QueueURL(name), nil
}

func queueAttributes(attrs map[string]string) (map[string]int, error) {
	out := map[string]int{}
	for k, v := range queueDefaults {
		out[k] = v
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lim, ok := queueLimits[k]
		if !ok {
			return nil, errcode.New(errcode.Invalid, "Attributes.%s: not supported (supported: DelaySeconds, MaximumMessageSize, MessageRetentionPeriod, ReceiveMessageWaitTimeSeconds, VisibilityTimeout)", clipText(k))
		}
		n, err := strconv.Atoi(attrs[k])
		if err != nil || n < lim[0] || n > lim[1] {
			return nil, errcode.New(errcode.Invalid, "Attributes.%s %q: want an integer from %d to %d", k, clipText(attrs[k]), lim[0], lim[1])
		}
		out[k] = n
	}
	return out, nil
}

// GetQueueURL returns the URL of an existing queue.
func (e *Engine) GetQueueURL(ctx context.Context, name string) (string, error) {
	if !queueNamePattern.MatchString(name) {
		return "", errcode.Wrap(errcode.NotFound, ErrQueueDoesNotExist, "queue %q does not exist", clipText(name))
	}
	if _, err := e.queue(ctx, name); err != nil {
		return "", err
	}
	return e.QueueURL(name), nil
}

func (e *Engine) queue(ctx context.Context, name string) (map[string]int, error) {
	var doc string
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		doc, err = e.st.QueueGet(ctx, tx, name)
		if errors.Is(err, errNoRows) {
			return errcode.Wrap(errcode.NotFound, ErrQueueDoesNotExist, "queue %s does not exist", name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	attrs := map[string]int{}
	if err := json.Unmarshal([]byte(doc), &attrs); err != nil {
		return nil, fmt.Errorf("queue %s: stored attributes: %w", name, err)
	}
	return attrs, nil
}

// QueueAttributes returns a queue's attributes and approximate counts.
func (e *Engine) QueueAttributes(ctx context.Context, queueURL string) (map[string]string, error) {
	name, err := e.queueName(queueURL)
	if err != nil {
		return nil, err
	}
	attrs, err := e.queue(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range attrs {
		out[k] = strconv.Itoa(v)
	}
	var visible, hidden int
	err = e.withTx(ctx, func(tx dbtx) error {
		var err error
		visible, hidden, err = e.st.QueueCounts(ctx, tx, name, micros(e.now()))
		return err
	})
	out["ApproximateNumberOfMessages"] = strconv.Itoa(visible)
	out["ApproximateNumberOfMessagesNotVisible"] = strconv.Itoa(hidden)
	out["QueueArn"] = fmt.Sprintf("arn:aws:sqs:%s:%s:%s", e.cfg.Region, e.cfg.Account, name)
	return out, err
}

// SendMessage stores a message and returns its id and the MD5 of its body.
func (e *Engine) SendMessage(ctx context.Context, p SendMessageParams) (string, string, error) {
	name, err := e.queueName(p.QueueURL)
	if err != nil {
		return "", "", err
	}
	attrs, err := e.queue(ctx, name)
	if err != nil {
		return "", "", err
	}
	if p.Body == "" {
		return "", "", errcode.New(errcode.Invalid, "MessageBody is required")
	}
	if !utf8.ValidString(p.Body) || strings.ContainsRune(p.Body, 0) {
		return "", "", errcode.New(errcode.Invalid, "MessageBody: not valid UTF-8 or contains NUL")
	}
	if len(p.Body)+len(p.MessageAttributes) > attrs["MaximumMessageSize"] {
		return "", "", errcode.New(errcode.TooLarge, "message of %d bytes is larger than the queue's MaximumMessageSize %d", len(p.Body)+len(p.MessageAttributes), attrs["MaximumMessageSize"])
	}
	delay := p.DelaySeconds
	if delay < 0 {
		delay = attrs["DelaySeconds"]
	}
	if delay > 900 {
		return "", "", errcode.New(errcode.Invalid, "DelaySeconds %d: at most 900", delay)
	}
	id := uuidLike()
	sum := md5Hex(p.Body)
	now := e.now()
	err = e.withTx(ctx, func(tx dbtx) error {
		return e.st.QueueMessageInsert(ctx, tx, &Message{ID: id, Body: p.Body, MD5OfBody: sum, MessageAttributes: p.MessageAttributes}, name,
			micros(now), micros(now.Add(time.Duration(delay)*time.Second)))
	})
	if err != nil {
		return "", "", err
	}
	e.queueWake().wake()
	return id, sum, nil
}

// uuidLike returns a random id in the form of a UUID, as SQS message ids are.
func uuidLike() string {
	h := randomID(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ReceiveMessages returns up to p.Max visible messages, hiding each for
// the visibility timeout, and waits up to p.WaitSeconds (real time) for
// one to arrive when none is visible.
func (e *Engine) ReceiveMessages(ctx context.Context, p ReceiveParams) ([]Message, error) {
	name, err := e.queueName(p.QueueURL)
	if err != nil {
		return nil, err
	}
	attrs, err := e.queue(ctx, name)
	if err != nil {
		return nil, err
	}
	if p.Max == 0 {
		p.Max = 1
	}
	if p.Max < 1 || p.Max > 10 {
		return nil, errcode.New(errcode.Invalid, "MaxNumberOfMessages %d: want 1 to 10", p.Max)
	}
	vis := p.VisibilityTimeout
	if vis < 0 {
		vis = attrs["VisibilityTimeout"]
	}
	if vis > 43200 {
		return nil, errcode.New(errcode.Invalid, "VisibilityTimeout %d: want 0 to 43200", vis)
	}
	wait := p.WaitSeconds
	if wait < 0 {
		wait = attrs["ReceiveMessageWaitTimeSeconds"]
	}
	if wait > 20 {
		return nil, errcode.New(errcode.Invalid, "WaitTimeSeconds %d: want 0 to 20", wait)
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		wake := e.queueWake().wait()
		msgs, err := e.receiveOnce(ctx, name, p.Max, vis, attrs["MessageRetentionPeriod"])
		if err != nil || len(msgs) > 0 {
			return msgs, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-wake:
		case <-time.After(min(left, 200*time.Millisecond)):
		}
	}
}

func (e *Engine) receiveOnce(ctx context.Context, queue string, max, vis, retention int) ([]Message, error) {
	var out []Message
	err := e.withTx(ctx, func(tx dbtx) error {
		out = out[:0]
		now := e.now()
		if err := e.st.QueueExpire(ctx, tx, queue, micros(now.Add(-time.Duration(retention)*time.Second))); err != nil {
			return err
		}
		msgs, err := e.st.QueueMessagesVisible(ctx, tx, queue, micros(now), max)
		if err != nil {
			return err
		}
		for i := range msgs {
			m := &msgs[i]
			m.ReceiptHandle = m.ID + "#" + randomID(16)
			first, count, sent, err := e.st.QueueMessageReceive(ctx, tx, m.ID, m.ReceiptHandle, micros(now), micros(now.Add(time.Duration(vis)*time.Second)))
			if err != nil {
				return err
			}
			m.Attributes = map[string]string{"ApproximateReceiveCount": strconv.Itoa(count), "SentTimestamp": strconv.FormatInt(sent/1000, 10),
				"ApproximateFirstReceiveTimestamp": strconv.FormatInt(first/1000, 10)}
			out = append(out, *m)
		}
		return nil
	})
	return out, err
}

func (e *Engine) receiptMessage(queueURL, receipt string) (string, string, error) {
	name, err := e.queueName(queueURL)
	if err != nil {
		return "", "", err
	}
	id, _, ok := strings.Cut(receipt, "#")
	if !ok || id == "" || len(receipt) > 1024 {
		return "", "", errcode.Wrap(errcode.Invalid, ErrReceiptInvalid, "ReceiptHandle %q is not one this server issued", clipText(receipt))
	}
	return name, id, nil
}

// DeleteMessage deletes the message a receipt handle names. A message
// already deleted, or received again since (another handle), is left as
// it is and the call succeeds, as in SQS.
func (e *Engine) DeleteMessage(ctx context.Context, queueURL, receipt string) error {
	name, _, err := e.receiptMessage(queueURL, receipt)
	if err != nil {
		return err
	}
	if _, err := e.queue(ctx, name); err != nil {
		return err
	}
	return e.withTx(ctx, func(tx dbtx) error {
		return e.st.QueueMessageDelete(ctx, tx, name, receipt)
	})
}

// ChangeMessageVisibility makes a received message visible again after
// timeout seconds from now (0: at once). The receipt must be the
// message's latest.
func (e *Engine) ChangeMessageVisibility(ctx context.Context, queueURL, receipt string, timeout int) error {
	name, _, err := e.receiptMessage(queueURL, receipt)
	if err != nil {
		return err
	}
	if timeout < 0 || timeout > 43200 {
		return errcode.New(errcode.Invalid, "VisibilityTimeout %d: want 0 to 43200", timeout)
	}
	if _, err := e.queue(ctx, name); err != nil {
		return err
	}
	err = e.withTx(ctx, func(tx dbtx) error {
		n, err := e.st.QueueMessageVisibility(ctx, tx, name, receipt, micros(e.now().Add(time.Duration(timeout)*time.Second)))
		if err == nil && n == 0 {
			return errcode.Wrap(errcode.Invalid, ErrReceiptInvalid, "ReceiptHandle %q: the message is not in flight under it (deleted, or received again since)", clipText(receipt))
		}
		return err
	})
	if err == nil && timeout == 0 {
		e.queueWake().wake()
	}
	return err
}

// sqsSendTask is the sqs:sendMessage integration: it sends to a queue of
// this engine. With .waitForTaskToken the state puts $$.Task.Token in the
// message, and the worker that receives it settles the task.
func (e *Engine) sqsSendTask(ctx context.Context, inv Invocation) (json.RawMessage, error) {
	var p struct {
		QueueURL          string          `json:"QueueUrl"`
		MessageBody       json.RawMessage `json:"MessageBody"`
		DelaySeconds      *int            `json:"DelaySeconds"`
		MessageAttributes json.RawMessage `json:"MessageAttributes"`
	}
	if err := paramsOf(inv, &p); err != nil {
		return nil, err
	}
	body := string(p.MessageBody)
	var s string
	if json.Unmarshal(p.MessageBody, &s) == nil {
		body = s // a string is sent as is, anything else as its JSON
	}
	delay := -1
	if p.DelaySeconds != nil {
		delay = *p.DelaySeconds
	}
	id, sum, err := e.SendMessage(ctx, SendMessageParams{QueueURL: p.QueueURL, Body: body, DelaySeconds: delay, MessageAttributes: p.MessageAttributes})
	if err != nil {
		switch {
		case errors.Is(err, ErrQueueDoesNotExist):
			return nil, taskFail("SQS.QueueDoesNotExistException", "%s", errcode.MessageOf(err))
		case errcode.Of(err) == errcode.Invalid || errcode.Of(err) == errcode.TooLarge:
			return nil, taskFail("SQS.InvalidParameterValueException", "%s", errcode.MessageOf(err))
		}
		return nil, err
	}
	return json.Marshal(map[string]any{"MessageId": id, "MD5OfMessageBody": sum})
}

// ---- store ----

type queueStore interface {
	QueueGet(ctx context.Context, tx dbtx, name string) (string, error)
	QueueInsert(ctx context.Context, tx dbtx, name, attrs string, createdUS int64) error
	QueueCounts(ctx context.Context, tx dbtx, name string, nowUS int64) (visible, hidden int, err error)
	QueueMessageInsert(ctx context.Context, tx dbtx, m *Message, queue string, sentUS, visibleUS int64) error
	QueueExpire(ctx context.Context, tx dbtx, queue string, beforeUS int64) error
	// QueueMessagesVisible returns up to max visible messages, oldest
	// visible first, locked for this transaction where the driver can.
	QueueMessagesVisible(ctx context.Context, tx dbtx, queue string, nowUS int64, max int) ([]Message, error)
	// QueueMessageReceive records a receive and returns the first receive
	// time, the receive count and the send time.
	QueueMessageReceive(ctx context.Context, tx dbtx, id, receipt string, nowUS, visibleUS int64) (first int64, count int, sent int64, err error)
	QueueMessageDelete(ctx context.Context, tx dbtx, queue, receipt string) error
	QueueMessageVisibility(ctx context.Context, tx dbtx, queue, receipt string, visibleUS int64) (int64, error)
}

var _ queueStore = (*sqlStore)(nil)

func (s *sqlStore) QueueGet(ctx context.Context, tx dbtx, name string) (string, error) {
	var attrs string
	err := tx.queryRow(ctx, `SELECT attributes FROM wf_queues WHERE name = `+s.placeholder(1), name).Scan(&attrs)
	return attrs, err
}

func (s *sqlStore) QueueInsert(ctx context.Context, tx dbtx, name, attrs string, createdUS int64) error {
	_, err := tx.exec(ctx, fmt.Sprintf(`INSERT INTO wf_queues (name, attributes, created_us) VALUES (%s, %s, %s)`, s.ph(3)...), name, attrs, createdUS)
	return err
}

func (s *sqlStore) QueueCounts(ctx context.Context, tx dbtx, name string, nowUS int64) (int, int, error) {
	var visible, total int
	err := tx.queryRow(ctx, fmt.Sprintf(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN visible_us <= %s THEN 1 ELSE 0 END), 0) FROM wf_queue_messages WHERE queue = %s`, s.ph(2)...),
		nowUS, name).Scan(&total, &visible)
	return visible, total - visible, err
}

func (s *sqlStore) QueueMessageInsert(ctx context.Context, tx dbtx, m *Message, queue string, sentUS, visibleUS int64) error {
	_, err := tx.exec(ctx, fmt.Sprintf(`INSERT INTO wf_queue_messages (id, queue, body, attributes, md5, sent_us, visible_us) VALUES (%s, %s, %s, %s, %s, %s, %s)`, s.ph(7)...),
		m.ID, queue, m.Body, string(m.MessageAttributes), m.MD5OfBody, sentUS, visibleUS)
	return err
}

func (s *sqlStore) QueueExpire(ctx context.Context, tx dbtx, queue string, beforeUS int64) error {
	_, err := tx.exec(ctx, fmt.Sprintf(`DELETE FROM wf_queue_messages WHERE queue = %s AND sent_us < %s`, s.ph(2)...), queue, beforeUS)
	return err
}

func (s *sqlStore) QueueMessagesVisible(ctx context.Context, tx dbtx, queue string, nowUS int64, max int) ([]Message, error) {
	q := fmt.Sprintf(`SELECT id, body, attributes, md5 FROM wf_queue_messages WHERE queue = %s AND visible_us <= %s ORDER BY visible_us, id LIMIT %s`, s.ph(3)...)
	if !s.sqlite {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	r, err := tx.query(ctx, q, queue, nowUS, max)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Message
	for r.Next() {
		var m Message
		var attrs string
		if err := r.Scan(&m.ID, &m.Body, &attrs, &m.MD5OfBody); err != nil {
			return nil, err
		}
		if attrs != "" {
			m.MessageAttributes = json.RawMessage(attrs)
		}
		out = append(out, m)
	}
	return out, r.Err()
}

func (s *sqlStore) QueueMessageReceive(ctx context.Context, tx dbtx, id, receipt string, nowUS, visibleUS int64) (int64, int, int64, error) {
	ph := s.ph(4)
	_, err := tx.exec(ctx, fmt.Sprintf(`UPDATE wf_queue_messages SET receipt = %s, visible_us = %s, receive_count = receive_count + 1,
		first_receive_us = CASE WHEN first_receive_us = 0 THEN %s ELSE first_receive_us END WHERE id = %s`, ph...), receipt, visibleUS, nowUS, id)
	if err != nil {
		return 0, 0, 0, err
	}
	var first, sent int64
	var count int
	err = tx.queryRow(ctx, `SELECT first_receive_us, receive_count, sent_us FROM wf_queue_messages WHERE id = `+s.placeholder(1), id).Scan(&first, &count, &sent)
	return first, count, sent, err
}

func (s *sqlStore) QueueMessageDelete(ctx context.Context, tx dbtx, queue, receipt string) error {
	_, err := tx.exec(ctx, fmt.Sprintf(`DELETE FROM wf_queue_messages WHERE queue = %s AND receipt = %s`, s.ph(2)...), queue, receipt)
	return err
}

func (s *sqlStore) QueueMessageVisibility(ctx context.Context, tx dbtx, queue, receipt string, visibleUS int64) (int64, error) {
	return tx.exec(ctx, fmt.Sprintf(`UPDATE wf_queue_messages SET visible_us = %s WHERE queue = %s AND receipt = %s`, s.ph(3)...), visibleUS, queue, receipt)
}
