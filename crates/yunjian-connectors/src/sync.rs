//! Inventory snapshots of the standard provider API (docs/provider-api.md): reading a
//! pushed object, and planning what a snapshot changes in the provider's part of the
//! world. Pure: the store hands in what it holds, the plan says what to write.
//!
//! A provider names objects by its own ids (`external_id`) and never by ours; references
//! between pushed objects carry the provider's ids too, resolved here within the
//! provider's own objects, so a provider cannot point at, change or delete anything
//! another provider reported (docs/decisions/0011-provider-sync.md). Ownership comes from
//! the management unit's project mapping, never from the provider's word.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value as Json};
use yunjian_core::schema::{FieldType, Kind, Presence};
use yunjian_core::value::{empty_value, parse_field, Value, Values};

/// The kinds a provider reports, in the order references resolve: a kind refers only
/// to kinds before it.
pub const PUSHED_KINDS: [Kind; 19] = [
    Kind::Datacenter,
    Kind::Host,
    Kind::Image,
    Kind::Vpc,
    Kind::Subnet,
    Kind::SecurityGroup,
    Kind::SecurityGroupRule,
    Kind::Vm,
    Kind::Volume,
    Kind::Snapshot,
    Kind::Backup,
    Kind::PaasInstance,
    Kind::ContainerWorkload,
    Kind::NetworkPolicy,
    Kind::NetworkAcl,
    Kind::NetworkAclRule,
    Kind::FirewallRule,
    Kind::VpcPeering,
    Kind::Route,
];

/// At most this many ids in one list reference (a VM's security groups).
pub const MAX_LIST_ITEMS: usize = 64;

/// At most this many objects in one chunk of a snapshot.
pub const MAX_OBJECTS_PER_CHUNK: usize = 10_000;
/// A refused batch names at most this many problems.
pub const MAX_ERRORS: usize = 100;
/// The provider's ids fit the world's `external_id` column.
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;

/// Fields a provider never sets: ours from the mapping or the signature, or the
/// tenant's own declarations (which information system a VM serves).
const NOT_PUSHED: [&str; 4] = ["provider_id", "tenant_id", "system_id", "external_id"];

pub fn pushed_kind(text: &str) -> Option<Kind> {
    PUSHED_KINDS.into_iter().find(|kind| kind.spec().id == text)
}

fn order_of(kind: Kind) -> usize {
    PUSHED_KINDS
        .iter()
        .position(|candidate| *candidate == kind)
        .unwrap_or(usize::MAX)
}

/// Whether a snapshot is the provider's whole inventory (what it omits is gone) or a
/// set of changes (upserts, and deletions it names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Full,
    Incremental,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Incremental => "incremental",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "full" => Some(Mode::Full),
            "incremental" => Some(Mode::Incremental),
            _ => None,
        }
    }
}

/// One problem with a refused batch: which object (its position in the whole
/// snapshot, counted over all chunks), which field, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("object {index}{}: {reason}", describe(.kind, .external_id, .field))]
pub struct BatchError {
    pub index: usize,
    pub kind: Option<String>,
    pub external_id: Option<String>,
    pub field: Option<String>,
    pub code: &'static str,
    pub reason: String,
}

fn describe(kind: &Option<String>, external_id: &Option<String>, field: &Option<String>) -> String {
    let mut text = String::new();
    if let Some(kind) = kind {
        text.push_str(&format!(" ({kind}"));
        if let Some(id) = external_id {
            text.push_str(&format!(" {id}"));
        }
        text.push(')');
    }
    if let Some(field) = field {
        text.push_str(&format!(" field '{field}'"));
    }
    text
}

/// A reference still in the provider's terms: another pushed object's id, or a zone's
/// name (zones are the management unit's directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRef {
    pub field: &'static str,
    pub target: Kind,
    pub key: String,
}

/// A list reference still in the provider's terms: other pushed objects' ids (a VM's
/// security groups, an ACL's subnets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingList {
    pub field: &'static str,
    pub target: Kind,
    pub keys: Vec<String>,
}

/// One object of a snapshot, checked field by field but not yet resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct PushedObject {
    /// Position in the whole snapshot.
    pub index: usize,
    pub kind: Kind,
    pub external_id: String,
    pub project: Option<String>,
    /// Incremental snapshots only: the object is gone.
    pub deleted: bool,
    /// The fields given, references excepted.
    pub values: Values,
    pub references: Vec<PendingRef>,
    /// List references; an omitted list is empty (the provider's word, like any field).
    pub lists: Vec<PendingList>,
    /// Fields the source cannot express (a Neutron rule has no priority): on an update
    /// the stored value stays; on a creation the given one is used. Pushes never set it.
    pub keep_fields: Vec<&'static str>,
}

