//! Rendezvous (highest random weight) hashing: each tenant goes to the live node with the highest
//! `xxh3(node, tenant)`. Every node computes the same answer from the same membership, and when a
//! node joins or leaves only the tenants it gains or loses move.

use uuid::Uuid;
use xxhash_rust::xxh3::xxh3_64;

/// The node that should own `tenant` among `nodes` (`None` when there is none).
pub fn owner(nodes: &[String], tenant: Uuid) -> Option<&str> {
    nodes
        .iter()
        .max_by_key(|node| (weight(node, tenant), node.as_str()))
        .map(String::as_str)
}

fn weight(node: &str, tenant: Uuid) -> u64 {
    let mut key = Vec::with_capacity(node.len() + 17);
    key.extend_from_slice(node.as_bytes());
    key.push(0);
    key.extend_from_slice(tenant.as_bytes());
    xxh3_64(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn tenants(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn tenants_spread_over_the_nodes() {
        let three = nodes(&["a", "b", "c"]);
        let all = tenants(3000);
        for name in &three {
            let mine = all
                .iter()
                .filter(|t| owner(&three, **t) == Some(name))
                .count();
            assert!((800..1200).contains(&mine), "{name} owns {mine} of 3000");
        }
    }

    #[test]
    fn only_the_leavers_tenants_move() {
        let three = nodes(&["a", "b", "c"]);
        let two = nodes(&["a", "c"]);
        for tenant in tenants(1000) {
            let before = owner(&three, tenant);
            let after = owner(&two, tenant);
            if before != Some("b") {
                assert_eq!(before, after, "{tenant} moved although its owner stayed");
            }
        }
    }

    #[test]
    fn no_node_no_owner() {
        assert_eq!(owner(&[], Uuid::nil()), None);
    }
}
