//! Generic, scoped persistence of world objects, driven by the schema in yunjian-core.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row};
use std::collections::HashMap;
use yunjian_core::access::ReadScope;

use yunjian_core::schema::{FieldSpec, FieldType, Kind, KindSpec, LinkTable, Presence};
use yunjian_core::value::{Value, Values};

use crate::error::{Result, StoreError};
use crate::open::{Backend, Store, WriteTx};
use crate::read::{bind_sqlx, Bind, Cell, CellType, Reader, Rows, Statement};

/// One stored world object.
#[derive(Clone, Debug, PartialEq)]
pub struct WorldObject {
    pub kind: Kind,
    pub id: i64,
    pub values: Values,
    pub created_at_ns: i64,
    pub updated_at_ns: i64,
    pub revision: i64,
}

impl WorldObject {
    /// The value of an ownership or reference column, `id` included.
    pub fn column_int(&self, column: &str) -> Option<i64> {
        if column == "id" {
            Some(self.id)
        } else {
            self.values.get(column).and_then(Value::as_int)
        }
    }

    pub fn display_name(&self) -> String {
        match self.values.get("name").and_then(Value::as_text) {
            Some(name) => name.to_owned(),
            None => format!("{} #{}", self.kind.as_str(), self.id),
        }
    }

    pub fn admitted_by(&self, scope: ReadScope) -> bool {
        scope.admits(|column| self.column_int(column))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    Ascending,
    Descending,
}

/// An equality filter on a field.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub field: &'static str,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ListQuery {
    /// Case-insensitive substring of the name (or description where there is no name).
    pub search: Option<String>,
    pub filters: Vec<Filter>,
    /// A column field, `id`, `created_at_ns` or `updated_at_ns`.
    pub sort: &'static str,
    pub order: SortOrder,
    /// From 1.
    pub page: u32,
    pub per_page: u32,
    /// Keyset paging: only rows after this id in the sort order (which must be `id`).
    /// The page is then found by the primary key, however deep it is.
    pub after: Option<i64>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            search: None,
            filters: Vec::new(),
            sort: "id",
            order: SortOrder::Ascending,
            page: 1,
            per_page: 50,
            after: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub items: Vec<WorldObject>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// Builds parameter placeholders `$1, $2, …` while collecting the values to bind.
#[derive(Default)]
pub(crate) struct Params {
    values: Vec<Bind>,
    /// `?` instead of `$n`: for SQLite statements with many parameters, where sqlx's
    /// lookup of each numbered parameter's name makes binding quadratic. Only for
    /// statements that use each parameter once, in push order.
    anonymous: bool,
}

impl Params {
    pub(crate) fn many(backend: Backend) -> Params {
        Params {
            values: Vec::new(),
            anonymous: backend == Backend::Sqlite,
        }
    }

    fn placeholder(&self) -> String {
        if self.anonymous {
            "?".to_owned()
        } else {
            format!("${}", self.values.len())
        }
    }

    pub(crate) fn push(&mut self, value: Value) -> String {
        let bind = match value {
            Value::Null => Bind::Int(None),
            Value::Int(number) => Bind::Int(Some(number)),
            Value::Float(number) => Bind::Float(Some(number)),
            Value::Bool(flag) => Bind::Int(Some(i64::from(flag))),
            Value::Text(text) => Bind::Text(Some(text)),
            Value::TextList(items) => Bind::Text(Some(json_text(&items))),
            Value::IdList(ids) => Bind::Text(Some(json_text(&ids))),
        };
        self.values.push(bind);
        self.placeholder()
    }

    /// Pushes a field's value; a missing or null value binds as the column's type, and
    /// a missing list as an empty one.
    fn push_field(&mut self, field: &FieldSpec, value: Option<&Value>) -> String {
        match value {
            Some(value) if !value.is_null() => self.push(value.clone()),
            _ => {
                let bind = match field.ty {
                    FieldType::Integer { .. } | FieldType::Ref(_) => Bind::Int(None),
                    FieldType::Bool => Bind::Int(Some(0)),
                    FieldType::Float { .. } => Bind::Float(None),
                    FieldType::EnumList(_)
                    | FieldType::CidrList
                    | FieldType::IpList
                    | FieldType::TextList { .. } => Bind::Text(Some("[]".to_owned())),
                    _ => Bind::Text(None),
                };
                self.values.push(bind);
                self.placeholder()
            }
        }
    }

    pub(crate) fn bind<'q>(
        self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Query<'q, Any, AnyArguments<'q>> {
        bind_sqlx(&self.values, query)
    }

