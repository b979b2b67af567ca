-- Raw bodies may be stored compressed: body_codec names how ('' = as is,
-- 's2'); sha256 stays the digest of the bytes as they came.
ALTER TABLE raw_items ADD COLUMN body_codec TEXT NOT NULL DEFAULT '';
