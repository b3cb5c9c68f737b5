//! The OpenAPI 3.1 document, generated from the world schema so it cannot drift from
//! what the API accepts.

use axum::Json;
use serde_json::{json, Map, Value as Json_};
use yunjian_core::schema::{FieldSpec, FieldType, Kind, Presence, TextFormat};

fn field_schema(field: &FieldSpec) -> Json_ {
    let description = format!("{} / {}", field.zh, field.en);
    let mut schema = match field.ty {
        FieldType::Text { max_chars, format } => {
            let mut schema = json!({"type": "string", "maxLength": max_chars});
            match format {
                TextFormat::Email => schema["format"] = json!("email"),
                TextFormat::CreditCode => schema["pattern"] = json!("^[0-9A-Z]{18}$"),
                TextFormat::Phone | TextFormat::Plain => {}
            }
            schema
        }
        FieldType::Integer { min, max } => {
            json!({"type": "integer", "minimum": min, "maximum": max})
        }
        FieldType::Float { min, max } => json!({"type": "number", "minimum": min, "maximum": max}),
        FieldType::Bool => json!({"type": "boolean"}),
        FieldType::Enum(options) => {
            json!({"type": "string", "enum": options.iter().map(|o| o.value).collect::<Vec<_>>()})
        }
        FieldType::EnumList(options) => json!({"type": "array", "uniqueItems": true,
            "items": {"type": "string", "enum": options.iter().map(|o| o.value).collect::<Vec<_>>()}}),
        FieldType::Ref(target) => json!({"type": "integer", "minimum": 1,
            "description": format!("id of a {}", target.as_str())}),
        FieldType::RefList(link) => json!({"type": "array", "uniqueItems": true,
            "items": {"type": "integer", "minimum": 1}, "description": format!("ids of {}", link.target.spec().table)}),
        FieldType::Cidr => {
            json!({"type": "string", "description": "CIDR block, network address form"})
        }
        FieldType::CidrList => {
            json!({"type": "array", "items": {"type": "string"}, "description": "CIDR blocks, not overlapping"})
        }
        FieldType::IpList => json!({"type": "array", "items": {"type": "string"}}),
        FieldType::TextList {
            max_items,
            max_chars,
        } => {
            json!({"type": "array", "maxItems": max_items, "items": {"type": "string", "maxLength": max_chars}})
        }
        FieldType::Date => json!({"type": "string", "format": "date"}),
        FieldType::Digest => {
            json!({"type": "string", "pattern": "^((sm3|sha256):[0-9a-f]{64}|sha512:[0-9a-f]{128}|md5:[0-9a-f]{32})$"})
        }
    };
    if schema.get("description").is_none() {
        schema["description"] = json!(description);
    } else {
        let extra = schema["description"].as_str().unwrap_or("").to_owned();
        schema["description"] = json!(format!("{description}; {extra}"));
    }
    schema
}

fn kind_schemas(kind: Kind, schemas: &mut Map<String, Json_>) {
    let spec = kind.spec();
    let name = schema_name(kind);
    let mut properties = Map::new();
    properties.insert("id".into(), json!({"type": "integer"}));
    properties.insert("kind".into(), json!({"type": "string", "const": spec.id}));
    let mut input_properties = Map::new();
    let mut required = Vec::new();
    for field in spec.fields {
        let mut schema = field_schema(field);
        if field.presence != Presence::Required {
            schema = json!({"anyOf": [schema, {"type": "null"}]});
        }
        properties.insert(field.name.into(), schema.clone());
        if !matches!(field.presence, Presence::Derived { .. }) {
            input_properties.insert(field.name.into(), schema);
            if field.presence == Presence::Required {
                required.push(field.name);
            }
        }
    }
    properties.insert("names".into(), json!({"type": "object", "description": "names of referenced objects visible to the caller"}));
    properties.insert(
        "created_at".into(),
        json!({"type": "string", "format": "date-time"}),
    );
    properties.insert(
        "updated_at".into(),
        json!({"type": "string", "format": "date-time"}),
    );
    properties.insert("revision".into(), json!({"type": "integer"}));
    schemas.insert(name.clone(), json!({"type": "object", "description": format!("{} / {}", spec.zh, spec.en), "properties": properties}));
    schemas.insert(
        format!("{name}Create"),
        json!({"type": "object", "additionalProperties": false,
        "properties": input_properties.clone(), "required": required}),
    );
    schemas.insert(
        format!("{name}Update"),
        json!({"type": "object", "additionalProperties": false,
        "properties": input_properties}),
    );
}

