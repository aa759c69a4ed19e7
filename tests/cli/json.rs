//! The `--json` documents' schema, docs/json-output.schema.json, is what
//! the typed structs the commands print give (issue 25), and a real
//! document has exactly the fields its schema names.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{path, stagesim};

use super::TINY;

const SCHEMA: &str = "docs/json-output.schema.json";

/// The committed schema equals the one derived from the structs.
/// `STAGESIM_WRITE_SCHEMA=1 cargo test --test cli json_schema` rewrites
/// the file after a deliberate change to a document.
#[test]
fn the_json_schema_file_is_what_the_structs_give() {
    let derived = stagesim::cli::json_schema();
    if std::env::var_os("STAGESIM_WRITE_SCHEMA").is_some() {
        std::fs::write(path(SCHEMA), &derived).expect("write the schema");
    }
    let committed = std::fs::read_to_string(path(SCHEMA)).unwrap_or_default();
    assert!(
        committed == derived,
        "{SCHEMA} differs from the --json structs in src/cli/json_docs.rs; after a deliberate \
         change, rewrite it: STAGESIM_WRITE_SCHEMA=1 cargo test --test cli json_schema"
    );
}

/// The property names of definition `name` in the schema.
fn schema_fields(name: &str) -> BTreeSet<String> {
    let schema: Value = serde_json::from_str(&stagesim::cli::json_schema()).expect("JSON");
    schema["$defs"][name]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no $defs.{name}.properties in the schema"))
        .keys()
        .cloned()
        .collect()
}

fn fields(doc: &Value) -> BTreeSet<String> {
    doc.as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

/// `sweep --json` of a tiny scenario, seed 1: the document and its
/// per-scenario object have the schema's fields, no more, no fewer.
#[test]
fn sweep_json_has_the_fields_of_its_schema() {
    let (code, stdout, stderr) = stagesim(&["sweep", TINY, "--seeds", "1", "--json"]);
    assert_eq!(
        code, 0,
        "{stderr}\nreproduce: stagesim sweep {TINY} --seeds 1 --json"
    );
    let doc: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(fields(&doc), schema_fields("SweepJson"));
    assert_eq!(
        fields(&doc["scenarios"][0]),
        schema_fields("SweepScenarioJson")
    );
}

/// `run --json` of a failing fixture, seed 1: the document, a group, a
/// violation and the coverage have the schema's fields, no more, no fewer.
#[test]
fn run_json_has_the_fields_of_its_schema() {
    let failing = super::FAILING;
    let (code, stdout, stderr) = stagesim(&["run", failing, "--seed", "1", "--json"]);
    assert_eq!(
        code, 1,
        "{stderr}\nreproduce: stagesim run {failing} --seed 1 --json"
    );
    let doc: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(fields(&doc), schema_fields("RunJson"));
    assert_eq!(fields(&doc["groups"][0]), schema_fields("GroupJson"));
    assert_eq!(
        fields(&doc["violations"][0]),
        schema_fields("ViolationJson")
    );
    assert_eq!(fields(&doc["coverage"]), schema_fields("CoverageJson"));
}
