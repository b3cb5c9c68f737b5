//! Container micro-segmentation (guide 5.4.3, "加入微隔离手段，实现云环境与容器环境统一的东西向
//! 流量隔离"): Kubernetes NetworkPolicies evaluated over every pair of pods of a cluster,
//! with the API's semantics (networking.k8s.io/v1):
//!
//! - a policy applies to the pods of its namespace its `podSelector` selects; it
//!   isolates them for ingress (always, unless `policyTypes` says otherwise) and for
//!   egress (when `policyTypes` names it, or it has `egress` rules);
//! - a pod no policy isolates in a direction allows everything in it; an isolated pod
//!   allows what any of its policies' rules allows (rules add up, order is nothing);
//! - a rule's peers: absent or empty is everyone; `podSelector` alone is pods of the
//!   policy's namespace; `namespaceSelector` (with or without `podSelector`) pods of the
//!   namespaces it selects (by their labels, which always hold
//!   `kubernetes.io/metadata.name`); `ipBlock` addresses in its CIDR but not in its
//!   exceptions; a rule's ports: absent or empty is every port, a port without a number
//!   every port of its protocol (TCP when not given), `endPort` a range;
//! - a connection needs the source's egress and the destination's ingress.
//!
//! What the model cannot hold is approximated toward allowing (so a violation is never
//! hidden) and reported as not verifiable: named ports (container port names are not in
//! the inventory) allow every port of their protocol; SCTP is not modelled. An `ipBlock`
//! is taken to match pods' addresses too (Kubernetes leaves that to the plugin). A spec
//! that is not a NetworkPolicy spec is reported and isolates nothing.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use serde::Deserialize;

use crate::model::{ContainerPolicy, Pod, Ports, Protocol};
use crate::ports::PortSet;

