-- Report aggregates, kept exact in the same transaction as every write by triggers on training_sessions and
-- reach_activities (and re-attributed when a team moves unit), so reports never scan raw rows.
--
-- Five grains: per team and day (small scopes, per-team breakdowns), per commune-level unit and day and month
-- (districts, communes, breakdowns by child unit), per root unit (the province) and day and month (a year of
-- a province is a few dozen rows). `stat_team_years` keeps one bit per team and day with counted activity, so
-- "teams active in a period" is one pass over a few thousand short rows.
-- Each row is one (status, dim, key): dim 'all' (key '') holds every figure; 'topic' holds session figures by
-- the session's first (primary) topic plus `topic_mentions` for every topic listed; 'channel' and 'campaign'
-- hold campaign-reach figures by channel and by campaign id. Rows that drop to zero are deleted, so a row's
-- existence means activity. Deleted (tombstoned) records count nowhere; rejected ones keep status 'rejected'.
--
-- Activity is attributed to the unit the team served on the day (team_units) and that unit's commune-level
-- unit: the commune itself, or a village's parent.

CREATE TYPE cdt_stat AS (
    sessions bigint,
    sessions_training bigint,
    sessions_outreach bigint,
    duration_minutes bigint,
    participants_total bigint,
    participants_female bigint,
    participants_ethnic_minority bigint,
    participants_elderly bigint,
    trained_total bigint,
    trained_female bigint,
    trained_ethnic_minority bigint,
    households_reached bigint,
    vneid_activations bigint,
    payment_accounts_opened bigint,
    public_service_accounts_created bigint,
    online_dossiers_submitted bigint,
    apps_installed bigint,
    topic_mentions bigint,
    reach_activities bigint,
    contacts bigint,
    unique_people bigint,
    reach_households bigint,
    estimated_audience bigint,
    materials_distributed bigint
);

CREATE TABLE stat_team_days (
    team_id     uuid NOT NULL,
    day         date NOT NULL,
    status      text NOT NULL,
    dim         text NOT NULL,
    key         text NOT NULL,
    unit_id     uuid NOT NULL,
    commune_id  uuid NOT NULL,
    sessions                         bigint NOT NULL DEFAULT 0,
    sessions_training                bigint NOT NULL DEFAULT 0,
    sessions_outreach                bigint NOT NULL DEFAULT 0,
    duration_minutes                 bigint NOT NULL DEFAULT 0,
    participants_total               bigint NOT NULL DEFAULT 0,
    participants_female              bigint NOT NULL DEFAULT 0,
    participants_ethnic_minority     bigint NOT NULL DEFAULT 0,
    participants_elderly             bigint NOT NULL DEFAULT 0,
    trained_total                    bigint NOT NULL DEFAULT 0,
    trained_female                   bigint NOT NULL DEFAULT 0,
    trained_ethnic_minority          bigint NOT NULL DEFAULT 0,
    households_reached               bigint NOT NULL DEFAULT 0,
    vneid_activations                bigint NOT NULL DEFAULT 0,
    payment_accounts_opened          bigint NOT NULL DEFAULT 0,
    public_service_accounts_created  bigint NOT NULL DEFAULT 0,
    online_dossiers_submitted        bigint NOT NULL DEFAULT 0,
    apps_installed                   bigint NOT NULL DEFAULT 0,
    topic_mentions                   bigint NOT NULL DEFAULT 0,
    reach_activities                 bigint NOT NULL DEFAULT 0,
    contacts                         bigint NOT NULL DEFAULT 0,
    unique_people                    bigint NOT NULL DEFAULT 0,
    reach_households                 bigint NOT NULL DEFAULT 0,
    estimated_audience               bigint NOT NULL DEFAULT 0,
    materials_distributed            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, day, status, dim, key)
);
CREATE INDEX stat_team_days_commune_idx ON stat_team_days (commune_id, dim, day);

CREATE TABLE stat_commune_days (
    commune_id  uuid NOT NULL,
    day         date NOT NULL,
    status      text NOT NULL,
    dim         text NOT NULL,
    key         text NOT NULL,
    sessions                         bigint NOT NULL DEFAULT 0,
    sessions_training                bigint NOT NULL DEFAULT 0,
    sessions_outreach                bigint NOT NULL DEFAULT 0,
    duration_minutes                 bigint NOT NULL DEFAULT 0,
    participants_total               bigint NOT NULL DEFAULT 0,
    participants_female              bigint NOT NULL DEFAULT 0,
    participants_ethnic_minority     bigint NOT NULL DEFAULT 0,
    participants_elderly             bigint NOT NULL DEFAULT 0,
    trained_total                    bigint NOT NULL DEFAULT 0,
    trained_female                   bigint NOT NULL DEFAULT 0,
    trained_ethnic_minority          bigint NOT NULL DEFAULT 0,
    households_reached               bigint NOT NULL DEFAULT 0,
    vneid_activations                bigint NOT NULL DEFAULT 0,
    payment_accounts_opened          bigint NOT NULL DEFAULT 0,
    public_service_accounts_created  bigint NOT NULL DEFAULT 0,
    online_dossiers_submitted        bigint NOT NULL DEFAULT 0,
    apps_installed                   bigint NOT NULL DEFAULT 0,
    topic_mentions                   bigint NOT NULL DEFAULT 0,
    reach_activities                 bigint NOT NULL DEFAULT 0,
    contacts                         bigint NOT NULL DEFAULT 0,
    unique_people                    bigint NOT NULL DEFAULT 0,
    reach_households                 bigint NOT NULL DEFAULT 0,
    estimated_audience               bigint NOT NULL DEFAULT 0,
    materials_distributed            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (commune_id, dim, day, status, key)
);

