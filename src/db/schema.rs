// @generated automatically by Diesel CLI.

diesel::table! {
    attachments (id) {
        id -> Uuid,
        training_session_id -> Nullable<Uuid>,
        reach_activity_id -> Nullable<Uuid>,
        team_id -> Uuid,
        upload_id -> Uuid,
        blob_sha256 -> Text,
        kind -> Text,
        caption -> Nullable<Text>,
        file_name -> Nullable<Text>,
        uploaded_by -> Uuid,
        created_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        deleted_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        actor_username -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Nullable<Uuid>,
        org_unit_path -> Nullable<Text>,
        changes -> Jsonb,
        request_id -> Nullable<Text>,
        client_ip -> Nullable<Text>,
    }
}

diesel::table! {
    backup_runs (id) {
        id -> Uuid,
        name -> Nullable<Text>,
        trigger -> Text,
        started_at -> Timestamptz,
        finished_at -> Timestamptz,
        succeeded -> Bool,
        verified -> Nullable<Bool>,
        bytes -> Nullable<Int8>,
        error -> Nullable<Text>,
        host -> Text,
    }
}

diesel::table! {
    blobs (sha256) {
        sha256 -> Text,
        media_type -> Text,
        bytes -> Int8,
        width -> Nullable<Int4>,
        height -> Nullable<Int4>,
        captured_at -> Nullable<Timestamp>,
        thumbnail_sha256 -> Nullable<Text>,
        thumbnail_bytes -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        name_en -> Nullable<Text>,
        owner -> Text,
        starts_on -> Date,
        ends_on -> Date,
        description -> Nullable<Text>,
        skill_groups -> Array<Nullable<Text>>,
        fraud_types -> Array<Nullable<Text>>,
        status -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    cdt_versions (name) {
        name -> Text,
        version -> Int8,
    }
}

diesel::table! {
    changes (entity, record_id) {
        entity -> Text,
        record_id -> Uuid,
        txid -> Int8,
        seq -> Int8,
        team_id -> Nullable<Uuid>,
        unit_path -> Text,
        deleted -> Bool,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Uuid,
        key -> Text,
        request_hash -> Bytea,
        state -> Text,
        response_status -> Nullable<Int2>,
        response_headers -> Nullable<Jsonb>,
        response_body -> Nullable<Bytea>,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    indicator_values (id) {
        id -> Uuid,
        org_unit_id -> Uuid,
        indicator -> Text,
        period_start -> Date,
        period_end -> Date,
        value -> Float8,
        source -> Text,
        as_of -> Date,
        recorded_by -> Nullable<Uuid>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    memberships (id) {
        id -> Uuid,
        team_id -> Uuid,
        person_id -> Uuid,
        role -> Text,
        joined_on -> Date,
        left_on -> Nullable<Date>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    org_unit_successions (predecessor_id, successor_id) {
        predecessor_id -> Uuid,
        successor_id -> Uuid,
        effective_on -> Date,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    org_units (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        level -> Text,
        kind -> Text,
        parent_id -> Nullable<Uuid>,
        path -> Text,
        depth -> Int2,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        households -> Nullable<Int4>,
        population -> Nullable<Int4>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    people (id) {
        id -> Uuid,
        full_name -> Nullable<Text>,
        phone -> Nullable<Text>,
        gender -> Text,
        birth_year -> Nullable<Int2>,
        ethnicity -> Nullable<Text>,
        affiliation -> Text,
        erased_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    personal_data_reads (id) {
        id -> Uuid,
        at -> Timestamptz,
        reader_id -> Uuid,
        person_id -> Nullable<Uuid>,
        fields -> Text,
        request_id -> Nullable<Text>,
        attachment_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    reach_activities (id) {
        id -> Uuid,
        campaign_id -> Uuid,
        team_id -> Uuid,
        org_unit_id -> Uuid,
        channel -> Text,
        occurred_on -> Date,
        contacts -> Int4,
        unique_people -> Nullable<Int4>,
        households_reached -> Int4,
        estimated_audience -> Nullable<Int4>,
        method -> Text,
        confidence -> Text,
        skill_groups -> Array<Nullable<Text>>,
        fraud_types -> Array<Nullable<Text>>,
        materials_distributed -> Int4,
        session_id -> Nullable<Uuid>,
        notes -> Nullable<Text>,
        recorded_at -> Nullable<Timestamptz>,
        status -> Text,
        reviewed_by -> Nullable<Uuid>,
        reviewed_at -> Nullable<Timestamptz>,
        rejection_reason -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        deleted_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Bytea,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sign_off_transitions (id) {
        id -> Uuid,
        sign_off_id -> Uuid,
        action -> Text,
        from_state -> Text,
        to_state -> Text,
        actor_id -> Nullable<Uuid>,
        at -> Timestamptz,
        comment -> Nullable<Text>,
        figures -> Jsonb,
    }
}

diesel::table! {
    sign_offs (id) {
        id -> Uuid,
        org_unit_id -> Uuid,
        period -> Date,
        state -> Text,
        note -> Nullable<Text>,
        reason -> Nullable<Text>,
        submitted_by -> Nullable<Uuid>,
        submitted_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
        figures -> Jsonb,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    stat_commune_days (commune_id, dim, day, status, key) {
        commune_id -> Uuid,
        day -> Date,
        status -> Text,
        dim -> Text,
        key -> Text,
        sessions -> Int8,
        sessions_training -> Int8,
        sessions_outreach -> Int8,
        duration_minutes -> Int8,
        participants_total -> Int8,
        participants_female -> Int8,
        participants_ethnic_minority -> Int8,
        participants_elderly -> Int8,
        trained_total -> Int8,
        trained_female -> Int8,
        trained_ethnic_minority -> Int8,
        households_reached -> Int8,
        vneid_activations -> Int8,
        payment_accounts_opened -> Int8,
        public_service_accounts_created -> Int8,
        online_dossiers_submitted -> Int8,
        apps_installed -> Int8,
        topic_mentions -> Int8,
        reach_activities -> Int8,
        contacts -> Int8,
        unique_people -> Int8,
        reach_households -> Int8,
        estimated_audience -> Int8,
        materials_distributed -> Int8,
    }
}

diesel::table! {
    stat_commune_months (commune_id, dim, month, status, key) {
        commune_id -> Uuid,
        month -> Date,
        status -> Text,
        dim -> Text,
        key -> Text,
        sessions -> Int8,
        sessions_training -> Int8,
        sessions_outreach -> Int8,
        duration_minutes -> Int8,
        participants_total -> Int8,
        participants_female -> Int8,
        participants_ethnic_minority -> Int8,
        participants_elderly -> Int8,
        trained_total -> Int8,
        trained_female -> Int8,
        trained_ethnic_minority -> Int8,
        households_reached -> Int8,
        vneid_activations -> Int8,
        payment_accounts_opened -> Int8,
        public_service_accounts_created -> Int8,
        online_dossiers_submitted -> Int8,
        apps_installed -> Int8,
        topic_mentions -> Int8,
        reach_activities -> Int8,
        contacts -> Int8,
        unique_people -> Int8,
        reach_households -> Int8,
        estimated_audience -> Int8,
        materials_distributed -> Int8,
    }
}

diesel::table! {
    stat_root_days (root_id, dim, day, status, key) {
        root_id -> Uuid,
        day -> Date,
        status -> Text,
        dim -> Text,
        key -> Text,
        sessions -> Int8,
        sessions_training -> Int8,
        sessions_outreach -> Int8,
        duration_minutes -> Int8,
        participants_total -> Int8,
        participants_female -> Int8,
        participants_ethnic_minority -> Int8,
        participants_elderly -> Int8,
        trained_total -> Int8,
        trained_female -> Int8,
        trained_ethnic_minority -> Int8,
        households_reached -> Int8,
        vneid_activations -> Int8,
        payment_accounts_opened -> Int8,
        public_service_accounts_created -> Int8,
        online_dossiers_submitted -> Int8,
        apps_installed -> Int8,
        topic_mentions -> Int8,
        reach_activities -> Int8,
        contacts -> Int8,
        unique_people -> Int8,
        reach_households -> Int8,
        estimated_audience -> Int8,
        materials_distributed -> Int8,
    }
}

diesel::table! {
    stat_root_months (root_id, dim, month, status, key) {
        root_id -> Uuid,
        month -> Date,
        status -> Text,
        dim -> Text,
        key -> Text,
        sessions -> Int8,
        sessions_training -> Int8,
        sessions_outreach -> Int8,
        duration_minutes -> Int8,
        participants_total -> Int8,
        participants_female -> Int8,
        participants_ethnic_minority -> Int8,
        participants_elderly -> Int8,
        trained_total -> Int8,
        trained_female -> Int8,
        trained_ethnic_minority -> Int8,
        households_reached -> Int8,
        vneid_activations -> Int8,
        payment_accounts_opened -> Int8,
        public_service_accounts_created -> Int8,
        online_dossiers_submitted -> Int8,
        apps_installed -> Int8,
        topic_mentions -> Int8,
        reach_activities -> Int8,
        contacts -> Int8,
        unique_people -> Int8,
        reach_households -> Int8,
        estimated_audience -> Int8,
        materials_distributed -> Int8,
    }
}

diesel::table! {
    stat_team_days (team_id, day, status, dim, key) {
        team_id -> Uuid,
        day -> Date,
        status -> Text,
        dim -> Text,
        key -> Text,
        unit_id -> Uuid,
        commune_id -> Uuid,
        sessions -> Int8,
        sessions_training -> Int8,
        sessions_outreach -> Int8,
        duration_minutes -> Int8,
        participants_total -> Int8,
        participants_female -> Int8,
        participants_ethnic_minority -> Int8,
        participants_elderly -> Int8,
        trained_total -> Int8,
        trained_female -> Int8,
        trained_ethnic_minority -> Int8,
        households_reached -> Int8,
        vneid_activations -> Int8,
        payment_accounts_opened -> Int8,
        public_service_accounts_created -> Int8,
        online_dossiers_submitted -> Int8,
        apps_installed -> Int8,
        topic_mentions -> Int8,
        reach_activities -> Int8,
        contacts -> Int8,
        unique_people -> Int8,
        reach_households -> Int8,
        estimated_audience -> Int8,
        materials_distributed -> Int8,
    }
}

diesel::table! {
    stat_team_years (team_id, year) {
        team_id -> Uuid,
        year -> Int4,
        #[max_length = 366]
        days -> Bit,
    }
}

diesel::table! {
    sync_conflicts (id) {
        id -> Uuid,
        entity -> Text,
        record_id -> Uuid,
        op -> Text,
        team_id -> Uuid,
        unit_path -> Text,
        pushed_by -> Uuid,
        base_version -> Nullable<Int4>,
        server_version -> Int4,
        client_data -> Nullable<Jsonb>,
        server_data -> Jsonb,
        status -> Text,
        resolution -> Nullable<Text>,
        resolved_by -> Nullable<Uuid>,
        resolved_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    targets (id) {
        id -> Uuid,
        org_unit_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        indicator -> Text,
        period_start -> Date,
        period_end -> Date,
        value -> Float8,
        campaign_id -> Nullable<Uuid>,
        set_by -> Nullable<Uuid>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    team_units (team_id, valid_from) {
        team_id -> Uuid,
        org_unit_id -> Uuid,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
    }
}

diesel::table! {
    teams (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        org_unit_id -> Uuid,
        status -> Text,
        founded_on -> Nullable<Date>,
        dissolved_on -> Nullable<Date>,
        dissolution_reason -> Nullable<Text>,
        establishment_decision -> Nullable<Text>,
        zalo_group_members -> Nullable<Int4>,
        zalo_group_members_as_of -> Nullable<Date>,
        notes -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    training_sessions (id) {
        id -> Uuid,
        team_id -> Uuid,
        org_unit_id -> Uuid,
        kind -> Text,
        held_on -> Date,
        start_time -> Nullable<Time>,
        duration_minutes -> Int4,
        format -> Text,
        venue -> Nullable<Text>,
        topics -> Array<Nullable<Text>>,
        participants_total -> Int4,
        participants_female -> Int4,
        participants_ethnic_minority -> Int4,
        participants_elderly -> Int4,
        households_reached -> Int4,
        vneid_activations -> Int4,
        payment_accounts_opened -> Int4,
        public_service_accounts_created -> Int4,
        online_dossiers_submitted -> Int4,
        apps_installed -> Int4,
        trainers -> Array<Nullable<Uuid>>,
        notes -> Nullable<Text>,
        recorded_at -> Nullable<Timestamptz>,
        status -> Text,
        reviewed_by -> Nullable<Uuid>,
        reviewed_at -> Nullable<Timestamptz>,
        rejection_reason -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        deleted_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    uploads (id) {
        id -> Uuid,
        uploader_id -> Uuid,
        team_id -> Nullable<Uuid>,
        length -> Int8,
        received -> Int8,
        parts -> Array<Nullable<Text>>,
        file_name -> Nullable<Text>,
        metadata -> Jsonb,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        blob_sha256 -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        username -> Text,
        display_name -> Text,
        phone -> Nullable<Text>,
        password_hash -> Text,
        role -> Text,
        org_unit_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        status -> Text,
        failed_logins -> Int4,
        locked_until -> Nullable<Timestamptz>,
        token_generation -> Int4,
        last_login_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        person_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        subscription_id -> Uuid,
        event_id -> Uuid,
        seq -> Int8,
        record_id -> Nullable<Uuid>,
        state -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        leased_until -> Nullable<Timestamptz>,
        last_attempt_at -> Nullable<Timestamptz>,
        last_status -> Nullable<Int4>,
        last_latency_ms -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> Uuid,
        seq -> Int8,
        #[sql_name = "type"]
        type_ -> Text,
        record_id -> Nullable<Uuid>,
        unit_path -> Text,
        occurred_at -> Timestamptz,
        data -> Jsonb,
        fanned_out -> Bool,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Uuid,
        owner_id -> Uuid,
        url -> Text,
        event_types -> Array<Nullable<Text>>,
        description -> Nullable<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret_salt -> Bytea,
        previous_secret_salt -> Nullable<Bytea>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        failing_since -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(attachments -> blobs (blob_sha256));
diesel::joinable!(attachments -> reach_activities (reach_activity_id));
diesel::joinable!(attachments -> teams (team_id));
diesel::joinable!(attachments -> training_sessions (training_session_id));
diesel::joinable!(attachments -> uploads (upload_id));
diesel::joinable!(audit_events -> users (actor_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(indicator_values -> org_units (org_unit_id));
diesel::joinable!(indicator_values -> users (recorded_by));
diesel::joinable!(memberships -> people (person_id));
diesel::joinable!(memberships -> teams (team_id));
diesel::joinable!(personal_data_reads -> people (person_id));
diesel::joinable!(personal_data_reads -> users (reader_id));
diesel::joinable!(reach_activities -> campaigns (campaign_id));
diesel::joinable!(reach_activities -> org_units (org_unit_id));
diesel::joinable!(reach_activities -> teams (team_id));
diesel::joinable!(reach_activities -> training_sessions (session_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(sign_off_transitions -> sign_offs (sign_off_id));
diesel::joinable!(sign_off_transitions -> users (actor_id));
diesel::joinable!(sign_offs -> org_units (org_unit_id));
diesel::joinable!(sync_conflicts -> teams (team_id));
diesel::joinable!(targets -> campaigns (campaign_id));
diesel::joinable!(targets -> org_units (org_unit_id));
diesel::joinable!(targets -> teams (team_id));
diesel::joinable!(targets -> users (set_by));
diesel::joinable!(team_units -> org_units (org_unit_id));
diesel::joinable!(team_units -> teams (team_id));
diesel::joinable!(teams -> org_units (org_unit_id));
diesel::joinable!(training_sessions -> org_units (org_unit_id));
diesel::joinable!(training_sessions -> teams (team_id));
diesel::joinable!(uploads -> blobs (blob_sha256));
diesel::joinable!(uploads -> teams (team_id));
diesel::joinable!(uploads -> users (uploader_id));
diesel::joinable!(users -> org_units (org_unit_id));
diesel::joinable!(users -> people (person_id));
diesel::joinable!(users -> teams (team_id));
diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_subscriptions -> users (owner_id));

diesel::allow_tables_to_appear_in_same_query!(
    attachments,
    audit_events,
    backup_runs,
    blobs,
    campaigns,
    cdt_versions,
    changes,
    idempotency_keys,
    indicator_values,
    memberships,
    org_unit_successions,
    org_units,
    people,
    personal_data_reads,
    reach_activities,
    refresh_tokens,
    sign_off_transitions,
    sign_offs,
    stat_commune_days,
    stat_commune_months,
    stat_root_days,
    stat_root_months,
    stat_team_days,
    stat_team_years,
    sync_conflicts,
    targets,
    team_units,
    teams,
    training_sessions,
    uploads,
    users,
    webhook_deliveries,
    webhook_events,
    webhook_subscriptions,
);