    pub(crate) fn statement(self, sql: String, types: Vec<CellType>) -> Statement {
        Statement {
            sql,
            binds: self.values,
            types,
        }
    }
}

fn json_text<T: Into<serde_json::Value> + Clone>(items: &[T]) -> String {
    serde_json::Value::Array(items.iter().cloned().map(Into::into).collect()).to_string()
}

fn select_columns(spec: &KindSpec) -> String {
    let mut columns = vec!["id".to_owned()];
    columns.extend(spec.column_fields().map(|field| field.name.to_owned()));
    columns.extend(["created_at_ns", "updated_at_ns", "revision"].map(str::to_owned));
    columns.join(", ")
}

fn scope_clause(scope: ReadScope, params: &mut Params) -> Option<String> {
    match scope {
        ReadScope::All => None,
        ReadScope::Nothing => Some("1 = 0".to_owned()),
        ReadScope::Column { column, id } => {
            Some(format!("{column} = {}", params.push(Value::Int(id))))
        }
        ReadScope::ColumnOrShared { column, id } => Some(format!(
            "({column} = {} OR {column} IS NULL)",
            params.push(Value::Int(id))
        )),
    }
}

/// The cell type of each column [`select_columns`] lists.
fn column_types(spec: &KindSpec) -> Vec<CellType> {
    let mut types = vec![CellType::Int];
    types.extend(spec.column_fields().map(|field| match field.ty {
        FieldType::Integer { .. } | FieldType::Ref(_) | FieldType::Bool => CellType::Int,
        FieldType::Float { .. } => CellType::Float,
        _ => CellType::Text,
    }));
    types.extend([CellType::Int, CellType::Int, CellType::Int]);
    types
}

/// Decodes a row of [`select_columns`].
fn decode(kind: Kind, mut cells: Vec<Cell>) -> Result<WorldObject> {
    let spec = kind.spec();
    let corrupt = |what: &str| StoreError::Corrupt(format!("{}: {what}", spec.table));
    if cells.len() != spec.column_fields().count() + 4 {
        return Err(corrupt("unexpected column count"));
    }
    let mut values = Values::new();
    for (index, field) in spec.column_fields().enumerate() {
        let cell = &mut cells[index + 1];
        let value = match field.ty {
            FieldType::Integer { .. } | FieldType::Ref(_) => {
                cell.int().map_or(Value::Null, Value::Int)
            }
            FieldType::Bool => Value::Bool(cell.int().unwrap_or(0) != 0),
            FieldType::Float { .. } => match cell {
                Cell::Float(number) => Value::Float(*number),
                _ => Value::Null,
            },
            FieldType::EnumList(_)
            | FieldType::CidrList
            | FieldType::IpList
            | FieldType::TextList { .. } => {
                let text = cell
                    .take_text()
                    .ok_or_else(|| corrupt(&format!("{} is not text", field.name)))?;
                let items: Vec<String> = serde_json::from_str(&text)
                    .map_err(|error| corrupt(&format!("{}: {error}", field.name)))?;
                Value::TextList(items)
            }
            _ => cell.take_text().map_or(Value::Null, Value::Text),
        };
        values.insert(field.name, value);
    }
    let tail = cells.len() - 3;
    let int = |cell: &Cell, what: &str| {
        cell.int()
            .ok_or_else(|| corrupt(&format!("{what} is not an integer")))
    };
    Ok(WorldObject {
        kind,
        id: int(&cells[0], "id")?,
        values,
        created_at_ns: int(&cells[tail], "created_at_ns")?,
        updated_at_ns: int(&cells[tail + 1], "updated_at_ns")?,
        revision: int(&cells[tail + 2], "revision")?,
    })
}

/// Fills the list references of a page of objects, one query per link field.
async fn load_links(reader: &mut Reader<'_>, objects: &mut [WorldObject]) -> Result<()> {
    let Some(first) = objects.first() else {
        return Ok(());
    };
    let spec = first.kind.spec();
    for (field, link) in spec.link_fields() {
        let mut params = Params::default();
        let placeholders: Vec<String> = objects
            .iter()
            .map(|object| params.push(Value::Int(object.id)))
            .collect();
        let sql = format!(
            "SELECT {owner}, {target} FROM {table} WHERE {owner} IN ({list}) ORDER BY {owner}, {target}",
            owner = link.owner_column,
            target = link.target_column,
            table = link.table,
            list = placeholders.join(", ")
        );
        let rows = reader
            .run_one(params.statement(sql, vec![CellType::Int, CellType::Int]))
            .await?;
        for object in objects.iter_mut() {
            object.values.insert(field.name, Value::IdList(Vec::new()));
        }
        for row in rows {
            let (Some(owner), Some(target)) = (row[0].int(), row[1].int()) else {
                continue;
            };
            if let Some(object) = objects.iter_mut().find(|object| object.id == owner) {
                if let Some(Value::IdList(ids)) = object.values.get_mut(field.name) {
                    ids.push(target);
                }
            }
        }
    }
    Ok(())
}

pub(crate) async fn get(
    reader: &mut Reader<'_>,
    kind: Kind,
    id: i64,
    scope: ReadScope,
) -> Result<Option<WorldObject>> {
    let spec = kind.spec();
    let mut params = Params::default();
    let mut sql = format!(
        "SELECT {} FROM {} WHERE id = {}",
        select_columns(spec),
        spec.table,
        params.push(Value::Int(id))
    );
    if let Some(clause) = scope_clause(scope, &mut params) {
        sql.push_str(" AND ");
        sql.push_str(&clause);
    }
    let rows = reader
        .run_one(params.statement(sql, column_types(spec)))
        .await?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let mut objects = vec![decode(kind, row)?];
    load_links(reader, &mut objects).await?;
    Ok(objects.pop())
}

fn where_clause(
    spec: &KindSpec,
    query: &ListQuery,
    scope: ReadScope,
    params: &mut Params,
) -> String {
    let mut clauses = Vec::new();
    if let Some(clause) = scope_clause(scope, params) {
        clauses.push(clause);
    }
    if let Some(search) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let column = if spec.field("name").is_some() {
            "name"
        } else {
            "description"
        };
        let escaped = search
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        clauses.push(format!(
            "LOWER({column}) LIKE {} ESCAPE '\\'",
            params.push(Value::Text(format!("%{escaped}%")))
        ));
    }
    for filter in &query.filters {
        if let Some(field) = spec.field(filter.field) {
            if let FieldType::RefList(link) = field.ty {
                clauses.push(format!(
                    "id IN (SELECT {owner} FROM {table} WHERE {target} = {value})",
                    owner = link.owner_column,
                    table = link.table,
                    target = link.target_column,
                    value = params.push(filter.value.clone())
                ));
                continue;
            }
            match &filter.value {
                Value::Null => clauses.push(format!("{} IS NULL", field.name)),
                value => clauses.push(format!("{} = {}", field.name, params.push(value.clone()))),
            }
        }
    }
    if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    }
}

