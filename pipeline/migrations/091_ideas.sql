-- Ideas and incidents (pipeline/ideas.py). An idea is residents' proposals (source 'qr') that say
-- the same thing; an incident is complaints about one event (same category and district, close in
-- time, similar words). Members map a submission to its group; a member placed by staff (a merge or
-- a split) or of a decided idea is pinned, and a regroup leaves it where it is. Only incidents of
-- two or more reports are stored; every proposal belongs to an idea (of one proposal, at least).
CREATE SEQUENCE ideas_id_seq;
CREATE TABLE ideas (
    id BIGINT PRIMARY KEY DEFAULT nextval('ideas_id_seq'),
    kind VARCHAR NOT NULL,                -- idea | incident
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE idea_members (
    submission_id BIGINT PRIMARY KEY,
    idea_id BIGINT NOT NULL,
    kind VARCHAR NOT NULL,                -- idea | incident (as its idea's)
    pinned BOOLEAN NOT NULL DEFAULT false
);

-- Append-only: the latest row of an idea is its decision.
CREATE SEQUENCE idea_decisions_id_seq;
CREATE TABLE idea_decisions (
    id BIGINT PRIMARY KEY DEFAULT nextval('idea_decisions_id_seq'),
    idea_id BIGINT NOT NULL,
    decision VARCHAR NOT NULL,            -- accepted | under_study | not_accepted
    department VARCHAR,                   -- data/departments.csv code; required when accepted
    decided_on DATE,                      -- required when accepted
    reason VARCHAR,                       -- required when not accepted
    answer VARCHAR,                       -- the answer to the residents
    actor VARCHAR NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Append-only: staff's merges and splits (who, when, what).
CREATE TABLE idea_actions (
    happened_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,              -- merge | split
    idea_id BIGINT,
    other_id BIGINT,
    submission_id BIGINT
);

-- The most central proposal of an idea (highest similarity to the idea's centre), set by grouping.
ALTER TABLE ideas ADD COLUMN representative_id BIGINT;
-- A short title staff may give a decided idea (published with it); else the representative text.
ALTER TABLE idea_decisions ADD COLUMN title VARCHAR;
