-- Issue 3: customers and their orders (retention, churn, CLV, referral). Dates are kept as
-- written (an instant, or a bare day read in the report's time zone).
CREATE TABLE customers (
    workspace TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    account TEXT NOT NULL,
    since TEXT NOT NULL,
    churned_at TEXT,
    referred_by TEXT,
    fp INTEGER NOT NULL,
    src INTEGER NOT NULL,
    line INTEGER NOT NULL,
    PRIMARY KEY (workspace, customer_id)
);

CREATE TABLE orders (
    workspace TEXT NOT NULL,
    order_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    ordered_at TEXT NOT NULL,
    amount REAL NOT NULL,
    margin REAL,
    currency TEXT,
    fp INTEGER NOT NULL,
    src INTEGER NOT NULL,
    line INTEGER NOT NULL,
    PRIMARY KEY (workspace, order_id)
);
