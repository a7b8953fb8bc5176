//! Which traced programs Node's permission model restricts on the target version: Node
//! processes started by the user, and on 22+ also Node processes started by Node (they get
//! the flags through NODE_OPTIONS). Other programs (sh, git, …) and, on 20, Node children
//! are outside the model.

use super::{model::ProgramRef, target::NodeTarget};
use crate::capture::{AccessStats, Capture, Program};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A Node process the permission flags apply to.
    Restricted,
    /// A Node process started by a Node process, on a version that does not pass the flags.
    UnrestrictedNode,
    /// Not Node: the permission model does not apply.
    Other,
}

pub struct Actors {
    roles: Vec<Role>,
    programs: Vec<Program>,
}

impl Actors {
    pub fn new(capture: &Capture, target: &NodeTarget) -> Actors {
        let programs = capture.programs.clone();
        let roles = programs
            .iter()
            .map(|p| {
                if !p.is_node {
                    Role::Other
                } else if has_node_ancestor(&programs, p) && !target.children_restricted() {
                    Role::UnrestrictedNode
                } else {
                    Role::Restricted
                }
            })
            .collect();
        Actors { roles, programs }
    }

    pub fn role(&self, id: u32) -> Role {
        // A program id the capture does not list: assume it is restricted (granting more is
        // safer than a draft that fails).
        self.roles
            .get(id as usize)
            .copied()
            .unwrap_or(Role::Restricted)
    }

    /// Whether any of the programs behind these counters is restricted. Counters without
    /// program ids (or with more than were recorded) count as restricted.
    pub fn any_restricted(&self, stats: &AccessStats) -> bool {
        stats.by.is_empty()
            || stats.by_more > 0
            || stats.by.iter().any(|&id| self.role(id) == Role::Restricted)
    }

    pub fn program(&self, id: u32) -> Option<&Program> {
        self.programs.get(id as usize).filter(|p| p.id == id)
    }

    /// Programs whose role is `Restricted`.
    pub fn restricted(&self) -> impl Iterator<Item = &Program> {
        self.programs
            .iter()
            .filter(|p| self.role(p.id) == Role::Restricted)
    }

    pub fn refs(&self, ids: impl IntoIterator<Item = u32>) -> Vec<ProgramRef> {
        let mut ids: Vec<u32> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| self.program(id))
            .map(|p| ProgramRef {
                id: p.id,
                exe: p.exe.clone(),
                argv: p.argv.clone(),
                pids: p.pids.clone(),
                is_node: p.is_node,
                restricted: self.role(p.id) == Role::Restricted,
            })
            .collect()
    }
}

fn has_node_ancestor(programs: &[Program], p: &Program) -> bool {
    let mut cur = p.parent;
    // The chain is short; the bound guards against a malformed capture with a cycle.
    for _ in 0..programs.len() {
        let Some(id) = cur else { return false };
        let Some(parent) = programs.get(id as usize).filter(|q| q.id == id) else {
            return false;
        };
        if parent.is_node {
            return true;
        }
        cur = parent.parent;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{pathbytes::PathBytes, policy::target::VersionSource};

    fn prog(id: u32, exe: &str, is_node: bool, parent: Option<u32>) -> Program {
        Program {
            id,
            exe: PathBytes::from(exe),
            is_node,
            parent,
            ..Default::default()
        }
    }

    fn cap() -> Capture {
        Capture {
            programs: vec![
                prog(0, "/bin/sh", false, None),
                prog(1, "/usr/bin/node", true, Some(0)),
                prog(2, "/bin/git", false, Some(1)),
                prog(3, "/usr/bin/node", true, Some(2)),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn node_children_are_restricted_from_22_but_not_on_20() {
        let t = |v| NodeTarget::parse(v, VersionSource::Flag).unwrap();
        let a20 = Actors::new(&cap(), &t("20"));
        assert_eq!(a20.role(0), Role::Other);
        assert_eq!(a20.role(1), Role::Restricted);
        assert_eq!(a20.role(2), Role::Other);
        // Started by node through git: still a Node child, unrestricted on 20.
        assert_eq!(a20.role(3), Role::UnrestrictedNode);
        let a22 = Actors::new(&cap(), &t("22"));
        assert_eq!(a22.role(3), Role::Restricted);
    }

    #[test]
    fn unknown_programs_count_as_restricted() {
        let a = Actors::new(
            &cap(),
            &NodeTarget::parse("22", VersionSource::Flag).unwrap(),
        );
        let by = |by: Vec<u32>, more| AccessStats {
            by,
            by_more: more,
            ..Default::default()
        };
        assert!(!a.any_restricted(&by(vec![0, 2], 0)));
        assert!(a.any_restricted(&by(vec![0, 1], 0)));
        assert!(a.any_restricted(&by(vec![], 0)));
        assert!(a.any_restricted(&by(vec![0], 3)));
        assert!(a.any_restricted(&by(vec![99], 0)));
    }
}
