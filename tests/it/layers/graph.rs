//! The module graph of `src/`, computed from the sources: every `crate::…`, `super::…` and
//! `self::…` path (with `use` groups expanded), and paths through a module's own `mod` children,
//! resolved to the file of the deepest module they name. Good enough for the layering rules:
//! code only, comments and `#[cfg(test)] mod tests` left out; paths inside strings are rare and
//! would only add edges (a false alarm, never a missed cycle).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module's path below the crate root: `["tenant", "actor"]`; the root is `[]`.
pub type Module = Vec<String>;

/// Which modules each module's code names.
pub struct Graph {
    pub edges: BTreeMap<Module, BTreeSet<Module>>,
}

impl Graph {
    /// Reads every `.rs` file under `src` (the binary's `main.rs` is another crate and is skipped).
    pub fn of_crate(src: &Path) -> Self {
        let mut files = BTreeMap::new();
        collect(src, src, &mut files);
        let known: BTreeSet<Module> = files.keys().cloned().collect();
        let edges = files
            .iter()
            .map(|(module, text)| {
                let named = named_modules(module, &code_of(text), &known);
                (module.clone(), named)
            })
            .collect();
        Self { edges }
    }

    /// The graph between top-level modules (`lib.rs` is `lib`).
    pub fn top_level(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, tos) in &self.edges {
            let entry = top.entry(top_name(from)).or_default();
            entry.extend(tos.iter().map(top_name));
        }
        for (name, tos) in top.iter_mut() {
            tos.remove(name);
        }
        top
    }
}

pub fn top_name(module: &Module) -> String {
    module.first().cloned().unwrap_or_else(|| "lib".into())
}

pub fn display(module: &Module) -> String {
    match module.is_empty() {
        true => "lib".into(),
        false => module.join("/"),
    }
}

fn collect(src: &Path, dir: &Path, files: &mut BTreeMap<Module, String>) {
    for entry in std::fs::read_dir(dir).expect("source folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(src, &path, files);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path
            .strip_prefix(src)
            .expect("under src")
            .with_extension("");
        let mut module: Module = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        match module.last().map(String::as_str) {
            Some("mod") => {
                module.pop();
            }
            Some("lib") if module.len() == 1 => module.clear(),
            Some("main") if module.len() == 1 => continue,
            _ => {}
        }
        let text = std::fs::read_to_string(&path).expect("readable source");
        files.insert(module, text);
    }
}

/// The code of a file: no comment lines, no unit-test module.
fn code_of(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break; // the unit tests come last in every file here
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every module `module`'s code names, itself excluded.
fn named_modules(module: &Module, code: &str, known: &BTreeSet<Module>) -> BTreeSet<Module> {
    let children: BTreeSet<&str> = code
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = line
                .strip_prefix("pub(crate) ")
                .or_else(|| line.strip_prefix("pub(super) "))
                .or_else(|| line.strip_prefix("pub "))
                .unwrap_or(line);
            line.strip_prefix("mod ")?.strip_suffix(';')
        })
        .collect();
    let mut named = BTreeSet::new();
    for (at, _) in code.match_indices("::") {
        let start = code[..at]
            .rfind(|c: char| !is_ident_char(c))
            .map_or(0, |i| i + 1);
        let head = &code[start..at];
        let before = code[..start].chars().next_back();
        // `a::b` inside a longer path was handled with the path's head.
        if head.is_empty() || before == Some(':') {
            continue;
        }
        let base: Module = match head {
            "crate" => Vec::new(),
            "self" | "super" => module.clone(),
            child if children.contains(child) => module.clone(),
            _ => continue,
        };
        let (paths, _) = parse_tree(code, start);
        for path in paths {
            let absolute = absolute(&base, &path);
            if let Some(found) = deepest_known(&absolute, known)
                && &found != module
            {
                named.insert(found);
            }
        }
    }
    named
}

/// `base` joined with `path`, whose leading `crate`, `self` and `super`s are resolved.
fn absolute(base: &Module, path: &[String]) -> Module {
    let mut resolved = base.clone();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            resolved.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        _ => {}
    }
    while rest.first().is_some_and(|s| s == "super") {
        resolved.pop();
        rest = &rest[1..];
    }
    resolved.extend(rest.iter().cloned());
    resolved
}

fn deepest_known(path: &Module, known: &BTreeSet<Module>) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| known.contains(prefix))
}

/// Parses `a::b::{c, d::{e, f}}` (or a bare `a::b`) at `at`; answers the expanded paths and where
/// parsing stopped.
fn parse_tree(code: &str, at: usize) -> (Vec<Vec<String>>, usize) {
    let bytes = code.as_bytes();
    let skip_space = |mut i: usize| {
        while i < bytes.len() && (bytes[i] as char).is_whitespace() {
            i += 1;
        }
        i
    };
    let mut i = skip_space(at);
    if bytes.get(i) == Some(&b'{') {
        let mut paths = Vec::new();
        i += 1;
        loop {
            i = skip_space(i);
            match bytes.get(i) {
                None => return (paths, i),
                Some(b'}') => return (paths, i + 1),
                Some(b',') => i += 1,
                _ => {
                    let (inner, next) = parse_tree(code, i);
                    paths.extend(inner);
                    if next == i {
                        return (paths, i); // not a path: give up on this group
                    }
                    i = next;
                }
            }
        }
    }
    let mut segments = Vec::new();
    loop {
        let end = code[i..]
            .find(|c: char| !is_ident_char(c))
            .map_or(code.len(), |n| i + n);
        if end == i {
            break;
        }
        segments.push(code[i..end].to_owned());
        i = end;
        if !code[i..].starts_with("::") {
            break;
        }
        i = skip_space(i + 2);
        if bytes.get(i) == Some(&b'{') {
            let (inner, next) = parse_tree(code, i);
            let joined = inner
                .into_iter()
                .map(|tail| segments.iter().cloned().chain(tail).collect())
                .collect();
            return (joined, next);
        }
    }
    (vec![segments], i)
}

/// Strongly connected components of more than one node (Tarjan's algorithm).
pub fn cycles<N: Ord + Clone>(edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct Walk<'a, N> {
        edges: &'a BTreeMap<N, BTreeSet<N>>,
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        found: Vec<Vec<N>>,
    }
    impl<N: Ord + Clone> Walk<'_, N> {
        fn visit(&mut self, node: &N) {
            let n = self.index.len();
            self.index.insert(node.clone(), n);
            self.low.insert(node.clone(), n);
            self.stack.push(node.clone());
            for next in self.edges.get(node).into_iter().flatten() {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node.clone(), low);
                } else if self.stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node.clone(), low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    let done = &top == node;
                    component.push(top);
                    if done {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !walk.index.contains_key(node) {
            walk.visit(node);
        }
    }
    walk.found
}