/// The namespace label Kubernetes sets on every namespace (1.21 and later).
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SelectorSpec {
    // YAML's `matchLabels:` with nothing after it is null: the same as empty.
    #[serde(default)]
    match_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    match_expressions: Option<Vec<ExpressionSpec>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExpressionSpec {
    key: String,
    operator: String,
    #[serde(default)]
    values: Option<Vec<String>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IpBlockSpec {
    cidr: String,
    #[serde(default)]
    except: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PeerSpec {
    pod_selector: Option<SelectorSpec>,
    namespace_selector: Option<SelectorSpec>,
    ip_block: Option<IpBlockSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum PortValue {
    Number(i64),
    Name(String),
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PortSpec {
    protocol: Option<String>,
    port: Option<PortValue>,
    end_port: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleSpec {
    #[serde(default, alias = "to")]
    from: Option<Vec<PeerSpec>>,
    #[serde(default)]
    ports: Option<Vec<PortSpec>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicySpec {
    #[serde(default)]
    pod_selector: Option<SelectorSpec>,
    policy_types: Option<Vec<String>>,
    ingress: Option<Vec<RuleSpec>>,
    egress: Option<Vec<RuleSpec>>,
}

/// A label selector: every label and expression must hold; empty selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    labels: Vec<(String, String)>,
    expressions: Vec<(String, Operator, Vec<String>)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Selector {
    fn compile(spec: &SelectorSpec) -> Result<Selector, String> {
        let mut expressions = Vec::new();
        for expression in spec.match_expressions.iter().flatten() {
            let operator = match expression.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(format!(
                        "selector operator '{other}' is not a label operator"
                    ))
                }
            };
            expressions.push((
                expression.key.clone(),
                operator,
                expression.values.clone().unwrap_or_default(),
            ));
        }
        Ok(Selector {
            labels: spec
                .match_labels
                .iter()
                .flatten()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            expressions,
        })
    }

    /// The label keys it looks at.
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.labels
            .iter()
            .map(|(key, _)| key.as_str())
            .chain(self.expressions.iter().map(|(key, _, _)| key.as_str()))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(|key| labels.get(key).map(String::as_str))
    }

    /// Whether it selects a pod's namespace: the namespace's labels, which always hold
    /// its name label (read without copying them: this runs for every pod pair).
    fn matches_namespace(&self, pod: &Pod) -> bool {
        self.matches_with(|key| match pod.namespace_labels.get(key) {
            Some(value) => Some(value.as_str()),
            None if key == NAMESPACE_NAME_LABEL => Some(pod.namespace.as_str()),
            None => None,
        })
    }

    fn matches_with<'l>(&self, label: impl Fn(&str) -> Option<&'l str>) -> bool {
        self.labels
            .iter()
            .all(|(key, value)| label(key) == Some(value.as_str()))
            && self
                .expressions
                .iter()
                .all(|(key, operator, values)| match operator {
                    Operator::In => {
                        label(key).is_some_and(|value| values.iter().any(|v| v == value))
                    }
                    Operator::NotIn => {
                        label(key).is_none_or(|value| !values.iter().any(|v| v == value))
                    }
                    Operator::Exists => label(key).is_some(),
                    Operator::DoesNotExist => label(key).is_none(),
                })
    }
}

/// Whom a rule admits.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Peer {
    /// Pods: of the policy's namespace (`namespaces` none) or of the namespaces selected.
    Pods {
        namespaces: Option<Selector>,
        pods: Selector,
    },
    Block {
        cidr: IpNet,
        except: Vec<IpNet>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    /// `None`: everyone.
    peers: Option<Vec<Peer>>,
    ports: PortSet,
}

/// A NetworkPolicy, compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiled {
    /// The policy as given.
    pub source: ContainerPolicy,
    selector: Selector,
    /// `None`: the policy does not isolate for ingress.
    ingress: Option<Vec<Rule>>,
    egress: Option<Vec<Rule>>,
    /// What the model had to approximate (named ports, SCTP) or could not read.
    pub approximations: Vec<String>,
}

fn ports_of(specs: Option<&Vec<PortSpec>>, approximations: &mut Vec<String>) -> PortSet {
    let all = PortSet::of(Protocol::Any, Ports::ALL);
    let Some(specs) = specs.filter(|specs| !specs.is_empty()) else {
        return all;
    };
    let mut set = PortSet::empty();
    for spec in specs {
        let protocol = match spec.protocol.as_deref().unwrap_or("TCP") {
            "TCP" => Protocol::Tcp,
            "UDP" => Protocol::Udp,
            other => {
                approximations.push(format!("protocol {other} is not modelled"));
                continue;
            }
        };
        let ports = match &spec.port {
            None => Ports::ALL,
            Some(PortValue::Number(port)) => {
                let from = u16::try_from(*port).unwrap_or(u16::MAX);
                let to = spec
                    .end_port
                    .and_then(|end| u16::try_from(end).ok())
                    .unwrap_or(from)
                    .max(from);
                Ports { from, to }
            }
            Some(PortValue::Name(name)) => {
                approximations.push(format!(
                    "named port '{name}' is taken as every {} port (container ports are not in the inventory)",
                    protocol.as_str()
                ));
                Ports::ALL
            }
        };
        set.insert(protocol, ports);
    }
    set
}

fn rules_of(
    specs: Option<&Vec<RuleSpec>>,
    approximations: &mut Vec<String>,
) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for spec in specs.into_iter().flatten() {
        let peers = match spec.from.as_ref().filter(|peers| !peers.is_empty()) {
            None => None,
            Some(peers) => {
                let mut out = Vec::with_capacity(peers.len());
                for peer in peers {
                    out.push(
                        match (&peer.ip_block, &peer.pod_selector, &peer.namespace_selector) {
                            (Some(block), None, None) => {
                                let parse = |text: &str| {
                                    text.parse::<IpNet>()
                                        .map(|net| net.trunc())
                                        .map_err(|_| format!("ipBlock '{text}' is not a CIDR"))
                                };
                                Peer::Block {
                                    cidr: parse(&block.cidr)?,
                                    except: block
                                        .except
                                        .iter()
                                        .flatten()
                                        .map(|text| parse(text))
                                        .collect::<Result<_, _>>()?,
                                }
                            }
                            (None, pods, namespaces) if pods.is_some() || namespaces.is_some() => {
                                Peer::Pods {
                                    namespaces: namespaces
                                        .as_ref()
                                        .map(Selector::compile)
                                        .transpose()?,
                                    pods: pods
                                        .as_ref()
                                        .map(Selector::compile)
                                        .transpose()?
                                        .unwrap_or_default(),
                                }
                            }
                            _ => {
                                return Err(
                                    "a peer is exactly one of ipBlock or pod/namespace selectors"
                                        .into(),
                                )
                            }
                        },
                    );
                }
                Some(out)
            }
        };
        rules.push(Rule {
            peers,
            ports: ports_of(spec.ports.as_ref(), approximations),
        });
    }
    Ok(rules)
}

impl Compiled {
    /// Reads a policy; a spec it cannot read isolates nothing and says why.
    pub fn of(policy: &ContainerPolicy) -> Compiled {
        let mut approximations = Vec::new();
        let read = serde_json::from_str::<PolicySpec>(&policy.spec)
            .map_err(|error| format!("the spec is not a NetworkPolicy spec: {error}"))
            .and_then(|spec| {
                let selector = Selector::compile(&spec.pod_selector.clone().unwrap_or_default())?;
                let types: BTreeSet<&str> = match &spec.policy_types {
                    Some(types) => types.iter().map(String::as_str).collect(),
                    // Egress only when the policy has egress rules (the API's default).
                    None if spec.egress.as_ref().is_some_and(|rules| !rules.is_empty()) => {
                        ["Ingress", "Egress"].into()
                    }
                    None => ["Ingress"].into(),
                };
                let ingress = types
                    .contains("Ingress")
                    .then(|| rules_of(spec.ingress.as_ref(), &mut approximations))
                    .transpose()?;
                let egress = types
                    .contains("Egress")
                    .then(|| rules_of(spec.egress.as_ref(), &mut approximations))
                    .transpose()?;
                Ok((selector, ingress, egress))
            });
        let (selector, ingress, egress) = match read {
            Ok(read) => read,
            Err(problem) => {
                approximations.push(problem);
                // Selects nothing: isolates nothing.
                (
                    Selector {
                        labels: Vec::new(),
                        expressions: vec![(String::new(), Operator::In, Vec::new())],
                    },
                    None,
                    None,
                )
            }
        };
        approximations.sort();
        approximations.dedup();
        Compiled {
            source: policy.clone(),
            selector,
            ingress,
            egress,
            approximations,
        }
    }

    fn applies_to(&self, pod: &Pod) -> bool {
        pod.namespace == self.source.namespace && self.selector.matches(&pod.labels)
    }

    /// Whether it isolates the pods it applies to for ingress.
    pub fn isolates_ingress(&self) -> bool {
        self.ingress.is_some()
    }
}

impl Peer {
    /// Whether the peer admits `other`, for a policy of `namespace`.
    fn admits(&self, namespace: &str, other: &Pod) -> bool {
        match self {
            Peer::Pods { namespaces, pods } => {
                let in_namespace = match namespaces {
                    None => other.namespace == namespace,
                    Some(selector) => selector.matches_namespace(other),
                };
                in_namespace && pods.matches(&other.labels)
            }
            Peer::Block { cidr, except } => other.address.is_some_and(|address| {
                cidr.contains(&address) && !except.iter().any(|net| net.contains(&address))
            }),
        }
    }
}

/// What a direction of one pod allows towards (or from) another, and which policies
/// allowed it (none: the pod is not isolated in that direction).
fn allowed<'p>(
    applying: impl IntoIterator<Item = &'p Compiled>,
    other: &Pod,
    ingress: bool,
) -> (PortSet, Vec<i64>) {
    let mut isolated = false;
    let mut set = PortSet::empty();
    let mut deciding = Vec::new();
    for policy in applying {
        let rules = if ingress {
            &policy.ingress
        } else {
            &policy.egress
        };
        let Some(rules) = rules else { continue };
        isolated = true;
        let mut used = false;
        for rule in rules {
            let admitted = rule.peers.as_ref().is_none_or(|peers| {
                peers
                    .iter()
                    .any(|peer| peer.admits(&policy.source.namespace, other))
            });
            if admitted {
                for (protocol, ports) in rule.ports.intervals() {
                    set.insert(protocol, ports);
                }
                used = true;
            }
        }
        if used {
            deciding.push(policy.source.id);
        }
    }
    if isolated {
        (set, deciding)
    } else {
        (PortSet::of(Protocol::Any, Ports::ALL), Vec::new())
    }
}

