-- Report aggregates maintained per statement instead of per row (issue 18's bulk review: verifying 5,000
-- records one row trigger at a time took about 3 ms a row in the triggers alone). Each write statement on
-- training_sessions or reach_activities now runs one AFTER ... FOR EACH STATEMENT trigger with its transition
-- tables: the rows' contributions (`cdt_fact`, the same expansion as `cdt_stats_rebuild`: dim 'all', the topics,
-- the channel and the campaign) are netted per (team, day, status, dim, key), attributed to the unit the team
-- served that day, and applied to every grain with one upsert per grain, then rows left at zero are deleted and
-- the touched team-years' activity bits recomputed. A one-row write costs about what it did; a 5,000-row
-- statement costs a few statements instead of about 60 per row. Moving a team (cdt_stats_team) uses the same
-- path. The aggregates stay exact in the writing transaction, as before.

CREATE TYPE cdt_fact AS (
    team_id uuid,
    day date,
    status text,
    dim text,
    key text,
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

-- The signed contributions of sessions (deleted ones contribute nothing).
CREATE FUNCTION cdt_session_facts(p_rows training_sessions[], p_sign integer) RETURNS SETOF cdt_fact
    LANGUAGE sql STABLE AS $$
    SELECT s.team_id, s.held_on, s.status, f.dim, f.key,
           p_sign * f.whole, p_sign * f.whole * (s.kind = 'training')::int, p_sign * f.whole * (s.kind = 'outreach')::int,
           p_sign * f.whole * s.duration_minutes, p_sign * f.whole * s.participants_total,
           p_sign * f.whole * s.participants_female, p_sign * f.whole * s.participants_ethnic_minority,
           p_sign * f.whole * s.participants_elderly,
           p_sign * f.whole * (s.kind = 'training')::int * s.participants_total,
           p_sign * f.whole * (s.kind = 'training')::int * s.participants_female,
           p_sign * f.whole * (s.kind = 'training')::int * s.participants_ethnic_minority,
           p_sign * f.whole * s.households_reached, p_sign * f.whole * s.vneid_activations,
           p_sign * f.whole * s.payment_accounts_opened, p_sign * f.whole * s.public_service_accounts_created,
           p_sign * f.whole * s.online_dossiers_submitted, p_sign * f.whole * s.apps_installed,
           p_sign * f.mention, 0, 0, 0, 0, 0, 0
    FROM unnest(p_rows) AS s
    CROSS JOIN LATERAL (
        SELECT 'all' AS dim, '' AS key, 1 AS whole, 0 AS mention
        UNION ALL
        SELECT 'topic', t.topic, (t.topic = s.topics[1])::int, 1
        FROM (SELECT DISTINCT x AS topic FROM unnest(s.topics) AS x) t
    ) f
    WHERE s.deleted_at IS NULL
$$;

-- The signed contributions of campaign reach activities.
CREATE FUNCTION cdt_reach_facts(p_rows reach_activities[], p_sign integer) RETURNS SETOF cdt_fact
    LANGUAGE sql STABLE AS $$
    SELECT r.team_id, r.occurred_on, r.status, f.dim, f.key,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           p_sign, p_sign * r.contacts, p_sign * coalesce(r.unique_people, 0), p_sign * r.households_reached,
           p_sign * coalesce(r.estimated_audience, 0), p_sign * r.materials_distributed
    FROM unnest(p_rows) AS r
    CROSS JOIN LATERAL (VALUES ('all', ''), ('channel', r.channel), ('campaign', r.campaign_id::text)) f (dim, key)
    WHERE r.deleted_at IS NULL
$$;

-- A netted contribution with the unit the team served that day, its commune-level unit and its root.
CREATE TYPE cdt_attributed_fact AS (
    team_id uuid,
    unit_id uuid,
    commune_id uuid,
    root_id uuid,
    day date,
    status text,
    dim text,
    key text,
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

-- The bit of a day in its year's `stat_team_years.days` (bit 0: 1 January).
CREATE FUNCTION cdt_day_bit(p_day date) RETURNS bit(366) LANGUAGE sql IMMUTABLE
    RETURN (B'1' || repeat('0', 365)::bit(365))::bit(366) >> (extract(doy FROM p_day)::integer - 1);

-- Applies signed contributions to every grain.
CREATE FUNCTION cdt_stats_apply(p_facts cdt_fact[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v cdt_attributed_fact[];
    z0_id uuid[];
    z0_at date[];
    z0_status text[];
    z0_dim text[];
    z0_key text[];
    z1_id uuid[];
    z1_at date[];
    z1_status text[];
    z1_dim text[];
    z1_key text[];
    z2_id uuid[];
    z2_at date[];
    z2_status text[];
    z2_dim text[];
    z2_key text[];
    z3_id uuid[];
    z3_at date[];
    z3_status text[];
    z3_dim text[];
    z3_key text[];
    z4_id uuid[];
    z4_at date[];
    z4_status text[];
    z4_dim text[];
    z4_key text[];
BEGIN
    IF cardinality(p_facts) = 0 THEN
        RETURN;
    END IF;
    -- Net per (team, day, status, dim, key), dropping what cancels out (an edit of notes, a no-op review).
    v := ARRAY(
        WITH net AS (
            SELECT f.team_id, f.day, f.status, f.dim, f.key, sum(f.sessions)::bigint AS sessions, sum(f.sessions_training)::bigint AS sessions_training, sum(f.sessions_outreach)::bigint AS sessions_outreach, sum(f.duration_minutes)::bigint AS duration_minutes, sum(f.participants_total)::bigint AS participants_total, sum(f.participants_female)::bigint AS participants_female, sum(f.participants_ethnic_minority)::bigint AS participants_ethnic_minority, sum(f.participants_elderly)::bigint AS participants_elderly, sum(f.trained_total)::bigint AS trained_total, sum(f.trained_female)::bigint AS trained_female, sum(f.trained_ethnic_minority)::bigint AS trained_ethnic_minority, sum(f.households_reached)::bigint AS households_reached, sum(f.vneid_activations)::bigint AS vneid_activations, sum(f.payment_accounts_opened)::bigint AS payment_accounts_opened, sum(f.public_service_accounts_created)::bigint AS public_service_accounts_created, sum(f.online_dossiers_submitted)::bigint AS online_dossiers_submitted, sum(f.apps_installed)::bigint AS apps_installed, sum(f.topic_mentions)::bigint AS topic_mentions, sum(f.reach_activities)::bigint AS reach_activities, sum(f.contacts)::bigint AS contacts, sum(f.unique_people)::bigint AS unique_people, sum(f.reach_households)::bigint AS reach_households, sum(f.estimated_audience)::bigint AS estimated_audience, sum(f.materials_distributed)::bigint AS materials_distributed
            FROM unnest(p_facts) AS f
            GROUP BY f.team_id, f.day, f.status, f.dim, f.key
            HAVING sum(f.sessions) <> 0 OR sum(f.sessions_training) <> 0 OR sum(f.sessions_outreach) <> 0 OR sum(f.duration_minutes) <> 0 OR sum(f.participants_total) <> 0 OR sum(f.participants_female) <> 0 OR sum(f.participants_ethnic_minority) <> 0 OR sum(f.participants_elderly) <> 0 OR sum(f.trained_total) <> 0 OR sum(f.trained_female) <> 0 OR sum(f.trained_ethnic_minority) <> 0 OR sum(f.households_reached) <> 0 OR sum(f.vneid_activations) <> 0 OR sum(f.payment_accounts_opened) <> 0 OR sum(f.public_service_accounts_created) <> 0 OR sum(f.online_dossiers_submitted) <> 0 OR sum(f.apps_installed) <> 0 OR sum(f.topic_mentions) <> 0 OR sum(f.reach_activities) <> 0 OR sum(f.contacts) <> 0 OR sum(f.unique_people) <> 0 OR sum(f.reach_households) <> 0 OR sum(f.estimated_audience) <> 0 OR sum(f.materials_distributed) <> 0
        ),
        team_days AS (SELECT DISTINCT team_id, day FROM net),
        -- Each team-day's unit: the period covering it, else the nearest period (the function).
        covered AS (
            SELECT td.team_id, td.day, u.id AS unit_id,
                   CASE WHEN u.level = 'village' THEN u.parent_id ELSE u.id END AS commune_id,
                   split_part(u.path, '/', 1)::uuid AS root_id
            FROM team_days td
            JOIN team_units tu ON tu.team_id = td.team_id AND tu.valid_from <= td.day
                              AND (tu.valid_to IS NULL OR tu.valid_to >= td.day)
            JOIN org_units u ON u.id = tu.org_unit_id
        ),
        units AS (
            SELECT * FROM covered
            UNION ALL
            SELECT td.team_id, td.day, n.unit_id, n.commune_id, n.root_id
            FROM team_days td
            CROSS JOIN LATERAL cdt_team_unit_on(td.team_id, td.day) n
            WHERE NOT EXISTS (SELECT 1 FROM covered c WHERE c.team_id = td.team_id AND c.day = td.day)
        )
        SELECT ROW(n.team_id, u.unit_id, u.commune_id, u.root_id, n.day, n.status, n.dim, n.key, n.sessions, n.sessions_training, n.sessions_outreach, n.duration_minutes, n.participants_total, n.participants_female, n.participants_ethnic_minority, n.participants_elderly, n.trained_total, n.trained_female, n.trained_ethnic_minority, n.households_reached, n.vneid_activations, n.payment_accounts_opened, n.public_service_accounts_created, n.online_dossiers_submitted, n.apps_installed, n.topic_mentions, n.reach_activities, n.contacts, n.unique_people, n.reach_households, n.estimated_audience, n.materials_distributed)::cdt_attributed_fact
        FROM net n LEFT JOIN units u ON u.team_id = n.team_id AND u.day = n.day
    );
    IF EXISTS (SELECT 1 FROM unnest(v) a WHERE a.unit_id IS NULL) THEN
        RAISE EXCEPTION 'team % has no unit history', (SELECT a.team_id FROM unnest(v) a WHERE a.unit_id IS NULL LIMIT 1);
    END IF;

    -- Every grain, in key order (concurrent writers lock rows in the same order).
    WITH
    g0 AS (
        INSERT INTO stat_team_days AS s (team_id, day, status, dim, key, unit_id, commune_id, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
        SELECT a.team_id, a.day, a.status, a.dim, a.key, a.unit_id, a.commune_id, a.sessions, a.sessions_training, a.sessions_outreach, a.duration_minutes, a.participants_total, a.participants_female, a.participants_ethnic_minority, a.participants_elderly, a.trained_total, a.trained_female, a.trained_ethnic_minority, a.households_reached, a.vneid_activations, a.payment_accounts_opened, a.public_service_accounts_created, a.online_dossiers_submitted, a.apps_installed, a.topic_mentions, a.reach_activities, a.contacts, a.unique_people, a.reach_households, a.estimated_audience, a.materials_distributed
        FROM unnest(v) a ORDER BY a.team_id, a.day, a.status, a.dim, a.key
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
        materials_distributed = s.materials_distributed + EXCLUDED.materials_distributed
        RETURNING s.team_id, s.day, s.status, s.dim, s.key, (s.sessions = 0 AND s.reach_activities = 0 AND s.topic_mentions = 0) AS zero
    ),
    g1 AS (
        INSERT INTO stat_commune_days AS s (commune_id, dim, day, status, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
        SELECT a.commune_id, a.dim, a.day, a.status, a.key, sum(a.sessions), sum(a.sessions_training), sum(a.sessions_outreach), sum(a.duration_minutes), sum(a.participants_total), sum(a.participants_female), sum(a.participants_ethnic_minority), sum(a.participants_elderly), sum(a.trained_total), sum(a.trained_female), sum(a.trained_ethnic_minority), sum(a.households_reached), sum(a.vneid_activations), sum(a.payment_accounts_opened), sum(a.public_service_accounts_created), sum(a.online_dossiers_submitted), sum(a.apps_installed), sum(a.topic_mentions), sum(a.reach_activities), sum(a.contacts), sum(a.unique_people), sum(a.reach_households), sum(a.estimated_audience), sum(a.materials_distributed)
        FROM unnest(v) a GROUP BY a.commune_id, a.dim, a.day, a.status, a.key ORDER BY a.commune_id, a.dim, a.day, a.status, a.key
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
        materials_distributed = s.materials_distributed + EXCLUDED.materials_distributed
        RETURNING s.commune_id, s.dim, s.day, s.status, s.key, (s.sessions = 0 AND s.reach_activities = 0 AND s.topic_mentions = 0) AS zero
    ),
    g2 AS (
        INSERT INTO stat_commune_months AS s (commune_id, dim, month, status, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
        SELECT a.commune_id, a.dim, date_trunc('month', a.day)::date, a.status, a.key, sum(a.sessions), sum(a.sessions_training), sum(a.sessions_outreach), sum(a.duration_minutes), sum(a.participants_total), sum(a.participants_female), sum(a.participants_ethnic_minority), sum(a.participants_elderly), sum(a.trained_total), sum(a.trained_female), sum(a.trained_ethnic_minority), sum(a.households_reached), sum(a.vneid_activations), sum(a.payment_accounts_opened), sum(a.public_service_accounts_created), sum(a.online_dossiers_submitted), sum(a.apps_installed), sum(a.topic_mentions), sum(a.reach_activities), sum(a.contacts), sum(a.unique_people), sum(a.reach_households), sum(a.estimated_audience), sum(a.materials_distributed)
        FROM unnest(v) a GROUP BY a.commune_id, a.dim, date_trunc('month', a.day)::date, a.status, a.key ORDER BY a.commune_id, a.dim, date_trunc('month', a.day)::date, a.status, a.key
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
        materials_distributed = s.materials_distributed + EXCLUDED.materials_distributed
        RETURNING s.commune_id, s.dim, s.month, s.status, s.key, (s.sessions = 0 AND s.reach_activities = 0 AND s.topic_mentions = 0) AS zero
    ),
    g3 AS (
        INSERT INTO stat_root_days AS s (root_id, dim, day, status, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
        SELECT a.root_id, a.dim, a.day, a.status, a.key, sum(a.sessions), sum(a.sessions_training), sum(a.sessions_outreach), sum(a.duration_minutes), sum(a.participants_total), sum(a.participants_female), sum(a.participants_ethnic_minority), sum(a.participants_elderly), sum(a.trained_total), sum(a.trained_female), sum(a.trained_ethnic_minority), sum(a.households_reached), sum(a.vneid_activations), sum(a.payment_accounts_opened), sum(a.public_service_accounts_created), sum(a.online_dossiers_submitted), sum(a.apps_installed), sum(a.topic_mentions), sum(a.reach_activities), sum(a.contacts), sum(a.unique_people), sum(a.reach_households), sum(a.estimated_audience), sum(a.materials_distributed)
        FROM unnest(v) a GROUP BY a.root_id, a.dim, a.day, a.status, a.key ORDER BY a.root_id, a.dim, a.day, a.status, a.key
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
        materials_distributed = s.materials_distributed + EXCLUDED.materials_distributed
        RETURNING s.root_id, s.dim, s.day, s.status, s.key, (s.sessions = 0 AND s.reach_activities = 0 AND s.topic_mentions = 0) AS zero
    ),
    g4 AS (
        INSERT INTO stat_root_months AS s (root_id, dim, month, status, key, sessions, sessions_training, sessions_outreach, duration_minutes, participants_total, participants_female, participants_ethnic_minority, participants_elderly, trained_total, trained_female, trained_ethnic_minority, households_reached, vneid_activations, payment_accounts_opened, public_service_accounts_created, online_dossiers_submitted, apps_installed, topic_mentions, reach_activities, contacts, unique_people, reach_households, estimated_audience, materials_distributed)
        SELECT a.root_id, a.dim, date_trunc('month', a.day)::date, a.status, a.key, sum(a.sessions), sum(a.sessions_training), sum(a.sessions_outreach), sum(a.duration_minutes), sum(a.participants_total), sum(a.participants_female), sum(a.participants_ethnic_minority), sum(a.participants_elderly), sum(a.trained_total), sum(a.trained_female), sum(a.trained_ethnic_minority), sum(a.households_reached), sum(a.vneid_activations), sum(a.payment_accounts_opened), sum(a.public_service_accounts_created), sum(a.online_dossiers_submitted), sum(a.apps_installed), sum(a.topic_mentions), sum(a.reach_activities), sum(a.contacts), sum(a.unique_people), sum(a.reach_households), sum(a.estimated_audience), sum(a.materials_distributed)
        FROM unnest(v) a GROUP BY a.root_id, a.dim, date_trunc('month', a.day)::date, a.status, a.key ORDER BY a.root_id, a.dim, date_trunc('month', a.day)::date, a.status, a.key
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
        materials_distributed = s.materials_distributed + EXCLUDED.materials_distributed
        RETURNING s.root_id, s.dim, s.month, s.status, s.key, (s.sessions = 0 AND s.reach_activities = 0 AND s.topic_mentions = 0) AS zero
    )
    SELECT
        (SELECT array_agg(g0.team_id) FROM g0 WHERE zero), (SELECT array_agg(g0.day) FROM g0 WHERE zero), (SELECT array_agg(g0.status) FROM g0 WHERE zero), (SELECT array_agg(g0.dim) FROM g0 WHERE zero), (SELECT array_agg(g0.key) FROM g0 WHERE zero),
        (SELECT array_agg(g1.commune_id) FROM g1 WHERE zero), (SELECT array_agg(g1.day) FROM g1 WHERE zero), (SELECT array_agg(g1.status) FROM g1 WHERE zero), (SELECT array_agg(g1.dim) FROM g1 WHERE zero), (SELECT array_agg(g1.key) FROM g1 WHERE zero),
        (SELECT array_agg(g2.commune_id) FROM g2 WHERE zero), (SELECT array_agg(g2.month) FROM g2 WHERE zero), (SELECT array_agg(g2.status) FROM g2 WHERE zero), (SELECT array_agg(g2.dim) FROM g2 WHERE zero), (SELECT array_agg(g2.key) FROM g2 WHERE zero),
        (SELECT array_agg(g3.root_id) FROM g3 WHERE zero), (SELECT array_agg(g3.day) FROM g3 WHERE zero), (SELECT array_agg(g3.status) FROM g3 WHERE zero), (SELECT array_agg(g3.dim) FROM g3 WHERE zero), (SELECT array_agg(g3.key) FROM g3 WHERE zero),
        (SELECT array_agg(g4.root_id) FROM g4 WHERE zero), (SELECT array_agg(g4.month) FROM g4 WHERE zero), (SELECT array_agg(g4.status) FROM g4 WHERE zero), (SELECT array_agg(g4.dim) FROM g4 WHERE zero), (SELECT array_agg(g4.key) FROM g4 WHERE zero)
    INTO z0_id, z0_at, z0_status, z0_dim, z0_key, z1_id, z1_at, z1_status, z1_dim, z1_key, z2_id, z2_at, z2_status, z2_dim, z2_key, z3_id, z3_at, z3_status, z3_dim, z3_key, z4_id, z4_at, z4_status, z4_dim, z4_key;

    -- Rows left at zero (returned by the upserts above) go: a row's existence means activity.

    IF z0_id IS NOT NULL THEN
        DELETE FROM stat_team_days s USING unnest(z0_id, z0_at, z0_status, z0_dim, z0_key) AS t (id, at, status, dim, key)
        WHERE s.team_id = t.id AND s.day = t.at AND s.status = t.status AND s.dim = t.dim AND s.key = t.key
          AND s.sessions = 0 AND s.reach_activities = 0 AND s.topic_mentions = 0;
    END IF;

    IF z1_id IS NOT NULL THEN
        DELETE FROM stat_commune_days s USING unnest(z1_id, z1_at, z1_status, z1_dim, z1_key) AS t (id, at, status, dim, key)
        WHERE s.commune_id = t.id AND s.day = t.at AND s.status = t.status AND s.dim = t.dim AND s.key = t.key
          AND s.sessions = 0 AND s.reach_activities = 0 AND s.topic_mentions = 0;
    END IF;

    IF z2_id IS NOT NULL THEN
        DELETE FROM stat_commune_months s USING unnest(z2_id, z2_at, z2_status, z2_dim, z2_key) AS t (id, at, status, dim, key)
        WHERE s.commune_id = t.id AND s.month = t.at AND s.status = t.status AND s.dim = t.dim AND s.key = t.key
          AND s.sessions = 0 AND s.reach_activities = 0 AND s.topic_mentions = 0;
    END IF;

    IF z3_id IS NOT NULL THEN
        DELETE FROM stat_root_days s USING unnest(z3_id, z3_at, z3_status, z3_dim, z3_key) AS t (id, at, status, dim, key)
        WHERE s.root_id = t.id AND s.day = t.at AND s.status = t.status AND s.dim = t.dim AND s.key = t.key
          AND s.sessions = 0 AND s.reach_activities = 0 AND s.topic_mentions = 0;
    END IF;

    IF z4_id IS NOT NULL THEN
        DELETE FROM stat_root_months s USING unnest(z4_id, z4_at, z4_status, z4_dim, z4_key) AS t (id, at, status, dim, key)
        WHERE s.root_id = t.id AND s.month = t.at AND s.status = t.status AND s.dim = t.dim AND s.key = t.key
          AND s.sessions = 0 AND s.reach_activities = 0 AND s.topic_mentions = 0;
    END IF;

    -- The touched team-days' activity bits: a day is active while it has a counted (not rejected) row.
    INSERT INTO stat_team_years (team_id, year, days)
    SELECT DISTINCT a.team_id, extract(year FROM a.day)::integer, repeat('0', 366)::bit(366)
    FROM unnest(v) a WHERE a.dim = 'all'
    ORDER BY 1, 2
    ON CONFLICT (team_id, year) DO NOTHING;
    WITH touched AS (
        SELECT DISTINCT a.team_id, a.day FROM unnest(v) a WHERE a.dim = 'all'
    ), marks AS (
        SELECT t.team_id, extract(year FROM t.day)::integer AS year,
               bit_or(cdt_day_bit(t.day)) AS touched,
               bit_or(CASE WHEN EXISTS (SELECT 1 FROM stat_team_days s WHERE s.team_id = t.team_id AND s.day = t.day
                                        AND s.dim = 'all' AND s.status <> 'rejected')
                      THEN cdt_day_bit(t.day) ELSE repeat('0', 366)::bit(366) END) AS active
        FROM touched t GROUP BY 1, 2
    )
    UPDATE stat_team_years y SET days = (y.days & ~m.touched) | m.active
    FROM marks m
    WHERE y.team_id = m.team_id AND y.year = m.year AND y.days IS DISTINCT FROM ((y.days & ~m.touched) | m.active);
    DELETE FROM stat_team_years y
    USING (SELECT DISTINCT a.team_id, extract(year FROM a.day)::integer AS year FROM unnest(v) a WHERE a.dim = 'all') t
    WHERE y.team_id = t.team_id AND y.year = t.year AND position(B'1' IN y.days) = 0;
END;
$$;


-- The statement triggers: one per table and event (a trigger with transition tables has one event).
CREATE FUNCTION cdt_stats_sessions_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM cdt_stats_apply(ARRAY(SELECT cdt_session_facts(ARRAY(SELECT n::training_sessions FROM new_rows n), 1)));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM cdt_stats_apply(ARRAY(SELECT cdt_session_facts(ARRAY(SELECT o::training_sessions FROM old_rows o), -1)));
    ELSE
        PERFORM cdt_stats_apply(ARRAY(
            SELECT cdt_session_facts(ARRAY(SELECT o::training_sessions FROM old_rows o), -1)
            UNION ALL
            SELECT cdt_session_facts(ARRAY(SELECT n::training_sessions FROM new_rows n), 1)));
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION cdt_stats_reach_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM cdt_stats_apply(ARRAY(SELECT cdt_reach_facts(ARRAY(SELECT n::reach_activities FROM new_rows n), 1)));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM cdt_stats_apply(ARRAY(SELECT cdt_reach_facts(ARRAY(SELECT o::reach_activities FROM old_rows o), -1)));
    ELSE
        PERFORM cdt_stats_apply(ARRAY(
            SELECT cdt_reach_facts(ARRAY(SELECT o::reach_activities FROM old_rows o), -1)
            UNION ALL
            SELECT cdt_reach_facts(ARRAY(SELECT n::reach_activities FROM new_rows n), 1)));
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER training_sessions_stats ON training_sessions;
DROP TRIGGER reach_activities_stats ON reach_activities;
CREATE TRIGGER training_sessions_stats_insert AFTER INSERT ON training_sessions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdt_stats_sessions_statement();
CREATE TRIGGER training_sessions_stats_update AFTER UPDATE ON training_sessions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdt_stats_sessions_statement();
CREATE TRIGGER training_sessions_stats_delete AFTER DELETE ON training_sessions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION cdt_stats_sessions_statement();
CREATE TRIGGER reach_activities_stats_insert AFTER INSERT ON reach_activities
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdt_stats_reach_statement();
CREATE TRIGGER reach_activities_stats_update AFTER UPDATE ON reach_activities
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdt_stats_reach_statement();
CREATE TRIGGER reach_activities_stats_delete AFTER DELETE ON reach_activities
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION cdt_stats_reach_statement();
DROP FUNCTION cdt_stats_session_trigger();
DROP FUNCTION cdt_stats_reach_trigger();

-- Moving a team: everything it did, removed (-1) before the change of its unit history and added (+1) after.
CREATE OR REPLACE FUNCTION cdt_stats_team(p_team uuid, sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdt_stats_apply(ARRAY(
        SELECT cdt_session_facts(ARRAY(SELECT s FROM training_sessions s WHERE s.team_id = p_team), sign)
        UNION ALL
        SELECT cdt_reach_facts(ARRAY(SELECT r FROM reach_activities r WHERE r.team_id = p_team), sign)));
END;
$$;
DROP FUNCTION cdt_stats_session(training_sessions, integer);
DROP FUNCTION cdt_stats_reach(reach_activities, integer);
DROP FUNCTION cdt_stat_add(uuid, uuid, uuid, uuid, date, text, text, text, cdt_stat);
