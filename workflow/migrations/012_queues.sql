-- Message queues served over the SQS JSON protocol, so that workers
-- using an AWS SDK take the work of sqs:sendMessage tasks (callbacks with
-- .waitForTaskToken) from the engine's own database.
CREATE TABLE wf_queues (
    name        TEXT PRIMARY KEY,
    attributes  TEXT NOT NULL,
    created_us  BIGINT NOT NULL
);

-- visible_us is when the message may next be received; receipt is the
-- handle of its latest receive ('' before the first).
CREATE TABLE wf_queue_messages (
    id                TEXT PRIMARY KEY,
    queue             TEXT NOT NULL,
    body              TEXT NOT NULL,
    attributes        TEXT NOT NULL DEFAULT '',
    md5               TEXT NOT NULL,
    sent_us           BIGINT NOT NULL,
    visible_us        BIGINT NOT NULL,
    receipt           TEXT NOT NULL DEFAULT '',
    receive_count     INTEGER NOT NULL DEFAULT 0,
    first_receive_us  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX wf_queue_messages_visible ON wf_queue_messages (queue, visible_us);
CREATE INDEX wf_queue_messages_receipt ON wf_queue_messages (receipt);
