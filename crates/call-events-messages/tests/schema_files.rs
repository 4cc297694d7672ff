//! The checked-in JSON Schemas are exactly what the types generate.

use std::path::Path;

#[test]
fn checked_in_schemas_are_what_the_types_generate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let mut stale = Vec::new();
    for (name, generated) in call_events_messages::schemas() {
        let path = dir.join(name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk != generated {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from the message types: run \
         `cargo run -p call-events-messages --example write_schemas` and commit the result"
    );
}

#[test]
fn schemas_folder_holds_no_schema_the_types_do_not_make() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let mut extra: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| !call_events_messages::SCHEMA_FILES.contains(&name.as_str()))
        .collect();
    extra.sort();
    assert!(extra.is_empty(), "not generated from a type: {extra:?}");
}
