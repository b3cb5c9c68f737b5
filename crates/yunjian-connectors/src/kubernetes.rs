//! Kubernetes API answers (5.4.3): namespaces (`/api/v1/namespaces`), pods with their
//! images and the digests the kubelet resolved (`/api/v1/pods`), and NetworkPolicies
//! (`/apis/networking.k8s.io/v1/networkpolicies`). Each list is a `…List` object with
//! `items`; an unreadable item is that item's problem. Pure.

use serde_json::{json, Value as Json};

use crate::{Observed, ObservedKind, ObservedObject, Problem};

fn each(
    source: &'static str,
    body: &[u8],
    read: impl Fn(&Json) -> Result<ObservedObject, String>,
) -> Observed {
    let mut observed = Observed::default();
    let problem = |index: Option<usize>, external_id: Option<String>, reason: String| Problem {
        source,
        index,
        external_id,
        reason,
    };
    let body: Json = match serde_json::from_slice(body) {
        Ok(body) => body,
        Err(error) => {
            observed
                .problems
                .push(problem(None, None, format!("not valid JSON: {error}")));
            return observed;
        }
    };
    let Some(items) = body.get("items").and_then(Json::as_array) else {
        observed.problems.push(problem(
            None,
            None,
            "the response has no 'items' list".into(),
        ));
        return observed;
    };
    for (index, item) in items.iter().enumerate() {
        match read(item) {
            Ok(object) => observed.objects.push(object),
            Err(reason) => observed.problems.push(problem(
                Some(index),
                item["metadata"]["uid"].as_str().map(str::to_owned),
                reason,
            )),
        }
    }
    observed
}

/// `metadata.uid`, `metadata.name` and `metadata.namespace` of an item.
fn metadata(item: &Json, namespaced: bool) -> Result<(String, String, Option<String>), String> {
    let meta = item.get("metadata").ok_or("no 'metadata'")?;
    let uid = meta["uid"]
        .as_str()
        .filter(|uid| !uid.is_empty())
        .ok_or("no 'metadata.uid'")?;
    let name = meta["name"]
        .as_str()
        .filter(|name| !name.is_empty())
        .ok_or("no 'metadata.name'")?;
    let namespace = meta["namespace"].as_str().map(str::to_owned);
    if namespaced && namespace.is_none() {
        return Err("no 'metadata.namespace'".into());
    }
    Ok((uid.to_owned(), name.to_owned(), namespace))
}

fn observed(
    kind: ObservedKind,
    external_id: String,
    fields: impl IntoIterator<Item = (&'static str, Json)>,
) -> ObservedObject {
    ObservedObject {
        kind,
        external_id,
        project: None,
        fields: fields
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .collect(),
        references: Default::default(),
    }
}

/// `GET /api/v1/namespaces`: names and labels (a label may name the project).
pub fn parse_namespaces(body: &[u8]) -> Observed {
    each("kubernetes namespaces", body, |item| {
        let (uid, name, _) = metadata(item, false)?;
        Ok(observed(
            ObservedKind::Namespace,
            uid,
            [
                ("name", json!(name)),
                ("labels", item["metadata"]["labels"].clone()),
            ],
        ))
    })
}

/// The digest in a container status's `imageID` (`docker-pullable://repo@sha256:…`,
/// `repo@sha256:…` or `sha256:…`).
pub fn image_digest(image_id: &str) -> Option<String> {
    let digest = image_id
        .rsplit_once('@')
        .map_or(image_id, |(_, digest)| digest);
    let digest = digest.rsplit_once("://").map_or(digest, |(_, rest)| rest);
    let (algorithm, hex) = digest.split_once(':')?;
    (matches!(algorithm, "sha256" | "sha512" | "sm3")
        && !hex.is_empty()
        && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
    .then(|| format!("{algorithm}:{}", hex.to_ascii_lowercase()))
}

/// Labels as `key=value` texts (what the world stores; NetworkPolicy selectors match
/// them), sorted.
pub fn label_texts(labels: &Json) -> Vec<Json> {
    let mut texts: Vec<String> = labels
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or_default()))
        .collect();
    texts.sort();
    texts.into_iter().map(Json::String).collect()
}

/// `GET /api/v1/pods`: each pod's images (spec) and the digests the kubelet pulled
/// (status), its node and phase, labels and addresses (`status.podIPs`, else
/// `status.podIP`; host-network pods have the node's).
pub fn parse_pods(body: &[u8]) -> Observed {
    each("kubernetes pods", body, |item| {
        let (uid, name, namespace) = metadata(item, true)?;
        let containers = item["spec"]["containers"]
            .as_array()
            .ok_or("no 'spec.containers'")?;
        let mut images: Vec<Json> = Vec::new();
        for container in containers.iter().chain(
            item["spec"]["initContainers"]
                .as_array()
                .into_iter()
                .flatten(),
        ) {
            let image = container["image"]
                .as_str()
                .ok_or("a container without 'image'")?;
            images.push(json!(image));
        }
        let digests: Vec<Json> = item["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                item["status"]["initContainerStatuses"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            )
            .filter_map(|status| status["imageID"].as_str().and_then(image_digest))
            .map(|digest| json!(digest))
            .collect();
        Ok(observed(
            ObservedKind::Pod,
            uid,
            [
                ("name", json!(name)),
                ("namespace", json!(namespace)),
                ("images", json!(images)),
                ("image_digests", json!(digests)),
                ("node", item["spec"]["nodeName"].clone()),
                ("status", item["status"]["phase"].clone()),
                ("labels", json!(label_texts(&item["metadata"]["labels"]))),
                ("ip_addresses", json!(pod_addresses(item))),
            ],
        ))
    })
}

fn pod_addresses(item: &Json) -> Vec<Json> {
    let mut addresses: Vec<Json> = item["status"]["podIPs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["ip"].as_str())
        .map(|ip| json!(ip))
        .collect();
    if addresses.is_empty() {
        addresses.extend(item["status"]["podIP"].as_str().map(|ip| json!(ip)));
    }
    addresses
}

/// `GET /apis/networking.k8s.io/v1/networkpolicies`: each policy's spec, kept whole.
pub fn parse_network_policies(body: &[u8]) -> Observed {
    each("kubernetes network policies", body, |item| {
        let (uid, name, namespace) = metadata(item, true)?;
        let spec = item
            .get("spec")
            .filter(|spec| spec.is_object())
            .ok_or("no 'spec' object")?;
        Ok(observed(
            ObservedKind::NetworkPolicy,
            uid,
            [
                ("name", json!(name)),
                ("namespace", json!(namespace)),
                ("spec", json!(spec.to_string())),
            ],
        ))
    })
}

/// The `continue` token of a list's answer, when there are more pages.
pub fn continue_token(body: &Json) -> Option<String> {
    body["metadata"]["continue"]
        .as_str()
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}