pub(crate) async fn list(
    reader: &mut Reader<'_>,
    kind: Kind,
    query: &ListQuery,
    scope: ReadScope,
) -> Result<Page> {
    let spec = kind.spec();
    let mut count_params = Params::default();
    let count_sql = format!(
        "SELECT COUNT(*) FROM {}{}",
        spec.table,
        where_clause(spec, query, scope, &mut count_params)
    );
    let sort = if query.sort == "id"
        || query.sort == "created_at_ns"
        || query.sort == "updated_at_ns"
        || spec.column_fields().any(|field| field.name == query.sort)
    {
        query.sort
    } else {
        "id"
    };
    let direction = match query.order {
        SortOrder::Ascending => "ASC",
        SortOrder::Descending => "DESC",
    };
    let per_page = query.per_page.clamp(1, 500);
    let page = query.page.max(1);
    let mut params = Params::default();
    let mut conditions = where_clause(spec, query, scope, &mut params);
    let mut offset = i64::from(page - 1) * i64::from(per_page);
    if let Some(after) = query.after.filter(|_| sort == "id") {
        let comparison = if query.order == SortOrder::Ascending {
            ">"
        } else {
            "<"
        };
        let joiner = if conditions.is_empty() {
            " WHERE"
        } else {
            " AND"
        };
        conditions.push_str(&format!(
            "{joiner} id {comparison} {}",
            params.push(Value::Int(after))
        ));
        offset = 0;
    }
    let mut sql = format!(
        "SELECT {} FROM {}{conditions}",
        select_columns(spec),
        spec.table
    );
    // id breaks ties so paging is stable. NOT NULL columns sort by plain ORDER BY so an
    // index (or the primary key) gives the order without sorting the table; optional
    // ones put NULLs last on both backends (SQLite puts them first by default).
    let nullable = spec.field(sort).is_some_and(|field| {
        field.presence == Presence::Optional && !matches!(field.ty, FieldType::Bool)
    });
    let nulls = if nullable { " NULLS LAST" } else { "" };
    if sort == "id" {
        sql.push_str(&format!(" ORDER BY id {direction}"));
    } else {
        sql.push_str(&format!(
            " ORDER BY {sort} {direction}{nulls}, id {direction}"
        ));
    }
    sql.push_str(&format!(
        " LIMIT {} OFFSET {}",
        params.push(Value::Int(i64::from(per_page))),
        params.push(Value::Int(offset))
    ));
    // The count and the page in one round trip.
    let mut results = reader
        .run(vec![
            count_params.statement(count_sql, vec![CellType::Int]),
            params.statement(sql, column_types(spec)),
        ])
        .await?;
    let rows = results.pop().unwrap_or_default();
    let total = results
        .pop()
        .and_then(|rows| rows.into_iter().next())
        .and_then(|row| row.first().and_then(Cell::int))
        .unwrap_or(0);
    let mut items = rows
        .into_iter()
        .map(|row| decode(kind, row))
        .collect::<Result<Vec<_>>>()?;
    load_links(reader, &mut items).await?;
    Ok(Page {
        items,
        total,
        page,
        per_page,
    })
}