CREATE TABLE stat_commune_months (
    commune_id  uuid NOT NULL,
    month       date NOT NULL,
    status      text NOT NULL,
    dim         text NOT NULL,
    key         text NOT NULL,
    sessions                         bigint NOT NULL DEFAULT 0,
    sessions_training                bigint NOT NULL DEFAULT 0,
    sessions_outreach                bigint NOT NULL DEFAULT 0,
    duration_minutes                 bigint NOT NULL DEFAULT 0,
    participants_total               bigint NOT NULL DEFAULT 0,
    participants_female              bigint NOT NULL DEFAULT 0,
    participants_ethnic_minority     bigint NOT NULL DEFAULT 0,
    participants_elderly             bigint NOT NULL DEFAULT 0,
    trained_total                    bigint NOT NULL DEFAULT 0,
    trained_female                   bigint NOT NULL DEFAULT 0,
    trained_ethnic_minority          bigint NOT NULL DEFAULT 0,
    households_reached               bigint NOT NULL DEFAULT 0,
    vneid_activations                bigint NOT NULL DEFAULT 0,
    payment_accounts_opened          bigint NOT NULL DEFAULT 0,
    public_service_accounts_created  bigint NOT NULL DEFAULT 0,
    online_dossiers_submitted        bigint NOT NULL DEFAULT 0,
    apps_installed                   bigint NOT NULL DEFAULT 0,
    topic_mentions                   bigint NOT NULL DEFAULT 0,
    reach_activities                 bigint NOT NULL DEFAULT 0,
    contacts                         bigint NOT NULL DEFAULT 0,
    unique_people                    bigint NOT NULL DEFAULT 0,
    reach_households                 bigint NOT NULL DEFAULT 0,
    estimated_audience               bigint NOT NULL DEFAULT 0,
    materials_distributed            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (commune_id, dim, month, status, key)
);

CREATE TABLE stat_root_days (
    root_id     uuid NOT NULL,
    day         date NOT NULL,
    status      text NOT NULL,
    dim         text NOT NULL,
    key         text NOT NULL,
    sessions                         bigint NOT NULL DEFAULT 0,
    sessions_training                bigint NOT NULL DEFAULT 0,
    sessions_outreach                bigint NOT NULL DEFAULT 0,
    duration_minutes                 bigint NOT NULL DEFAULT 0,
    participants_total               bigint NOT NULL DEFAULT 0,
    participants_female              bigint NOT NULL DEFAULT 0,
    participants_ethnic_minority     bigint NOT NULL DEFAULT 0,
    participants_elderly             bigint NOT NULL DEFAULT 0,
    trained_total                    bigint NOT NULL DEFAULT 0,
    trained_female                   bigint NOT NULL DEFAULT 0,
    trained_ethnic_minority          bigint NOT NULL DEFAULT 0,
    households_reached               bigint NOT NULL DEFAULT 0,
    vneid_activations                bigint NOT NULL DEFAULT 0,
    payment_accounts_opened          bigint NOT NULL DEFAULT 0,
    public_service_accounts_created  bigint NOT NULL DEFAULT 0,
    online_dossiers_submitted        bigint NOT NULL DEFAULT 0,
    apps_installed                   bigint NOT NULL DEFAULT 0,
    topic_mentions                   bigint NOT NULL DEFAULT 0,
    reach_activities                 bigint NOT NULL DEFAULT 0,
    contacts                         bigint NOT NULL DEFAULT 0,
    unique_people                    bigint NOT NULL DEFAULT 0,
    reach_households                 bigint NOT NULL DEFAULT 0,
    estimated_audience               bigint NOT NULL DEFAULT 0,
    materials_distributed            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (root_id, dim, day, status, key)
);

CREATE TABLE stat_root_months (
    root_id     uuid NOT NULL,
    month       date NOT NULL,
    status      text NOT NULL,
    dim         text NOT NULL,
    key         text NOT NULL,
    sessions                         bigint NOT NULL DEFAULT 0,
    sessions_training                bigint NOT NULL DEFAULT 0,
    sessions_outreach                bigint NOT NULL DEFAULT 0,
    duration_minutes                 bigint NOT NULL DEFAULT 0,
    participants_total               bigint NOT NULL DEFAULT 0,
    participants_female              bigint NOT NULL DEFAULT 0,
    participants_ethnic_minority     bigint NOT NULL DEFAULT 0,
    participants_elderly             bigint NOT NULL DEFAULT 0,
    trained_total                    bigint NOT NULL DEFAULT 0,
    trained_female                   bigint NOT NULL DEFAULT 0,
    trained_ethnic_minority          bigint NOT NULL DEFAULT 0,
    households_reached               bigint NOT NULL DEFAULT 0,
    vneid_activations                bigint NOT NULL DEFAULT 0,
    payment_accounts_opened          bigint NOT NULL DEFAULT 0,
    public_service_accounts_created  bigint NOT NULL DEFAULT 0,
    online_dossiers_submitted        bigint NOT NULL DEFAULT 0,
    apps_installed                   bigint NOT NULL DEFAULT 0,
    topic_mentions                   bigint NOT NULL DEFAULT 0,
    reach_activities                 bigint NOT NULL DEFAULT 0,
    contacts                         bigint NOT NULL DEFAULT 0,
    unique_people                    bigint NOT NULL DEFAULT 0,
    reach_households                 bigint NOT NULL DEFAULT 0,
    estimated_audience               bigint NOT NULL DEFAULT 0,
    materials_distributed            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (root_id, dim, month, status, key)
);

-- Bit d-1 of `days` is set when the team has a submitted or verified record on day d of `year`.
CREATE TABLE stat_team_years (
    team_id  uuid NOT NULL,
    year     integer NOT NULL,
    days     bit(366) NOT NULL,
    PRIMARY KEY (team_id, year)
);
CREATE INDEX stat_team_years_year_idx ON stat_team_years (year, team_id);

