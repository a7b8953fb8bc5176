//! Which program each traced process is running, and where it is in its life.

use std::collections::HashMap;

use super::stats::Context;
use crate::{
    access::{Access, classify},
    capture::Program,
    event::PathCall,
    node_args::{NodeCommand, is_node_exe, parse_node_argv},
    pathbytes::PathBytes,
};

/// Beyond this many distinct programs, new ones are told apart by executable only, so a
/// service that spawns `sh -c "<unique command>"` forever cannot grow the capture forever.
const MAX_PROGRAMS: usize = 2048;
const MAX_PIDS: usize = 8;

#[derive(Clone, Copy, Debug, Default)]
struct ProcEntry {
    program: Option<u32>,
    /// Past Node's native start-up: the process read its entry script or a JavaScript/JSON
    /// module, so the loader and the application's code run. Set from the start for a Node
    /// process with no script file (`-e`, `-p`, stdin), where nothing marks that moment:
    /// its own reads must not pass for start-up (the policy drops /proc, /sys and entropy
    /// reads made before main), and Node's native start-up reads are known by name anyway.
    reached_main: bool,
}

#[derive(Default)]
pub struct Programs {
    by_key: HashMap<(PathBytes, Vec<PathBytes>), u32>,
    list: Vec<Program>,
    procs: HashMap<u32, ProcEntry>,
    processes_seen: u64,
}

impl Programs {
    /// Starts from an earlier capture's programs and process count (`--resume`).
    pub fn load(&mut self, programs: &[Program], processes_seen: u64) {
        for p in programs {
            self.by_key.insert((p.exe.clone(), p.argv.clone()), p.id);
        }
        self.processes_seen = processes_seen;
        self.list = programs.to_vec();
        self.list.sort_by_key(|p| p.id);
    }