/// What `source` may open to `destination`: its egress and the destination's ingress,
/// with the policies that allowed each.
pub fn connection(policies: &[Compiled], source: &Pod, destination: &Pod) -> (PortSet, Vec<i64>) {
    let source_applying = applying(policies, source);
    let destination_applying = applying(policies, destination);
    connection_between(
        policies,
        (source, &source_applying),
        (destination, &destination_applying),
    )
}

/// The indices of the policies that apply to a pod (computed once per pod class).
pub fn applying(policies: &[Compiled], pod: &Pod) -> Vec<usize> {
    policies
        .iter()
        .enumerate()
        .filter(|(_, policy)| policy.applies_to(pod))
        .map(|(index, _)| index)
        .collect()
}

/// The policies at `indices`, without collecting them (this runs for every pod pair).
fn pick<'p>(policies: &'p [Compiled], indices: &'p [usize]) -> impl Iterator<Item = &'p Compiled> {
    indices.iter().filter_map(|index| policies.get(*index))
}

/// [`connection`] with each end's applying policies already known.
pub fn connection_between(
    policies: &[Compiled],
    (source, source_applying): (&Pod, &[usize]),
    (destination, destination_applying): (&Pod, &[usize]),
) -> (PortSet, Vec<i64>) {
    let (out, mut by) = allowed(pick(policies, source_applying), destination, false);
    if out.is_empty() {
        return (out, by);
    }
    let (into, by_destination) = allowed(pick(policies, destination_applying), source, true);
    by.extend(by_destination);
    by.sort_unstable();
    by.dedup();
    (out.intersect(&into), by)
}

