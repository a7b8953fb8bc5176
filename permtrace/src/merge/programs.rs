//! Program ids are per capture: the same program (exe + argv) gets one id in the merge, and
//! every reference to it (parents, `by`, spawns) is renumbered.

use std::collections::HashMap;

use crate::{capture::Program, pathbytes::PathBytes};

/// As many pids as a capture keeps per program.
const MAX_PIDS: usize = 8;

#[derive(Default)]
pub struct Programs {
    by_key: HashMap<(PathBytes, Vec<PathBytes>), u32>,
    list: Vec<Program>,
}

impl Programs {
    /// Adds one capture's programs; returns its ids mapped to merged ids.
    pub fn add(&mut self, programs: &[Program]) -> HashMap<u32, u32> {
        let mut ids = HashMap::new();
        let mut created = Vec::new();
        for p in programs {
            let key = (p.exe.clone(), p.argv.clone());
            let id = match self.by_key.get(&key) {
                Some(&id) => {
                    let m = &mut self.list[id as usize];
                    m.processes += p.processes;
                    m.is_node |= p.is_node;
                    m.first_seen_ms = m.first_seen_ms.min(p.first_seen_ms);
                    for pid in &p.pids {
                        if m.pids.len() < MAX_PIDS && !m.pids.contains(pid) {
                            m.pids.push(*pid);
                        }
                    }
                    id
                }
                None => {
                    let id = self.list.len() as u32;
                    self.list.push(Program { id, ..p.clone() });
                    self.by_key.insert(key, id);
                    created.push((id, p.parent));
                    id
                }
            };
            ids.insert(p.id, id);
        }
        // Parents once every id of this capture is known.
        for (id, parent) in created {
            self.list[id as usize].parent = parent.and_then(|p| ids.get(&p).copied());
        }
        ids
    }

    pub fn into_list(self) -> Vec<Program> {
        self.list
    }
}
