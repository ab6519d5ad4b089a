-- Issue 3: survey answers, survey invitations, queued contacts. Rows are facts themselves.
CREATE TABLE surveys (
    workspace TEXT NOT NULL,
    response_id TEXT NOT NULL,
    survey TEXT NOT NULL,
    score REAL,
    scale_min REAL,
    scale_max REAL,
    answered_ms INTEGER NOT NULL,
    offset_s INTEGER NOT NULL,
    conversation_id TEXT,
    agent_id TEXT,
    channel TEXT,
    account TEXT,
    customer_id TEXT,
    comment TEXT,
    answer TEXT,
    fp INTEGER NOT NULL,
    src INTEGER NOT NULL,
    line INTEGER NOT NULL,
    PRIMARY KEY (workspace, response_id)
);
CREATE INDEX surveys_at ON surveys (workspace, answered_ms);

CREATE TABLE survey_invitations (
    workspace TEXT NOT NULL,
    invitation_id TEXT NOT NULL,
    survey TEXT NOT NULL,
    sent_ms INTEGER NOT NULL,
    offset_s INTEGER NOT NULL,
    channel TEXT,
    account TEXT,
    theme TEXT,
    customer_id TEXT,
    fp INTEGER NOT NULL,
    src INTEGER NOT NULL,
    line INTEGER NOT NULL,
    PRIMARY KEY (workspace, invitation_id)
);
CREATE INDEX survey_invitations_at ON survey_invitations (workspace, sent_ms);

CREATE TABLE contacts (
    workspace TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    account TEXT NOT NULL,
    queued_ms INTEGER NOT NULL,
    offset_s INTEGER NOT NULL,
    answered_ms INTEGER,
    ended_ms INTEGER,
    agent_id TEXT,
    fp INTEGER NOT NULL,
    src INTEGER NOT NULL,
    line INTEGER NOT NULL,
    PRIMARY KEY (workspace, contact_id)
);
CREATE INDEX contacts_at ON contacts (workspace, queued_ms);
