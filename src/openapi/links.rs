//! OpenAPI links: from the answer of each operation that makes a record to the operations that read,
//! change, review or delete it, so a client generator (and the contract fuzzer's stateful phase) knows
//! which id to pass where.

use serde_json::{Value, json};

/// Where a linked operation's path parameter comes from in the making operation's answer.
type Parameters = &'static [(&'static str, &'static str)];

const BY_ID: Parameters = &[("id", "$response.body#/id")];
const MEMBERSHIP: Parameters = &[
    ("id", "$response.body#/team_id"),
    ("membership_id", "$response.body#/id"),
];
const CAMPAIGN: Parameters = &[("id", "$response.body#/id")];

/// The operations a made record links to, each with where its path parameters come from.
type Targets = &'static [(&'static str, Parameters)];

/// `(making operation, its answers that carry the record, linked operations)`.
const LINKS: &[(&str, &[&str], Targets)] = &[
    (
        "create_training_session",
        &["200", "201"],
        &[
            ("find_training_session", BY_ID),
            ("update_training_session", BY_ID),
            ("delete_training_session", BY_ID),
            ("verify_training_session", BY_ID),
            ("reject_training_session", BY_ID),
        ],
    ),
    (
        "create_reach_activity",
        &["200", "201"],
        &[
            ("find_reach_activity", BY_ID),
            ("update_reach_activity", BY_ID),
            ("delete_reach_activity", BY_ID),
            ("verify_reach_activity", BY_ID),
            ("reject_reach_activity", BY_ID),
        ],
    ),
    (
        "create_campaign",
        &["201"],
        &[
            ("find_campaign", CAMPAIGN),
            ("update_campaign", CAMPAIGN),
            ("create_reach_activity", CAMPAIGN),
            ("list_reach_activities", CAMPAIGN),
            ("get_reach_summary", CAMPAIGN),
        ],
    ),
    (
        "create_team",
        &["201"],
        &[
            ("find_team", BY_ID),
            ("update_team", BY_ID),
            ("dissolve_team", BY_ID),
            ("list_team_members", BY_ID),
            ("add_team_member", BY_ID),
        ],
    ),
    (
        "add_team_member",
        &["200", "201"],
        &[
            ("update_team_member", MEMBERSHIP),
            ("end_team_member", MEMBERSHIP),
        ],
    ),
    (
        "create_org_unit",
        &["201"],
        &[
            ("find_org_unit", BY_ID),
            ("update_org_unit", BY_ID),
            ("list_org_unit_children", BY_ID),
        ],
    ),
    (
        "reorganize_org_units",
        &["201"],
        &[
            ("find_org_unit", BY_ID),
            ("update_org_unit", BY_ID),
            ("list_org_unit_children", BY_ID),
        ],
    ),
    (
        "create_user",
        &["201"],
        &[
            ("find_user", BY_ID),
            ("update_user", BY_ID),
            ("reset_user_password", BY_ID),
        ],
    ),
    (
        "create_target",
        &["201"],
        &[
            ("find_target", BY_ID),
            ("update_target", BY_ID),
            ("delete_target", BY_ID),
        ],
    ),
];

/// Adds the links of [`LINKS`] to the answers of the making operations.
pub fn add_links(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for operation in item.values_mut() {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let Some((_, statuses, targets)) = LINKS.iter().find(|(maker, _, _)| *maker == id)
            else {
                continue;
            };
            for status in *statuses {
                let Some(response) = operation
                    .pointer_mut(&format!("/responses/{status}"))
                    .and_then(Value::as_object_mut)
                else {
                    continue;
                };
                let links: serde_json::Map<String, Value> = targets
                    .iter()
                    .map(|(target, parameters)| {
                        let parameters: serde_json::Map<String, Value> = parameters
                            .iter()
                            .map(|(name, from)| ((*name).to_owned(), json!(from)))
                            .collect();
                        (
                            (*target).to_owned(),
                            json!({"operationId": target, "parameters": parameters}),
                        )
                    })
                    .collect();
                response.insert("links".to_owned(), Value::Object(links));
            }
        }
    }
}
