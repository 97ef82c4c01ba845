//! The rules of [`crate::contract`] stated on the document: limits, patterns and narrowed choices on
//! the schemas and query parameters they govern.

/// Narrows a vocabulary property to `values` with a sibling `enum` (JSON Schema 2020-12 applies both it
/// and the `$ref`), keeping `null` when the property is nullable.
fn state_choices(property: &mut serde_json::Value, values: &[&str]) {
    let nullable = property["oneOf"]
        .as_array()
        .is_some_and(|branches| branches.iter().any(|b| b["type"] == "null"));
    let mut choices: Vec<serde_json::Value> = values.iter().map(|v| serde_json::json!(v)).collect();
    if nullable {
        choices.push(serde_json::Value::Null);
    }
    if let Some(object) = property.as_object_mut() {
        object.insert("enum".to_owned(), serde_json::Value::Array(choices));
    }
}

/// States the limits of [`crate::contract`] on the schemas and query parameters they govern.
pub(super) fn apply_rules(document: &mut serde_json::Value) {
    use crate::contract::{Rule, parameter_rule, schema_rules};
    for (schema, property, rule) in schema_rules() {
        if let Rule::Choices(values) = rule {
            if let Some(target) = document.pointer_mut(&format!(
                "/components/schemas/{schema}/properties/{property}"
            )) {
                state_choices(target, values);
            }
            continue;
        }
        if let Some(target) = document
            .pointer_mut(&format!(
                "/components/schemas/{schema}/properties/{property}"
            ))
            .and_then(constrainable)
        {
            state_rule(target, rule);
        }
    }
    let Some(paths) = document.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for item in paths.values_mut().filter_map(|item| item.as_object_mut()) {
        for operation in item.values_mut() {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(|p| p.as_array_mut())
            else {
                continue;
            };
            for parameter in parameters {
                if parameter["in"] != "query" {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap_or_default().to_owned();
                if let Some(rule) = parameter_rule(&id, &name)
                    && let Some(target) = parameter.get_mut("schema").and_then(constrainable)
                {
                    state_rule(target, rule);
                }
            }
        }
    }
}

/// The inline schema a rule goes on: the schema itself, or the non-null branch of `oneOf`.
fn constrainable(schema: &mut serde_json::Value) -> Option<&mut serde_json::Value> {
    if schema.get("oneOf").is_some() {
        return schema["oneOf"]
            .as_array_mut()?
            .iter_mut()
            .find(|branch| branch["type"] != "null" && branch.get("$ref").is_none());
    }
    schema.get("type").is_some().then_some(schema)
}

fn state_rule(schema: &mut serde_json::Value, rule: crate::contract::Rule) {
    use crate::contract::Rule;
    use serde_json::json;
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    match rule {
        Rule::Integer(min, max) => {
            object.insert("minimum".to_owned(), json!(min));
            if let Some(max) = max {
                object.insert("maximum".to_owned(), json!(max));
            }
        }
        Rule::Length(min, max) => {
            if min > 0 {
                object.insert("minLength".to_owned(), json!(min));
            }
            object.insert("maxLength".to_owned(), json!(max));
        }
        Rule::Items(min, max) => {
            object.insert("minItems".to_owned(), json!(min));
            object.insert("maxItems".to_owned(), json!(max));
        }
        Rule::Unique => {
            object.insert("uniqueItems".to_owned(), json!(true));
        }
        Rule::AtLeast(min) => {
            object.insert("minimum".to_owned(), json!(min));
        }
        Rule::Code(code) => {
            object.insert("pattern".to_owned(), json!(code.pattern()));
            object.insert("minLength".to_owned(), json!(code.min));
            object.insert("maxLength".to_owned(), json!(code.max));
        }
        Rule::Pattern(pattern) => {
            object.insert("pattern".to_owned(), json!(pattern()));
        }
        Rule::Matches(pattern) => {
            object.insert("pattern".to_owned(), json!(pattern));
        }
        Rule::Choices(values) => {
            object.insert("enum".to_owned(), json!(values));
        }
    }
}
