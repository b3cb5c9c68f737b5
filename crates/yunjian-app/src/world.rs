//! Reading and changing world objects.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};
use yunjian_core::access::{read_scope, write_scope, ReadScope};
use yunjian_core::ids::TenantId;
use yunjian_core::role::Role;
use yunjian_policy::{Action, Decision, Target};

use crate::authz::{relation_of, stamp};
use yunjian_core::rules::{check_object, cidrs, overlaps};
use yunjian_core::schema::{FieldType, Kind, KindSpec, Presence};
use yunjian_core::value::{check_required, parse_input, FieldError, InputMode, Value, Values};
use yunjian_store::{AuditOutcome, Filter, ListQuery, WorldObject, WriteTx};

use crate::error::AppError;
use crate::{App, Context};

/// A page of objects with the names of everything they reference, resolved in the
/// reader's scope.
#[derive(Debug)]
pub struct WorldPage {
    pub items: Vec<WorldObject>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub names: ResolvedNames,
}

/// An object with its references' names.
#[derive(Debug)]
pub struct ResolvedObject {
    pub object: WorldObject,
    pub names: ResolvedNames,
}

/// What the PDP needs to know about the row a world action is about.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WorldFacts {
    object_id: Option<i64>,
    tenant: Option<i64>,
    tenant_owned: bool,
    tenant_authorized: bool,
}

fn world_target(kind: Kind) -> Target<'static> {
    let spec = kind.spec();
    Target {
        family: "world",
        kind: spec.table,
        group: spec.write.as_str(),
    }
}

/// Names of referenced objects by (kind, id). An id missing here is outside the reader's
/// scope (or gone) and is shown as a bare id.
pub type ResolvedNames = BTreeMap<(Kind, i64), String>;

impl App {
    /// Asks the PDP whether the principal may take `action` on objects of `kind` in the
    /// relation `scope` gives; the refusal is recorded as `audit_action`.
    pub(crate) async fn authorize_world(
        &self,
        context: &Context,
        action: Action,
        audit_action: &str,
        kind: Kind,
        scope: ReadScope,
        facts: WorldFacts,
    ) -> Result<Decision, AppError> {
        let (question, record) =
            self.world_question(context, action, audit_action, kind, scope, facts);
        self.authorize(context, question, record).await
    }

    /// The PDP question of a world action and the record of its refusal.
    fn world_question(
        &self,
        context: &Context,
        action: Action,
        audit_action: &str,
        kind: Kind,
        scope: ReadScope,
        facts: WorldFacts,
    ) -> (
        yunjian_policy::Question<'static>,
        yunjian_store::NewAuditRecord,
    ) {
        let mut question = self.question(
            context,
            action,
            world_target(kind),
            relation_of(&context.principal, scope),
        );
        question.tenant_owned = facts.tenant_owned;
        question.tenant_authorized = facts.tenant_authorized;
        let mut record = self.record(context, audit_action, AuditOutcome::Denied);
        record.object_kind = Some(kind.as_str().to_owned());
        record.object_id = facts.object_id;
        record.tenant_id = facts.tenant;
        (question, record)
    }

    pub async fn list(
        &self,
        context: &Context,
        kind: Kind,
        query: &ListQuery,
    ) -> Result<WorldPage, AppError> {
        let scope = read_scope(&context.principal, kind);
        self.authorize_world(
            context,
            Action::WorldRead,
            "world.list",
            kind,
            scope,
            WorldFacts::default(),
        )
        .await?;
        let page = self.store.list(kind, query, scope).await?;
        let names = self.reference_names(context, &page.items).await?;
        Ok(WorldPage {
            items: page.items,
            total: page.total,
            page: page.page,
            per_page: page.per_page,
            names,
        })
    }