fn schema_name(kind: Kind) -> String {
    kind.spec()
        .id
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

fn error_responses() -> Json_ {
    let error = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    json!({"400": error, "401": error, "403": error, "404": error, "409": error, "413": error, "415": error, "422": error, "500": error})
}

fn with_errors(success_code: &str, success: Json_) -> Json_ {
    let mut responses = error_responses();
    responses[success_code] = success;
    responses
}

fn body(reference: &str) -> Json_ {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{reference}")}}}})
}

fn returns(reference: &str) -> Json_ {
    json!({"description": "ok", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{reference}")}}}})
}

pub fn openapi_document() -> Json_ {
    let mut schemas = Map::new();
    schemas.insert("Error".into(), json!({"type": "object", "properties": {"error": {"type": "object",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "request_id": {"type": "string"},
            "fields": {"type": "array", "items": {"type": "object", "properties": {
                "field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}}}},
        "required": ["code", "message", "request_id"]}}}));
    schemas.insert("Login".into(), json!({"type": "object", "additionalProperties": false,
        "properties": {"username": {"type": "string"}, "password": {"type": "string", "format": "password"}},
        "required": ["username", "password"]}));
    schemas.insert("LoginAnswer".into(), json!({"type": "object", "properties": {"token": {"type": "string"},
        "expires_at": {"type": "string", "format": "date-time"}, "principal": {"$ref": "#/components/schemas/Principal"}}}));
    schemas.insert("Principal".into(), json!({"type": "object", "properties": {"account_id": {"type": "integer"},
        "username": {"type": "string"}, "role": {"type": "string", "enum": yunjian_core::role::Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>()},
        "tenant_id": {"type": ["integer", "null"]}, "provider_id": {"type": ["integer", "null"]}}}));
    schemas.insert("Overview".into(), json!({"type": "object"}));
    schemas.insert("AccountCreate".into(), json!({"type": "object", "additionalProperties": false,
        "properties": {"username": {"type": "string"}, "display_name": {"type": "string"}, "password": {"type": "string", "minLength": 14},
            "role": {"type": "string"}, "tenant_id": {"type": "integer"}, "provider_id": {"type": "integer"},
            "person_id": {"type": "string", "maxLength": 64, "description": "the person's staff number; required for system_admin, security_admin and security_auditor, of which one person holds at most one"}},
        "required": ["username", "password", "role"]}));
    let mut paths = Map::new();
    paths.insert("/healthz".into(), json!({"get": {"summary": "Liveness and store reachability", "security": [],
        "responses": {"200": {"description": "healthy"}, "503": {"description": "the store does not answer"}}}}));
    paths.insert(
        "/metrics".into(),
        json!({"get": {"summary": "Prometheus metrics", "security": [],
        "responses": {"200": {"description": "OpenMetrics text"}}}}),
    );
    paths.insert("/api/v1/auth/login".into(), json!({"post": {"summary": "Log in; answers a bearer token and sets the console cookie",
        "security": [], "requestBody": body("Login"), "responses": with_errors("200", returns("LoginAnswer"))}}));
    paths.insert(
        "/api/v1/auth/logout".into(),
        json!({"post": {"summary": "End this session",
        "responses": with_errors("204", json!({"description": "logged out"}))}}),
    );
    paths.insert("/api/v1/auth/me".into(), json!({"get": {"summary": "The caller, with the password's age (reminders before expiry); allowed while a password change is pending", "responses": with_errors("200", returns("Principal"))}}));
    paths.insert("/api/v1/auth/password".into(), json!({"post": {
        "summary": "Change the caller's password: {current_password, new_password}. Policy problems come back as field errors on new_password (password_too_short, password_too_simple, password_contains_username, password_common, password_repetitive, password_reused, password_changed_too_recently). Ends the caller's other sessions. Allowed while a change is pending; until then every other call answers 403 password_change_required.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["current_password", "new_password"],
            "properties": {"current_password": {"type": "string"}, "new_password": {"type": "string"}}}}}},
        "responses": with_errors("204", json!({"description": "changed"}))}}));
    paths.insert("/api/v1/auth/totp/enrol".into(), json!({"post": {
        "summary": "Start TOTP enrolment: the secret (base32) and otpauth URI, shown once; active after /auth/totp/confirm",
        "responses": with_errors("200", json!({"description": "{secret, otpauth_uri}"}))}}));
    paths.insert("/api/v1/auth/totp/confirm".into(), json!({"post": {
        "summary": "Confirm enrolment with the app's current code: {code}; answers ten recovery codes, shown once. From then on login needs \"totp\" (a code or a recovery code) and answers 401 totp_required without it.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}}}}},
        "responses": with_errors("200", json!({"description": "{recovery_codes}"}))}}));
    paths.insert("/api/v1/accounts/{id}/password-reset".into(), json!({"post": {
        "summary": "System administrator: reset another account's password to a one-time password (shown once), changed at its next login; its sessions end",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
        "responses": with_errors("200", json!({"description": "{one_time_password}"}))}}));
    paths.insert("/api/v1/accounts/{id}/unlock".into(), json!({"post": {
        "summary": "System administrator: unlock an account locked by login failures (the only way out of an escalated lock)",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
        "responses": with_errors("204", json!({"description": "unlocked"}))}}));
    paths.insert("/api/v1/overview".into(), json!({"get": {"summary": "Counts per provider, zone, tenant and MLPS level, in the caller's scope",
        "responses": with_errors("200", returns("Overview"))}}));
    paths.insert("/api/v1/accounts".into(), json!({
        "get": {"summary": "Accounts (platform administrators and auditors)", "responses": with_errors("200", json!({"description": "accounts"}))},
        "post": {"summary": "Create an account (system administrator)", "requestBody": body("AccountCreate"),
            "responses": with_errors("201", json!({"description": "created"}))}}));
    audit_paths(&mut paths);
    access_paths(&mut paths);
    compliance_paths(&mut paths);
    provider_paths(&mut paths);
    event_paths(&mut paths);
    network_paths(&mut paths);
    for kind in Kind::ALL {
        kind_schemas(kind, &mut schemas);
        let spec = kind.spec();
        let name = schema_name(kind);
        let mut parameters = vec![
            json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}),
            json!({"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}),
            json!({"name": "q", "in": "query", "description": "case-insensitive search in the name", "schema": {"type": "string"}}),
            json!({"name": "sort", "in": "query", "schema": {"type": "string"}}),
            json!({"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}}),
            json!({"name": "after", "in": "query", "description": "keyset paging in id order: the next_after of the previous page",
                "schema": {"type": "integer", "minimum": 1}}),
        ];
        for field in spec.fields {
            if matches!(
                field.ty,
                FieldType::Ref(_)
                    | FieldType::RefList(_)
                    | FieldType::Enum(_)
                    | FieldType::Bool
                    | FieldType::Integer { .. }
            ) {
                parameters.push(json!({"name": field.name, "in": "query", "description": format!("equality filter on {}", field.name),
                    "schema": field_schema(field)}));
            }
        }
        let id_parameter = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}});
        paths.insert(format!("/api/v1/{}", spec.table), json!({
            "get": {"summary": format!("List {} ({})", spec.en, spec.zh), "tags": [spec.id], "parameters": parameters,
                "responses": with_errors("200", json!({"description": "a page", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}},
                    "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
                    "next_after": {"type": ["integer", "null"]}}}}}}))},
            "post": {"summary": format!("Create a {}", spec.en), "tags": [spec.id], "requestBody": body(&format!("{name}Create")),
                "responses": with_errors("201", returns(&name))},
        }));
        paths.insert(format!("/api/v1/{}/{{id}}", spec.table), json!({
            "parameters": [id_parameter],
            "get": {"summary": format!("Read a {}", spec.en), "tags": [spec.id], "responses": with_errors("200", returns(&name))},
            "patch": {"summary": format!("Change fields of a {}", spec.en), "tags": [spec.id],
                "requestBody": body(&format!("{name}Update")), "responses": with_errors("200", returns(&name))},
            "delete": {"summary": format!("Delete a {} that nothing references", spec.en), "tags": [spec.id],
                "responses": with_errors("204", json!({"description": "deleted"}))},
        }));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "yunjian (云监) e-government cloud supervision API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "重庆市电子政务云平台监管系统接口。Every call but /healthz, /metrics and login needs a bearer token from POST /api/v1/auth/login.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": paths,
    })
}

pub async fn serve() -> Json<Json_> {
    Json(openapi_document())
}

