-- Asynchronous provider jobs (Transcribe, Rekognition Video) started by a
-- .waitForTaskToken state: the task token that resumes the execution,
-- keyed by the provider's job id, until the job's completion arrives.
CREATE TABLE cat_jobs (
	service    text NOT NULL,
	job_id     text NOT NULL,
	task       text NOT NULL,
	tenant_id  text NOT NULL,
	media_id   text NOT NULL,
	task_token text NOT NULL,
	input      text NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (service, job_id)
);
