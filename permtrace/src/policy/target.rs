//! The Node.js version a draft is for, and what that version's permission model accepts.
//! Every fact here was measured on the real binaries (shared/reference/node-permission.md,
//! sections 1, 6 and 7) or, where marked, read from the changelogs.

use anyhow::{Result, bail};
use serde::Serialize;

/// The newest release of each line permtrace was verified against. A version given as a bare
/// major ("22") or major.minor means this release: it is what the rules were measured on.
const VERIFIED: &[(u32, u32, u32)] = &[
    (20, 20, 2),
    (22, 23, 3),
    (24, 21, 0),
    (25, 9, 0),
    (26, 10, 0),
];

/// Where the version came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSource {
    /// `--node-version`.
    Flag,
    /// `node --version` of the traced binary, recorded in the capture.
    Capture,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeTarget {
    /// Full version, e.g. "24.21.0".
    pub version: String,
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// The text the version was read from ("22", "v24.21.0").
    pub given: String,
    pub source: VersionSource,
    /// The given text named only a line ("22"); the newest verified release of it is assumed.
    pub assumed_release: bool,
    /// Newer than any line permtrace was verified against (rules of the newest are used).
    pub unverified: bool,
}

/// How a config file must be shaped for this version to honour it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigShape {
    /// Everything, including `"permission": true`, under `nodeOptions` (22.16+, 24 < 24.16,
    /// 25 < 25.4). A `permission` namespace would be silently ignored on 22.
    NodeOptions,
    /// Grants in the `permission` namespace, which does not enable the model on 24: that
    /// takes `nodeOptions.permission: true` (24.16+).
    NamespaceWithEnable,
    /// The `permission` namespace, whose presence enables the model (25.4+, 26).
    Namespace,
}

/// State of `--permission-audit` (warn-only mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditMode {
    Absent,
    Works,
    /// 25.x: the flag exists but still denies fs and net.
    Broken,
}

impl NodeTarget {
    /// The draft's target: `--node-version` if given, else the traced binary's version.
    pub fn resolve(flag: Option<&str>, captured: Option<&str>) -> Result<NodeTarget> {
        match (flag, captured) {
            (Some(v), _) => Self::parse(v, VersionSource::Flag),
            (None, Some(v)) => Self::parse(v, VersionSource::Capture),
            (None, None) => bail!(
                "the capture does not say which Node.js version ran (the traced node binary's \
                 version could not be read, or no node process was seen); pass the version the \
                 service runs on with --node-version (e.g. --node-version 22 or 24.21.0)"
            ),
        }
    }

    pub fn parse(text: &str, source: VersionSource) -> Result<NodeTarget> {
        let given = text.trim().to_string();
        let bare = given.strip_prefix('v').unwrap_or(&given);
        let parts: Vec<&str> = bare.split('.').collect();
        let nums: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
        let Some(nums) = nums.filter(|n| !n.is_empty() && n.len() <= 3) else {
            bail!("{given:?} is not a Node.js version; use a form like 22, 24.21 or v24.21.0");
        };
        let major = nums[0];
        if major < 20 {
            bail!(
                "Node.js {given} has no usable permission model (it arrived in 20.0.0); \
                 permtrace drafts for Node.js 20, 22, 24, 25 and 26"
            );
        }
        if major == 21 || major == 23 {
            bail!(
                "Node.js {major} is an odd, end-of-life release line whose permission model \
                 permtrace has not verified; draft for 20, 22, 24, 25 or 26 (--node-version)"
            );
        }
        let verified = VERIFIED.iter().find(|v| v.0 == major).copied();
        let newest = VERIFIED[VERIFIED.len() - 1];
        let (minor, patch, assumed) = match (nums.len(), verified) {
            (3, _) => (nums[1], nums[2], false),
            (2, Some(v)) if nums[1] == v.1 => (v.1, v.2, true),
            (2, _) => (nums[1], 0, true),
            (_, Some(v)) => (v.1, v.2, true),
            (_, None) => (0, 0, true),
        };
        Ok(NodeTarget {
            version: format!("{major}.{minor}.{patch}"),
            major,
            minor,
            patch,
            given,
            source,
            assumed_release: assumed,
            unverified: major > newest.0,
        })
    }

    /// 22.x: feature at `m22`; 24.x at `m24`; 25.x at `m25`; 26+ always.
    fn since(&self, m22: Option<u32>, m24: Option<u32>, m25: Option<u32>) -> bool {
        let line = |m: Option<u32>| m.is_some_and(|m| self.minor >= m);
        match self.major {
            20 => false,
            22 => line(m22),
            24 => line(m24),
            25 => line(m25),
            _ => self.major > 25,
        }
    }