    /// One object, or `NotFound` when it does not exist or lies outside the reader's
    /// scope (the two are indistinguishable to the reader; the second is audited).
    pub async fn get(
        &self,
        context: &Context,
        kind: Kind,
        id: i64,
    ) -> Result<ResolvedObject, AppError> {
        let scope = read_scope(&context.principal, kind);
        self.authorize_world(
            context,
            Action::WorldRead,
            "world.get",
            kind,
            scope,
            WorldFacts {
                object_id: Some(id),
                ..WorldFacts::default()
            },
        )
        .await?;
        match self.store.get(kind, id, scope).await? {
            Some(object) => {
                let names = self
                    .reference_names(context, std::slice::from_ref(&object))
                    .await?;
                Ok(ResolvedObject { object, names })
            }
            None => {
                if scope != ReadScope::All
                    && self.store.get(kind, id, ReadScope::All).await?.is_some()
                {
                    self.record_probe(context, "world.get", kind, id).await;
                }
                Err(AppError::NotFound)
            }
        }
    }

    async fn reference_names(
        &self,
        context: &Context,
        objects: &[WorldObject],
    ) -> Result<ResolvedNames, AppError> {
        let mut wanted: BTreeMap<Kind, Vec<i64>> = BTreeMap::new();
        for object in objects {
            for field in object.kind.spec().fields {
                match (field.ty, object.values.get(field.name)) {
                    (FieldType::Ref(target), Some(Value::Int(id))) => {
                        wanted.entry(target).or_default().push(*id)
                    }
                    (FieldType::RefList(link), Some(Value::IdList(ids))) => {
                        wanted.entry(link.target).or_default().extend(ids)
                    }
                    _ => {}
                }
            }
        }
        let request: Vec<(Kind, Vec<i64>, ReadScope)> = wanted
            .into_iter()
            .map(|(kind, mut ids)| {
                ids.sort_unstable();
                ids.dedup();
                (kind, ids, read_scope(&context.principal, kind))
            })
            .collect();
        let names = self
            .store
            .names(&request)
            .await?
            .into_iter()
            .map(|(kind, id, name)| ((kind, id), name))
            .collect();
        Ok(names)
    }

    /// The tenant facts of a provider operator's write to a tenant's row (7.2.5.5):
    /// whose row it is and whether an active authorization of that tenant covers it.
    async fn tenant_facts(
        &self,
        context: &Context,
        kind: Kind,
        object_id: Option<i64>,
        values: &Values,
        verb: &str,
    ) -> Result<(WorldFacts, Option<i64>), AppError> {
        let tenant = values.get("tenant_id").and_then(Value::as_int);
        let mut facts = WorldFacts {
            object_id,
            tenant,
            tenant_owned: tenant.is_some(),
            tenant_authorized: false,
        };
        let mut used = None;
        if let (Role::ProviderOperator, Some(tenant), Some(provider)) =
            (context.principal.role, tenant, context.principal.provider)
        {
            if let Some(authorization) = self
                .store
                .covering_authorization(
                    TenantId(tenant),
                    provider,
                    kind.spec().table,
                    object_id,
                    verb,
                    self.now_ns(),
                )
                .await?
            {
                facts.tenant_authorized = true;
                used = Some(authorization.id);
            }
        }
        Ok((facts, used))
    }

    /// Records an attempt on an object that exists outside the caller's scope (answered
    /// "not found", so the caller learns nothing; the auditors do).
    async fn record_probe(&self, context: &Context, action: &str, kind: Kind, id: i64) {
        let mut record = self.record(context, action, AuditOutcome::Denied);
        record.object_kind = Some(kind.as_str().to_owned());
        record.object_id = Some(id);
        self.record_denial(record, "object outside the principal's scope")
            .await;
    }

    async fn deny(
        &self,
        context: &Context,
        action: &str,
        kind: Kind,
        id: Option<i64>,
        error: AppError,
    ) -> AppError {
        let mut record = self.record(context, action, AuditOutcome::Denied);
        record.object_kind = Some(kind.as_str().to_owned());
        record.object_id = id;
        self.record_denial(record, &error.to_string()).await;
        error
    }