fn error(
    index: usize,
    kind: Option<&str>,
    external_id: Option<&str>,
    field: Option<&str>,
    code: &'static str,
    reason: impl Into<String>,
) -> BatchError {
    BatchError {
        index,
        kind: kind.map(str::to_owned),
        external_id: external_id.map(str::to_owned),
        field: field.map(str::to_owned),
        code,
        reason: reason.into(),
    }
}

/// Reads one chunk: `{"objects": [...]}`. `first_index` is the position of its first
/// object in the snapshot. Every object is checked; the chunk is refused with the
/// problems found (at most [`MAX_ERRORS`]), never partly accepted.
pub fn parse_chunk(first_index: usize, body: &[u8]) -> Result<Vec<PushedObject>, Vec<BatchError>> {
    let whole = |code, reason: String| vec![error(first_index, None, None, None, code, reason)];
    let json: Json = serde_json::from_slice(body)
        .map_err(|problem| whole("invalid_json", format!("the chunk is not JSON: {problem}")))?;
    let Some(root) = json.as_object() else {
        return Err(whole("invalid_chunk", "a chunk is an object".into()));
    };
    if let Some(key) = root.keys().find(|key| key.as_str() != "objects") {
        return Err(whole(
            "unknown_field",
            format!("a chunk has only 'objects', not '{key}'"),
        ));
    }
    let Some(items) = root.get("objects").and_then(Json::as_array) else {
        return Err(whole(
            "invalid_chunk",
            "'objects' must be a list of objects".into(),
        ));
    };
    if items.len() > MAX_OBJECTS_PER_CHUNK {
        return Err(whole(
            "chunk_too_large",
            format!(
                "{} objects; a chunk holds at most {MAX_OBJECTS_PER_CHUNK}",
                items.len()
            ),
        ));
    }
    let mut objects = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (offset, item) in items.iter().enumerate() {
        match parse_object(first_index + offset, item) {
            Ok(object) => objects.push(object),
            Err(found) => {
                errors.extend(found);
                if errors.len() >= MAX_ERRORS {
                    errors.truncate(MAX_ERRORS);
                    break;
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(objects)
    } else {
        Err(errors)
    }
}

/// Reads one pushed object: `{"kind", "id", "project"?, "deleted"?, "fields"}`.
pub fn parse_object(index: usize, item: &Json) -> Result<PushedObject, Vec<BatchError>> {
    let Some(map) = item.as_object() else {
        return Err(vec![error(
            index,
            None,
            None,
            None,
            "invalid_object",
            "an object is a JSON object",
        )]);
    };
    let mut errors = Vec::new();
    for key in map.keys() {
        if !matches!(
            key.as_str(),
            "kind" | "id" | "project" | "deleted" | "fields"
        ) {
            errors.push(error(
                index,
                None,
                None,
                Some(key),
                "unknown_field",
                format!("an object has kind, id, project, deleted and fields, not '{key}'"),
            ));
        }
    }
    let kind_text = map.get("kind").and_then(Json::as_str).unwrap_or_default();
    let Some(kind) = pushed_kind(kind_text) else {
        let known: Vec<&str> = PUSHED_KINDS.iter().map(|kind| kind.spec().id).collect();
        errors.push(error(
            index,
            None,
            None,
            Some("kind"),
            "unknown_kind",
            format!(
                "'kind' must be one of {}, not '{kind_text}'",
                known.join(", ")
            ),
        ));
        return Err(errors);
    };
    let spec = kind.spec();
    let external_id = match map.get("id").and_then(Json::as_str).map(str::trim) {
        Some(id) if !id.is_empty() && id.chars().count() <= MAX_EXTERNAL_ID_CHARS => id.to_owned(),
        _ => {
            errors.push(error(
                index,
                Some(spec.id),
                None,
                Some("id"),
                "invalid_id",
                format!("'id' is your id of the object: 1 to {MAX_EXTERNAL_ID_CHARS} characters"),
            ));
            return Err(errors);
        }
    };
    let fail = |field: Option<&str>, code, reason: String| {
        error(
            index,
            Some(spec.id),
            Some(&external_id),
            field,
            code,
            reason,
        )
    };
    let project = match map.get("project") {
        None | Some(Json::Null) => None,
        Some(Json::String(text)) if !text.trim().is_empty() && text.len() <= 128 => {
            Some(text.trim().to_owned())
        }
        Some(_) => {
            errors.push(fail(
                Some("project"),
                "invalid_project",
                "'project' is your project's id: 1 to 128 characters".into(),
            ));
            None
        }
    };
    let deleted = match map.get("deleted") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(flag)) => *flag,
        Some(_) => {
            errors.push(fail(
                Some("deleted"),
                "invalid_deleted",
                "'deleted' is true or false".into(),
            ));
            false
        }
    };
    let empty = Map::new();
    let fields = match map.get("fields") {
        Some(Json::Object(fields)) => fields,
        None if deleted => &empty,
        _ => {
            errors.push(fail(
                Some("fields"),
                "invalid_fields",
                "'fields' is an object of the kind's fields".into(),
            ));
            return Err(errors);
        }
    };
    let mut values = Values::new();
    let mut references = Vec::new();
    let mut lists = Vec::new();
    for key in fields.keys() {
        let known = spec.field(key);
        match known {
            None => errors.push(fail(
                Some(key),
                "unknown_field",
                format!("{} has no field '{key}'", spec.id),
            )),
            Some(field)
                if NOT_PUSHED.contains(&field.name)
                    || matches!(field.presence, Presence::Derived { .. }) =>
            {
                errors.push(fail(
                    Some(key),
                    "not_pushed",
                    format!(
                        "'{key}' is not yours to set: ownership comes from the project mapping, \
                         the provider from your key, information systems from the tenant"
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    if !deleted {
        for field in spec.input_fields() {
            if NOT_PUSHED.contains(&field.name) {
                continue;
            }
            let given = fields.get(field.name).filter(|json| !json.is_null());
            match (field.ty, given) {
                (FieldType::RefList(link), given) => match parse_keys(given) {
                    Ok(keys) => lists.push(PendingList {
                        field: field.name,
                        target: link.target,
                        keys,
                    }),
                    Err(reason) => errors.push(fail(
                        Some(field.name),
                        "invalid_reference",
                        format!(
                            "'{}' is a list of your ids of {}s: {reason}",
                            field.name,
                            link.target.spec().id
                        ),
                    )),
                },
                (_, None) => {
                    if field.presence == Presence::Required {
                        errors.push(fail(
                            Some(field.name),
                            "required",
                            format!("'{}' is required", field.name),
                        ));
                    }
                }
                (FieldType::Ref(target), Some(json)) => match json.as_str().map(str::trim) {
                    Some(key) if !key.is_empty() && key.len() <= MAX_EXTERNAL_ID_CHARS => {
                        references.push(PendingRef {
                            field: field.name,
                            target,
                            key: key.to_owned(),
                        })
                    }
                    _ => errors.push(fail(
                        Some(field.name),
                        "invalid_reference",
                        if target == Kind::Zone {
                            format!("'{}' is a zone's name", field.name)
                        } else {
                            format!("'{}' is your id of a {}", field.name, target.spec().id)
                        },
                    )),
                },
                (_, Some(json)) => match parse_field(field, json) {
                    Ok(value) => {
                        values.insert(field.name, value);
                    }
                    Err(problem) => {
                        errors.push(fail(Some(field.name), problem.code, problem.message))
                    }
                },
            }
        }
    }
    if errors.is_empty() {
        Ok(PushedObject {
            index,
            kind,
            external_id,
            project,
            deleted,
            values,
            references,
            lists,
            keep_fields: Vec::new(),
        })
    } else {
        Err(errors)
    }
}

/// A list reference's ids: strings of 1 to [`MAX_EXTERNAL_ID_CHARS`] characters, at
/// most [`MAX_LIST_ITEMS`], each once (repeats are one). Omitted: empty.
fn parse_keys(given: Option<&Json>) -> Result<Vec<String>, String> {
    let Some(given) = given else {
        return Ok(Vec::new());
    };
    let Some(items) = given.as_array() else {
        return Err("not a list".into());
    };
    if items.len() > MAX_LIST_ITEMS {
        return Err(format!("{} ids; at most {MAX_LIST_ITEMS}", items.len()));
    }
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        match item.as_str().map(str::trim) {
            Some(key) if !key.is_empty() && key.chars().count() <= MAX_EXTERNAL_ID_CHARS => {
                keys.push(key.to_owned())
            }
            _ => {
                return Err(format!(
                    "each id is 1 to {MAX_EXTERNAL_ID_CHARS} characters"
                ))
            }
        }
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// What a full snapshot speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// The kinds it reports in full (a pushed snapshot: all of [`PUSHED_KINDS`]; an
    /// OpenStack pull: all but databases and middleware).
    pub kinds: Vec<Kind>,
    /// Objects it could not read this time: their rows stay as they were.
    pub unreadable: HashSet<(Kind, String)>,
}

impl Coverage {
    pub fn everything() -> Coverage {
        Coverage {
            kinds: PUSHED_KINDS.to_vec(),
            unreadable: HashSet::new(),
        }
    }
}

/// A row the provider reported before.
#[derive(Clone, Debug, PartialEq)]
pub struct Existing {
    pub id: i64,
    /// Writes are conditional on it: a row changed meanwhile makes the caller plan again.
    pub revision: i64,
    pub kind: Kind,
    pub external_id: String,
    pub values: Values,
}

/// What the store holds that a plan depends on.
#[derive(Clone, Debug, Default)]
pub struct Current {
    pub provider_id: i64,
    /// The provider's rows that carry its ids.
    pub rows: Vec<Existing>,
    /// Zones by name.
    pub zones: HashMap<String, i64>,
    /// The management unit's mapping of the provider's projects to tenants.
    pub projects: HashMap<String, i64>,
}

/// A field's value before and after.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: Value,
    pub after: Value,
}

/// A new row. Its references to other new rows hold their negative provisional ids
/// until the store has inserted them.
#[derive(Clone, Debug, PartialEq)]
pub struct Create {
    pub provisional: i64,
    pub kind: Kind,
    pub external_id: String,
    pub values: Values,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub id: i64,
    pub revision: i64,
    pub kind: Kind,
    pub external_id: String,
    /// Every column after the change.
    pub values: Values,
    pub before: Values,
    pub changes: Vec<FieldChange>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Delete {
    pub id: i64,
    pub revision: i64,
    pub kind: Kind,
    pub external_id: String,
    pub values: Values,
}

/// An object kept aside because no tenant can own it yet (its project is not mapped,
/// or it belongs to such an object): nothing is dropped silently.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unassigned {
    pub kind: &'static str,
    pub external_id: String,
    pub project: Option<String>,
    pub reason: String,
}

/// What a snapshot changes, in the order to write it: deletions (dependants first),
/// updates, creations (referenced kinds first).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub deletes: Vec<Delete>,
    pub updates: Vec<Update>,
    pub creates: Vec<Create>,
    pub unassigned: Vec<Unassigned>,
    pub unchanged: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.deletes.is_empty() && self.updates.is_empty() && self.creates.is_empty()
    }
}

/// Where a reference leads.
enum Lookup<'r> {
    /// A row (existing, or new with its provisional id) and its values.
    Found(i64, &'r Values),
    SetAside,
    Missing,
}

/// Finds what a reference names: an object of this snapshot (resolved before, since
/// referenced kinds come first), or in an incremental batch a row reported before and
/// not deleted by the batch.
fn lookup<'r>(
    resolved: &'r HashMap<(Kind, &str), Resolved<'_>>,
    existing: &HashMap<(Kind, &str), &'r Existing>,
    deleted: &HashSet<(Kind, &str)>,
    mode: Mode,
    target: Kind,
    key: &'r str,
) -> Lookup<'r> {
    match resolved.get(&(target, key)) {
        Some(Resolved::Row { id, values }) => Lookup::Found(*id, values.as_ref()),
        Some(Resolved::Unassigned) => Lookup::SetAside,
        None => existing
            .get(&(target, key))
            .filter(|_| mode == Mode::Incremental)
            .filter(|_| !deleted.contains(&(target, key)))
            .map_or(Lookup::Missing, |row| Lookup::Found(row.id, &row.values)),
    }
}

/// Where a resolved object stands: a row (existing id, or a new row's negative
/// provisional id) and its values, or set aside.
enum Resolved<'a> {
    Row { id: i64, values: Cow<'a, Values> },
    Unassigned,
}

/// Plans a snapshot against the provider's current rows. A problem with any object
/// refuses the whole snapshot (at most [`MAX_ERRORS`] problems named).
///
/// `coverage` says what a full snapshot speaks for: only rows of its kinds that it does
/// not hold are deleted, and never those it names as unreadable this time.
pub fn plan<'a>(
    current: &'a Current,
    mode: Mode,
    objects: &'a [PushedObject],
    coverage: &Coverage,
) -> Result<Plan, Vec<BatchError>> {
    let mut errors = Vec::new();
    let existing: HashMap<(Kind, &str), &Existing> = current
        .rows
        .iter()
        .map(|row| ((row.kind, row.external_id.as_str()), row))
        .collect();
    let mut seen: HashSet<(Kind, &str)> = HashSet::with_capacity(objects.len());
    for object in objects {
        if !seen.insert((object.kind, object.external_id.as_str())) {
            errors.push(object_error(
                object,
                None,
                "duplicate_id",
                "the snapshot holds this id twice".into(),
            ));
        }
        if object.deleted && mode == Mode::Full {
            errors.push(object_error(
                object,
                Some("deleted"),
                "deleted_in_full",
                "a full snapshot omits what is gone; 'deleted' belongs to incremental ones".into(),
            ));
        }
    }
    if !errors.is_empty() {
        errors.truncate(MAX_ERRORS);
        return Err(errors);
    }
    // Referenced kinds first; the snapshot's order within a kind.
    let mut objects: Vec<&PushedObject> = objects.iter().collect();
    objects.sort_by_key(|object| (order_of(object.kind), object.index));
    let deleted: HashSet<(Kind, &str)> = objects
        .iter()
        .filter(|object| object.deleted)
        .map(|object| (object.kind, object.external_id.as_str()))
        .collect();
    let mut resolved: HashMap<(Kind, &str), Resolved> = HashMap::with_capacity(objects.len());
    let mut plan = Plan::default();
    let mut next_provisional = -1i64;
    for object in objects.iter().copied() {
        if errors.len() >= MAX_ERRORS {
            break;
        }
        let spec = object.kind.spec();
        let key = (object.kind, object.external_id.as_str());
        if object.deleted {
            match existing.get(&key) {
                Some(row) => plan.deletes.push(Delete {
                    id: row.id,
                    revision: row.revision,
                    kind: row.kind,
                    external_id: row.external_id.clone(),
                    values: row.values.clone(),
                }),
                // Already gone: deleting twice is the same as once.
                None => plan.unchanged += 1,
            }
            continue;
        }
        // The values the provider decides; references next.
        let mut values = object.values.clone();
        let mut set_aside: Option<String> = None;
        if let Some(field) = spec.field("provider_id") {
            if !matches!(field.presence, Presence::Derived { .. }) {
                values.insert("provider_id", Value::Int(current.provider_id));
            }
        }
        if let Some(field) = spec.field("tenant_id") {
            if !matches!(field.presence, Presence::Derived { .. }) {
                let mapped = object
                    .project
                    .as_ref()
                    .and_then(|project| current.projects.get(project).copied());
                let private = object.kind != Kind::Image
                    || values.get("visibility").and_then(Value::as_text) == Some("private");
                match (&object.project, mapped) {
                    (_, Some(tenant)) => {
                        values.insert("tenant_id", Value::Int(tenant));
                    }
                    (None, None) if field.presence == Presence::Required => {
                        errors.push(object_error(
                            object,
                            Some("project"),
                            "required",
                            "a project is required: it decides which tenant owns the object".into(),
                        ));
                        continue;
                    }
                    (Some(project), None) if private => {
                        set_aside = Some(format!("project {project} is not mapped to a tenant"));
                    }
                    _ => {
                        values.insert("tenant_id", Value::Null);
                    }
                }
            }
        }
        let mut targets: HashMap<&'static str, Vec<&Values>> = HashMap::new();
        let mut failed = false;
        let lookup =
            |target: Kind, key: &'a str| lookup(&resolved, &existing, &deleted, mode, target, key);
        let missing = |field: &str, target: Kind, key: &str| {
            object_error(
                object,
                Some(field),
                "unknown_reference",
                format!(
                    "no {} with id {key} {}",
                    target.spec().id,
                    if mode == Mode::Full {
                        "in this snapshot"
                    } else {
                        "in this batch or reported before"
                    }
                ),
            )
        };
        for reference in &object.references {
            if reference.target == Kind::Zone {
                match current.zones.get(&reference.key) {
                    Some(id) => {
                        values.insert(reference.field, Value::Int(*id));
                    }
                    None => {
                        errors.push(object_error(
                            object,
                            Some(reference.field),
                            "unknown_zone",
                            format!("there is no zone named '{}'", reference.key),
                        ));
                        failed = true;
                    }
                }
                continue;
            }
            match lookup(reference.target, &reference.key) {
                Lookup::Found(id, target) => {
                    values.insert(reference.field, Value::Int(id));
                    targets.insert(reference.field, vec![target]);
                }
                Lookup::SetAside => {
                    set_aside.get_or_insert_with(|| {
                        format!(
                            "its {} {} is set aside",
                            reference.target.spec().id,
                            reference.key
                        )
                    });
                }
                Lookup::Missing => {
                    errors.push(missing(reference.field, reference.target, &reference.key));
                    failed = true;
                }
            }
        }
        for list in &object.lists {
            let mut ids = Vec::with_capacity(list.keys.len());
            let found = targets.entry(list.field).or_default();
            for key in &list.keys {
                match lookup(list.target, key) {
                    Lookup::Found(id, target) => {
                        ids.push(id);
                        found.push(target);
                    }
                    // One set-aside member sets the object aside: half its groups would
                    // verify a different network than the platform runs.
                    Lookup::SetAside => {
                        set_aside.get_or_insert_with(|| {
                            format!("its {} {key} is set aside", list.target.spec().id)
                        });
                    }
                    Lookup::Missing => {
                        errors.push(missing(list.field, list.target, key));
                        failed = true;
                    }
                }
            }
            ids.sort_unstable();
            values.insert(list.field, Value::IdList(ids));
        }
        if failed {
            continue;
        }
        if let Some(reason) = set_aside {
            plan.unassigned.push(Unassigned {
                kind: spec.id,
                external_id: object.external_id.clone(),
                project: object.project.clone(),
                reason: reason.clone(),
            });
            resolved.insert(key, Resolved::Unassigned);
            continue;
        }
        for field in spec.fields {
            if let Presence::Derived { via, column } = field.presence {
                let value = targets
                    .get(via)
                    .and_then(|found| found.first())
                    .and_then(|target| target.get(column).cloned())
                    .unwrap_or(Value::Null);
                values.insert(field.name, value);
            }
        }
        for agreement in spec.agreements {
            let Some(found) = targets.get(agreement.field) else {
                continue;
            };
            let expected = values.get(agreement.equals).unwrap_or(&Value::Null);
            if found.iter().any(|target| {
                target.get(agreement.target_column).unwrap_or(&Value::Null) != expected
            }) {
                errors.push(object_error(
                    object,
                    Some(agreement.field),
                    "reference_mismatch",
                    format!(
                        "'{}' names an object with a different {} than this {}",
                        agreement.field, agreement.target_column, spec.id
                    ),
                ));
                failed = true;
            }
        }
        // The same rules about one object as an operator's write (port ranges, one
        // remote per rule, a peering route's peering).
        for problem in yunjian_core::rules::check_object(object.kind, &values) {
            errors.push(object_error(
                object,
                Some(&problem.field),
                problem.code,
                problem.message,
            ));
            failed = true;
        }
        if failed {
            continue;
        }
        values.insert("external_id", Value::Text(object.external_id.clone()));
        // Ownership never moves (ARCHITECTURE.md, invariant 7): an object whose owner or
        // owning reference changed is a new row, the old one deleted with its history.
        let moved = existing.get(&key).is_some_and(|row| {
            spec.fields.iter().any(|field| {
                let owning = (matches!(field.name, "tenant_id" | "provider_id")
                    && field.presence == Presence::Required)
                    || spec.fields.iter().any(|other| {
                        matches!(other.presence, Presence::Derived { via, .. } if via == field.name)
                    });
                owning
                    && !object.keep_fields.contains(&field.name)
                    && row.values.get(field.name).unwrap_or(&Value::Null)
                        != values.get(field.name).unwrap_or(&Value::Null)
            })
        });
        if moved {
            if let Some(row) = existing.get(&key) {
                plan.deletes.push(Delete {
                    id: row.id,
                    revision: row.revision,
                    kind: row.kind,
                    external_id: row.external_id.clone(),
                    values: row.values.clone(),
                });
            }
        }
        match existing.get(&key).filter(|_| !moved) {
            Some(row) => {
                // The provider's fields replace ours; what it does not set (the tenant's
                // declarations, what the source cannot express) stays. Compared first,
                // copied only when something differs: most of a snapshot is unchanged.
                let mut changes = Vec::new();
                for field in spec.fields {
                    if field.name == "system_id" || object.keep_fields.contains(&field.name) {
                        continue;
                    }
                    let empty;
                    let now = match values.get(field.name) {
                        Some(value) => value,
                        None => {
                            empty = empty_value(field);
                            &empty
                        }
                    };
                    let before = row.values.get(field.name).unwrap_or(&Value::Null);
                    if before != now {
                        changes.push(FieldChange {
                            field: field.name,
                            before: before.clone(),
                            after: now.clone(),
                        });
                    }
                }
                if changes.is_empty() {
                    plan.unchanged += 1;
                    resolved.insert(
                        key,
                        Resolved::Row {
                            id: row.id,
                            values: Cow::Borrowed(&row.values),
                        },
                    );
                } else {
                    let mut after = row.values.clone();
                    for change in &changes {
                        after.insert(change.field, change.after.clone());
                    }
                    plan.updates.push(Update {
                        id: row.id,
                        revision: row.revision,
                        kind: row.kind,
                        external_id: row.external_id.clone(),
                        values: after.clone(),
                        before: row.values.clone(),
                        changes,
                    });
                    resolved.insert(
                        key,
                        Resolved::Row {
                            id: row.id,
                            values: Cow::Owned(after),
                        },
                    );
                }
            }
            None => {
                for field in spec.fields {
                    values
                        .entry(field.name)
                        .or_insert_with(|| empty_value(field));
                }
                let provisional = next_provisional;
                next_provisional -= 1;
                plan.creates.push(Create {
                    provisional,
                    kind: object.kind,
                    external_id: object.external_id.clone(),
                    values: values.clone(),
                });
                resolved.insert(
                    key,
                    Resolved::Row {
                        id: provisional,
                        values: Cow::Owned(values),
                    },
                );
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|problem| problem.index);
        errors.truncate(MAX_ERRORS);
        return Err(errors);
    }
    if mode == Mode::Full {
        // What the snapshot does not hold is gone; set-aside objects stay as they were.
        for row in &current.rows {
            if coverage.kinds.contains(&row.kind)
                && !resolved.contains_key(&(row.kind, row.external_id.as_str()))
                && !coverage
                    .unreadable
                    .contains(&(row.kind, row.external_id.clone()))
            {
                plan.deletes.push(Delete {
                    id: row.id,
                    revision: row.revision,
                    kind: row.kind,
                    external_id: row.external_id.clone(),
                    values: row.values.clone(),
                });
            }
        }
    }
    // Dependants before what they depend on.
    plan.deletes
        .sort_by_key(|delete| (std::cmp::Reverse(order_of(delete.kind)), delete.id));
    Ok(plan)
}

fn object_error(
    object: &PushedObject,
    field: Option<&str>,
    code: &'static str,
    reason: String,
) -> BatchError {
    error(
        object.index,
        Some(object.kind.spec().id),
        Some(&object.external_id),
        field,
        code,
        reason,
    )
}

/// Drops what a pulled snapshot cannot hold together: an optional reference to an
/// object the snapshot lacks is cleared, an object whose required reference is missing
/// is left out (and so is anything that needs it). Answers the objects kept and, for
/// each change, the kind, id and reason.
pub fn prune_dangling(
    mut objects: Vec<PushedObject>,
) -> (Vec<PushedObject>, Vec<(Kind, String, String)>) {
    objects.sort_by_key(|object| (order_of(object.kind), object.index));
    let mut present: HashSet<(Kind, String)> = HashSet::with_capacity(objects.len());
    let mut kept = Vec::with_capacity(objects.len());
    let mut notes = Vec::new();
    for mut object in objects {
        let spec = object.kind.spec();
        let mut missing_required = None;
        object.references.retain(|reference| {
            if reference.target == Kind::Zone
                || present.contains(&(reference.target, reference.key.clone()))
            {
                return true;
            }
            let required = spec
                .field(reference.field)
                .is_some_and(|field| field.presence == Presence::Required);
            if required {
                missing_required.get_or_insert_with(|| reference.clone());
            } else {
                notes.push((
                    object.kind,
                    object.external_id.clone(),
                    format!(
                        "'{}': {} {} was not reported; the reference is cleared",
                        reference.field,
                        reference.target.spec().id,
                        reference.key
                    ),
                ));
            }
            !required
        });
        for list in &mut object.lists {
            list.keys.retain(|key| {
                let known = present.contains(&(list.target, key.clone()));
                if !known {
                    notes.push((
                        object.kind,
                        object.external_id.clone(),
                        format!(
                            "'{}': {} {key} was not reported; left out of the list",
                            list.field,
                            list.target.spec().id
                        ),
                    ));
                }
                known
            });
        }
        if let Some(reference) = missing_required {
            notes.push((
                object.kind,
                object.external_id.clone(),
                format!(
                    "'{}': {} {} was not reported (or was left out): left out too",
                    reference.field,
                    reference.target.spec().id,
                    reference.key
                ),
            ));
            continue;
        }
        present.insert((object.kind, object.external_id.clone()));
        kept.push(object);
    }
    (kept, notes)
}

/// Makes names unique where the world wants them unique (a VPC's subnets, a provider's
/// images and hosts, …): platforms allow duplicates, so the second and later get their
/// id's first characters appended.
pub fn unique_names(mut objects: Vec<PushedObject>) -> Vec<PushedObject> {
    let mut seen: HashSet<(Kind, Vec<String>, String)> = HashSet::new();
    for object in &mut objects {
        let spec = object.kind.spec();
        let Some(set) = spec.unique.iter().find(|set| set.contains(&"name")) else {
            continue;
        };
        let scope: Vec<String> = set
            .iter()
            .filter(|field| **field != "name")
            .map(|field| match *field {
                "tenant_id" => object.project.clone().unwrap_or_default(),
                "provider_id" => String::new(),
                other => object
                    .references
                    .iter()
                    .find(|reference| reference.field == other)
                    .map(|reference| reference.key.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let Some(Value::Text(name)) = object.values.get("name").cloned() else {
            continue;
        };
        if seen.insert((object.kind, scope.clone(), name.clone())) {
            continue;
        }
        let suffix: String = object.external_id.chars().take(8).collect();
        let base: String = name.chars().take(100).collect();
        let renamed = format!("{base} ({suffix})");
        seen.insert((object.kind, scope, renamed.clone()));
        object.values.insert("name", Value::Text(renamed));
    }
    objects
}

/// The inverse of reading a snapshot: world rows of one provider as the objects it
/// would push, references as the targets' external ids, zones by name, owners as
/// projects (`project_of` a tenant id). Rows without an external id are not the
/// provider's to report and are left out. For the simulator and tests.
pub fn export(
    rows: &[(Kind, i64, &Values)],
    provider_id: i64,
    zones: &HashMap<i64, String>,
    project_of: impl Fn(i64) -> String,
) -> Vec<Json> {
    let external: HashMap<(Kind, i64), &str> = rows
        .iter()
        .filter_map(|(kind, id, values)| {
            Some(((*kind, *id), values.get("external_id")?.as_text()?))
        })
        .collect();
    let mut out = Vec::new();
    for kind in PUSHED_KINDS {
        let spec = kind.spec();
        for (_, id, values) in rows.iter().filter(|(candidate, _, _)| *candidate == kind) {
            if values.get("provider_id").and_then(Value::as_int) != Some(provider_id) {
                continue;
            }
            let Some(external_id) = external.get(&(kind, *id)) else {
                continue;
            };
            let mut fields = Map::new();
            for field in spec.input_fields() {
                if NOT_PUSHED.contains(&field.name) {
                    continue;
                }
                let value = values.get(field.name).unwrap_or(&Value::Null);
                let json = match (field.ty, value) {
                    (_, Value::Null) => continue,
                    (FieldType::Ref(Kind::Zone), Value::Int(zone)) => match zones.get(zone) {
                        Some(name) => Json::String(name.clone()),
                        None => continue,
                    },
                    (FieldType::Ref(target), Value::Int(target_id)) => {
                        match external.get(&(target, *target_id)) {
                            Some(key) => Json::String((*key).to_owned()),
                            None => continue,
                        }
                    }
                    (FieldType::RefList(link), Value::IdList(ids)) => ids
                        .iter()
                        .filter_map(|id| external.get(&(link.target, *id)))
                        .map(|key| Json::String((*key).to_owned()))
                        .collect(),
                    (_, value) => value.to_json(),
                };
                fields.insert(field.name.to_owned(), json);
            }
            let mut object =
                serde_json::json!({"kind": spec.id, "id": external_id, "fields": fields});
            let owns = spec
                .field("tenant_id")
                .is_some_and(|field| !matches!(field.presence, Presence::Derived { .. }));
            if let (true, Some(tenant)) = (owns, values.get("tenant_id").and_then(Value::as_int)) {
                object["project"] = Json::String(project_of(tenant));
            }
            out.push(object);
        }
    }
    out
}

/// The demo world's rows of every kind, borrowed.
pub fn demo_rows(world: &yunjian_core::demo::DemoWorld) -> Vec<(Kind, i64, &Values)> {
    world
        .kinds
        .iter()
        .flat_map(|(kind, rows)| {
            rows.rows
                .iter()
                .map(move |(id, values)| (*kind, *id, values))
        })
        .collect()
}

/// What a provider of the demo world would push (its projects named by
/// `demo::project_of`).
pub fn demo_provider_objects(world: &yunjian_core::demo::DemoWorld, provider: i64) -> Vec<Json> {
    let zones: HashMap<i64, String> = world
        .rows(Kind::Zone)
        .rows
        .iter()
        .filter_map(|(id, values)| Some((*id, values.get("name")?.as_text()?.to_owned())))
        .collect();
    export(
        &demo_rows(world),
        provider,
        &zones,
        yunjian_core::demo::project_of,
    )
}
