-- Rows as imported (keyed by id), and the clock's facts derived from them.
CREATE TABLE workspaces (
    name TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
);

CREATE TABLE messages (
    workspace TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    offset_s INTEGER NOT NULL,
    direction TEXT NOT NULL,
    account TEXT NOT NULL,
    channel TEXT NOT NULL,
    author_id TEXT NOT NULL,
    conversation_id TEXT,
    reply_to TEXT,
    customer_id TEXT,
    text TEXT,
    bot INTEGER NOT NULL,
    public INTEGER,
    kind TEXT,
    in_scope INTEGER,
    actionable INTEGER,
    handle_seconds REAL,
    team TEXT,
    fp INTEGER NOT NULL,
    PRIMARY KEY (workspace, message_id)
) WITHOUT ROWID;

CREATE TABLE conversation_events (
    workspace TEXT NOT NULL,
    event_key TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    event TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    offset_s INTEGER NOT NULL,
    agent_id TEXT,
    PRIMARY KEY (workspace, event_key)
) WITHOUT ROWID;

CREATE TABLE request_facts (
    workspace TEXT NOT NULL,
    request_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    account TEXT NOT NULL,
    channel TEXT NOT NULL,
    customer TEXT,
    public INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    first_of_conversation INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    closed_ms INTEGER,
    answer_id TEXT,
    agent TEXT,
    team TEXT,
    PRIMARY KEY (workspace, request_id)
);
CREATE INDEX request_facts_start ON request_facts (workspace, start_ms);
CREATE INDEX request_facts_conversation ON request_facts (workspace, conversation_id);

CREATE TABLE message_facts (
    workspace TEXT NOT NULL,
    message_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    account TEXT NOT NULL,
    channel TEXT NOT NULL,
    ms INTEGER NOT NULL,
    role TEXT NOT NULL,
    author_id TEXT NOT NULL,
    agent TEXT,
    team TEXT,
    public INTEGER NOT NULL,
    in_scope INTEGER,
    actionable INTEGER NOT NULL,
    signed INTEGER,
    handle_seconds REAL,
    request_id TEXT,
    PRIMARY KEY (workspace, message_id)
);
CREATE INDEX message_facts_ms ON message_facts (workspace, ms);
CREATE INDEX message_facts_conversation ON message_facts (workspace, conversation_id);

CREATE TABLE meta (
    workspace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (workspace, key)
);
