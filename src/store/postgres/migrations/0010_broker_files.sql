-- The SSH broker's file transfers carry the SHA-256 (hex) of the bytes that crossed;
-- NULL for transfers reported through the provider API, or when the bytes did not
-- cross as one contiguous run. Sessions keep why they were closed.
ALTER TABLE session_file_transfers ADD COLUMN sha256 TEXT;
ALTER TABLE sessions ADD COLUMN close_reason TEXT;
