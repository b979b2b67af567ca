-- Near-duplicate lookup: the SimHash of every canonical demand whose cleaned
-- text is long enough, split into four 16-bit bands. Two hashes within
-- distance 3 share a band, so a lookup reads four index ranges narrowed by
-- customer and receive time: its cost does not grow with the table. The
-- uint64 hash is stored as its int64 bits.
CREATE TABLE demand_simhash (
    demand_id    BIGINT PRIMARY KEY REFERENCES demands (id),
    customer_key TEXT NOT NULL,
    received_at  TIMESTAMP NOT NULL,
    simhash      BIGINT NOT NULL,
    band0        INTEGER NOT NULL,
    band1        INTEGER NOT NULL,
    band2        INTEGER NOT NULL,
    band3        INTEGER NOT NULL,
    cleaned      TEXT NOT NULL
);
CREATE INDEX demand_simhash_band0 ON demand_simhash (band0, customer_key, received_at);
CREATE INDEX demand_simhash_band1 ON demand_simhash (band1, customer_key, received_at);
CREATE INDEX demand_simhash_band2 ON demand_simhash (band2, customer_key, received_at);
CREATE INDEX demand_simhash_band3 ON demand_simhash (band3, customer_key, received_at);
-- A customer's latest demands in the window are candidates too.
CREATE INDEX demand_simhash_customer ON demand_simhash (customer_key, received_at);