impl Store {
    pub async fn get(&self, kind: Kind, id: i64, scope: ReadScope) -> Result<Option<WorldObject>> {
        let mut connection;
        let mut reader = match &self.lite {
            Some(pool) => Reader::Lite(pool),
            None => {
                connection = self.pool.acquire().await?;
                Reader::Sqlx(&mut connection)
            }
        };
        get(&mut reader, kind, id, scope).await
    }

    pub async fn list(&self, kind: Kind, query: &ListQuery, scope: ReadScope) -> Result<Page> {
        let mut connection;
        let mut reader = match &self.lite {
            Some(pool) => Reader::Lite(pool),
            None => {
                connection = self.pool.acquire().await?;
                Reader::Sqlx(&mut connection)
            }
        };
        list(&mut reader, kind, query, scope).await
    }

    /// Every object of a kind, unscoped, in id order, list references included: for
    /// whole-platform work such as the compliance engine, which scopes its results
    /// instead. One statement for the rows and one for each link table.
    pub async fn scan_all(&self, kind: Kind) -> Result<Vec<WorldObject>> {
        let spec = kind.spec();
        let mut statements = vec![Statement {
            sql: format!(
                "SELECT {} FROM {} ORDER BY id",
                select_columns(spec),
                spec.table
            ),
            binds: Vec::new(),
            types: column_types(spec),
        }];
        let links: Vec<_> = spec.link_fields().collect();
        for (_, link) in &links {
            statements.push(Statement {
                sql: format!(
                    "SELECT {owner}, {target} FROM {table} ORDER BY {owner}, {target}",
                    owner = link.owner_column,
                    target = link.target_column,
                    table = link.table
                ),
                binds: Vec::new(),
                types: vec![CellType::Int, CellType::Int],
            });
        }
        let mut results = self.read(statements).await?.into_iter();
        let rows = results.next().unwrap_or_default();
        let mut objects = rows
            .into_iter()
            .map(|row| decode(kind, row))
            .collect::<Result<Vec<_>>>()?;
        let position: std::collections::HashMap<i64, usize> = objects
            .iter()
            .enumerate()
            .map(|(index, object)| (object.id, index))
            .collect();
        for ((field, _), rows) in links.iter().zip(results) {
            for object in objects.iter_mut() {
                object.values.insert(field.name, Value::IdList(Vec::new()));
            }
            for row in rows {
                let (Some(owner), Some(target)) = (row[0].int(), row[1].int()) else {
                    continue;
                };
                if let Some(index) = position.get(&owner) {
                    if let Some(Value::IdList(ids)) = objects[*index].values.get_mut(field.name) {
                        ids.push(target);
                    }
                }
            }
        }
        Ok(objects)
    }

    /// Runs read statements outside any transaction.
    pub(crate) async fn read(&self, statements: Vec<Statement>) -> Result<Vec<Rows>> {
        match &self.lite {
            Some(pool) => Reader::Lite(pool).run(statements).await,
            None => {
                let mut connection = self.pool.acquire().await?;
                Reader::Sqlx(&mut connection).run(statements).await
            }
        }
    }

    pub async fn count(&self, kind: Kind, scope: ReadScope) -> Result<i64> {
        let spec = kind.spec();
        let mut params = Params::default();
        let mut sql = format!("SELECT COUNT(*) FROM {}", spec.table);
        if let Some(clause) = scope_clause(scope, &mut params) {
            sql.push_str(" WHERE ");
            sql.push_str(&clause);
        }
        let rows = self
            .read(vec![params.statement(sql, vec![CellType::Int])])
            .await?;
        Ok(rows
            .first()
            .and_then(|rows| rows.first())
            .and_then(|row| row.first().and_then(Cell::int))
            .unwrap_or(0))
    }

