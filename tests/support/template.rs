//! `template.yaml` as the tests read it: CloudFormation's tags (`!Ref`, `!GetAtt`, `!Sub`)
//! read as the text they name.

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

pub fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A resource's `Properties`.
pub fn resource<'a>(template: &'a Value, logical_id: &str) -> &'a Value {
    let r = &template["Resources"][logical_id];
    assert!(!r.is_null(), "template.yaml has no resource {logical_id}");
    &r["Properties"]
}

/// `!Ref X` -> "X", `!GetAtt X.Arn` -> "X.Arn", `!Sub "s"` -> "s", plain strings as they are.
pub fn text(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) => text(&tagged.value),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

pub fn pairs(list: &Value, key: &str, value: &str) -> BTreeMap<String, String> {
    list.as_sequence()
        .unwrap()
        .iter()
        .map(|e| (text(&e[key]), text(&e[value])))
        .collect()
}
