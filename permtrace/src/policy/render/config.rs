//! `node.config.json` in the shape the target version honours (node-permission.md section 6):
//! 22: everything under `nodeOptions` (a `permission` namespace is silently ignored there);
//! 24.16+: grants in `permission` plus `nodeOptions.permission: true` (the namespace does not
//! enable the model on 24); 25.4+/26: the `permission` namespace, which enables it. Start
//! Node with `--experimental-config-file=node.config.json`.

use serde_json::{Map, Value, json};

use super::node_value;
use crate::policy::{model::Policy, target::ConfigShape};

/// The config file, or `None` when the version has no config file support (20, 22 < 22.16).
pub fn node_config(policy: &Policy) -> Option<String> {
    let shape = policy.node.config_shape()?;
    let mut grants = Map::new();
    let list = |values: Vec<String>| Value::Array(values.into_iter().map(Value::String).collect());
    let (read, write): (Vec<String>, Vec<String>) = match &policy.fs.all {
        Some(_) => (vec!["*".into()], vec!["*".into()]),
        None => (
            policy.fs.read.iter().map(node_value).collect(),
            policy.fs.write.iter().map(node_value).collect(),
        ),
    };
    if !read.is_empty() {
        grants.insert("allow-fs-read".into(), list(read));
    }
    if !write.is_empty() {
        grants.insert("allow-fs-write".into(), list(write));
    }
    for c in policy.capabilities.iter().filter(|c| c.grantable) {
        grants.insert(c.capability.config_key().into(), Value::Bool(true));
    }
    let schema = policy.node.config_schema_url();
    let doc = match shape {
        ConfigShape::NodeOptions => {
            let mut opts = Map::new();
            opts.insert("permission".into(), Value::Bool(true));
            opts.extend(grants);
            json!({ "$schema": schema, "nodeOptions": opts })
        }
        ConfigShape::NamespaceWithEnable => json!({
            "$schema": schema,
            "nodeOptions": { "permission": true },
            "permission": grants,
        }),
        ConfigShape::Namespace => json!({ "$schema": schema, "permission": grants }),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("JSON values serialize");
    s.push('\n');
    Some(s)
}
