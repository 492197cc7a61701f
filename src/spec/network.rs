//! Network peers: the one model of "who" in every NetworkPolicy rule the spec writes — a
//! workload's `allowFrom` / `allowTo` entries (a [`NetworkRule`]: one peer written inline with
//! its ports) and the `from` / `to` lists of a chart's `networkPolicies` (each entry a
//! [`Peer`]) — and its one check. The model renders both with one function
//! (`model::workload::policy::peer_values`).

use super::Name;
use super::path::{Field, SpecPath};
use super::workload::{Cidr, PortRef, Protocol};
use super::workload_checks::{Report, check_labels};
use crate::diagnostic::Code;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One peer: pods by labels and namespaces (by name, by labels, or all), combined as
/// `combine` says; workloads of the app; address blocks. `workloads` and `cidrs` add peers of
/// their own (either matches); `cidr` with `except` is a peer on its own.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Peer {
    /// Pods by labels (`{}`: every pod): of the app's namespace, or — with namespaces — of
    /// those namespaces as `combine` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<BTreeMap<String, String>>,
    /// Namespaces by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<Name>,
    /// Namespaces by labels (`{}`: every namespace); instead of `namespaces`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_labels: Option<BTreeMap<String, String>>,
    /// Every namespace of the cluster (addresses outside it are not included); instead of
    /// `namespaces` and `namespaceLabels`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_namespaces: bool,
    /// With `pods` and namespaces both given: `and` selects those pods in those namespaces;
    /// `or` selects those pods of the app's namespace and every pod of those namespaces. (In a
    /// NetworkPolicy the two differ by one `-`: gitopsc makes it a word.) Required in a
    /// chart policy's `from` / `to`; `and` in a workload's `allowFrom` / `allowTo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combine: Option<Combine>,
    /// Workloads of this app (each a peer of its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workloads: Vec<Name>,
    /// An address block (outside the cluster: pod addresses change), a peer on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<Cidr>,
    /// Blocks inside `cidr` left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<Cidr>,
    /// Address blocks (each a peer of its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs: Vec<Cidr>,
}

impl Peer {
    /// Whether it chooses namespaces (by name, by labels or all of them).
    pub fn has_namespaces(&self) -> bool {
        !self.namespaces.is_empty() || self.namespace_labels.is_some() || self.all_namespaces
    }

    /// Whether it selects anything at all (no peer means any source or destination).
    pub fn is_empty(&self) -> bool {
        self.pods.is_none()
            && !self.has_namespaces()
            && self.workloads.is_empty()
            && self.cidr.is_none()
            && self.except.is_empty()
            && self.cidrs.is_empty()
    }
}

/// How a peer's pod and namespace selectors combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    /// The pods in the namespaces.
    And,
    /// The pods (of the app's namespace), and every pod of the namespaces.
    Or,
}

/// A workload's rule: one peer written inline, and ports. With no peer, any source or
/// destination matches; with no port, every port does.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
// The peer's fields are the rule's (flattened): the schema refuses unknown fields.
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct NetworkRule {
    /// Who: the peer's fields, written in the rule (`pods` with namespaces: those pods in
    /// those namespaces unless `combine: or`).
    #[serde(flatten)]
    pub peer: Peer,
    /// Ports: names of the workload's `ports` for `allowFrom`; numbers (or the target
    /// workload's port names) for `allowTo`.
    #[serde(default)]
    pub ports: Vec<PortRef>,
    /// The protocol of the ports.
    #[serde(default)]
    pub protocol: Protocol,
}

/// Where a peer is written, which decides what it may leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PeerPlace {
    /// Inline in a workload's rule: no peer at all means any, and `pods` with namespaces are
    /// those pods in those namespaces unless it says `combine: or`.
    Inline,
    /// An entry of a chart policy's `from` / `to`: it must select something, and say how
    /// `pods` and namespaces combine.
    Listed,
}

/// A peer's checks: it selects something in one form, names workloads of the app, says how
/// its selectors combine, and its address blocks and labels are valid.
pub(super) fn check_peer(peer: &Peer, p: &SpecPath, place: PeerPlace, workloads: &[&str], r: &mut Report) {
    for (i, name) in peer.workloads.iter().enumerate() {
        if !workloads.contains(&name.as_str()) {
            r.unknown(
                Code::WorkloadUnknownName,
                &p.field(Peer::WORKLOADS).index(i),
                format!("`{name}` is not a workload of this app"),
                name.as_str(),
                workloads.iter().copied(),
                "name a workload of this app, or select pods by `pods` labels".into(),
            );
        }
    }
    check_forms(peer, p, place, r);
    check_combine(peer, p, place, r);
    if !peer.except.is_empty() {
        check_except(peer, p, r);
    }
    for (field, labels) in [
        (Peer::PODS, &peer.pods),
        (Peer::NAMESPACE_LABELS, &peer.namespace_labels),
    ] {
        if let Some(labels) = labels {
            check_labels(labels, &p.field(field), false, r);
        }
    }
}

