-- Knowledge base: articles and FAQ answers (owned by knowledge_base/). Search runs on each
-- node's in-memory index; the table is the record the index is (re)built from.
CREATE TABLE kb_articles (
    id            bigserial PRIMARY KEY,
    -- bumped by every edit: an editor holding an older version is told instead of overwriting
    version       integer NOT NULL DEFAULT 1,
    title         text NOT NULL CHECK (title <> '' AND length(title) <= 200),
    body          text NOT NULL CHECK (body <> '' AND length(body) <= 20000),
    category      text NOT NULL CHECK (category ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    tags          text[] NOT NULL DEFAULT '{}',
    synonyms      text[] NOT NULL DEFAULT '{}',
    language      text NOT NULL,
    visibility    text NOT NULL CHECK (visibility IN ('public', 'internal')),
    status        text NOT NULL CHECK (status IN ('draft', 'published')),
    -- an Asterisk sound file the IVR plays for this answer (no extension)
    sound_file    text,
    views         bigint NOT NULL DEFAULT 0 CHECK (views >= 0),
    created_by    bigint REFERENCES agents (id) ON DELETE SET NULL,
    updated_by    bigint REFERENCES agents (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    published_at  timestamptz
);
CREATE INDEX kb_articles_category ON kb_articles (category, status);