/// Every address block the cluster's policies name (for telling pods apart by address).
pub fn blocks(policies: &[Compiled]) -> Vec<IpNet> {
    let mut nets = BTreeSet::new();
    for policy in policies {
        for rules in [&policy.ingress, &policy.egress].into_iter().flatten() {
            for rule in rules {
                for peer in rule.peers.iter().flatten() {
                    if let Peer::Block { cidr, except } = peer {
                        nets.insert(*cidr);
                        nets.extend(except.iter().copied());
                    }
                }
            }
        }
    }
    nets.into_iter().collect()
}

/// A cluster: its pods and compiled policies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub pods: Vec<Pod>,
    pub policies: Vec<Compiled>,
}

/// What tells pods apart: tenant, namespace, the values of the label keys some pod
/// selector names, of the namespace label keys some namespace selector names, and which
/// of the policies' address blocks hold the pod's address.
type ClassKey<'a> = (
    i64,
    &'a str,
    Vec<Option<String>>,
    Vec<Option<String>>,
    Vec<bool>,
);

/// The label keys the cluster's pod selectors and namespace selectors name: labels no
/// selector names cannot tell pods apart (a StatefulSet's per-pod name label, a
/// ReplicaSet's template hash), so classes stay few.
fn selector_keys(policies: &[Compiled]) -> (Vec<&str>, Vec<&str>) {
    let mut pods = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    for policy in policies {
        pods.extend(policy.selector.keys());
        for rules in [&policy.ingress, &policy.egress].into_iter().flatten() {
            for peer in rules.iter().flat_map(|rule| rule.peers.iter().flatten()) {
                if let Peer::Pods {
                    namespaces: selected,
                    pods: selector,
                } = peer
                {
                    pods.extend(selector.keys());
                    namespaces.extend(selected.iter().flat_map(Selector::keys));
                }
            }
        }
    }
    (pods.into_iter().collect(), namespaces.into_iter().collect())
}

/// Pods no policy, label or address tells apart, each class by its first pod: checked
/// once for all of them.
pub fn classes(cluster: &Cluster) -> Vec<Vec<&Pod>> {
    let nets = blocks(&cluster.policies);
    let (pod_keys, namespace_keys) = selector_keys(&cluster.policies);
    let values = |labels: &'_ BTreeMap<String, String>, keys: &[&str]| -> Vec<Option<String>> {
        keys.iter().map(|key| labels.get(*key).cloned()).collect()
    };
    let mut by_key: BTreeMap<ClassKey, Vec<&Pod>> = BTreeMap::new();
    for pod in &cluster.pods {
        let inside: Vec<bool> = nets
            .iter()
            .map(|net| pod.address.is_some_and(|address| net.contains(&address)))
            .collect();
        by_key
            .entry((
                pod.tenant_id,
                pod.namespace.as_str(),
                values(&pod.labels, &pod_keys),
                values(&pod.namespace_labels, &namespace_keys),
                inside,
            ))
            .or_default()
            .push(pod);
    }
    by_key.into_values().collect()
}