    /// Counts rows per value of an integer or text field (for the overview), largest
    /// first.
    pub async fn count_by(
        &self,
        kind: Kind,
        field: &'static str,
        scope: ReadScope,
    ) -> Result<Vec<(Value, i64)>> {
        let spec = kind.spec();
        let Some(field_spec) = spec.field(field) else {
            return Err(StoreError::Config(format!(
                "{} has no field {field}",
                spec.id
            )));
        };
        let integer = matches!(
            field_spec.ty,
            FieldType::Integer { .. } | FieldType::Ref(_) | FieldType::Bool
        );
        let mut params = Params::default();
        let mut sql = format!("SELECT {field}, COUNT(*) FROM {}", spec.table);
        if let Some(clause) = scope_clause(scope, &mut params) {
            sql.push_str(" WHERE ");
            sql.push_str(&clause);
        }
        sql.push_str(&format!(
            " GROUP BY {field} ORDER BY COUNT(*) DESC, {field}"
        ));
        let key_type = if integer {
            CellType::Int
        } else {
            CellType::Text
        };
        let rows = self
            .read(vec![params.statement(sql, vec![key_type, CellType::Int])])
            .await?;
        Ok(rows
            .into_iter()
            .flatten()
            .map(|mut row| {
                let count = row[1].int().unwrap_or(0);
                let value = match &mut row[0] {
                    Cell::Int(number) => Value::Int(*number),
                    cell => cell.take_text().map_or(Value::Null, Value::Text),
                };
                (value, count)
            })
            .collect())
    }

    /// Names of objects by id, for rendering references, in one round trip for all the
    /// kinds asked. Scoped like every read: an id outside the scope has no name.
    pub async fn names(
        &self,
        wanted: &[(Kind, Vec<i64>, ReadScope)],
    ) -> Result<Vec<(Kind, i64, String)>> {
        let mut params = Params::default();
        let mut selects = Vec::new();
        for (index, (kind, ids, scope)) in wanted.iter().enumerate() {
            if ids.is_empty() || *scope == ReadScope::Nothing {
                continue;
            }
            let spec = kind.spec();
            let name_column = if spec.field("name").is_some() {
                "name"
            } else {
                "CAST(id AS TEXT)"
            };
            let placeholders: Vec<String> =
                ids.iter().map(|id| params.push(Value::Int(*id))).collect();
            let mut select = format!(
                "SELECT CAST({index} AS BIGINT) AS k, id, {name_column} AS name FROM {} WHERE id IN ({})",
                spec.table,
                placeholders.join(", ")
            );
            if let Some(clause) = scope_clause(*scope, &mut params) {
                select.push_str(" AND ");
                select.push_str(&clause);
            }
            selects.push(select);
        }
        if selects.is_empty() {
            return Ok(Vec::new());
        }
        let sql = selects.join(" UNION ALL ");
        let rows = self
            .read(vec![params.statement(
                sql,
                vec![CellType::Int, CellType::Int, CellType::Text],
            )])
            .await?;
        rows.into_iter()
            .flatten()
            .map(|mut row| {
                let index = row[0].int().unwrap_or(-1);
                let kind = usize::try_from(index)
                    .ok()
                    .and_then(|index| wanted.get(index))
                    .map(|(kind, _, _)| *kind)
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("names: unexpected kind index {index}"))
                    })?;
                let id = row[1]
                    .int()
                    .ok_or_else(|| StoreError::Corrupt("names: id".into()))?;
                let name = row[2].take_text().unwrap_or_default();
                Ok((kind, id, name))
            })
            .collect()
    }
}

impl WriteTx {
    pub async fn get(
        &mut self,
        kind: Kind,
        id: i64,
        scope: ReadScope,
    ) -> Result<Option<WorldObject>> {
        get(&mut Reader::Sqlx(&mut self.transaction), kind, id, scope).await
    }

    pub async fn list(&mut self, kind: Kind, query: &ListQuery, scope: ReadScope) -> Result<Page> {
        list(&mut Reader::Sqlx(&mut self.transaction), kind, query, scope).await
    }

