-- Bulk loads (`cdt-api seed scale`) write people, memberships, sessions and reach activities with their row
-- triggers disabled, then bring the derived tables up to date in one pass: `cdt_stats_rebuild()` for the
-- report aggregates and this function for the sync feed (the same rows the sync migration's backfill wrote;
-- records already in the feed keep their position).
CREATE FUNCTION cdt_changes_backfill() RETURNS bigint LANGUAGE sql AS $$
    WITH added AS (
        INSERT INTO changes (entity, record_id, team_id, unit_path, deleted)
        SELECT 'org_unit', id, NULL::uuid, path, false FROM org_units
        UNION ALL SELECT 'campaign', id, NULL::uuid, '', false FROM campaigns
        UNION ALL SELECT 'team', t.id, t.id, u.path, false FROM teams t JOIN org_units u ON u.id = t.org_unit_id
        UNION ALL SELECT 'membership', m.id, m.team_id, u.path, false
            FROM memberships m JOIN teams t ON t.id = m.team_id JOIN org_units u ON u.id = t.org_unit_id
        UNION ALL SELECT 'training_session', s.id, s.team_id, u.path, s.deleted_at IS NOT NULL
            FROM training_sessions s JOIN teams t ON t.id = s.team_id JOIN org_units u ON u.id = t.org_unit_id
        UNION ALL SELECT 'reach_activity', r.id, r.team_id, u.path, r.deleted_at IS NOT NULL
            FROM reach_activities r JOIN teams t ON t.id = r.team_id JOIN org_units u ON u.id = t.org_unit_id
        ON CONFLICT (entity, record_id) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM added
$$;

-- Registry caches (team lists, member counts) are keyed by these versions; a bulk load bumps them once.
CREATE FUNCTION cdt_versions_bump() RETURNS void LANGUAGE sql AS $$
    UPDATE cdt_versions SET version = version + 1
$$;
