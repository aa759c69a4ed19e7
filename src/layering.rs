//! Keeps docs/design.md's module map true: every top-level module of
//! `src/` imports only from floors below its own (no circle, no
//! back-edge), and every module has a floor. Reads the map's table and
//! every `crate::` path outside comments.

use std::collections::BTreeMap;
use std::path::Path;

/// The floor of each module, from the table under "Module map: floors".
fn floors(design: &str) -> BTreeMap<String, u32> {
    let section = design
        .split("### Module map: floors")
        .nth(1)
        .expect("docs/design.md has a module map");
    let mut floors = BTreeMap::new();
    for line in section.lines().skip_while(|l| !l.starts_with("| 0 ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(floor) = cells.get(1).and_then(|c| c.parse::<u32>().ok()) else {
            break;
        };
        for module in cells[2].split(',') {
            floors.insert(module.trim().trim_matches('`').to_string(), floor);
        }
    }
    floors
}

/// `(module, imported module, file)` for every `crate::x` outside comments.
fn imports(src: &Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(src).sort_by_file_name() {
        let entry = entry.expect("src is readable");
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let rel = path.strip_prefix(src).expect("under src");
        let first = rel.iter().next().and_then(|c| c.to_str()).unwrap_or("");
        let module = first.trim_end_matches(".rs").to_string();
        if path.extension().is_none_or(|e| e != "rs")
            || ["lib", "main", "layering"].contains(&module.as_str())
        {
            continue;
        }
        let text = std::fs::read_to_string(path).expect("source is UTF-8");
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            for part in code.split("crate::").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name != module && !name.is_empty() {
                    out.push((module.clone(), name, rel.display().to_string()));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Each import that does not go down the map, as a sentence.
fn violations(floors: &BTreeMap<String, u32>, imports: &[(String, String, String)]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (module, imported, file) in imports {
        match (floors.get(module), floors.get(imported)) {
            (Some(a), Some(b)) if b < a => {}
            (Some(a), Some(b)) => wrong.push(format!(
                "src/{file}: `{module}` (floor {a}) imports `{imported}` (floor {b}): not below it"
            )),
            _ => wrong.push(format!(
                "src/{file}: `{module}` or `{imported}` has no floor in docs/design.md's module map"
            )),
        }
    }
    wrong
}

#[test]
fn every_import_goes_down_the_module_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let design = std::fs::read_to_string(root.join("docs/design.md")).expect("docs/design.md");
    let wrong = violations(&floors(&design), &imports(&root.join("src")));
    assert!(
        wrong.is_empty(),
        "the module map is broken:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn sideways_upward_and_unplaced_imports_are_reported() {
    let map = "### Module map: floors\n\n| floor | modules | x |\n| --- | --- | --- |\n\
               | 0 | `vocab` | a |\n| 1 | `scenario`, `trace` | b |\n\nafter\n";
    let floors = floors(map);
    assert_eq!(floors.len(), 3);
    let edge = |from: &str, to: &str| (from.to_string(), to.to_string(), "f.rs".to_string());
    let ok = [edge("trace", "vocab")];
    assert!(violations(&floors, &ok).is_empty());
    let bad = [
        edge("vocab", "trace"),
        edge("trace", "scenario"),
        edge("trace", "report"),
    ];
    assert_eq!(violations(&floors, &bad).len(), 3);
}