-- The unit a team served on a day (the period covering it, else the nearest one), its commune-level unit and
-- the root of its tree.
CREATE FUNCTION cdt_team_unit_on(p_team uuid, p_day date, OUT unit_id uuid, OUT commune_id uuid, OUT root_id uuid)
    LANGUAGE sql STABLE AS $$
    SELECT u.id, CASE WHEN u.level = 'village' THEN u.parent_id ELSE u.id END, split_part(u.path, '/', 1)::uuid
    FROM team_units tu JOIN org_units u ON u.id = tu.org_unit_id
    WHERE tu.team_id = p_team
    ORDER BY (tu.valid_from <= p_day AND (tu.valid_to IS NULL OR tu.valid_to >= p_day)) DESC,
             abs(tu.valid_from - p_day), tu.valid_from
    LIMIT 1
$$;

CREATE FUNCTION cdt_stat_zero() RETURNS cdt_stat LANGUAGE sql IMMUTABLE
    RETURN ROW(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)::cdt_stat;

-- Adds `d` (a signed contribution) to every grain.
CREATE FUNCTION cdt_stat_add(p_team uuid, p_unit uuid, p_commune uuid, p_root uuid, p_day date, p_status text,
                             p_dim text, p_key text, d cdt_stat) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_month date := date_trunc('month', p_day)::date;
    v_year integer := extract(year FROM p_day)::integer;
    v_bit integer := extract(doy FROM p_day)::integer - 1;
    v_active boolean;