    /// A successful exec: the process now runs `exe argv`. Returns the program id.
    pub fn exec(&mut self, tgid: u32, exe: &PathBytes, argv: &[PathBytes], now: u64) -> u32 {
        let parent = self.procs.get(&tgid).and_then(|p| p.program);
        if !self.procs.contains_key(&tgid) {
            self.processes_seen += 1;
        }
        let argv = if self.list.len() >= MAX_PROGRAMS
            && !self.by_key.contains_key(&(exe.clone(), argv.to_vec()))
        {
            vec![PathBytes::from("…")]
        } else {
            argv.to_vec()
        };
        let key = (exe.clone(), argv);
        let id = match self.by_key.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.list.len() as u32;
                self.list.push(Program {
                    id,
                    exe: exe.clone(),
                    argv: key.1.clone(),
                    is_node: is_node_exe(exe),
                    parent,
                    processes: 0,
                    pids: Vec::new(),
                    first_seen_ms: now,
                });
                self.by_key.insert(key, id);
                id
            }
        };
        let p = &mut self.list[id as usize];
        p.processes += 1;
        if p.pids.len() < MAX_PIDS && !p.pids.contains(&tgid) {
            p.pids.push(tgid);
        }
        let has_script = p.is_node && parse_node_argv(&p.argv).script.is_some();
        self.procs.insert(
            tgid,
            ProcEntry {
                program: Some(id),
                reached_main: !has_script,
            },
        );
        id
    }

    /// A process found running (attach): it is past its start-up, and runs `exe argv`
    /// since some exec permtrace did not see.
    pub fn seed(
        &mut self,
        tgid: u32,
        parent: Option<u32>,
        exe: &PathBytes,
        argv: &[PathBytes],
        now: u64,
    ) {
        if !self.procs.contains_key(&tgid) {
            let program = parent.and_then(|p| self.program_of(p));
            self.procs.insert(
                tgid,
                ProcEntry {
                    program,
                    reached_main: false,
                },
            );
            self.processes_seen += 1;
        }
        self.exec(tgid, exe, argv, now);
        if let Some(entry) = self.procs.get_mut(&tgid) {
            entry.reached_main = true;
        }
    }

    pub fn fork(&mut self, parent: u32, child: u32) {
        // A child already known was found in procfs when attaching, after this fork: the
        // stream replays its life from the fork on, but it is one process, not two.
        let known = self.procs.contains_key(&child);
        let entry = self.procs.get(&parent).copied().unwrap_or_default();
        self.procs.insert(child, entry);
        if known {
            return;
        }
        self.processes_seen += 1;
        if let Some(id) = entry.program {
            let p = &mut self.list[id as usize];
            p.processes += 1;
            if p.pids.len() < MAX_PIDS {
                p.pids.push(child);
            }
        }
    }

    pub fn exit(&mut self, tgid: u32) {
        self.procs.remove(&tgid);
    }

    /// Processes with state.
    pub fn tgids(&self) -> impl Iterator<Item = u32> + '_ {
        self.procs.keys().copied()
    }

    pub fn program_of(&self, tgid: u32) -> Option<u32> {
        self.procs.get(&tgid).and_then(|p| p.program)
    }

    pub fn context(&self, tgid: u32) -> Context {
        let entry = self.procs.get(&tgid).copied().unwrap_or_default();
        let is_node = entry
            .program
            .is_some_and(|id| self.list[id as usize].is_node);
        Context {
            program: entry.program,
            before_main: is_node && !entry.reached_main,
            in_resolver: false,
        }
    }

    /// The context of an exec: attributed to the program that called it.
    pub fn context_for(&self, program: u32, _tgid: u32) -> Context {
        Context {
            program: Some(program),
            before_main: false,
            in_resolver: false,
        }
    }

    /// Notes a successful open before it is recorded: reading the entry script or a module
    /// means the Node process is past start-up, from this read on (the module's own read,
    /// and the package.json "type" lookup before the entry, are the loader's, not start-up).
    pub fn saw_open(&mut self, tgid: u32, path: &PathBytes, call: &PathCall) {
        let Some(entry) = self.procs.get(&tgid) else {
            return;
        };
        if entry.reached_main || classify(call).0 != Access::Read {
            return;
        }
        let Some(program) = entry.program.map(|id| &self.list[id as usize]) else {
            return;
        };
        if is_application_code(path, &parse_node_argv(&program.argv))
            && let Some(entry) = self.procs.get_mut(&tgid)
        {
            entry.reached_main = true;
        }
    }

    /// The executable and parsed command line of a Node process.
    pub fn node_command(&self, tgid: u32) -> Option<(PathBytes, NodeCommand)> {
        let p = &self.list[self.program_of(tgid)? as usize];
        p.is_node.then(|| (p.exe.clone(), parse_node_argv(&p.argv)))
    }

    /// The executable process `tgid` runs.
    pub fn exe_of(&self, tgid: u32) -> Option<PathBytes> {
        Some(self.list[self.program_of(tgid)? as usize].exe.clone())
    }

    /// Distinct executables of the Node programs seen.
    pub fn node_exes(&self) -> Vec<PathBytes> {
        let mut out: Vec<PathBytes> = Vec::new();
        for p in self.list.iter().filter(|p| p.is_node) {
            if !out.contains(&p.exe) {
                out.push(p.exe.clone());
            }
        }
        out
    }

    pub fn processes_seen(&self) -> u64 {
        self.processes_seen
    }

    pub fn to_records(&self) -> Vec<Program> {
        self.list.clone()
    }
}

/// Whether reading `path` is Node loading the application: its entry script (whatever its
/// name: `bin/www`), or a JavaScript/JSON file other than the config file Node reads at
/// start-up (`--experimental-config-file`, `--experimental-default-config-file`).
fn is_application_code(path: &PathBytes, cmd: &NodeCommand) -> bool {
    let name = path.file_name();
    if cmd.script.as_ref().is_some_and(|s| s.file_name() == name) {
        return true;
    }
    if config_file_names(cmd).iter().any(|c| c.as_slice() == name) {
        return false;
    }
    [&b".js"[..], b".mjs", b".cjs", b".json"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

fn config_file_names(cmd: &NodeCommand) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut opts = cmd.options.iter().peekable();
    while let Some(o) = opts.next() {
        let value = match o.split_once('=') {
            Some(("--experimental-config-file", v)) => Some(v.to_string()),
            None if o == "--experimental-config-file" => opts.peek().map(|v| v.to_string()),
            None if o == "--experimental-default-config-file" => {
                Some("node.config.json".to_string())
            }
            _ => None,
        };
        if let Some(v) = value {
            out.push(PathBytes::from(v.as_str()).file_name().to_vec());
        }
    }
    out
}
