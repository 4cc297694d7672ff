//! An UpdateItem as data: what it sets and removes, on which condition. DynamoDB gets it
//! rendered as expressions ([`Update::render`]); the in-memory table applies it with the
//! same rules ([`Update::apply`]): a nested path whose parent map is missing is refused,
//! removing a name that is not there does nothing. One plan, two adapters, so the webhook's
//! writes and the relay's confirmations behave alike in tests and on AWS.

use super::*;
use std::collections::hash_map::Entry;

/// A path into an item: a top-level attribute, then map keys.
pub type Path = Vec<String>;

pub fn path(names: &[&str]) -> Path {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Is(AttributeValue),
    /// `if_not_exists(path, value)`: the attribute as it is, else this.
    IfAbsent(AttributeValue),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Exists(Path),
    Absent(Path),
    Equals(Path, AttributeValue),
    /// `size(path) = n` (a map's number of keys).
    SizeIs(Path, usize),
    All(Vec<Condition>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub set: Vec<(Path, Value)>,
    pub remove: Vec<Path>,
    pub condition: Option<Condition>,
}

/// An update's expressions, with their placeholders.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    pub update: String,
    pub condition: Option<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

/// A nested path whose parent is not a map of the item (DynamoDB: "The document path
/// provided in the update expression is invalid for update").
#[derive(Debug, thiserror::Error)]
#[error("the document path {0} is invalid for update")]
pub struct InvalidPath(String);

struct Placeholders {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Placeholders {
    fn with_capacity(n: usize) -> Self {
        Self {
            names: HashMap::with_capacity(n),
            values: HashMap::with_capacity(n),
        }
    }

    /// Writes the placeholder of `name` to `out`: `#name` for a name of letters, digits
    /// and `_` (most of them: no counter), else (or when that placeholder stands for
    /// another name) `#n<i>`; a name used twice has one.
    fn name(&mut self, name: &str, out: &mut String) {
        let plain =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if plain {
            let mut placeholder = String::with_capacity(name.len() + 1);
            placeholder.push('#');
            placeholder.push_str(name);
            match self.names.get(&placeholder) {
                None => {
                    out.push_str(&placeholder);
                    self.names.insert(placeholder, name.to_owned());
                    return;
                }
                Some(named) if named == name => {
                    out.push_str(&placeholder);
                    return;
                }
                Some(_) => {}
            }
        }
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            out.push_str(placeholder);
            return;
        }
        let mut i = self.names.len();
        loop {
            if let Entry::Vacant(slot) = self.names.entry(format!("#n{i}")) {
                out.push_str(slot.key());
                slot.insert(name.to_owned());
                return;
            }
            i += 1;
        }
    }

    fn path(&mut self, path: &Path, out: &mut String) {
        for (i, name) in path.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            self.name(name, out);
        }
    }

    fn value(&mut self, value: AttributeValue, out: &mut String) {
        use std::fmt::Write;
        let at = out.len();
        let _ = write!(out, ":v{}", self.values.len());
        self.values.insert(out[at..].to_owned(), value);
    }

    fn condition(&mut self, condition: Condition, out: &mut String) {
        match condition {
            Condition::Exists(p) => {
                out.push_str("attribute_exists(");
                self.path(&p, out);
                out.push(')');
            }
            Condition::Absent(p) => {
                out.push_str("attribute_not_exists(");
                self.path(&p, out);
                out.push(')');
            }
            Condition::Equals(p, v) => {
                self.path(&p, out);
                out.push_str(" = ");
                self.value(v, out);
            }
            Condition::SizeIs(p, n) => {
                out.push_str("size(");
                self.path(&p, out);
                out.push_str(") = ");
                self.value(AttributeValue::N(n.to_string()), out);
            }
            Condition::All(all) => {
                for (i, c) in all.into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(" AND ");
                    }
                    out.push('(');
                    self.condition(c, out);
                    out.push(')');
                }
            }
        }
    }
}

impl Update {
    /// The update as DynamoDB takes it (its values moved, not copied: the webhook's write
    /// renders every attribute of the lead).
    pub fn render(self) -> Rendered {
        let mut p = Placeholders::with_capacity(self.set.len() + self.remove.len() + 4);
        let mut update = String::with_capacity(32 * (self.set.len() + self.remove.len()));
        // REMOVE first: DynamoDB takes the clauses in any order and sizes the item it
        // ends with; moto sizes it after each step, in the order written.
        for (i, path) in self.remove.iter().enumerate() {
            update.push_str(if i == 0 { "REMOVE " } else { ", " });
            p.path(path, &mut update);
        }
        for (i, (path, value)) in self.set.into_iter().enumerate() {
            update.push_str(match (i, update.is_empty()) {
                (0, true) => "SET ",
                (0, false) => " SET ",
                _ => ", ",
            });
            let at = update.len();
            p.path(&path, &mut update);
            match value {
                Value::Is(v) => {
                    update.push_str(" = ");
                    p.value(v, &mut update);
                }
                Value::IfAbsent(v) => {
                    let target = update[at..].to_owned();
                    update.push_str(" = if_not_exists(");
                    update.push_str(&target);
                    update.push_str(", ");
                    p.value(v, &mut update);
                    update.push(')');
                }
            }
        }
        let condition = self.condition.map(|c| {
            let mut out = String::with_capacity(64);
            p.condition(c, &mut out);
            out
        });
        Rendered {
            update,
            condition,
            names: p.names,
            values: p.values,
        }
    }

