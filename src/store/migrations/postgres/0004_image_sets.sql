-- Issue 11: a picture is a set of immutable, content-named objects (full JPEG + square variants),
-- stored as JSON: {"full", "sizes": {"64": {"webp", "jpeg"}}, "width", "height", "placeholder"}.
-- NULL with image_version set is a picture from before (one JPEG), served as it was until backfilled.
ALTER TABLE users ADD COLUMN image_set TEXT;
