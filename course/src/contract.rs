//! One contract for stub and solution: the exercise's `src/lib.rs` (the
//! learner's starting point) and the solution's `src/lib.rs` must declare the
//! same public items with the same signatures, doc comments and derives, so
//! that the two cannot drift apart. Bodies, private items and private fields
//! may differ: that is where the learner's work goes.
//!
//! What counts: public functions (signature and docs), public structs (docs,
//! generics and public fields), enums, traits (without default bodies),
//! type aliases, constants, statics, `pub use`, public inline modules, and
//! the public methods and constants of inherent `impl` blocks. An item
//! marked `#[doc(hidden)]` is not part of the contract.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use quote::{ToTokens, quote};
use syn::{Attribute, ImplItem, Item, TraitItem, Visibility};

/// Compares the public items of every `.rs` file that both `stub_src` and
/// `solution_src` have. Ok(number of items) or Err(the differences).
pub fn compare(stub_src: &Path, solution_src: &Path) -> Result<usize, Vec<String>> {
    let mut problems = Vec::new();
    let mut count = 0;
    let Ok(entries) = fs::read_dir(stub_src) else {
        return Err(vec![format!("cannot read {}", stub_src.display())]);
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rs"))
        .filter(|n| solution_src.join(n).is_file())
        .collect();
    names.sort();
    for name in names {
        let stub = match items_of(&stub_src.join(&name)) {
            Ok(items) => items,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let solution = match items_of(&solution_src.join(&name)) {
            Ok(items) => items,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        count += stub.len();
        problems.extend(differences(&name, &stub, &solution));
    }
    if problems.is_empty() {
        Ok(count)
    } else {
        Err(problems)
    }
}

fn items_of(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    public_items(&text).map_err(|e| format!("parsing {}: {e}", path.display()))
}

/// The public items of a source file: a name for each, and its normalised
/// text (tokens, bodies removed).
pub fn public_items(source: &str) -> syn::Result<BTreeMap<String, String>> {
    let file = syn::parse_file(source)?;
    let mut items = BTreeMap::new();
    collect(&file.items, "", &mut items);
    Ok(items)
}

fn is_pub(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

/// `#[doc(hidden)]` marks a public item that is not part of the exercise
/// (e.g. a serial baseline the solution's benchmarks call).
fn hidden(item: &Item) -> bool {
    let attrs = match item {
        Item::Fn(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Const(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        _ => return false,
    };
    attrs.iter().any(|a| {
        a.path().is_ident("doc")
            && a.parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "hidden")
    })
}

/// Doc comments and derives are part of the contract; lint settings
/// (`#[allow]`) and the like are not.
fn contract_attrs(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc") || a.path().is_ident("derive"))
        .cloned()
        .collect()
}

fn text(tokens: impl ToTokens) -> String {
    tokens.to_token_stream().to_string()
}

fn collect(items: &[Item], prefix: &str, out: &mut BTreeMap<String, String>) {
    for item in items.iter().filter(|i| !hidden(i)) {
        match item {
            Item::Fn(f) if is_pub(&f.vis) => {
                let attrs = contract_attrs(&f.attrs);
                let sig = &f.sig;
                out.insert(
                    format!("{prefix}fn {}", sig.ident),
                    text(quote!(#(#attrs)* pub #sig)),
                );
            }
            Item::Struct(s) if is_pub(&s.vis) => {
                let attrs = contract_attrs(&s.attrs);
                let (ident, generics) = (&s.ident, &s.generics);
                let fields: Vec<_> = s
                    .fields
                    .iter()
                    .filter(|f| is_pub(&f.vis))
                    .map(|f| {
                        let mut f = f.clone();
                        f.attrs = contract_attrs(&f.attrs);
                        f
                    })
                    .collect();
                out.insert(
                    format!("{prefix}struct {ident}"),
                    text(quote!(#(#attrs)* pub struct #ident #generics { #(#fields),* })),
                );
            }
            Item::Enum(e) if is_pub(&e.vis) => {
                let mut e = e.clone();
                e.attrs = contract_attrs(&e.attrs);
                out.insert(format!("{prefix}enum {}", e.ident), text(&e));
            }
            Item::Trait(t) if is_pub(&t.vis) => {
                let mut t = t.clone();
                t.attrs = contract_attrs(&t.attrs);
                for item in &mut t.items {
                    if let TraitItem::Fn(f) = item {
                        f.default = None;
                        f.semi_token = Some(Default::default());
                    }
                }
                out.insert(format!("{prefix}trait {}", t.ident), text(&t));
            }
            Item::Type(t) if is_pub(&t.vis) => {
                let mut t = t.clone();
                t.attrs = contract_attrs(&t.attrs);
                out.insert(format!("{prefix}type {}", t.ident), text(&t));
            }
            Item::Const(c) if is_pub(&c.vis) => {
                let mut c = c.clone();
                c.attrs = contract_attrs(&c.attrs);
                out.insert(format!("{prefix}const {}", c.ident), text(&c));
            }
            Item::Static(s) if is_pub(&s.vis) => {
                let mut s = s.clone();
                s.attrs = contract_attrs(&s.attrs);
                out.insert(format!("{prefix}static {}", s.ident), text(&s));
            }
            Item::Use(u) if is_pub(&u.vis) => {
                let tree = &u.tree;
                out.insert(format!("{prefix}use {}", text(tree)), text(u));
            }
            Item::Mod(m) if is_pub(&m.vis) => {
                let name = format!("{prefix}{}::", m.ident);
                out.insert(
                    format!("{prefix}mod {}", m.ident),
                    text(
                        contract_attrs(&m.attrs)
                            .iter()
                            .map(text)
                            .collect::<String>(),
                    ),
                );
                if let Some((_, items)) = &m.content {
                    collect(items, &name, out);
                }
            }
            Item::Impl(i) if i.trait_.is_none() => {
                let self_ty = text(&i.self_ty);
                for item in &i.items {
                    match item {
                        ImplItem::Fn(f) if is_pub(&f.vis) => {
                            let attrs = contract_attrs(&f.attrs);
                            let sig = &f.sig;
                            out.insert(
                                format!("{prefix}{self_ty}::{}", sig.ident),
                                text(quote!(#(#attrs)* pub #sig)),
                            );
                        }
                        ImplItem::Const(c) if is_pub(&c.vis) => {
                            let mut c = c.clone();
                            c.attrs = contract_attrs(&c.attrs);
                            out.insert(format!("{prefix}{self_ty}::{}", c.ident), text(&c));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

fn differences(
    file: &str,
    stub: &BTreeMap<String, String>,
    solution: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut found = Vec::new();
    for (name, text) in stub {
        match solution.get(name) {
            None => found.push(format!(
                "{file}: `{name}` is public in the stub but not in the solution"
            )),
            Some(other) if other != text => {
                let at = text
                    .char_indices()
                    .zip(other.chars())
                    .find(|((_, a), b)| a != b)
                    .map(|((i, _), _)| i)
                    .unwrap_or(text.len().min(other.len()));
                found.push(format!(
                    "{file}: `{name}` differs between stub and solution (signature, docs or public fields):\n        stub:     …{}…\n        solution: …{}…",
                    window(text, at),
                    window(other, at)
                ));
            }
            Some(_) => {}
        }
    }
    for name in solution.keys().filter(|n| !stub.contains_key(*n)) {
        found.push(format!(
            "{file}: `{name}` is public in the solution but not in the stub (make it private, or add it to the stub)"
        ));
    }
    found
}

/// About 70 characters of `text` around byte `at`.
fn window(text: &str, at: usize) -> String {
    let start = text[..at.min(text.len())]
        .char_indices()
        .rev()
        .nth(30)
        .map_or(0, |(i, _)| i);
    text[start..].chars().take(70).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STUB: &str = r#"
/// Adds.
pub fn add(a: u32, b: u32) -> u32 { todo!() }
/// A counter.
#[derive(Debug)]
pub struct Counter { pub name: String, placeholder: () }
impl Counter {
    /// Makes one.
    pub fn new(name: &str) -> Self { todo!() }
    fn helper(&self) {}
}
fn private() {}
"#;

    #[test]
    fn bodies_private_items_and_private_fields_may_differ() {
        let solution = r#"
/// Adds.
pub fn add(a: u32, b: u32) -> u32 { a + b }
/// A counter.
#[derive(Debug)]
#[allow(dead_code)]
pub struct Counter { pub name: String, count: std::sync::atomic::AtomicU64 }
impl Counter {
    /// Makes one.
    pub fn new(name: &str) -> Self { Counter { name: name.into(), count: Default::default() } }
}
fn other_helper() {}
"#;
        let (a, b) = (public_items(STUB).unwrap(), public_items(solution).unwrap());
        assert_eq!(differences("lib.rs", &a, &b), Vec::<String>::new());
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn a_changed_doc_comment_or_signature_is_named() {
        let solution = STUB
            .replace("/// Adds.", "/// Adds two numbers.")
            .replace("pub fn new(name: &str)", "pub fn new(name: String)");
        let (a, b) = (
            public_items(STUB).unwrap(),
            public_items(&solution).unwrap(),
        );
        let found = differences("lib.rs", &a, &b);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].contains("`Counter::new`"), "{}", found[0]);
        assert!(found[1].contains("`fn add`"), "{}", found[1]);
    }

    #[test]
    fn a_hidden_item_is_not_part_of_the_contract() {
        let solution = format!("{STUB}\n#[doc(hidden)]\npub fn serial_baseline() {{}}\n");
        let (a, b) = (
            public_items(STUB).unwrap(),
            public_items(&solution).unwrap(),
        );
        assert_eq!(differences("lib.rs", &a, &b), Vec::<String>::new());
    }

    #[test]
    fn an_extra_public_item_is_named() {
        let solution = format!("{STUB}\npub fn extra() {{}}\n");
        let (a, b) = (
            public_items(STUB).unwrap(),
            public_items(&solution).unwrap(),
        );
        let found = differences("lib.rs", &a, &b);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("`fn extra` is public in the solution"));
    }
}