/// The audit ledger's endpoints (docs/audit-ledger.md).
fn audit_paths(paths: &mut Map<String, Json_>) {
    let query = |name: &str, description: &str, ty: &str| json!({"name": name, "in": "query", "description": description, "schema": {"type": ty}});
    let time = "RFC 3339, or a date YYYY-MM-DD meaning 00:00 China Standard Time";
    let text = |description: &str| json!({"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}});
    let proof = json!({"description": "base64 hashes, leaf side first (RFC 9162)", "content": {"application/json": {"schema": {"type": "object"}}}});
    paths.insert("/api/v1/audit/records".into(), json!({"get": {
        "summary": "Audit records in the caller's slice, newest first (auditors and the management unit: all; tenant administrators: their tenant's)",
        "parameters": [
            query("actor", "username of the actor", "string"), query("action", "e.g. world.update", "string"),
            query("object_kind", "e.g. vms", "string"), query("object_id", "object id", "integer"),
            query("tenant", "owning tenant", "integer"), query("outcome", "succeeded, denied or failed", "string"),
            query("from", time, "string"), query("to", time, "string"),
            query("before", "paging: next_before of the previous page", "integer"), query("limit", "1-1000, default 100", "integer")],
        "responses": with_errors("200", json!({"description": "{items, next_before}"}))}}));
    paths.insert("/api/v1/audit/records/{seq}".into(), json!({"get": {"summary": "One record by sequence number",
        "parameters": [{"name": "seq", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}}],
        "responses": with_errors("200", json!({"description": "the record, its canonical line and leaf hash"}))}}));
    paths.insert("/api/v1/audit/checkpoint".into(), json!({"get": {"summary": "The latest signed checkpoint (C2SP tlog-checkpoint, SM2 signed note)",
        "responses": with_errors("200", text("the signed note"))}}));
    paths.insert("/api/v1/audit/public-key".into(), json!({"get": {"summary": "The checkpoint verifier key (NAME+KEYID+BASE64, SM2 with its distinguishing ID)",
        "responses": with_errors("200", text("the verifier key"))}}));
    paths.insert("/api/v1/audit/proof/inclusion".into(), json!({"get": {"summary": "Inclusion proof of record `index` in the tree of `size` records",
        "parameters": [query("index", "sequence number", "integer"), query("size", "tree size (a checkpoint's)", "integer")],
        "responses": with_errors("200", proof.clone())}}));
    paths.insert("/api/v1/audit/proof/consistency".into(), json!({"get": {"summary": "Consistency proof between tree sizes `from` and `to`",
        "parameters": [query("from", "earlier size", "integer"), query("to", "later size", "integer")],
        "responses": with_errors("200", proof)}}));
    paths.insert("/api/v1/audit/export".into(), json!({"get": {"summary": "A bundle for offline verification (`yunjian audit verify`): a range for auditors, the tenant's slice for tenants",
        "parameters": [query("from", time, "string"), query("to", time, "string"),
            query("from_seq", "first sequence number", "integer"), query("to_seq", "one past the last", "integer")],
        "responses": with_errors("200", json!({"description": "POSIX tar", "content": {"application/x-tar": {"schema": {"type": "string", "format": "binary"}}}}))}}));
    paths.insert("/api/v1/audit/anomalies".into(), json!({"get": {"summary": "Unusual audit activity (7.5.10.3): denial bursts, failed-login bursts, unusual hours, new addresses, mass exports",
        "parameters": [query("from", time, "string"), query("to", time, "string")],
        "responses": with_errors("200", json!({"description": "the report"}))}}));
    paths.insert("/api/v1/audit/verify".into(), json!({"post": {"summary": "Re-verify the stored ledger now: every line, the tree, every checkpoint signature",
        "responses": with_errors("200", json!({"description": "the verification report"}))}}));
}

/// Step-up, role assignment, tenant authorizations and temporary privileges.
fn access_paths(paths: &mut Map<String, Json_>) {
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}]);
    let object = |required: &[&str], properties: Json_| json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": required, "properties": properties}}}});
    let window = json!({
        "starts_at": {"type": "string", "description": "RFC 3339 or a date; default now"},
        "expires_at": {"type": "string", "description": "RFC 3339 or a date"},
        "days": {"type": "integer", "minimum": 1, "description": "instead of expires_at"}
    });
    paths.insert("/api/v1/auth/sessions".into(), json!({"get": {
        "summary": "The caller's live sessions: id (the first 16 hex digits of the token's SM3, as audit records show it), address, times, which is the current one",
        "responses": with_errors("200", json!({"description": "{items}"}))}}));
    paths.insert("/api/v1/auth/sessions/{id}/end".into(), json!({"post": {
        "summary": "End one of the caller's sessions", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": with_errors("204", json!({"description": "ended"}))}}));
    paths.insert("/api/v1/security-events".into(), json!({"get": {
        "summary": "Security events found by the API monitor (bursts of denials and failed logins, unusual hours, new addresses, mass exports; 7.3.1.2, 8.3.6): oversight all, a tenant or provider those about its own accounts",
        "responses": with_errors("200", json!({"description": "{items}"}))}}));
    paths.insert("/api/v1/auth/api-keys".into(), json!({
        "get": {"summary": "The caller's API keys (never their secrets)", "responses": with_errors("200", json!({"description": "{items}"}))},
        "post": {"summary": "A new API key for the caller, after a step-up: {label}; the secret is shown once. Sign requests with YJ1-HMAC-SM3 (docs/api-signing.md).",
            "requestBody": object(&["label"], json!({"label": {"type": "string"}})),
            "responses": with_errors("201", json!({"description": "{access_key_id, secret}"}))}}));
    paths.insert("/api/v1/auth/api-keys/{id}/revoke".into(), json!({"post": {
        "summary": "Revoke one of the caller's API keys", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": with_errors("204", json!({"description": "revoked"}))}}));
    paths.insert("/api/v1/auth/step-up".into(), json!({"post": {
        "summary": "Prove the second factor again: {code} (a current TOTP code or an unused recovery code). Role assignment, account creation, grant approval, tenant authorizations and exports accept it for five minutes; without it they answer 403 step_up_required. Shares the login rate limit; a wrong code counts towards the lock.",
        "requestBody": object(&["code"], json!({"code": {"type": "string"}})),
        "responses": with_errors("200", json!({"description": "{valid_until}"}))}}));
    paths.insert("/api/v1/accounts/{id}/role".into(), json!({"post": {
        "summary": "Security administrator, after a step-up: give another account a role {role, tenant_id?, provider_id?}. Never one's own; a person never holds two of system_admin, security_admin, security_auditor (409). The account's sessions end.",
        "parameters": id,
        "requestBody": object(&["role"], json!({"role": {"type": "string"}, "tenant_id": {"type": "integer"}, "provider_id": {"type": "integer"}})),
        "responses": with_errors("200", json!({"description": "the account"}))}}));
    let mut authorization = json!({"provider_id": {"type": "integer"}, "kinds": {"type": "array", "items": {"type": "string", "enum": ["vms", "volumes", "snapshots", "backups", "images", "paas_instances"]}},
        "object_ids": {"type": "array", "items": {"type": "integer"}}, "actions": {"type": "array", "items": {"type": "string", "enum": ["create", "update", "delete"]}},
        "reason": {"type": "string"}});
    if let (Some(map), Some(extra)) = (authorization.as_object_mut(), window.as_object()) {
        map.extend(extra.clone());
    }
    paths.insert("/api/v1/tenant-authorizations".into(), json!({
        "get": {"summary": "Tenant authorizations (7.2.5.5): a tenant its own, a provider those given to it, oversight all", "responses": with_errors("200", json!({"description": "{items}"}))},
        "post": {"summary": "Tenant administrator, after a step-up: authorize a provider's operators on the tenant's resources for at most 90 days",
            "requestBody": object(&["provider_id", "kinds", "actions", "reason"], authorization),
            "responses": with_errors("201", json!({"description": "the authorization"}))}}));
    paths.insert(
        "/api/v1/tenant-authorizations/{id}/revoke".into(),
        json!({"post": {
        "summary": "Tenant administrator: end an authorization early: {reason}", "parameters": id,
        "requestBody": object(&["reason"], json!({"reason": {"type": "string"}})),
        "responses": with_errors("200", json!({"description": "the authorization"}))}}),
    );
    let mut privilege = json!({"account_id": {"type": "integer", "description": "security administrators only; default the caller"},
        "privilege": {"type": "string", "description": "a PDP action id such as world.update or audit.export"}, "reason": {"type": "string"}});
    if let (Some(map), Some(extra)) = (privilege.as_object_mut(), window.as_object()) {
        map.extend(extra.clone());
    }
    paths.insert("/api/v1/privileges".into(), json!({
        "get": {"summary": "Temporary privileges (7.5.3.5): security administrators and oversight all, others their own; states requested, approved, rejected, revoked, expired", "responses": with_errors("200", json!({"description": "{items}"}))},
        "post": {"summary": "Request a temporary privilege (at most 92 days)", "requestBody": object(&["privilege", "reason"], privilege),
            "responses": with_errors("201", json!({"description": "the privilege"}))}}));
    for (verb, summary) in [
        ("approve", "A security administrator who is neither requester nor holder approves, after a step-up: {note?}"),
        ("reject", "A security administrator who is neither requester nor holder rejects: {note?}"),
        ("revoke", "A security administrator revokes a requested or approved privilege: {note?}"),
    ] {
        paths.insert(format!("/api/v1/privileges/{{id}}/{verb}"), json!({"post": {
            "summary": summary, "parameters": id,
            "requestBody": object(&[], json!({"note": {"type": "string"}})),
            "responses": with_errors("200", json!({"description": "the privilege"}))}}));
    }
}

fn compliance_paths(paths: &mut Map<String, Json_>) {
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}]);
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": description});
    let scope = query("scope", "platform, provider:ID, tenant:ID or system:ID");
    let filters = json!([
        scope,
        query("clause", "a clause id such as 7.2.2.2"),
        query(
            "status",
            "FAIL, ERROR, MANUAL, PASS, ATTESTED, INHERITED, WAIVED or NOT_APPLICABLE"
        ),
        query("open", "true: only FAIL, ERROR and MANUAL"),
        query("limit", "1 to 10,000 (500)"),
        query("offset", "0")
    ]);
    let object = |required: &[&str], properties: Json_| json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": required, "properties": properties}}}});
    paths.insert("/api/v1/compliance/catalog".into(), json!({"get": {
        "summary": "The catalog: the guide's 174 clauses (and its 5 definitions, 42 sections) with the text verbatim, English summaries, assessment kind, responsible parties, annex component, parameters and MLPS cross-references; the 46 GB/T 22239-2019 level-3 cloud extension items",
        "parameters": [query("source", "guide or mlps; both when absent")],
        "responses": with_errors("200", json!({"description": "{version, sections, clauses, mlps}"}))}}));
    paths.insert("/api/v1/compliance/responsibility".into(), json!({"get": {
        "summary": "The annex's responsibility matrix per service model (6.2.1) and the contract overrides the reader may see (6.2.2)",
        "responses": with_errors("200", json!({"description": "{components, annex, overrides}"}))}}));
    paths.insert("/api/v1/compliance/controls".into(), json!({
        "get": {"summary": "The built-in controls and every version of the custom ones, with the clauses each decides", "responses": with_errors("200", json!({"description": "{items}"}))},
        "post": {"summary": "Management unit or security administrator, after a step-up: upload a custom control (its next version) in Rego: {id: custom.NAME, title_zh, title_en, clauses, kinds (world tables it reads as input.KIND), source (package yunjian.custom; violations, a set of {kind, id, message})}. Refused with the line and reason when it does not validate.",
            "requestBody": object(&["id", "title_zh", "title_en", "clauses", "kinds", "source"], json!({"id": {"type": "string"}, "title_zh": {"type": "string"}, "title_en": {"type": "string"},
                "clauses": {"type": "array", "items": {"type": "string"}}, "kinds": {"type": "array", "items": {"type": "string"}}, "source": {"type": "string"}})),
            "responses": with_errors("201", json!({"description": "the stored version"}))}}));
    paths.insert("/api/v1/compliance/controls/{id}/retire".into(), json!({"post": {
        "summary": "Retire every version of a custom control (kept, no longer run)", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": with_errors("200", json!({"description": "{id, retired_versions}"}))}}));
    paths.insert("/api/v1/compliance/parameters".into(), json!({"get": {
        "summary": "Parameters with the guide's floors and the deployment's values; a value looser than its floor makes every control that uses it FAIL",
        "responses": with_errors("200", json!({"description": "{items}"}))}}));
    paths.insert("/api/v1/compliance/parameters/{key}".into(), json!({"post": {
        "summary": "Management unit or security administrator, after a step-up: set a parameter {value}",
        "parameters": [{"name": "key", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": object(&["value"], json!({"value": {"type": "number"}})),
        "responses": with_errors("200", json!({"description": "{key, value, set_at}"}))}}));
    paths.insert("/api/v1/compliance/runs".into(), json!({
        "get": {"summary": "Runs, newest first (scheduled daily and on demand)", "responses": with_errors("200", json!({"description": "{items}"}))},
        "post": {"summary": "Management unit, system or security administrator: run every control now and store the results", "responses": with_errors("201", json!({"description": "the run with its summary"}))}}));
    paths.insert("/api/v1/compliance/runs/{id}".into(), json!({"get": {"summary": "One run", "parameters": id, "responses": with_errors("200", json!({"description": "the run"}))}}));
    let mut result_parameters = id.as_array().cloned().unwrap_or_default();
    result_parameters.extend(filters.as_array().cloned().unwrap_or_default());
    paths.insert("/api/v1/compliance/runs/{id}/results".into(), json!({"get": {
        "summary": "A run's results in the reader's scope (a tenant its own and its systems', a provider its own): status, responsible and acting party, message, and the evidence that decided it",
        "parameters": result_parameters, "responses": with_errors("200", json!({"description": "{run, items}"}))}}));
    paths.insert(
        "/api/v1/compliance/results".into(),
        json!({"get": {
        "summary": "The newest run's results, as /runs/{id}/results", "parameters": filters,
        "responses": with_errors("200", json!({"description": "{run, items}"}))}}),
    );
    paths.insert("/api/v1/compliance/runs/{id}/diff".into(), json!({"get": {
        "summary": "Results whose status differs from an earlier run", "parameters": [id[0].clone(), {"name": "from", "in": "query", "required": true, "schema": {"type": "integer"}}],
        "responses": with_errors("200", json!({"description": "{from, to, items: [{scope, clause, before, after}]}"}))}}));
    paths.insert("/api/v1/compliance/trend".into(), json!({"get": {
        "summary": "Status counts of one scope across the newest runs", "parameters": [query("scope", "required"), query("runs", "1 to 100 (20)")],
        "responses": with_errors("200", json!({"description": "{scope, items: [{run_id, started_at, counts}]}"}))}}));
    paths.insert("/api/v1/compliance/evidence".into(), json!({
        "get": {"summary": "Evidence the reader may see", "parameters": [query("clause", "only this clause")], "responses": with_errors("200", json!({"description": "{items}"}))},
        "post": {"summary": "Attach evidence: the body is the file (at most 8 MiB, kept with its SM3 digest); it attests the clause for the scope once a second person approves it",
            "parameters": [query("clause", "required"), query("scope", "required"), query("file_name", "required"),
                query("observed_on", "required, YYYY-MM-DD"), query("valid_until", "required, RFC 3339 or a date, at most three years"), query("note", "optional")],
            "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            "responses": with_errors("201", json!({"description": "the evidence"}))}}));
    paths.insert("/api/v1/compliance/evidence/{id}/file".into(), json!({"get": {
        "summary": "The evidence file (X-Yunjian-Sm3 carries its digest)", "parameters": id, "responses": with_errors("200", json!({"description": "the file"}))}}));
    for decision in ["approve", "reject"] {
        paths.insert(format!("/api/v1/compliance/evidence/{{id}}/{decision}"), json!({"post": {
            "summary": format!("Management unit or security administrator other than the submitter, after a step-up: {decision} {{note?}}"),
            "parameters": id, "requestBody": object(&[], json!({"note": {"type": "string"}})),
            "responses": with_errors("200", json!({"description": "the evidence"}))}}));
    }
    paths.insert("/api/v1/compliance/waivers".into(), json!({
        "get": {"summary": "Waivers the reader may see (states requested, approved, rejected, revoked, expired)", "responses": with_errors("200", json!({"description": "{items}"}))},
        "post": {"summary": "Ask the management unit to accept an open result: {clause, scope, justification, expires_at | days ≤ 366}",
            "requestBody": object(&["clause", "scope", "justification"], json!({"clause": {"type": "string"}, "scope": {"type": "string"}, "justification": {"type": "string"}, "expires_at": {"type": "string"}, "days": {"type": "integer"}})),
            "responses": with_errors("201", json!({"description": "the waiver"}))}}));
    for decision in ["approve", "reject", "revoke"] {
        paths.insert(format!("/api/v1/compliance/waivers/{{id}}/{decision}"), json!({"post": {
            "summary": format!("The management unit, not the requester, after a step-up: {decision} {{note?}}. An expired waiver fails again."),
            "parameters": id, "requestBody": object(&[], json!({"note": {"type": "string"}})),
            "responses": with_errors("200", json!({"description": "the waiver"}))}}));
    }
    paths.insert("/api/v1/compliance/overrides".into(), json!({
        "get": {"summary": "Contract overrides of the annex's division (6.2.2)", "responses": with_errors("200", json!({"description": "{items}"}))},
        "post": {"summary": "The management unit, after a step-up: {tenant_id, provider_id?, component, parties (provider | tenant | provider+tenant), contract_ref, reason}",
            "requestBody": object(&["tenant_id", "component", "parties", "contract_ref", "reason"], json!({"tenant_id": {"type": "integer"}, "provider_id": {"type": "integer"}, "component": {"type": "string"}, "parties": {"type": "string"}, "contract_ref": {"type": "string"}, "reason": {"type": "string"}})),
            "responses": with_errors("201", json!({"description": "the override"}))}}));
    let report_parameters = json!([{"name": "kind", "in": "path", "required": true, "schema": {"type": "string", "enum": ["compliance", "provider_periodic", "scorecard"]}},
        query("scope", "compliance: platform, provider:ID or tenant:ID; provider_periodic: provider:ID"),
        query("run", "a run id; the newest when absent"), query("format", "json, csv, xlsx or pdf (json)")]);
    paths.insert("/api/v1/compliance/reports/{kind}".into(), json!({"get": {
        "summary": "A report: compliance of a scope, a provider's periodic report of its consenting tenants (7.1.5, 8.3.2), or the provider scorecard (8.2.1); PDF in Chinese with the font embedded",
        "parameters": report_parameters.clone(), "responses": with_errors("200", json!({"description": "the file"}))}}));
    paths.insert("/api/v1/compliance/evidence-package/{kind}".into(), json!({"get": {
        "summary": "The report in every format, the approved evidence and the raw results in a tar with a manifest of SM3 digests signed with SM2; check it offline with `yunjian evidence verify`",
        "parameters": report_parameters, "responses": with_errors("200", json!({"description": "application/x-tar"}))}}));
}

/// The standard provider API (docs/provider-api.md) and the provider interface's reads
/// and configuration.
fn provider_paths(paths: &mut Map<String, Json_>) {
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}]);
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": description});
    let object = |required: &[&str], properties: Json_| json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": required, "properties": properties}}}});
    let signed = "Signed with the provider operator's API key (YJ1-HMAC-SM3, docs/api-signing.md); the provider is the key's, never one named in the request.";
    paths.insert("/api/v1/provider/snapshots".into(), json!({"post": {
        "summary": format!("Open an inventory snapshot {{request_id, mode: full | incremental}}; the same request id answers the same snapshot (retries are safe). {signed}"),
        "requestBody": object(&["request_id"], json!({"request_id": {"type": "string", "maxLength": 128}, "mode": {"type": "string", "enum": ["full", "incremental"]}})),
        "responses": with_errors("201", json!({"description": "the snapshot with the chunks staged so far"}))}}));
    paths.insert("/api/v1/provider/snapshots/{id}".into(), json!({"get": {
        "summary": "A snapshot and its staged chunks (what a resumed push still has to send)", "parameters": id,
        "responses": with_errors("200", json!({"description": "the snapshot"}))}}));
    paths.insert("/api/v1/provider/snapshots/{id}/chunks/{seq}".into(), json!({"put": {
        "summary": "Stage chunk seq (1 to 1,000) of at most 10,000 objects and 16 MiB: {objects: [{kind, id, project?, deleted?, fields}]}. Every object is checked; a bad one refuses the chunk with each problem's index, field and reason (422 batch_refused). The same chunk again is harmless; other content under its number is a conflict.",
        "parameters": [id[0].clone(), {"name": "seq", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
        "requestBody": object(&["objects"], json!({"objects": {"type": "array", "maxItems": 10000, "items": {"type": "object", "required": ["kind", "id"], "properties": {
            "kind": {"type": "string", "enum": ["datacenter", "host", "image", "vpc", "subnet", "security_group", "security_group_rule", "vm", "volume", "snapshot", "backup", "paas_instance"]},
            "id": {"type": "string", "maxLength": 128}, "project": {"type": "string"}, "deleted": {"type": "boolean"}, "fields": {"type": "object"}}}}})),
        "responses": with_errors("200", json!({"description": "{seq, objects, sm3}"}))}}));
    paths.insert("/api/v1/provider/snapshots/{id}/commit".into(), json!({"post": {
        "summary": "Apply the staged chunks in one transaction, all or nothing: references resolved within the provider's own objects, ownership from the project mapping, a field-level change record for each difference, one audit record. {chunks: n} makes a missing chunk a conflict. A refused plan answers 422 batch_refused with every problem; a retried commit answers the first outcome.",
        "parameters": id, "requestBody": object(&[], json!({"chunks": {"type": "integer", "minimum": 1}})),
        "responses": with_errors("200", json!({"description": "the snapshot: created, changed, deleted, unchanged, unassigned, image_alerts"}))}}));
    paths.insert("/api/v1/provider/usage".into(), json!({
        "get": {"summary": "Usage samples in the reader's scope", "parameters": [query("metric", "vcpus, memory_gib, storage_gib, bandwidth_mbps, cpu_utilization, …"), query("since", "RFC 3339 or a date (31 days ago)"), query("until", "RFC 3339 or a date (now)")],
            "responses": with_errors("200", json!({"description": "{samples}"}))},
        "post": {"summary": format!("Push utilization samples, all or nothing: {{samples: [{{metric, value, at?, project?, zone?}}]}}. {signed}"),
            "requestBody": object(&["samples"], json!({"samples": {"type": "array", "maxItems": 10000, "items": {"type": "object"}}})),
            "responses": with_errors("200", json!({"description": "{stored}"}))}}));
    paths.insert("/api/v1/provider/usage-report".into(), json!({"get": {
        "summary": "The monthly usage report (7.1.5, 8.3.2): allocation and utilization per provider and tenant, day by day",
        "parameters": [query("scope", "platform, provider:ID or tenant:ID"), query("month", "YYYY-MM, Beijing time (this month)"), query("format", "json, csv, xlsx or pdf (json)")],
        "responses": with_errors("200", json!({"description": "the file"}))}}));
    paths.insert("/api/v1/provider/syncs".into(), json!({"get": {
        "summary": "Snapshots, newest first (oversight all, a provider its own)", "parameters": [query("limit", "1 to 1,000 (100)")],
        "responses": with_errors("200", json!({"description": "{syncs}"}))}}));
    paths.insert("/api/v1/provider/changes".into(), json!({"get": {
        "summary": "Resource change history (7.5.10.6), newest first, in the reader's scope (a tenant its own resources')",
        "parameters": [query("provider_id", ""), query("kind", "vm, vpc, …"), query("object_id", "one resource's history"), query("sync_id", ""), query("before", "keyset paging: changes older than this id"), query("limit", "1 to 1,000 (100)")],
        "responses": with_errors("200", json!({"description": "{changes, next_before}"}))}}));
    paths.insert("/api/v1/provider/health".into(), json!({"get": {
        "summary": "Each provider's push and pull connectors: last success, freshness, latency, failures, last error, next attempt (5.1.5)",
        "responses": with_errors("200", json!({"description": "{connectors}"}))}}));
    paths.insert("/api/v1/provider/unassigned".into(), json!({"get": {
        "summary": "Objects set aside because their project is not mapped to a tenant (never dropped)",
        "responses": with_errors("200", json!({"description": "{objects}"}))}}));
    paths.insert("/api/v1/provider/projects".into(), json!({
        "get": {"summary": "Providers' projects mapped to tenants", "responses": with_errors("200", json!({"description": "{projects}"}))},
        "post": {"summary": "The management unit or the system administrator, after a step-up: map {provider_id, project, tenant_id} (tenant_id null removes the mapping)",
            "requestBody": object(&["provider_id", "project"], json!({"provider_id": {"type": "integer"}, "project": {"type": "string"}, "tenant_id": {"type": ["integer", "null"]}})),
            "responses": with_errors("200", json!({"description": "{provider_id, project, tenant_id, previous_tenant_id}"}))}}));
    paths.insert("/api/v1/provider/images".into(), json!({
        "get": {"summary": "The image registry (7.5.7): approved images with their SM3 and the provider's own hash", "responses": with_errors("200", json!({"description": "{images}"}))},
        "post": {"summary": "The management unit, system or security administrator, after a step-up: approve {name, provider_id?, sm3_digest?, provider_digest?, os?, note?}",
            "requestBody": object(&["name"], json!({"name": {"type": "string"}, "provider_id": {"type": "integer"}, "sm3_digest": {"type": "string"}, "provider_digest": {"type": "string"}, "os": {"type": "string"}, "note": {"type": "string"}})),
            "responses": with_errors("201", json!({"description": "the entry"}))}}));
    paths.insert("/api/v1/provider/images/{id}/revoke".into(), json!({"post": {
        "summary": "Revoke an approval (kept, no longer approves)", "parameters": id, "responses": with_errors("204", json!({"description": "revoked"}))}}));
    paths.insert("/api/v1/provider/connectors".into(), json!({
        "get": {"summary": "Pull connectors (secrets never answered)", "responses": with_errors("200", json!({"description": "{connectors}"}))},
        "post": {"summary": "The management unit or the system administrator, after a step-up: {provider_id, kind: openstack | prometheus, endpoint, settings, secret, interval_s 60..86400}",
            "requestBody": object(&["provider_id", "kind", "endpoint"], json!({"provider_id": {"type": "integer"}, "kind": {"type": "string", "enum": ["openstack", "prometheus"]}, "endpoint": {"type": "string"}, "settings": {"type": "object"}, "secret": {"type": "string"}, "interval_s": {"type": "integer"}})),
            "responses": with_errors("201", json!({"description": "{id}"}))}}));
    paths.insert("/api/v1/provider/connectors/{id}/run".into(), json!({"post": {
        "summary": "Pull now; answers {ok, summary | error}", "parameters": id, "responses": with_errors("200", json!({"description": "the outcome"}))}}));
    for verb in ["enable", "disable"] {
        paths.insert(format!("/api/v1/provider/connectors/{{id}}/{verb}"), json!({"post": {
            "summary": format!("{verb} a connector"), "parameters": id, "responses": with_errors("204", json!({"description": verb}))}}));
    }
}

fn network_paths(paths: &mut Map<String, Json_>) {
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": description});
    let object = |required: &[&str], properties: Json_| json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": required, "properties": properties}}}});
    let ok = |what: &str| with_errors("200", json!({"description": what}));
    let place = json!({"oneOf": [{"type": "string", "description": "vm:ID, address:IP (or a bare address), subnet:ID, vpc:ID, zone:ID"}, {"type": "object", "description": "{vm: ID} | {address: IP} | {subnet: ID} | {vpc: ID} | {zone: ID}"}]});
    paths.insert("/api/v1/network/query".into(), json!({"post": {
        "summary": "Can A reach B on this protocol and port: every pair of interfaces of the two ends (at most 200 each) decided hop by hop (source groups, source ACL, peering and routes, each tenant's firewall, destination ACL, destination groups) with the rule that decided each hop; ends outside the caller's scope are not found",
        "requestBody": object(&["from", "to", "protocol"], json!({"from": place, "to": place, "protocol": {"type": "string", "enum": ["tcp", "udp", "icmp"]}, "port": {"type": "integer", "minimum": 0, "maximum": 65535}})),
        "responses": ok("{allowed, pairs_asked, pairs_allowed, truncated, answers: [{source_vm, source, destination_vm, destination, allowed, hops: [{stage, allowed, decided_by, rule}]}], micros}")}}));
    paths.insert("/api/v1/network/findings".into(), json!({"get": {
        "summary": "Every violation of the isolation invariants over all flows (cross-tenant paths, zone separation, management reach, internet-zone VMs on shared hosts, management ports and any-to-any open to all, shadowed and redundant rules, paths beyond the model; in container clusters, pods of two tenants that connect and namespaces no NetworkPolicy segments), each with an example flow, the port ranges it holds for, the reason and the example's hops; a tenant sees those that concern it",
        "parameters": [query("tenant_id", ""), query("vpc_id", ""), query("invariant", &yunjian_network::checks::Invariant::ALL.map(|invariant| invariant.as_str()).join(", ")), query("limit", "1 to 1,000 (200)")],
        "responses": ok("{findings, total, by_invariant, by_tenant, ledger_size, size, load_ms, verify_ms}")}}));
    paths.insert("/api/v1/network/what-if".into(), json!({"post": {
        "summary": "What a proposed change would do to the findings, without making it: a new, changed or deleted security-group rule, VM (addresses, groups), firewall rule, peering, exchange rule, route or management endpoint; asked with the permission the change itself needs",
        "requestBody": object(&["kind"], json!({"kind": {"type": "string"}, "id": {"type": "integer"}, "values": {"type": "object"}, "delete": {"type": "boolean"}})),
        "responses": ok("{appeared, disappeared, rechecked}")}}));
    paths.insert("/api/v1/network/changes".into(), json!({"get": {
        "summary": "The policy-change log (7.2.4.7): each audited change to a network object with the findings it made appear and disappear; a tenant's own, or everyone's for the platform's roles",
        "parameters": [query("limit", "1 to 1,000 (100)")],
        "responses": ok("{changes: [{audit_seq, at, kind, object_id, action, tenant_id, appeared, disappeared, detail}]}")}}));
    paths.insert("/api/v1/network/vpcs/{id}/segmentation".into(), json!({"get": {
        "summary": "Which security groups of a VPC can talk to which, on which ports",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
        "responses": ok("{vpc_id, groups: [[id, name, members]], matrix: [[from, to, ports]]}")}}));
}

fn event_paths(paths: &mut Map<String, Json_>) {
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}]);
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": description});
    let object = |required: &[&str], properties: Json_| json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": required, "properties": properties}}}});
    let ok = |what: &str| with_errors("200", json!({"description": what}));
    paths.insert("/api/v1/events/batches".into(), json!({"post": {
        "summary": "A provider's devices' lines, signed with its operator's API key (YJ1-HMAC-SM3): {format: syslog | eve, lines: [...]} (at most 10,000 lines, 16 MiB). Parsed, normalized, resolved to tenants, evaluated by the rules and stored before the answer; one audit record per batch.",
        "requestBody": object(&["lines"], json!({"format": {"type": "string", "enum": ["syslog", "eve"]}, "lines": {"type": "array", "maxItems": 10000}})),
        "responses": with_errors("202", json!({"description": "{events, decoded, alerts, incidents_opened, unknown_sender_events}"}))}}));
    paths.insert("/api/v1/events".into(), json!({"get": {
        "summary": "Normalized events in the reader's scope (a tenant those on either side of which it is), newest first",
        "parameters": [query("since", "RFC 3339"), query("until", "RFC 3339"), query("class", "OCSF class name"), query("detector", "decoder id or IDS category"), query("address", "either side's address"), query("source_id", ""), query("tenant_id", ""), query("category", "GB/Z 20986-2007 code: NAI or NAI/VAI"), query("q", "words in the message"), query("before", "keyset paging"), query("limit", "1 to 1,000 (100)")],
        "responses": ok("{events, next_before}")}}));
    paths.insert("/api/v1/events/{id}".into(), json!({"get": {"summary": "One event with its raw line", "parameters": id, "responses": ok("the event")}}));
    paths.insert("/api/v1/events/overview".into(), json!({"get": {
        "summary": "Situational awareness: events and alerts over time, events and incidents by category, grade, tenant, provider and zone, top sources and destination countries",
        "parameters": [query("days", "1 to 180 (7)")], "responses": ok("the overview")}}));
    paths.insert("/api/v1/events/counters".into(), json!({"get": {
        "summary": "This instance's intake counters (received, decoded, stored, spooled, replayed, dropped_udp, dropped_queue, truncated, …); oversight only",
        "responses": ok("{stage: count}")}}));
    paths.insert("/api/v1/alerts".into(), json!({"get": {"summary": "Alerts in the reader's scope, newest first", "parameters": [query("before", ""), query("limit", "")], "responses": ok("{alerts, next_before}")}}));
    paths.insert("/api/v1/incidents".into(), json!({"get": {
        "summary": "Incidents in the reader's scope, most recently updated first",
        "parameters": [query("phase", "reported, assessing, responding, lessons, closed"), query("open", "true: any phase but closed"), query("grade", "I, II, III, IV"), query("tenant_id", ""), query("limit", "")],
        "responses": ok("{incidents}")}}));
    paths.insert("/api/v1/incidents/{id}".into(), json!({"get": {"summary": "An incident with its timeline and alerts", "parameters": id, "responses": ok("the incident")}}));
    paths.insert("/api/v1/incidents/{id}/phase".into(), json!({"post": {
        "summary": "Move to the next GB/T 20985.1 phase with a note of what was assessed, decided or done (the responsible tenant or provider, the security administrator, the management unit)",
        "parameters": id, "requestBody": object(&["phase", "note"], json!({"phase": {"type": "string"}, "note": {"type": "string"}})), "responses": ok("the incident")}}));
    paths.insert("/api/v1/incidents/{id}/notes".into(), json!({"post": {
        "summary": "A note or a piece of evidence on the timeline", "parameters": id,
        "requestBody": object(&["text"], json!({"kind": {"type": "string", "enum": ["note", "evidence"]}, "text": {"type": "string"}})),
        "responses": with_errors("204", json!({"description": "added"}))}}));
    paths.insert("/api/v1/incidents/{id}/assign".into(), json!({"post": {
        "summary": "Hand to the responsible party (security administrator, management unit)", "parameters": id,
        "requestBody": object(&["assignee"], json!({"assignee": {"type": "string", "enum": ["tenant", "provider", "unit"]}})), "responses": ok("the incident")}}));
    paths.insert("/api/v1/incidents/{id}/grade".into(), json!({"post": {
        "summary": "Re-grade from the three factors of GB/T 20986-2023 §5 with a reason (security administrator, management unit)", "parameters": id,
        "requestBody": object(&["importance", "loss", "impact", "reason"], json!({
            "importance": {"type": "string", "enum": ["ordinary", "important", "especially_important"]},
            "loss": {"type": "string", "enum": ["small", "relatively_large", "serious", "especially_serious"]},
            "impact": {"type": "string", "enum": ["ordinary", "relatively_major", "major", "especially_major"]},
            "reason": {"type": "string"}})),
        "responses": ok("the incident")}}));
    paths.insert("/api/v1/incidents/{id}/report".into(), json!({"get": {
        "summary": "The handling report (8.3.9): JSON or a Chinese PDF (also csv, xlsx); its SM3 in x-yunjian-sm3", "parameters": [id[0].clone(), query("format", "json, csv, xlsx or pdf")],
        "responses": ok("the file")}}));
    paths.insert("/api/v1/detection-rules".into(), json!({
        "get": {"summary": "The shipped Sigma rules and the administrators' (newest versions)", "responses": ok("{rules}")},
        "post": {"summary": "The security administrator or the management unit, after a step-up: a new version of a Sigma rule (its id is the key), checked against every other rule; must name an incident_class of the classification table",
            "requestBody": object(&["yaml"], json!({"yaml": {"type": "string"}, "enabled": {"type": "boolean"}})),
            "responses": with_errors("201", json!({"description": "the stored version"}))}}));
    paths.insert("/api/v1/detection-rules/test".into(), json!({"post": {
        "summary": "Run a rule text (with the shipped rules) over sample lines with an explicit clock; stores nothing",
        "requestBody": object(&["samples"], json!({"yaml": {"type": "string"}, "samples": {"type": "array", "items": {"type": "object", "required": ["format", "line"], "properties": {"at_seconds": {"type": "integer"}, "format": {"type": "string", "enum": ["syslog", "eve"]}, "line": {"type": "string"}}}}})),
        "responses": ok("{hits: [{sample, rule_id, title, severity, gbz2007, gbt2023}]}")}}));
    paths.insert("/api/v1/detection-rules/{key}/versions".into(), json!({"get": {
        "summary": "Every version of an administrator's rule", "parameters": [{"name": "key", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": ok("{versions}")}}));
    paths.insert("/api/v1/event-sources".into(), json!({
        "get": {"summary": "Registered senders with their last sighting, clock skew and event count", "responses": ok("{sources}")},
        "post": {"summary": "Register a sender (security administrator, management unit; step-up)",
            "requestBody": object(&["name", "address", "kind"], json!({"name": {"type": "string"}, "address": {"type": "string"}, "kind": {"type": "string", "enum": ["firewall", "ips", "ids", "waf", "antivirus", "bastion", "host", "cloud_platform"]}, "provider_id": {"type": "integer"}, "zone_id": {"type": "integer"}, "tenant_id": {"type": "integer"}})),
            "responses": with_errors("201", json!({"description": "the source"}))}}));
    paths.insert("/api/v1/event-sources/unknown".into(), json!({"get": {"summary": "Senders not registered: counted and flagged, their lines kept", "responses": ok("{senders}")}}));
    for verb in ["enable", "disable"] {
        paths.insert(format!("/api/v1/event-sources/{{id}}/{verb}"), json!({"post": {
            "summary": format!("{verb} a source"), "parameters": id, "responses": with_errors("204", json!({"description": verb}))}}));
    }
    paths.insert("/api/v1/event-settings".into(), json!({"get": {"summary": "Key tenants (7.1.6) and webhooks (secrets never answered)", "responses": ok("{settings}")}}));
    paths.insert("/api/v1/event-settings/{tenant_id}".into(), json!({"put": {
        "summary": "Key-tenant flag (management unit, security administrator) and webhook (also the tenant itself); step-up",
        "parameters": [{"name": "tenant_id", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "requestBody": object(&[], json!({"key_tenant": {"type": "boolean"}, "webhook_url": {"type": "string"}, "webhook_secret": {"type": "string", "minLength": 16}})),
        "responses": with_errors("204", json!({"description": "saved"}))}}));
    paths.insert("/api/v1/notifications".into(), json!({"get": {"summary": "The reader's notifications (a tenant its own, oversight the management unit's)", "parameters": [query("limit", "")], "responses": ok("{notifications}")}}));
}
