-- Asynchronous provider jobs (Transcribe, Rekognition Video) started by a
-- .waitForTaskToken state: the task token that resumes the execution,
-- keyed by the provider's job id, until the job's completion arrives.
CREATE TABLE cat_jobs (
	service    TEXT NOT NULL,
	job_id     TEXT NOT NULL,
	task       TEXT NOT NULL,
	tenant_id  TEXT NOT NULL,
	media_id   TEXT NOT NULL,
	task_token TEXT NOT NULL,
	input      TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (service, job_id)
);