    pub async fn create(
        &self,
        context: &Context,
        kind: Kind,
        input: &Map<String, Json>,
    ) -> Result<ResolvedObject, AppError> {
        let write = write_scope(&context.principal, kind);
        self.authorize_world(
            context,
            Action::WorldCreate,
            "world.create",
            kind,
            write,
            WorldFacts::default(),
        )
        .await?;
        let spec = kind.spec();
        let mut values = parse_input(spec, input, InputMode::Create).map_err(AppError::Invalid)?;
        let errors = check_object(kind, &values);
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let mut tx = self.store.begin_write().await?;
        if spec.singleton && tx.count_all(kind).await? > 0 {
            return Err(AppError::Conflict {
                field: None,
                message: format!("there is already a {}; edit it instead", spec.id),
            });
        }
        self.resolve_references(&mut tx, context, spec, &mut values)
            .await?;
        if !write_scope(&context.principal, kind)
            .admits(|column| values.get(column).and_then(Value::as_int))
        {
            drop(tx);
            let error =
                AppError::Forbidden(format!("the {} would lie outside your scope", spec.id));
            return Err(self.deny(context, "world.create", kind, None, error).await);
        }
        // With the row's owner known, the full decision (a provider creating in a
        // tenant's space needs the tenant's authorization).
        let (facts, authorization) = self
            .tenant_facts(context, kind, None, &values, "create")
            .await?;
        let (question, refusal) = self.world_question(
            context,
            Action::WorldCreate,
            "world.create",
            kind,
            write,
            facts,
        );
        let decision = self.decide(context, question).await?;
        if !decision.allowed {
            // The refusal's record needs the writer this transaction holds.
            drop(tx);
            return Err(self.refuse(refusal, decision).await);
        }
        check_unique(&mut tx, spec, &values, None).await?;
        check_related_rows(&mut tx, kind, &values, None).await?;
        let now = self.now_ns();
        let id = tx.insert(kind, &values, now).await?;
        let mut record = self.record(context, "world.create", AuditOutcome::Succeeded);
        record.object_kind = Some(spec.id.to_owned());
        record.object_id = Some(id);
        record.tenant_id = owning_tenant(kind, id, &values);
        record.after_digest = Some(object_digest(&values));
        record.detail =
            Some(json!({ "values": values_json(&values), "tenant_authorization": authorization }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.overviews.clear();
        self.get(context, kind, id).await
    }

    pub async fn update(
        &self,
        context: &Context,
        kind: Kind,
        id: i64,
        input: &Map<String, Json>,
    ) -> Result<ResolvedObject, AppError> {
        let spec = kind.spec();
        let (mut tx, existing, decision, authorization) = self
            .begin_change(context, kind, id, Action::WorldUpdate, "update")
            .await?;
        let changes = parse_input(spec, input, InputMode::Update).map_err(AppError::Invalid)?;
        let mut errors = Vec::new();
        for (field, value) in &changes {
            if is_immutable(spec, field) && existing.values.get(field) != Some(value) {
                errors.push(FieldError::new(
                    *field,
                    "immutable",
                    format!(
                        "'{field}' decides ownership and cannot change; create a new {} instead",
                        spec.id
                    ),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let mut values = existing.values.clone();
        values.extend(changes);
        let mut errors = check_required(spec, &values);
        errors.extend(check_object(kind, &values));
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        self.resolve_references(&mut tx, context, spec, &mut values)
            .await?;
        check_unique(&mut tx, spec, &values, Some(id)).await?;
        check_related_rows(&mut tx, kind, &values, Some(id)).await?;
        let changed: Map<String, Json> = spec
            .fields
            .iter()
            .filter(|field| existing.values.get(field.name) != values.get(field.name))
            .map(|field| {
                let before = existing
                    .values
                    .get(field.name)
                    .map_or(Json::Null, Value::to_json);
                let after = values.get(field.name).map_or(Json::Null, Value::to_json);
                (
                    field.name.to_owned(),
                    json!({ "from": before, "to": after }),
                )
            })
            .collect();
        if changed.is_empty() {
            // Nothing changed: no write, no revision bump, nothing to audit.
            drop(tx);
            return self.get(context, kind, id).await;
        }
        let now = self.now_ns();
        tx.update(kind, id, &values, now).await?;
        let mut record = self.record(context, "world.update", AuditOutcome::Succeeded);
        record.object_kind = Some(spec.id.to_owned());
        record.object_id = Some(id);
        record.tenant_id = owning_tenant(kind, id, &values);
        record.before_digest = Some(object_digest(&existing.values));
        record.after_digest = Some(object_digest(&values));
        record.detail = Some(json!({
            "changes": changed,
            "revision": existing.revision + 1,
            "tenant_authorization": authorization,
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.overviews.clear();
        self.get(context, kind, id).await
    }

    pub async fn delete(&self, context: &Context, kind: Kind, id: i64) -> Result<(), AppError> {
        let spec = kind.spec();
        let (mut tx, existing, decision, authorization) = self
            .begin_change(context, kind, id, Action::WorldDelete, "delete")
            .await?;
        for (referrer, field) in kind.referrers() {
            let count = tx.count_references(referrer, field, id).await?;
            if count > 0 {
                return Err(AppError::Conflict {
                    field: None,
                    message: format!(
                        "{count} {} still reference this {} through '{}'; delete or change them first",
                        referrer.spec().table,
                        spec.id,
                        field.name
                    ),
                });
            }
        }
        tx.delete(kind, id).await?;
        let mut record = self.record(context, "world.delete", AuditOutcome::Succeeded);
        record.object_kind = Some(spec.id.to_owned());
        record.object_id = Some(id);
        record.tenant_id = owning_tenant(kind, id, &existing.values);
        record.before_digest = Some(object_digest(&existing.values));
        record.detail = Some(json!({
            "values": values_json(&existing.values),
            "tenant_authorization": authorization,
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.overviews.clear();
        Ok(())
    }

    /// Opens a write transaction on an existing object the caller may change. Invisible
    /// objects are not found; visible but unwritable ones are refused by the PDP, and
    /// the refusal is audited once the transaction is released (the record has its own
    /// transaction). Answers the decision and the tenant authorization used, if any.
    async fn begin_change(
        &self,
        context: &Context,
        kind: Kind,
        id: i64,
        action: Action,
        verb: &str,
    ) -> Result<(WriteTx, WorldObject, Decision, Option<i64>), AppError> {
        let audit_action = action.as_str();
        let mut tx = self.store.begin_write().await?;
        let scope = read_scope(&context.principal, kind);
        let Some(existing) = tx.get(kind, id, scope).await? else {
            // Someone else's object answers "not found" like a missing one, but the
            // attempt to change it is on record for the auditors.
            let elsewhere =
                scope != ReadScope::All && tx.get(kind, id, ReadScope::All).await?.is_some();
            drop(tx);
            if elsewhere {
                self.record_probe(context, audit_action, kind, id).await;
            }
            return Err(AppError::NotFound);
        };
        let write = write_scope(&context.principal, kind);
        // A visible row outside the write scope (a shared row a tenant can read) is
        // nothing the writer's unit has.
        let write = if existing.admitted_by(write) {
            write
        } else {
            ReadScope::Nothing
        };
        let (facts, authorization) = match self
            .tenant_facts(context, kind, Some(id), &existing.values, verb)
            .await
        {
            Ok(found) => found,
            Err(error) => {
                drop(tx);
                return Err(error);
            }
        };
        let (question, refusal) =
            self.world_question(context, action, audit_action, kind, write, facts);
        let decision = self.decide(context, question).await?;
        if !decision.allowed {
            // The refusal's record needs the writer this transaction holds.
            drop(tx);
            return Err(self.refuse(refusal, decision).await);
        }
        Ok((tx, existing, decision, authorization))
    }

    /// Checks that every referenced object exists inside the writer's read scope, copies
    /// derived ownership columns, and checks agreements between references.
    async fn resolve_references(
        &self,
        tx: &mut WriteTx,
        context: &Context,
        spec: &KindSpec,
        values: &mut Values,
    ) -> Result<(), AppError> {
        let mut errors = Vec::new();
        let mut targets: BTreeMap<&'static str, Vec<WorldObject>> = BTreeMap::new();
        for field in spec.input_fields() {
            let (target_kind, ids) = match (field.ty, values.get(field.name)) {
                (FieldType::Ref(target), Some(Value::Int(id))) => (target, vec![*id]),
                (FieldType::RefList(link), Some(Value::IdList(ids))) => (link.target, ids.clone()),
                _ => continue,
            };
            let scope = read_scope(&context.principal, target_kind);
            for id in ids {
                match tx.get(target_kind, id, scope).await? {
                    Some(target) => targets.entry(field.name).or_default().push(target),
                    None => errors.push(FieldError::new(
                        field.name,
                        "unknown_reference",
                        format!(
                            "'{}': there is no {} with id {id}",
                            field.name,
                            target_kind.as_str()
                        ),
                    )),
                }
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        for field in spec.fields {
            if let Presence::Derived { via, column } = field.presence {
                let source = targets.get(via).and_then(|found| found.first());
                let value = source
                    .and_then(|target| target.values.get(column).cloned())
                    .unwrap_or(Value::Null);
                values.insert(field.name, value);
            }
        }
        for agreement in spec.agreements {
            let expected = values.get(agreement.equals).cloned().unwrap_or(Value::Null);
            for target in targets.get(agreement.field).into_iter().flatten() {
                let actual = target
                    .values
                    .get(agreement.target_column)
                    .cloned()
                    .unwrap_or(Value::Null);
                if actual != expected {
                    errors.push(FieldError::new(
                        agreement.field,
                        "reference_mismatch",
                        format!(
                            "'{}': {} {} has a different {} than this {}",
                            agreement.field,
                            target.kind.as_str(),
                            target.id,
                            agreement.target_column,
                            spec.id
                        ),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(errors))
        }
    }
}

/// Ownership columns and the references they derive from cannot change: a subnet moved
/// to another VPC would leave its rows, rules and records with a stale owner.
fn is_immutable(spec: &KindSpec, field: &str) -> bool {
    if matches!(field, "tenant_id" | "provider_id")
        && spec
            .field(field)
            .is_some_and(|f| f.presence == Presence::Required)
    {
        return true;
    }
    spec.fields.iter().any(
        |candidate| matches!(candidate.presence, Presence::Derived { via, .. } if via == field),
    )
}

async fn check_unique(
    tx: &mut WriteTx,
    spec: &KindSpec,
    values: &Values,
    except: Option<i64>,
) -> Result<(), AppError> {
    for set in spec.unique {
        if tx
            .find_duplicate(spec.kind, set, values, except)
            .await?
            .is_some()
        {
            let field = set.last().copied().unwrap_or("name");
            return Err(AppError::Conflict {
                field: Some(field.to_owned()),
                message: if set.len() == 1 {
                    format!("another {} already has this {field}", spec.id)
                } else {
                    format!(
                        "another {} with the same {} already has this {field}",
                        spec.id,
                        set[..set.len() - 1].join(", ")
                    )
                },
            });
        }
    }
    Ok(())
}

/// Rules that need other rows: subnets inside their VPC and apart from each other, VM
/// addresses inside their subnet, VPC blocks still holding their subnets, no cycles in
/// the unit hierarchy.
async fn check_related_rows(
    tx: &mut WriteTx,
    kind: Kind,
    values: &Values,
    id: Option<i64>,
) -> Result<(), AppError> {
    match kind {
        Kind::Subnet => {
            let Some(subnet) = cidrs(values, "cidr").first().copied() else {
                return Ok(());
            };
            let vpc_id = values.get("vpc_id").and_then(Value::as_int).unwrap_or(0);
            tx.lock_object(Kind::Vpc, vpc_id).await?;
            if let Some(vpc) = tx.get(Kind::Vpc, vpc_id, ReadScope::All).await? {
                if !cidrs(&vpc.values, "cidrs")
                    .iter()
                    .any(|block| block.contains(&subnet))
                {
                    return Err(AppError::invalid(
                        "cidr",
                        "outside_vpc",
                        format!("'cidr': {subnet} lies outside every CIDR block of VPC {vpc_id}"),
                    ));
                }
            }
            for sibling in subnets_of(tx, vpc_id).await? {
                if Some(sibling.id) == id {
                    continue;
                }
                if let Some(other) = cidrs(&sibling.values, "cidr").first() {
                    if overlaps(&subnet, other) {
                        return Err(AppError::invalid(
                            "cidr",
                            "overlapping_cidrs",
                            format!(
                                "'cidr': {subnet} overlaps subnet '{}' ({other}) in the same VPC",
                                sibling.display_name()
                            ),
                        ));
                    }
                }
            }
        }
        Kind::Vpc => {
            if let Some(id) = id {
                tx.lock_object(Kind::Vpc, id).await?;
                let blocks = cidrs(values, "cidrs");
                for subnet in subnets_of(tx, id).await? {
                    if let Some(net) = cidrs(&subnet.values, "cidr").first() {
                        if !blocks.iter().any(|block| block.contains(net)) {
                            return Err(AppError::invalid(
                                "cidrs",
                                "subnet_outside",
                                format!(
                                    "'cidrs': subnet '{}' ({net}) would lie outside the VPC",
                                    subnet.display_name()
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Kind::Vm => {
            let subnet_id = values.get("subnet_id").and_then(Value::as_int).unwrap_or(0);
            if let Some(subnet) = tx.get(Kind::Subnet, subnet_id, ReadScope::All).await? {
                if let Some(net) = cidrs(&subnet.values, "cidr").first() {
                    if let Some(Value::TextList(addresses)) = values.get("ip_addresses") {
                        for address in addresses {
                            let inside = address
                                .parse::<std::net::IpAddr>()
                                .is_ok_and(|ip| net.contains(&ip));
                            if !inside {
                                return Err(AppError::invalid(
                                    "ip_addresses",
                                    "outside_subnet",
                                    format!("'ip_addresses': {address} lies outside subnet {net}"),
                                ));
                            }
                        }
                    }
                }
            }
        }
        Kind::Tenant => {
            let mut parent = values.get("parent_id").and_then(Value::as_int);
            let mut depth = 0;
            while let Some(current) = parent {
                if Some(current) == id {
                    return Err(AppError::invalid(
                        "parent_id",
                        "cycle",
                        "'parent_id' would make a unit its own ancestor",
                    ));
                }
                depth += 1;
                if depth > 32 {
                    return Err(AppError::invalid(
                        "parent_id",
                        "too_deep",
                        "the unit hierarchy is deeper than 32 levels",
                    ));
                }
                parent = tx
                    .get(Kind::Tenant, current, ReadScope::All)
                    .await?
                    .and_then(|tenant| tenant.values.get("parent_id").and_then(Value::as_int));
            }
        }
        _ => {}
    }
    Ok(())
}

async fn subnets_of(tx: &mut WriteTx, vpc_id: i64) -> Result<Vec<WorldObject>, AppError> {
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let query = ListQuery {
            filters: vec![Filter {
                field: "vpc_id",
                value: Value::Int(vpc_id),
            }],
            page,
            per_page: 500,
            ..ListQuery::default()
        };
        let found = tx.list(Kind::Subnet, &query, ReadScope::All).await?;
        let done = found.items.len() < 500;
        all.extend(found.items);
        if done {
            return Ok(all);
        }
        page += 1;
    }
}

/// The tenant an object belongs to, for the tenant's slice of the audit trail.
fn owning_tenant(kind: Kind, id: i64, values: &Values) -> Option<i64> {
    if kind == Kind::Tenant {
        return Some(id);
    }
    values.get("tenant_id").and_then(Value::as_int)
}

pub(crate) fn values_json(values: &Values) -> Json {
    Json::Object(
        values
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.to_json()))
            .collect(),
    )
}

/// `sm3:HEX` of the object's field values as JSON with sorted keys: what an audit record
/// says the object was before and after the action.
fn object_digest(values: &Values) -> String {
    // Values is a BTreeMap, so the keys come out sorted whatever serde_json's map is.
    let json = values_json(values);
    format!(
        "sm3:{}",
        yunjian_gm::Sm3Digest::of(json.to_string().as_bytes()).to_hex()
    )
}