    /// Whether another row has the same values in `fields` (for a field-level conflict
    /// message before the unique index would refuse the insert).
    pub async fn find_duplicate(
        &mut self,
        kind: Kind,
        fields: &[&'static str],
        values: &Values,
        except_id: Option<i64>,
    ) -> Result<Option<i64>> {
        let spec = kind.spec();
        let mut params = Params::default();
        let mut clauses = Vec::new();
        for field in fields {
            match values.get(field) {
                None | Some(Value::Null) => return Ok(None),
                Some(value) => clauses.push(format!("{field} = {}", params.push(value.clone()))),
            }
        }
        if let Some(id) = except_id {
            clauses.push(format!("id <> {}", params.push(Value::Int(id))));
        }
        let sql = format!(
            "SELECT id FROM {} WHERE {} LIMIT 1",
            spec.table,
            clauses.join(" AND ")
        );
        let row = params
            .bind(sqlx::query(&sql))
            .fetch_optional(&mut *self.transaction)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    /// How many rows of `kind` reference `id` through `field`.
    pub async fn count_references(
        &mut self,
        kind: Kind,
        field: &FieldSpec,
        id: i64,
    ) -> Result<i64> {
        let spec = kind.spec();
        let sql = match field.ty {
            FieldType::RefList(link) => format!(
                "SELECT COUNT(*) FROM {} WHERE {} = $1",
                link.table, link.target_column
            ),
            _ => format!(
                "SELECT COUNT(*) FROM {} WHERE {} = $1",
                spec.table, field.name
            ),
        };
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_one(&mut *self.transaction)
            .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn count_all(&mut self, kind: Kind) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {}", kind.spec().table);
        let row = sqlx::query(&sql).fetch_one(&mut *self.transaction).await?;
        Ok(row.try_get(0)?)
    }

    pub async fn insert(&mut self, kind: Kind, values: &Values, now_ns: i64) -> Result<i64> {
        let spec = kind.spec();
        let mut params = Params::default();
        let mut columns = Vec::new();
        let mut placeholders = Vec::new();
        for field in spec.column_fields() {
            columns.push(field.name);
            placeholders.push(params.push_field(field, values.get(field.name)));
        }
        for column in ["created_at_ns", "updated_at_ns"] {
            columns.push(column);
            placeholders.push(params.push(Value::Int(now_ns)));
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({}) RETURNING id",
            spec.table,
            columns.join(", "),
            placeholders.join(", ")
        );
        let row = params
            .bind(sqlx::query(&sql))
            .fetch_one(&mut *self.transaction)
            .await?;
        let id: i64 = row.try_get(0)?;
        self.write_links(spec, id, values).await?;
        Ok(id)
    }

    /// Replaces every column of a row and bumps its revision. Returns the new revision.
    pub async fn update(
        &mut self,
        kind: Kind,
        id: i64,
        values: &Values,
        now_ns: i64,
    ) -> Result<i64> {
        let spec = kind.spec();
        let mut params = Params::default();
        let assignments = set_every_column(spec, values, now_ns, &mut params);
        let sql = format!(
            "UPDATE {} SET {assignments} WHERE id = {} RETURNING revision",
            spec.table,
            params.push(Value::Int(id))
        );
        let row = params
            .bind(sqlx::query(&sql))
            .fetch_optional(&mut *self.transaction)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound);
        };
        self.delete_links(spec, id).await?;
        self.write_links(spec, id, values).await?;
        Ok(row.try_get(0)?)
    }

    pub async fn delete(&mut self, kind: Kind, id: i64) -> Result<()> {
        let spec = kind.spec();
        self.delete_links(spec, id).await?;
        let sql = format!("DELETE FROM {} WHERE id = $1", spec.table);
        let done = sqlx::query(&sql)
            .bind(id)
            .execute(&mut *self.transaction)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_links(&mut self, spec: &KindSpec, id: i64) -> Result<()> {
        for (_, link) in spec.link_fields() {
            let sql = format!(
                "DELETE FROM {} WHERE {} = $1",
                link.table, link.owner_column
            );
            sqlx::query(&sql)
                .bind(id)
                .execute(&mut *self.transaction)
                .await?;
        }
        Ok(())
    }

    async fn write_links(&mut self, spec: &KindSpec, id: i64, values: &Values) -> Result<()> {
        for (field, link) in spec.link_fields() {
            let Some(Value::IdList(targets)) = values.get(field.name) else {
                continue;
            };
            let sql = format!(
                "INSERT INTO {} ({}, {}) VALUES ($1, $2)",
                link.table, link.owner_column, link.target_column
            );
            for target in targets {
                sqlx::query(&sql)
                    .bind(id)
                    .bind(*target)
                    .execute(&mut *self.transaction)
                    .await?;
            }
        }
        Ok(())
    }

    /// Loads many rows with given ids in multi-row statements (the demo and future bulk
    /// imports). The rows must already be valid; constraints still apply.
    pub async fn bulk_insert(
        &mut self,
        kind: Kind,
        rows: &[(i64, Values)],
        links: &[(i64, i64)],
        now_ns: i64,
    ) -> Result<()> {
        let spec = kind.spec();
        let fields: Vec<&FieldSpec> = spec.column_fields().collect();
        let mut columns: Vec<&str> = vec!["id"];
        columns.extend(fields.iter().map(|field| field.name));
        columns.extend(["created_at_ns", "updated_at_ns"]);
        // About 2,000 parameters a statement. With numbered parameters SQLite binding was
        // quadratic (see Params::many) and 450 was the sweet spot; with `?` the large demo
        // loads in 1.9 s instead of 4.7 s (docs/benchmarks.md).
        let rows_per_statement = (2000 / columns.len()).max(1);
        for chunk in rows.chunks(rows_per_statement) {
            let mut params = Params::many(self.backend);
            let mut tuples = Vec::with_capacity(chunk.len());
            for (id, values) in chunk {
                let mut placeholders = vec![params.push(Value::Int(*id))];
                for field in &fields {
                    placeholders.push(params.push_field(field, values.get(field.name)));
                }
                placeholders.push(params.push(Value::Int(now_ns)));
                placeholders.push(params.push(Value::Int(now_ns)));
                tuples.push(format!("({})", placeholders.join(", ")));
            }
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                spec.table,
                columns.join(", "),
                tuples.join(", ")
            );
            params
                .bind(sqlx::query(&sql))
                .execute(&mut *self.transaction)
                .await?;
        }
        if let Some((_, link)) = spec.link_fields().next() {
            self.insert_links(link, links).await?;
        }
        if self.backend == Backend::Postgres {
            // Rows with explicit ids do not advance an identity sequence.
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)",
                table = spec.table
            );
            sqlx::query(&sql).execute(&mut *self.transaction).await?;
        }
        Ok(())
    }
}

