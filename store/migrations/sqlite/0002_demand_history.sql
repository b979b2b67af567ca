-- What changed on a demand and when: reclassification (old and new values),
-- later follow-ups and status changes.
CREATE TABLE demand_history (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    demand_id BIGINT NOT NULL REFERENCES demands (id),
    at        TIMESTAMP NOT NULL,
    kind      TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX demand_history_demand ON demand_history (demand_id, at);
