//! `template.yaml` as the tests read it: its `Fn::ForEach` loops expanded and its
//! `Fn::FindInMap`s read, as CloudFormation does before it creates anything (the
//! `AWS::LanguageExtensions` transform); CloudFormation's tags (`!Ref`, `!GetAtt`, `!Sub`)
//! read as the text they name.

use std::collections::BTreeMap;

use serde_yaml_ng::value::{Tag, TaggedValue};
use serde_yaml_ng::{Mapping, Value};

pub fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    expand(serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

/// The loops of `Resources` expanded in place. tests/transformed_template.rs holds this to
/// SAM CLI's own expansion.
pub fn expand(mut template: Value) -> Value {
    let mappings = template["Mappings"].clone();
    let resources = template["Resources"].as_mapping().unwrap();
    let mut expanded = Mapping::new();
    for (key, value) in resources {
        if !text(key).starts_with("Fn::ForEach::") {
            expanded.insert(key.clone(), value.clone());
            continue;
        }
        let [identifier, collection, body] = value.as_sequence().unwrap().as_slice() else {
            panic!("{key:?}: Fn::ForEach takes an identifier, a collection and a fragment");
        };
        let identifier = text(identifier);
        for item in collection.as_sequence().unwrap() {
            let item = text(item);
            for (name, resource) in body.as_mapping().unwrap() {
                expanded.insert(
                    substitute(name, &identifier, &item),
                    substitute(resource, &identifier, &item),
                );
            }
        }
    }
    template["Resources"] = read_mappings(Value::Mapping(expanded), &mappings);
    template
}

/// `${identifier}` in any text, and `!Ref identifier`, replaced by the item.
fn substitute(value: &Value, identifier: &str, item: &str) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace(&format!("${{{identifier}}}"), item)),
        Value::Tagged(tagged) if tagged.tag == "Ref" && text(&tagged.value) == identifier => {
            Value::String(item.to_owned())
        }
        Value::Tagged(tagged) => Value::Tagged(Box::new(TaggedValue {
            tag: tagged.tag.clone(),
            value: substitute(&tagged.value, identifier, item),
        })),
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .map(|v| substitute(v, identifier, item))
                .collect(),
        ),
        Value::Mapping(entries) => Value::Mapping(
            entries
                .iter()
                .map(|(k, v)| {
                    (
                        substitute(k, identifier, item),
                        substitute(v, identifier, item),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `!FindInMap [Map, Key, Field]` read from the Mappings; `!GetAtt [!Sub "X", Attr]` (the
/// loops' form) written `!GetAtt X.Attr`, the form the tests read.
fn read_mappings(value: Value, mappings: &Value) -> Value {
    match value {
        Value::Tagged(tagged) if tagged.tag == "FindInMap" => {
            let keys: Vec<String> = tagged
                .value
                .as_sequence()
                .unwrap()
                .iter()
                .map(text)
                .collect();
            let found = &mappings[keys[0].as_str()][keys[1].as_str()][keys[2].as_str()];
            assert!(!found.is_null(), "no mapping {keys:?}");
            found.clone()
        }
        Value::Tagged(tagged) if tagged.tag == "GetAtt" && tagged.value.is_sequence() => {
            let parts = tagged.value.as_sequence().unwrap();
            Value::Tagged(Box::new(TaggedValue {
                tag: Tag::new("GetAtt"),
                value: Value::String(format!("{}.{}", text(&parts[0]), text(&parts[1]))),
            }))
        }
        Value::Tagged(tagged) => Value::Tagged(Box::new(TaggedValue {
            tag: tagged.tag,
            value: read_mappings(tagged.value, mappings),
        })),
        Value::Sequence(items) => Value::Sequence(
            items
                .into_iter()
                .map(|v| read_mappings(v, mappings))
                .collect(),
        ),
        Value::Mapping(entries) => Value::Mapping(
            entries
                .into_iter()
                .map(|(k, v)| (k, read_mappings(v, mappings)))
                .collect(),
        ),
        other => other,
    }
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
