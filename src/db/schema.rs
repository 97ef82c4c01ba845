// @generated automatically by Diesel CLI.

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
    }
}

diesel::joinable!(audit_events -> users (actor_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(users -> org_units (org_unit_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_events,
    idempotency_keys,
    org_unit_successions,
    org_units,
    refresh_tokens,
    users,
);