    /// The flag that turns the model on: `--experimental-permission` on 20 (and 22 before
    /// 22.13, where `--permission` did not exist yet), `--permission` after.
    pub fn enable_flag(&self) -> &'static str {
        if self.major == 20 || (self.major == 22 && self.minor < 13) {
            "--experimental-permission"
        } else {
            "--permission"
        }
    }

    /// Node reads the entry script with an implicit fs.read grant (22.17+, 24.2+, 25+ [R]).
    pub fn implicit_entry(&self) -> bool {
        self.since(Some(17), Some(2), Some(0))
    }

    /// `--require` preloads get the same implicit grant (22+; verified on the latest lines).
    pub fn implicit_preloads(&self) -> bool {
        self.implicit_entry()
    }

    /// Node hands its permission flags to every child through NODE_OPTIONS, so Node children
    /// are restricted too (22.18+, 24.4+, 25+ [R]); 20 does not.
    pub fn children_restricted(&self) -> bool {
        self.since(Some(18), Some(4), Some(0))
    }

    /// `--allow-net` exists and the network is checked (25+).
    pub fn checks_net(&self) -> bool {
        self.major >= 25
    }

    /// `--allow-inspector` exists (24.12+, 25+ [R]); before, the inspector is enforced but
    /// cannot be granted.
    pub fn has_allow_inspector(&self) -> bool {
        self.since(None, Some(12), Some(0))
    }

    pub fn audit(&self) -> AuditMode {
        match self.major {
            24 if self.minor >= 20 => AuditMode::Works,
            25 if self.minor >= 8 => AuditMode::Broken,
            m if m >= 26 => AuditMode::Works,
            _ => AuditMode::Absent,
        }
    }

    /// Config file support and its shape; `None` on 20 and 22 before 22.16.
    pub fn config_shape(&self) -> Option<ConfigShape> {
        match self.major {
            20 => None,
            22 if self.minor < 16 => None,
            22 => Some(ConfigShape::NodeOptions),
            24 if self.minor < 16 => Some(ConfigShape::NodeOptions),
            24 => Some(ConfigShape::NamespaceWithEnable),
            25 if self.minor < 4 => Some(ConfigShape::NodeOptions),
            _ => Some(ConfigShape::Namespace),
        }
    }

    /// The `$schema` URL of this version's config file.
    pub fn config_schema_url(&self) -> String {
        format!(
            "https://nodejs.org/dist/v{}/docs/node-config-schema.json",
            self.version
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &str) -> NodeTarget {
        NodeTarget::parse(v, VersionSource::Flag).unwrap()
    }

    #[test]
    fn versions_parse_and_bare_lines_mean_the_verified_release() {
        assert_eq!(t("v24.21.0").version, "24.21.0");
        assert!(!t("24.21.0").assumed_release);
        let bare = t("22");
        assert_eq!(
            (bare.version.as_str(), bare.assumed_release),
            ("22.23.3", true)
        );
        assert_eq!(t("24.3").version, "24.3.0");
        assert!(t("27").unverified && t("27").checks_net());
    }

    #[test]
    fn unsupported_and_garbage_versions_are_clear_errors() {
        let err = |v: &str| {
            format!(
                "{:#}",
                NodeTarget::parse(v, VersionSource::Flag).unwrap_err()
            )
        };
        assert!(err("18.19.0").contains("no usable permission model"));
        assert!(err("23").contains("odd"));
        assert!(err("latest").contains("not a Node.js version"));
        assert!(err("").contains("not a Node.js version"));
        assert!(err("22.x").contains("not a Node.js version"));
    }

    #[test]
    fn an_unknown_version_asks_for_the_flag() {
        let e = NodeTarget::resolve(None, None).unwrap_err().to_string();
        assert!(e.contains("--node-version"), "{e}");
        let from_flag = NodeTarget::resolve(Some("26"), Some("22.23.3")).unwrap();
        assert_eq!(
            (from_flag.major, from_flag.source),
            (26, VersionSource::Flag)
        );
    }

    #[test]
    fn per_version_facts_follow_the_reference() {
        assert_eq!(t("20").enable_flag(), "--experimental-permission");
        assert_eq!(t("22.12.0").enable_flag(), "--experimental-permission");
        for v in ["22", "24", "25", "26"] {
            assert_eq!(t(v).enable_flag(), "--permission", "{v}");
        }
        assert!(!t("20").implicit_entry() && t("22").implicit_entry());
        assert!(!t("22.16.0").implicit_entry() && t("24.2.0").implicit_entry());
        assert!(!t("20").children_restricted() && t("22").children_restricted());
        assert!(!t("24").checks_net() && t("25").checks_net());
        assert!(!t("22").has_allow_inspector() && !t("24.11.0").has_allow_inspector());
        assert!(t("24.12.0").has_allow_inspector() && t("25").has_allow_inspector());
        assert_eq!(t("24.19.0").audit(), AuditMode::Absent);
        assert_eq!(t("24").audit(), AuditMode::Works);
        assert_eq!(t("25").audit(), AuditMode::Broken);
        assert_eq!(t("26").audit(), AuditMode::Works);
        assert_eq!(t("22").audit(), AuditMode::Absent);
    }

    #[test]
    fn config_shapes_per_version() {
        assert_eq!(t("20").config_shape(), None);
        assert_eq!(t("22.15.0").config_shape(), None);
        assert_eq!(t("22").config_shape(), Some(ConfigShape::NodeOptions));
        assert_eq!(t("24.15.0").config_shape(), Some(ConfigShape::NodeOptions));
        assert_eq!(
            t("24").config_shape(),
            Some(ConfigShape::NamespaceWithEnable)
        );
        assert_eq!(t("25.3.0").config_shape(), Some(ConfigShape::NodeOptions));
        assert_eq!(t("25").config_shape(), Some(ConfigShape::Namespace));
        assert_eq!(t("26").config_shape(), Some(ConfigShape::Namespace));
        assert_eq!(
            t("24").config_schema_url(),
            "https://nodejs.org/dist/v24.21.0/docs/node-config-schema.json"
        );
    }
}
