//! The modules of `src/` depend on each other without a cycle, in layers: transport and timer, the
//! engine (bytes and deadlines only), the session (receive and close policy), the connection types, the
//! handshake and connect, serving. The graph is read from the source: every `crate::` path outside
//! comments, with the names `lib.rs` re-exports resolved to the module they come from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The source without comments (from `//` to the end of the line).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| line.find("//").map_or(line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first name of every `crate::` path in `code` (each name of a `crate::{a, b::c}` group).
fn crate_paths(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let macro_path = rest[..at].ends_with('$');
        rest = &rest[at + "crate::".len()..];
        if macro_path {
            continue; // `$crate::` in a macro is the crate seen from the caller's side.
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(ident(item.trim()).to_string());
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            names.push(ident(item.trim()).to_string());
        } else {
            names.push(ident(rest).to_string());
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

/// Names `lib.rs` re-exports from a module of the crate, with that module.
fn reexports(lib: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for statement in code(lib).split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let module = ident(path);
        if !modules.contains(module) {
            continue; // from another crate
        }
        let items = &path[module.len()..];
        for name in items.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if !name.is_empty() {
                map.insert(name.to_string(), module.to_string());
            }
        }
    }
    map
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            files.insert(stem, std::fs::read_to_string(&path).unwrap());
        }
    }
    let lib = files.remove("lib").expect("src/lib.rs");
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    let reexported = reexports(&lib, &modules);
    let mut graph = Graph::new();
    for (module, text) in &files {
        let deps = graph.entry(module.clone()).or_default();
        for name in crate_paths(&code(text)) {
            let target = if modules.contains(&name) {
                Some(&name)
            } else {
                reexported.get(&name)
            };
            if let Some(target) = target
                && target != module
            {
                deps.insert(target.clone());
            }
        }
    }
    graph
}

/// A cycle of `graph`, if it has one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

/// Every module `module` depends on, directly or not.
fn reachable(graph: &Graph, module: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![module.to_string()];
    while let Some(node) = todo.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = graph();
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {}\ngraph: {graph:#?}", cycle.join(" -> "));
    }
}

#[test]
fn the_layers_only_look_down() {
    let graph = graph();
    let below = |module: &str, above: &[&str]| {
        let deps = reachable(&graph, module);
        for upper in above {
            assert!(
                !deps.contains(*upper),
                "{module} depends on {upper}: {deps:?}"
            );
        }
    };
    // The switch itself knows no connection.
    assert_eq!(graph["shutdown"], BTreeSet::new(), "shutdown imports");
    // The engine only pumps bytes: no policy, no connection type, no shutdown guard.
    below(
        "engine",
        &[
            "session",
            "shutdown",
            "websocket",
            "split",
            "handshake",
            "serve",
        ],
    );
    below(
        "session",
        &["websocket", "split", "handshake", "connect", "serve"],
    );
    below("websocket", &["split", "handshake", "connect", "serve"]);
    below("handshake", &["split", "connect", "serve"]);
}

#[test]
fn the_parser_sees_groups_and_skips_comments_and_macro_paths() {
    let text = "use crate::a::B;\nuse crate::{c::D, e, f::{G, H}};\n// crate::x\nlet y = $crate::z;\nlet w = crate::v::f();";
    assert_eq!(crate_paths(&code(text)), ["a", "c", "e", "f", "v"]);
}
