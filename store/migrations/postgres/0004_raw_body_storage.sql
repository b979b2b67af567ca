-- Raw bodies are mail and workbook rows, often already compressed
-- (attachments): store them out of line without pglz's compression attempt.
ALTER TABLE raw_items ALTER COLUMN body SET STORAGE EXTERNAL;