impl WriteTx {
    /// Inserts link-table rows (owner id, target id) in multi-row statements.
    pub async fn insert_links(&mut self, link: LinkTable, rows: &[(i64, i64)]) -> Result<()> {
        for chunk in rows.chunks(200) {
            let mut params = Params::default();
            let tuples: Vec<String> = chunk
                .iter()
                .map(|(owner, target)| {
                    format!(
                        "({}, {})",
                        params.push(Value::Int(*owner)),
                        params.push(Value::Int(*target))
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} ({}, {}) VALUES {}",
                link.table,
                link.owner_column,
                link.target_column,
                tuples.join(", ")
            );
            params
                .bind(sqlx::query(&sql))
                .execute(&mut *self.transaction)
                .await?;
        }
        Ok(())
    }

    /// Replaces a row's list references with those in `values`.
    pub async fn replace_links(&mut self, kind: Kind, id: i64, values: &Values) -> Result<()> {
        let spec = kind.spec();
        self.delete_links(spec, id).await?;
        self.write_links(spec, id, values).await
    }
}

/// `col = $n, …, updated_at_ns = $n, revision = revision + 1` for every column.
fn set_every_column(spec: &KindSpec, values: &Values, now_ns: i64, params: &mut Params) -> String {
    let mut assignments: Vec<String> = spec
        .column_fields()
        .map(|field| {
            format!(
                "{} = {}",
                field.name,
                params.push_field(field, values.get(field.name))
            )
        })
        .collect();
    assignments.push(format!(
        "updated_at_ns = {}",
        params.push(Value::Int(now_ns))
    ));
    assignments.push("revision = revision + 1".to_owned());
    assignments.join(", ")
}

/// What a conditional write found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conditional {
    Done,
    /// The row changed (or went) since it was read: the caller plans again.
    Stale,
}

impl Conditional {
    /// One row touched: done; none: the row changed (or went) meanwhile.
    fn of(rows_affected: u64) -> Conditional {
        if rows_affected == 1 {
            Conditional::Done
        } else {
            Conditional::Stale
        }
    }
}

impl Store {
    /// A provider's rows of `kinds` that carry its ids: the state a pushed or pulled
    /// snapshot is compared with. One statement per kind, outside any transaction; the
    /// writes that follow are conditional on each row's revision.
    pub async fn provider_objects(
        &self,
        kinds: &[Kind],
        provider_id: i64,
    ) -> Result<Vec<WorldObject>> {
        let statements: Vec<Statement> = kinds
            .iter()
            .map(|kind| {
                let spec = kind.spec();
                Statement {
                    sql: format!(
                        "SELECT {} FROM {} WHERE provider_id = $1 AND external_id IS NOT NULL ORDER BY id",
                        select_columns(spec),
                        spec.table
                    ),
                    binds: vec![Bind::Int(Some(provider_id))],
                    types: column_types(spec),
                }
            })
            .collect();
        // And each list reference of those rows (a VM's security groups).
        let links: Vec<(Kind, &FieldSpec, LinkTable)> = kinds
            .iter()
            .flat_map(|kind| {
                kind.spec()
                    .link_fields()
                    .map(move |(field, link)| (*kind, field, link))
            })
            .collect();
        let link_statements = links.iter().map(|(kind, _, link)| Statement {
            sql: format!(
                "SELECT {owner}, {target} FROM {table} WHERE {owner} IN \
                 (SELECT id FROM {rows} WHERE provider_id = $1 AND external_id IS NOT NULL) \
                 ORDER BY {owner}, {target}",
                owner = link.owner_column,
                target = link.target_column,
                table = link.table,
                rows = kind.spec().table
            ),
            binds: vec![Bind::Int(Some(provider_id))],
            types: vec![CellType::Int, CellType::Int],
        });
        let mut results = self
            .read(statements.into_iter().chain(link_statements).collect())
            .await?;
        let link_rows = results.split_off(kinds.len());
        let mut objects = Vec::new();
        for (kind, rows) in kinds.iter().zip(results) {
            for row in rows {
                let mut object = decode(*kind, row)?;
                for (field, _) in kind.spec().link_fields() {
                    object.values.insert(field.name, Value::IdList(Vec::new()));
                }
                objects.push(object);
            }
        }
        let position: HashMap<(Kind, i64), usize> = objects
            .iter()
            .enumerate()
            .map(|(index, object)| ((object.kind, object.id), index))
            .collect();
        for ((kind, field, _), rows) in links.iter().zip(link_rows) {
            for row in rows {
                let (Some(owner), Some(target)) = (row[0].int(), row[1].int()) else {
                    continue;
                };
                if let Some(index) = position.get(&(*kind, owner)) {
                    if let Some(Value::IdList(ids)) = objects[*index].values.get_mut(field.name) {
                        ids.push(target);
                    }
                }
            }
        }
        Ok(objects)
    }
}