BEGIN
    INSERT INTO stat_team_days AS s (team_id, day, status, dim, key, unit_id, commune_id, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
    VALUES (p_team, p_day, p_status, p_dim, p_key, p_unit, p_commune, d.sessions, d.sessions_training, d.sessions_outreach, d.duration_minutes, d.participants_total, d.participants_female, d.participants_ethnic_minority, d.participants_elderly, d.trained_total, d.trained_female, d.trained_ethnic_minority, d.households_reached, d.vneid_activations, d.payment_accounts_opened, d.public_service_accounts_created, d.online_dossiers_submitted, d.apps_installed, d.topic_mentions, d.reach_activities, d.contacts, d.unique_people, d.reach_households, d.estimated_audience, d.materials_distributed)
    ON CONFLICT (team_id, day, status, dim, key) DO UPDATE SET
            sessions = s.sessions + EXCLUDED.sessions,
            sessions_training = s.sessions_training + EXCLUDED.sessions_training,
            sessions_outreach = s.sessions_outreach + EXCLUDED.sessions_outreach,
            duration_minutes = s.duration_minutes + EXCLUDED.duration_minutes,
            participants_total = s.participants_total + EXCLUDED.participants_total,
            participants_female = s.participants_female + EXCLUDED.participants_female,
            participants_ethnic_minority = s.participants_ethnic_minority + EXCLUDED.participants_ethnic_minority,
            participants_elderly = s.participants_elderly + EXCLUDED.participants_elderly,
            trained_total = s.trained_total + EXCLUDED.trained_total,
            trained_female = s.trained_female + EXCLUDED.trained_female,
            trained_ethnic_minority = s.trained_ethnic_minority + EXCLUDED.trained_ethnic_minority,
            households_reached = s.households_reached + EXCLUDED.households_reached,
            vneid_activations = s.vneid_activations + EXCLUDED.vneid_activations,
            payment_accounts_opened = s.payment_accounts_opened + EXCLUDED.payment_accounts_opened,
            public_service_accounts_created = s.public_service_accounts_created + EXCLUDED.public_service_accounts_created,
            online_dossiers_submitted = s.online_dossiers_submitted + EXCLUDED.online_dossiers_submitted,
            apps_installed = s.apps_installed + EXCLUDED.apps_installed,
            topic_mentions = s.topic_mentions + EXCLUDED.topic_mentions,
            reach_activities = s.reach_activities + EXCLUDED.reach_activities,
            contacts = s.contacts + EXCLUDED.contacts,
            unique_people = s.unique_people + EXCLUDED.unique_people,
            reach_households = s.reach_households + EXCLUDED.reach_households,
            estimated_audience = s.estimated_audience + EXCLUDED.estimated_audience,
            materials_distributed = s.materials_distributed + EXCLUDED.materials_distributed;
    DELETE FROM stat_team_days
    WHERE team_id = p_team AND day = p_day AND status = p_status AND dim = p_dim AND key = p_key
      AND sessions = 0 AND reach_activities = 0 AND topic_mentions = 0;

    INSERT INTO stat_commune_days AS s (commune_id, day, status, dim, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
    VALUES (p_commune, p_day, p_status, p_dim, p_key, d.sessions, d.sessions_training, d.sessions_outreach, d.duration_minutes, d.participants_total, d.participants_female, d.participants_ethnic_minority, d.participants_elderly, d.trained_total, d.trained_female, d.trained_ethnic_minority, d.households_reached, d.vneid_activations, d.payment_accounts_opened, d.public_service_accounts_created, d.online_dossiers_submitted, d.apps_installed, d.topic_mentions, d.reach_activities, d.contacts, d.unique_people, d.reach_households, d.estimated_audience, d.materials_distributed)
    ON CONFLICT (commune_id, dim, day, status, key) DO UPDATE SET
            sessions = s.sessions + EXCLUDED.sessions,
            sessions_training = s.sessions_training + EXCLUDED.sessions_training,
            sessions_outreach = s.sessions_outreach + EXCLUDED.sessions_outreach,
            duration_minutes = s.duration_minutes + EXCLUDED.duration_minutes,
            participants_total = s.participants_total + EXCLUDED.participants_total,
            participants_female = s.participants_female + EXCLUDED.participants_female,
            participants_ethnic_minority = s.participants_ethnic_minority + EXCLUDED.participants_ethnic_minority,
            participants_elderly = s.participants_elderly + EXCLUDED.participants_elderly,
            trained_total = s.trained_total + EXCLUDED.trained_total,
            trained_female = s.trained_female + EXCLUDED.trained_female,
            trained_ethnic_minority = s.trained_ethnic_minority + EXCLUDED.trained_ethnic_minority,
            households_reached = s.households_reached + EXCLUDED.households_reached,
            vneid_activations = s.vneid_activations + EXCLUDED.vneid_activations,
            payment_accounts_opened = s.payment_accounts_opened + EXCLUDED.payment_accounts_opened,
            public_service_accounts_created = s.public_service_accounts_created + EXCLUDED.public_service_accounts_created,
            online_dossiers_submitted = s.online_dossiers_submitted + EXCLUDED.online_dossiers_submitted,
            apps_installed = s.apps_installed + EXCLUDED.apps_installed,
            topic_mentions = s.topic_mentions + EXCLUDED.topic_mentions,
            reach_activities = s.reach_activities + EXCLUDED.reach_activities,
            contacts = s.contacts + EXCLUDED.contacts,
            unique_people = s.unique_people + EXCLUDED.unique_people,
            reach_households = s.reach_households + EXCLUDED.reach_households,
            estimated_audience = s.estimated_audience + EXCLUDED.estimated_audience,
            materials_distributed = s.materials_distributed + EXCLUDED.materials_distributed;
    DELETE FROM stat_commune_days
    WHERE commune_id = p_commune AND dim = p_dim AND day = p_day AND status = p_status AND key = p_key
      AND sessions = 0 AND reach_activities = 0 AND topic_mentions = 0;

    INSERT INTO stat_commune_months AS s (commune_id, month, status, dim, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
    VALUES (p_commune, v_month, p_status, p_dim, p_key, d.sessions, d.sessions_training, d.sessions_outreach, d.duration_minutes, d.participants_total, d.participants_female, d.participants_ethnic_minority, d.participants_elderly, d.trained_total, d.trained_female, d.trained_ethnic_minority, d.households_reached, d.vneid_activations, d.payment_accounts_opened, d.public_service_accounts_created, d.online_dossiers_submitted, d.apps_installed, d.topic_mentions, d.reach_activities, d.contacts, d.unique_people, d.reach_households, d.estimated_audience, d.materials_distributed)
    ON CONFLICT (commune_id, dim, month, status, key) DO UPDATE SET
            sessions = s.sessions + EXCLUDED.sessions,
            sessions_training = s.sessions_training + EXCLUDED.sessions_training,
            sessions_outreach = s.sessions_outreach + EXCLUDED.sessions_outreach,
            duration_minutes = s.duration_minutes + EXCLUDED.duration_minutes,
            participants_total = s.participants_total + EXCLUDED.participants_total,
            participants_female = s.participants_female + EXCLUDED.participants_female,
            participants_ethnic_minority = s.participants_ethnic_minority + EXCLUDED.participants_ethnic_minority,
            participants_elderly = s.participants_elderly + EXCLUDED.participants_elderly,
            trained_total = s.trained_total + EXCLUDED.trained_total,
            trained_female = s.trained_female + EXCLUDED.trained_female,
            trained_ethnic_minority = s.trained_ethnic_minority + EXCLUDED.trained_ethnic_minority,
            households_reached = s.households_reached + EXCLUDED.households_reached,
            vneid_activations = s.vneid_activations + EXCLUDED.vneid_activations,
            payment_accounts_opened = s.payment_accounts_opened + EXCLUDED.payment_accounts_opened,
            public_service_accounts_created = s.public_service_accounts_created + EXCLUDED.public_service_accounts_created,
            online_dossiers_submitted = s.online_dossiers_submitted + EXCLUDED.online_dossiers_submitted,
            apps_installed = s.apps_installed + EXCLUDED.apps_installed,
            topic_mentions = s.topic_mentions + EXCLUDED.topic_mentions,
            reach_activities = s.reach_activities + EXCLUDED.reach_activities,
            contacts = s.contacts + EXCLUDED.contacts,
            unique_people = s.unique_people + EXCLUDED.unique_people,
            reach_households = s.reach_households + EXCLUDED.reach_households,
            estimated_audience = s.estimated_audience + EXCLUDED.estimated_audience,
            materials_distributed = s.materials_distributed + EXCLUDED.materials_distributed;
    DELETE FROM stat_commune_months
    WHERE commune_id = p_commune AND dim = p_dim AND month = v_month AND status = p_status AND key = p_key
      AND sessions = 0 AND reach_activities = 0 AND topic_mentions = 0;

    INSERT INTO stat_root_days AS s (root_id, day, status, dim, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
    VALUES (p_root, p_day, p_status, p_dim, p_key, d.sessions, d.sessions_training, d.sessions_outreach, d.duration_minutes, d.participants_total, d.participants_female, d.participants_ethnic_minority, d.participants_elderly, d.trained_total, d.trained_female, d.trained_ethnic_minority, d.households_reached, d.vneid_activations, d.payment_accounts_opened, d.public_service_accounts_created, d.online_dossiers_submitted, d.apps_installed, d.topic_mentions, d.reach_activities, d.contacts, d.unique_people, d.reach_households, d.estimated_audience, d.materials_distributed)
    ON CONFLICT (root_id, dim, day, status, key) DO UPDATE SET
            sessions = s.sessions + EXCLUDED.sessions,
            sessions_training = s.sessions_training + EXCLUDED.sessions_training,
            sessions_outreach = s.sessions_outreach + EXCLUDED.sessions_outreach,
            duration_minutes = s.duration_minutes + EXCLUDED.duration_minutes,
            participants_total = s.participants_total + EXCLUDED.participants_total,
            participants_female = s.participants_female + EXCLUDED.participants_female,
            participants_ethnic_minority = s.participants_ethnic_minority + EXCLUDED.participants_ethnic_minority,
            participants_elderly = s.participants_elderly + EXCLUDED.participants_elderly,
            trained_total = s.trained_total + EXCLUDED.trained_total,
            trained_female = s.trained_female + EXCLUDED.trained_female,
            trained_ethnic_minority = s.trained_ethnic_minority + EXCLUDED.trained_ethnic_minority,
            households_reached = s.households_reached + EXCLUDED.households_reached,
            vneid_activations = s.vneid_activations + EXCLUDED.vneid_activations,
            payment_accounts_opened = s.payment_accounts_opened + EXCLUDED.payment_accounts_opened,
            public_service_accounts_created = s.public_service_accounts_created + EXCLUDED.public_service_accounts_created,
            online_dossiers_submitted = s.online_dossiers_submitted + EXCLUDED.online_dossiers_submitted,
            apps_installed = s.apps_installed + EXCLUDED.apps_installed,
            topic_mentions = s.topic_mentions + EXCLUDED.topic_mentions,
            reach_activities = s.reach_activities + EXCLUDED.reach_activities,
            contacts = s.contacts + EXCLUDED.contacts,
            unique_people = s.unique_people + EXCLUDED.unique_people,
            reach_households = s.reach_households + EXCLUDED.reach_households,
            estimated_audience = s.estimated_audience + EXCLUDED.estimated_audience,
            materials_distributed = s.materials_distributed + EXCLUDED.materials_distributed;
    DELETE FROM stat_root_days
    WHERE root_id = p_root AND dim = p_dim AND day = p_day AND status = p_status AND key = p_key
      AND sessions = 0 AND reach_activities = 0 AND topic_mentions = 0;

    INSERT INTO stat_root_months AS s (root_id, month, status, dim, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
    VALUES (p_root, v_month, p_status, p_dim, p_key, d.sessions, d.sessions_training, d.sessions_outreach, d.duration_minutes, d.participants_total, d.participants_female, d.participants_ethnic_minority, d.participants_elderly, d.trained_total, d.trained_female, d.trained_ethnic_minority, d.households_reached, d.vneid_activations, d.payment_accounts_opened, d.public_service_accounts_created, d.online_dossiers_submitted, d.apps_installed, d.topic_mentions, d.reach_activities, d.contacts, d.unique_people, d.reach_households, d.estimated_audience, d.materials_distributed)
    ON CONFLICT (root_id, dim, month, status, key) DO UPDATE SET
            sessions = s.sessions + EXCLUDED.sessions,
            sessions_training = s.sessions_training + EXCLUDED.sessions_training,
            sessions_outreach = s.sessions_outreach + EXCLUDED.sessions_outreach,
            duration_minutes = s.duration_minutes + EXCLUDED.duration_minutes,
            participants_total = s.participants_total + EXCLUDED.participants_total,
            participants_female = s.participants_female + EXCLUDED.participants_female,
            participants_ethnic_minority = s.participants_ethnic_minority + EXCLUDED.participants_ethnic_minority,
            participants_elderly = s.participants_elderly + EXCLUDED.participants_elderly,
            trained_total = s.trained_total + EXCLUDED.trained_total,
            trained_female = s.trained_female + EXCLUDED.trained_female,
            trained_ethnic_minority = s.trained_ethnic_minority + EXCLUDED.trained_ethnic_minority,
            households_reached = s.households_reached + EXCLUDED.households_reached,
            vneid_activations = s.vneid_activations + EXCLUDED.vneid_activations,
            payment_accounts_opened = s.payment_accounts_opened + EXCLUDED.payment_accounts_opened,
            public_service_accounts_created = s.public_service_accounts_created + EXCLUDED.public_service_accounts_created,
            online_dossiers_submitted = s.online_dossiers_submitted + EXCLUDED.online_dossiers_submitted,
            apps_installed = s.apps_installed + EXCLUDED.apps_installed,
            topic_mentions = s.topic_mentions + EXCLUDED.topic_mentions,
            reach_activities = s.reach_activities + EXCLUDED.reach_activities,
            contacts = s.contacts + EXCLUDED.contacts,
            unique_people = s.unique_people + EXCLUDED.unique_people,
            reach_households = s.reach_households + EXCLUDED.reach_households,
            estimated_audience = s.estimated_audience + EXCLUDED.estimated_audience,
            materials_distributed = s.materials_distributed + EXCLUDED.materials_distributed;
    DELETE FROM stat_root_months
    WHERE root_id = p_root AND dim = p_dim AND month = v_month AND status = p_status AND key = p_key
      AND sessions = 0 AND reach_activities = 0 AND topic_mentions = 0;

    IF p_dim = 'all' THEN
        v_active := EXISTS (SELECT 1 FROM stat_team_days WHERE team_id = p_team AND day = p_day AND dim = 'all'
                            AND status <> 'rejected');
        INSERT INTO stat_team_years (team_id, year, days) VALUES (p_team, v_year, repeat('0', 366)::bit(366))
        ON CONFLICT (team_id, year) DO NOTHING;
        UPDATE stat_team_years SET days = set_bit(days, v_bit, v_active::integer)
        WHERE team_id = p_team AND year = v_year;
        DELETE FROM stat_team_years WHERE team_id = p_team AND year = v_year AND position(B'1' IN days) = 0;
    END IF;
END;
$$;

-- A session's contribution (sign +1 or -1).
CREATE FUNCTION cdt_stats_session(s training_sessions, sign integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_unit uuid;
    v_commune uuid;
    v_root uuid;
    d cdt_stat := cdt_stat_zero();
    mention cdt_stat := cdt_stat_zero();
    topic text;
    trained integer := (s.kind = 'training')::integer;
BEGIN
    SELECT t.unit_id, t.commune_id, t.root_id INTO v_unit, v_commune, v_root FROM cdt_team_unit_on(s.team_id, s.held_on) t;
    IF v_unit IS NULL THEN
        RAISE EXCEPTION 'team % has no unit history', s.team_id;
    END IF;
    d.sessions := sign;
    d.sessions_training := sign * trained;
    d.sessions_outreach := sign * (1 - trained);
    d.duration_minutes := sign * s.duration_minutes;
    d.participants_total := sign * s.participants_total;
    d.participants_female := sign * s.participants_female;
    d.participants_ethnic_minority := sign * s.participants_ethnic_minority;
    d.participants_elderly := sign * s.participants_elderly;
    d.trained_total := sign * trained * s.participants_total;
    d.trained_female := sign * trained * s.participants_female;
    d.trained_ethnic_minority := sign * trained * s.participants_ethnic_minority;
    d.households_reached := sign * s.households_reached;
    d.vneid_activations := sign * s.vneid_activations;
    d.payment_accounts_opened := sign * s.payment_accounts_opened;
    d.public_service_accounts_created := sign * s.public_service_accounts_created;
    d.online_dossiers_submitted := sign * s.online_dossiers_submitted;
    d.apps_installed := sign * s.apps_installed;
    PERFORM cdt_stat_add(s.team_id, v_unit, v_commune, v_root, s.held_on, s.status, 'all', '', d);
    d.topic_mentions := sign;
    PERFORM cdt_stat_add(s.team_id, v_unit, v_commune, v_root, s.held_on, s.status, 'topic', s.topics[1], d);
    mention.topic_mentions := sign;
    FOR topic IN SELECT DISTINCT x FROM unnest(s.topics) AS x WHERE x IS DISTINCT FROM s.topics[1] LOOP
        PERFORM cdt_stat_add(s.team_id, v_unit, v_commune, v_root, s.held_on, s.status, 'topic', topic, mention);
    END LOOP;
END;
$$;

-- A reach activity's contribution (sign +1 or -1).
CREATE FUNCTION cdt_stats_reach(r reach_activities, sign integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_unit uuid;
    v_commune uuid;
    v_root uuid;
    d cdt_stat := cdt_stat_zero();
BEGIN
    SELECT t.unit_id, t.commune_id, t.root_id INTO v_unit, v_commune, v_root FROM cdt_team_unit_on(r.team_id, r.occurred_on) t;
    IF v_unit IS NULL THEN
        RAISE EXCEPTION 'team % has no unit history', r.team_id;
    END IF;
    d.reach_activities := sign;
    d.contacts := sign * r.contacts;
    d.unique_people := sign * coalesce(r.unique_people, 0);
    d.reach_households := sign * r.households_reached;
    d.estimated_audience := sign * coalesce(r.estimated_audience, 0);
    d.materials_distributed := sign * r.materials_distributed;
    PERFORM cdt_stat_add(r.team_id, v_unit, v_commune, v_root, r.occurred_on, r.status, 'all', '', d);
    PERFORM cdt_stat_add(r.team_id, v_unit, v_commune, v_root, r.occurred_on, r.status, 'channel', r.channel, d);
    PERFORM cdt_stat_add(r.team_id, v_unit, v_commune, v_root, r.occurred_on, r.status, 'campaign', r.campaign_id::text, d);
END;
$$;

CREATE FUNCTION cdt_stats_session_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.team_id, OLD.held_on, OLD.status, OLD.kind, OLD.topics, OLD.deleted_at IS NULL,
        OLD.duration_minutes, OLD.participants_total, OLD.participants_female, OLD.participants_ethnic_minority,
        OLD.participants_elderly, OLD.households_reached, OLD.vneid_activations, OLD.payment_accounts_opened,
        OLD.public_service_accounts_created, OLD.online_dossiers_submitted, OLD.apps_installed)
        IS NOT DISTINCT FROM (NEW.team_id, NEW.held_on, NEW.status, NEW.kind, NEW.topics, NEW.deleted_at IS NULL,
        NEW.duration_minutes, NEW.participants_total, NEW.participants_female, NEW.participants_ethnic_minority,
        NEW.participants_elderly, NEW.households_reached, NEW.vneid_activations, NEW.payment_accounts_opened,
        NEW.public_service_accounts_created, NEW.online_dossiers_submitted, NEW.apps_installed) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
        PERFORM cdt_stats_session(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL THEN
        PERFORM cdt_stats_session(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER training_sessions_stats AFTER INSERT OR UPDATE OR DELETE ON training_sessions
    FOR EACH ROW EXECUTE FUNCTION cdt_stats_session_trigger();

CREATE FUNCTION cdt_stats_reach_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.team_id, OLD.occurred_on, OLD.status, OLD.channel, OLD.campaign_id,
        OLD.deleted_at IS NULL, OLD.contacts, OLD.unique_people, OLD.households_reached, OLD.estimated_audience,
        OLD.materials_distributed)
        IS NOT DISTINCT FROM (NEW.team_id, NEW.occurred_on, NEW.status, NEW.channel, NEW.campaign_id,
        NEW.deleted_at IS NULL, NEW.contacts, NEW.unique_people, NEW.households_reached, NEW.estimated_audience,
        NEW.materials_distributed) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
        PERFORM cdt_stats_reach(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL THEN
        PERFORM cdt_stats_reach(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER reach_activities_stats AFTER INSERT OR UPDATE OR DELETE ON reach_activities
    FOR EACH ROW EXECUTE FUNCTION cdt_stats_reach_trigger();

-- Adds (+1) or removes (-1) everything a team did: around a change of its unit history, this re-attributes it.
CREATE FUNCTION cdt_stats_team(p_team uuid, sign integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s training_sessions;
    r reach_activities;
BEGIN
    FOR s IN SELECT * FROM training_sessions WHERE team_id = p_team AND deleted_at IS NULL LOOP
        PERFORM cdt_stats_session(s, sign);
    END LOOP;
    FOR r IN SELECT * FROM reach_activities WHERE team_id = p_team AND deleted_at IS NULL LOOP
        PERFORM cdt_stats_reach(r, sign);
    END LOOP;
END;
$$;

-- Rebuilds every grain from the raw rows in bulk: after a bulk load with triggers off, or to check that
-- the incremental maintenance is exact.
CREATE FUNCTION cdt_stats_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE stat_team_days, stat_commune_days, stat_commune_months, stat_root_days, stat_root_months, stat_team_years;
    CREATE TEMPORARY TABLE cdt_facts ON COMMIT DROP AS
    SELECT team_id, day, status, dim, key, sum(sessions) AS sessions, sum(sessions_training) AS sessions_training, sum(sessions_outreach) AS sessions_outreach, sum(duration_minutes) AS duration_minutes, sum(participants_total) AS participants_total, sum(participants_female) AS participants_female, sum(participants_ethnic_minority) AS participants_ethnic_minority, sum(participants_elderly) AS participants_elderly, sum(trained_total) AS trained_total, sum(trained_female) AS trained_female, sum(trained_ethnic_minority) AS trained_ethnic_minority, sum(households_reached) AS households_reached, sum(vneid_activations) AS vneid_activations, sum(payment_accounts_opened) AS payment_accounts_opened, sum(public_service_accounts_created) AS public_service_accounts_created, sum(online_dossiers_submitted) AS online_dossiers_submitted, sum(apps_installed) AS apps_installed, sum(topic_mentions) AS topic_mentions, sum(reach_activities) AS reach_activities, sum(contacts) AS contacts, sum(unique_people) AS unique_people, sum(reach_households) AS reach_households, sum(estimated_audience) AS estimated_audience, sum(materials_distributed) AS materials_distributed
    FROM (
        SELECT s.team_id, s.held_on AS day, s.status, f.dim, f.key,
               f.whole AS sessions, f.whole * (s.kind = 'training')::int AS sessions_training,
               f.whole * (s.kind = 'outreach')::int AS sessions_outreach,
               f.whole * s.duration_minutes AS duration_minutes,
               f.whole * s.participants_total AS participants_total,
               f.whole * s.participants_female AS participants_female,
               f.whole * s.participants_ethnic_minority AS participants_ethnic_minority,
               f.whole * s.participants_elderly AS participants_elderly,
               f.whole * (s.kind = 'training')::int * s.participants_total AS trained_total,
               f.whole * (s.kind = 'training')::int * s.participants_female AS trained_female,
               f.whole * (s.kind = 'training')::int * s.participants_ethnic_minority AS trained_ethnic_minority,
               f.whole * s.households_reached AS households_reached,
               f.whole * s.vneid_activations AS vneid_activations,
               f.whole * s.payment_accounts_opened AS payment_accounts_opened,
               f.whole * s.public_service_accounts_created AS public_service_accounts_created,
               f.whole * s.online_dossiers_submitted AS online_dossiers_submitted,
               f.whole * s.apps_installed AS apps_installed,
               f.mention AS topic_mentions,
               0 AS reach_activities, 0 AS contacts, 0 AS unique_people, 0 AS reach_households,
               0 AS estimated_audience, 0 AS materials_distributed
        FROM training_sessions s
        CROSS JOIN LATERAL (
            SELECT 'all' AS dim, '' AS key, 1 AS whole, 0 AS mention
            UNION ALL
            SELECT 'topic', t.topic, (t.topic = s.topics[1])::int, 1
            FROM (SELECT DISTINCT x AS topic FROM unnest(s.topics) AS x) t
        ) f
        WHERE s.deleted_at IS NULL
        UNION ALL
        SELECT r.team_id, r.occurred_on, r.status, f.dim, f.key,
               0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
               1, r.contacts, coalesce(r.unique_people, 0), r.households_reached,
               coalesce(r.estimated_audience, 0), r.materials_distributed
        FROM reach_activities r
        CROSS JOIN LATERAL (VALUES ('all', ''), ('channel', r.channel), ('campaign', r.campaign_id::text)) f (dim, key)
        WHERE r.deleted_at IS NULL
    ) facts
    GROUP BY team_id, day, status, dim, key;

    -- Each team-day's unit: the period covering it (one hash join), else the nearest period (the function).
    CREATE TEMPORARY TABLE cdt_team_day_units ON COMMIT DROP AS
    SELECT td.team_id, td.day, u.id AS unit_id,
           CASE WHEN u.level = 'village' THEN u.parent_id ELSE u.id END AS commune_id
    FROM (SELECT DISTINCT team_id, day FROM cdt_facts) td
    JOIN team_units tu ON tu.team_id = td.team_id AND tu.valid_from <= td.day
                      AND (tu.valid_to IS NULL OR tu.valid_to >= td.day)
    JOIN org_units u ON u.id = tu.org_unit_id;
    INSERT INTO cdt_team_day_units
    SELECT td.team_id, td.day, u.unit_id, u.commune_id
    FROM (SELECT DISTINCT team_id, day FROM cdt_facts) td
    LEFT JOIN cdt_team_day_units known USING (team_id, day)
    CROSS JOIN LATERAL cdt_team_unit_on(td.team_id, td.day) u
    WHERE known.team_id IS NULL AND u.unit_id IS NOT NULL;

    INSERT INTO stat_team_days (team_id, day, status, dim, key, unit_id, commune_id, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
    SELECT f.team_id, f.day, f.status, f.dim, f.key, u.unit_id, u.commune_id, f.sessions, f.sessions_training, f.sessions_outreach, f.duration_minutes, f.participants_total, f.participants_female, f.participants_ethnic_minority, f.participants_elderly, f.trained_total, f.trained_female, f.trained_ethnic_minority, f.households_reached, f.vneid_activations, f.payment_accounts_opened, f.public_service_accounts_created, f.online_dossiers_submitted, f.apps_installed, f.topic_mentions, f.reach_activities, f.contacts, f.unique_people, f.reach_households, f.estimated_audience, f.materials_distributed
    FROM cdt_facts f JOIN cdt_team_day_units u USING (team_id, day);

    INSERT INTO stat_commune_days (commune_id, day, status, dim, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
    SELECT commune_id, day, status, dim, key,
               sum(sessions),
               sum(sessions_training),
               sum(sessions_outreach),
               sum(duration_minutes),
               sum(participants_total),
               sum(participants_female),
               sum(participants_ethnic_minority),
               sum(participants_elderly),
               sum(trained_total),
               sum(trained_female),
               sum(trained_ethnic_minority),
               sum(households_reached),
               sum(vneid_activations),
               sum(payment_accounts_opened),
               sum(public_service_accounts_created),
               sum(online_dossiers_submitted),
               sum(apps_installed),
               sum(topic_mentions),
               sum(reach_activities),
               sum(contacts),
               sum(unique_people),
               sum(reach_households),
               sum(estimated_audience),
               sum(materials_distributed)
    FROM stat_team_days GROUP BY commune_id, day, status, dim, key;

    INSERT INTO stat_commune_months (commune_id, month, status, dim, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
    SELECT commune_id, date_trunc('month', day)::date, status, dim, key,
               sum(sessions),
               sum(sessions_training),
               sum(sessions_outreach),
               sum(duration_minutes),
               sum(participants_total),
               sum(participants_female),
               sum(participants_ethnic_minority),
               sum(participants_elderly),
               sum(trained_total),
               sum(trained_female),
               sum(trained_ethnic_minority),
               sum(households_reached),
               sum(vneid_activations),
               sum(payment_accounts_opened),
               sum(public_service_accounts_created),
               sum(online_dossiers_submitted),
               sum(apps_installed),
               sum(topic_mentions),
               sum(reach_activities),
               sum(contacts),
               sum(unique_people),
               sum(reach_households),
               sum(estimated_audience),
               sum(materials_distributed)
    FROM stat_commune_days GROUP BY commune_id, date_trunc('month', day)::date, status, dim, key;

    INSERT INTO stat_root_days (root_id, day, status, dim, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
    SELECT split_part(o.path, '/', 1)::uuid, day, status, dim, key,
               sum(sessions),
               sum(sessions_training),
               sum(sessions_outreach),
               sum(duration_minutes),
               sum(participants_total),
               sum(participants_female),
               sum(participants_ethnic_minority),
               sum(participants_elderly),
               sum(trained_total),
               sum(trained_female),
               sum(trained_ethnic_minority),
               sum(households_reached),
               sum(vneid_activations),
               sum(payment_accounts_opened),
               sum(public_service_accounts_created),
               sum(online_dossiers_submitted),
               sum(apps_installed),
               sum(topic_mentions),
               sum(reach_activities),
               sum(contacts),
               sum(unique_people),
               sum(reach_households),
               sum(estimated_audience),
               sum(materials_distributed)
    FROM stat_commune_days c JOIN org_units o ON o.id = c.commune_id
    GROUP BY split_part(o.path, '/', 1)::uuid, day, status, dim, key;

    INSERT INTO stat_root_months (root_id, month, status, dim, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
    SELECT root_id, date_trunc('month', day)::date, status, dim, key,
               sum(sessions),
               sum(sessions_training),
               sum(sessions_outreach),
               sum(duration_minutes),
               sum(participants_total),
               sum(participants_female),
               sum(participants_ethnic_minority),
               sum(participants_elderly),
               sum(trained_total),
               sum(trained_female),
               sum(trained_ethnic_minority),
               sum(households_reached),
               sum(vneid_activations),
               sum(payment_accounts_opened),
               sum(public_service_accounts_created),
               sum(online_dossiers_submitted),
               sum(apps_installed),
               sum(topic_mentions),
               sum(reach_activities),
               sum(contacts),
               sum(unique_people),
               sum(reach_households),
               sum(estimated_audience),
               sum(materials_distributed)
    FROM stat_root_days GROUP BY root_id, date_trunc('month', day)::date, status, dim, key;

    INSERT INTO stat_team_years (team_id, year, days)
    SELECT team_id, extract(year FROM day)::integer,
           bit_or((B'1' || repeat('0', 365)::bit(365))::bit(366) >> (extract(doy FROM day)::integer - 1))
    FROM stat_team_days WHERE dim = 'all' AND status <> 'rejected'
    GROUP BY team_id, extract(year FROM day)::integer;
    DROP TABLE cdt_facts, cdt_team_day_units;
END;
$$;

-- Versions of what report servers cache: `org_structure` (the administrative tree and its succession links)
-- and `registry` (teams, their unit history, memberships, people). Statement triggers bump them in the
-- writing transaction, so a server that reads a version sees the data it stands for.
CREATE TABLE cdt_versions (
    name     text PRIMARY KEY,
    version  bigint NOT NULL
);
INSERT INTO cdt_versions VALUES ('org_structure', 1), ('registry', 1);
CREATE FUNCTION cdt_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cdt_versions SET version = version + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END;
$$;
CREATE TRIGGER org_units_version AFTER INSERT OR UPDATE OR DELETE ON org_units
    FOR EACH STATEMENT EXECUTE FUNCTION cdt_bump_version('org_structure');
CREATE TRIGGER org_unit_successions_version AFTER INSERT OR UPDATE OR DELETE ON org_unit_successions
    FOR EACH STATEMENT EXECUTE FUNCTION cdt_bump_version('org_structure');
CREATE TRIGGER teams_version AFTER INSERT OR UPDATE OR DELETE ON teams
    FOR EACH STATEMENT EXECUTE FUNCTION cdt_bump_version('registry');
CREATE TRIGGER team_units_version AFTER INSERT OR UPDATE OR DELETE ON team_units
    FOR EACH STATEMENT EXECUTE FUNCTION cdt_bump_version('registry');
CREATE TRIGGER memberships_version AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH STATEMENT EXECUTE FUNCTION cdt_bump_version('registry');
CREATE TRIGGER people_version AFTER INSERT OR UPDATE OR DELETE ON people
    FOR EACH STATEMENT EXECUTE FUNCTION cdt_bump_version('registry');

SELECT cdt_stats_rebuild();