/// One way of choosing namespaces, no workloads in other namespaces, an address block on its
/// own, and — in a list — something selected.
fn check_forms(peer: &Peer, p: &SpecPath, place: PeerPlace, r: &mut Report) {
    let chosen: Vec<Field> = [
        (Peer::NAMESPACES, !peer.namespaces.is_empty()),
        (Peer::NAMESPACE_LABELS, peer.namespace_labels.is_some()),
        (Peer::ALL_NAMESPACES, peer.all_namespaces),
    ]
    .into_iter()
    .filter_map(|(f, set)| set.then_some(f))
    .collect();
    if let [first, rest @ ..] = chosen.as_slice() {
        let first = first.name();
        for field in rest {
            let at = p.field(*field);
            let field = field.name();
            r.error_key(
                Code::NetworkPeer,
                &at,
                format!("`{field}` and `{first}` both choose the namespaces of one peer"),
                "choose namespaces once",
                "keep one of them (to select namespaces by name and label, write the name as the label \
                 `kubernetes.io/metadata.name`); for namespaces chosen either way, write two peers (in \
                 `allowFrom` / `allowTo`: two rules)",
            );
        }
    }
    if !peer.workloads.is_empty() && peer.has_namespaces() {
        r.error_key(
            Code::NetworkPeer,
            &p.field(Peer::WORKLOADS),
            "`workloads` are in the app's namespace; they cannot be combined with `namespaces`, `namespaceLabels` or `allNamespaces`".into(),
            "",
            "split them into two peers (in `allowFrom` / `allowTo`: two rules)",
        );
    }
    let selects =
        peer.pods.is_some() || peer.has_namespaces() || !peer.workloads.is_empty() || !peer.cidrs.is_empty();
    if peer.cidr.is_some() && selects {
        r.error_key(
            Code::NetworkPeer,
            &p.field(Peer::CIDR),
            "a peer is an address block or pods and namespaces, not both".into(),
            "",
            "write the address block as a peer of its own",
        );
    }
    if place == PeerPlace::Listed && peer.is_empty() {
        r.error_key(
            Code::NetworkPeer,
            p,
            "a peer that selects nothing".into(),
            "",
            "give it `pods`, `namespaces`, `namespaceLabels`, `allNamespaces`, `workloads`, `cidr` or `cidrs`",
        );
    }
}

/// `combine` is said where `pods` and namespaces meet in a list, and only there.
fn check_combine(peer: &Peer, p: &SpecPath, place: PeerPlace, r: &mut Report) {
    match (peer.pods.is_some() && peer.has_namespaces(), peer.combine) {
        (true, None) if place == PeerPlace::Listed => r.error_key(
            Code::PeerCombine,
            p,
            "a peer with `pods` and namespaces must say how they combine".into(),
            "",
            "`combine: and` selects those pods in those namespaces; `combine: or` selects those pods of the \
             app's namespace and every pod of those namespaces",
        ),
        (false, Some(_)) => r.error_key(
            Code::PeerCombine,
            &p.field(Peer::COMBINE),
            "`combine` without both `pods` and namespaces".into(),
            "",
            "drop `combine`: it says how `pods` and `namespaces` (or `namespaceLabels`, `allNamespaces`) combine",
        ),
        _ => {}
    }
}

/// `except` needs `cidr`, and each block must lie strictly inside it (the API server refuses
/// other blocks).
fn check_except(peer: &Peer, p: &SpecPath, r: &mut Report) {
    let Some(cidr) = &peer.cidr else {
        r.error_key(
            Code::NetworkPeer,
            &p.field(Peer::EXCEPT),
            "`except` without `cidr`".into(),
            "",
            "`except` leaves blocks out of the peer's `cidr`: give the `cidr`",
        );
        return;
    };
    for (i, block) in peer.except.iter().enumerate() {
        if !strictly_inside(&block.0, &cidr.0) {
            r.error_key(
                Code::NetworkPeer,
                &p.field(Peer::EXCEPT).index(i),
                format!("`{}` is not a block inside `{}`", block.0, cidr.0),
                "",
                "each `except` block must be a smaller block inside `cidr`",
            );
        }
    }
}

/// Parses `address/prefix` into the address as a number, its width and the prefix.
fn parse_cidr(text: &str) -> Option<(u128, u32, u32)> {
    let (address, prefix) = text.split_once('/')?;
    let prefix: u32 = prefix.parse().ok()?;
    match address.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => (prefix <= 32).then_some((u128::from(u32::from(v4)), 32, prefix)),
        std::net::IpAddr::V6(v6) => (prefix <= 128).then_some((u128::from(v6), 128, prefix)),
    }
}

/// Whether the block `inner` is a smaller block inside `outer`, of the same family.
fn strictly_inside(inner: &str, outer: &str) -> bool {
    let (Some((a, width, pa)), Some((b, width_b, pb))) = (parse_cidr(inner), parse_cidr(outer)) else {
        return false;
    };
    let mask = |prefix: u32| match width - prefix {
        0 => u128::MAX,
        shift if shift >= 128 => 0,
        shift => u128::MAX << shift,
    };
    width == width_b && pa > pb && (a & mask(pb)) == (b & mask(pb))
}

#[cfg(test)]
mod tests {
    use super::strictly_inside;

    #[test]
    fn except_blocks_lie_strictly_inside_the_cidr() {
        assert!(strictly_inside("10.1.0.0/16", "10.0.0.0/8"));
        assert!(!strictly_inside("10.0.0.0/8", "10.0.0.0/8"));
        assert!(!strictly_inside("11.0.0.0/16", "10.0.0.0/8"));
        assert!(strictly_inside("0.0.0.0/1", "0.0.0.0/0"));
        assert!(strictly_inside("fd00:1::/32", "fd00::/8"));
        assert!(!strictly_inside("10.1.0.0/16", "fd00::/8"));
        assert!(!strictly_inside("10.1.0.0/40", "10.0.0.0/8"));
    }
}