impl WriteTx {
    /// Replaces a row's columns if it still has `revision`.
    pub async fn update_if_revision(
        &mut self,
        kind: Kind,
        id: i64,
        revision: i64,
        values: &Values,
        now_ns: i64,
    ) -> Result<Conditional> {
        let spec = kind.spec();
        let mut params = Params::default();
        let assignments = set_every_column(spec, values, now_ns, &mut params);
        let sql = format!(
            "UPDATE {} SET {assignments} WHERE id = {} AND revision = {}",
            spec.table,
            params.push(Value::Int(id)),
            params.push(Value::Int(revision))
        );
        let done = params
            .bind(sqlx::query(&sql))
            .execute(&mut *self.transaction)
            .await?;
        Ok(Conditional::of(done.rows_affected()))
    }

    /// Deletes a row if it still has `revision`, with the links that name it from either
    /// side (an information system loses a VPC the provider deleted).
    pub async fn delete_if_revision(
        &mut self,
        kind: Kind,
        id: i64,
        revision: i64,
    ) -> Result<Conditional> {
        let spec = kind.spec();
        self.delete_links(spec, id).await?;
        for other in Kind::ALL {
            for (_, link) in other.spec().link_fields() {
                if link.target == kind {
                    let sql = format!(
                        "DELETE FROM {} WHERE {} = $1",
                        link.table, link.target_column
                    );
                    sqlx::query(&sql)
                        .bind(id)
                        .execute(&mut *self.transaction)
                        .await?;
                }
            }
        }
        let sql = format!("DELETE FROM {} WHERE id = $1 AND revision = $2", spec.table);
        let done = sqlx::query(&sql)
            .bind(id)
            .bind(revision)
            .execute(&mut *self.transaction)
            .await?;
        Ok(Conditional::of(done.rows_affected()))
    }

    /// Inserts many rows of a kind that carry external ids, in multi-row statements,
    /// and answers each new id with its external id. The rows must already be valid;
    /// constraints still apply. List references are the caller's ([`WriteTx::insert_links`]):
    /// the targets' ids may still be provisional.
    pub async fn insert_returning_external(
        &mut self,
        kind: Kind,
        rows: &[&Values],
        now_ns: i64,
    ) -> Result<Vec<(i64, String)>> {
        let spec = kind.spec();
        let fields: Vec<&FieldSpec> = spec.column_fields().collect();
        let mut columns: Vec<&str> = fields.iter().map(|field| field.name).collect();
        columns.extend(["created_at_ns", "updated_at_ns"]);
        let rows_per_statement = (2000 / columns.len()).max(1);
        let mut ids = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(rows_per_statement) {
            let mut params = Params::many(self.backend);
            let mut tuples = Vec::with_capacity(chunk.len());
            for values in chunk {
                let mut placeholders = Vec::with_capacity(columns.len());
                for field in &fields {
                    placeholders.push(params.push_field(field, values.get(field.name)));
                }
                placeholders.push(params.push(Value::Int(now_ns)));
                placeholders.push(params.push(Value::Int(now_ns)));
                tuples.push(format!("({})", placeholders.join(", ")));
            }
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {} RETURNING id, external_id",
                spec.table,
                columns.join(", "),
                tuples.join(", ")
            );
            let returned = params
                .bind(sqlx::query(&sql))
                .fetch_all(&mut *self.transaction)
                .await?;
            for row in returned {
                let id: i64 = row.try_get(0)?;
                let external: Option<String> = row.try_get(1)?;
                ids.push((id, external.unwrap_or_default()));
            }
        }
        Ok(ids)
    }
}
