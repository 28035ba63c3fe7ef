-- Where the QR codes hang (issue 14): bus stops, buses or routes, schools, clinics, akimat offices,
-- parks. A code opens the public form at <SC_FORM_URL>/p/<code>; submissions that came through it
-- carry the code in submissions.placement. Codes are stored in capitals (they are compared without
-- regard to case) and never reused: a placement taken down is deactivated, not deleted, so that
-- its history keeps its name.
CREATE TABLE placements (
    code VARCHAR PRIMARY KEY,             -- short code printed on the poster, e.g. SH-0042
    kind VARCHAR NOT NULL,                -- bus_stop, bus_route, school, clinic, akimat_office, park, other
    name_ru VARCHAR NOT NULL,
    name_kk VARCHAR NOT NULL,
    region VARCHAR NOT NULL,              -- code from data/regions.csv
    district VARCHAR,                     -- code from data/districts.csv; empty for a route across districts
    lat DOUBLE,
    lon DOUBLE,
    active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by VARCHAR,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by VARCHAR
);
