-- Back to the row triggers of the report_aggregates migration (their definitions, copied).
DROP TRIGGER training_sessions_stats_insert ON training_sessions;
DROP TRIGGER training_sessions_stats_update ON training_sessions;
DROP TRIGGER training_sessions_stats_delete ON training_sessions;
DROP TRIGGER reach_activities_stats_insert ON reach_activities;
DROP TRIGGER reach_activities_stats_update ON reach_activities;
DROP TRIGGER reach_activities_stats_delete ON reach_activities;
DROP FUNCTION cdt_stats_sessions_statement();
DROP FUNCTION cdt_stats_reach_statement();
DROP FUNCTION cdt_stats_team(uuid, integer);
DROP FUNCTION cdt_stats_apply(cdt_fact[]);
DROP FUNCTION cdt_day_bit(date);
DROP TYPE cdt_attributed_fact;
DROP FUNCTION cdt_reach_facts(reach_activities[], integer);
DROP FUNCTION cdt_session_facts(training_sessions[], integer);
DROP TYPE cdt_fact;

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