    /// Does the condition hold on `item` (`None`: there is no item)?
    pub fn holds(&self, item: Option<&HashMap<String, AttributeValue>>) -> bool {
        self.condition
            .as_ref()
            .is_none_or(|c| evaluate(c, item.unwrap_or(&HashMap::new())))
    }

    /// The item after the update (`current: None` makes one of `key`), as DynamoDB makes
    /// it; the condition is the caller's (see [`Self::holds`]).
    pub fn apply(
        &self,
        current: Option<HashMap<String, AttributeValue>>,
        key: HashMap<String, AttributeValue>,
    ) -> Result<HashMap<String, AttributeValue>, InvalidPath> {
        let mut item = current.unwrap_or(key);
        for (path, value) in &self.set {
            let value = match value {
                Value::Is(v) => v.clone(),
                Value::IfAbsent(v) => lookup(&item, path).cloned().unwrap_or_else(|| v.clone()),
            };
            let (parent, last) = parent_of(&mut item, path)?;
            parent.insert(last, value);
        }
        for path in &self.remove {
            if let Ok((parent, last)) = parent_of(&mut item, path) {
                parent.remove(&last);
            } else if path.len() > 1 {
                return Err(InvalidPath(path.join(".")));
            }
        }
        Ok(item)
    }
}

fn lookup<'a>(
    item: &'a HashMap<String, AttributeValue>,
    path: &Path,
) -> Option<&'a AttributeValue> {
    let (first, rest) = path.split_first()?;
    let mut at = item.get(first)?;
    for name in rest {
        at = at.as_m().ok()?.get(name)?;
    }
    Some(at)
}

fn parent_of<'a>(
    item: &'a mut HashMap<String, AttributeValue>,
    path: &Path,
) -> Result<(&'a mut HashMap<String, AttributeValue>, String), InvalidPath> {
    let invalid = || InvalidPath(path.join("."));
    let (last, parents) = path.split_last().ok_or_else(invalid)?;
    let mut map = item;
    for name in parents {
        map = match map.get_mut(name) {
            Some(AttributeValue::M(inner)) => inner,
            _ => return Err(invalid()),
        };
    }
    Ok((map, last.clone()))
}

fn evaluate(condition: &Condition, item: &HashMap<String, AttributeValue>) -> bool {
    match condition {
        Condition::Exists(p) => lookup(item, p).is_some(),
        Condition::Absent(p) => lookup(item, p).is_none(),
        Condition::Equals(p, v) => lookup(item, p) == Some(v),
        Condition::SizeIs(p, n) => lookup(item, p)
            .and_then(|v| v.as_m().ok())
            .is_some_and(|m| m.len() == *n),
        Condition::All(all) => all.iter().all(|c| evaluate(c, item)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    #[test]
    fn an_update_renders_each_name_once_and_each_value_apart() {
        let update = Update {
            set: vec![
                (path(&["a"]), Value::Is(s("1"))),
                (path(&["m", "k-1"]), Value::IfAbsent(s("2"))),
            ],
            remove: vec![path(&["m", "old"]), path(&["a2"])],
            condition: Some(Condition::All(vec![
                Condition::Exists(path(&["m"])),
                Condition::SizeIs(path(&["m"]), 1),
            ])),
        };
        let r = update.render();
        assert_eq!(
            r.update,
            "REMOVE #m.#old, #a2 SET #a = :v0, #m.#n4 = if_not_exists(#m.#n4, :v1)"
        );
        assert_eq!(
            r.condition.as_deref(),
            Some("(attribute_exists(#m)) AND (size(#m) = :v2)")
        );
        assert_eq!(r.names.get("#n4").map(String::as_str), Some("k-1"));
        assert_eq!(r.names.get("#m").map(String::as_str), Some("m"));
        assert_eq!(r.names.len(), 5);
        assert_eq!(r.values.len(), 3);
        // A name that looks like a generated placeholder keeps its own.
        let clash = Update {
            set: vec![
                (path(&["m", "k-1"]), Value::Is(s("1"))),
                (path(&["n1"]), Value::Is(s("2"))),
            ],
            ..Update::default()
        };
        let r = clash.render();
        let mut names: Vec<&String> = r.names.values().collect();
        names.sort();
        assert_eq!(names, ["k-1", "m", "n1"]);
    }

    #[test]
    fn a_nested_path_needs_its_map_and_removing_what_is_not_there_does_nothing() {
        let key = HashMap::from([("k".to_owned(), s("x"))]);
        let nested = Update {
            set: vec![(path(&["m", "a"]), Value::Is(s("1")))],
            ..Update::default()
        };
        assert!(nested.apply(None, key.clone()).is_err());
        let make = Update {
            set: vec![(
                path(&["m"]),
                Value::Is(AttributeValue::M(HashMap::from([("a".into(), s("1"))]))),
            )],
            ..Update::default()
        };
        let item = make.apply(None, key.clone()).unwrap();
        let remove = Update {
            remove: vec![path(&["m", "gone"]), path(&["nothing"])],
            ..Update::default()
        };
        assert_eq!(remove.apply(Some(item.clone()), key.clone()).unwrap(), item);
        let remove_in_missing = Update {
            remove: vec![path(&["absent", "a"])],
            ..Update::default()
        };
        assert!(remove_in_missing.apply(Some(item.clone()), key).is_err());
        let size = Update {
            condition: Some(Condition::SizeIs(path(&["m"]), 1)),
            ..Update::default()
        };
        assert!(size.holds(Some(&item)));
        assert!(!size.holds(None));
    }
}
