//! Field offsets the kernel programs need, read from the running kernel's BTF.
//!
//! aya has no CO-RE relocations for Rust programs, and hard-coded offsets break with the next
//! kernel, so the loader looks each field up by name in `/sys/kernel/btf/vmlinux`.

use anyhow::{Context as _, Result, anyhow};
use btf_rs::{Btf, Struct, Type};
use permtrace_common::event::KernelOffsets;

pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

pub fn kernel_offsets(btf: &Btf) -> Result<KernelOffsets> {
    let task = named_struct(btf, "task_struct")?;
    let mm = named_struct(btf, "mm_struct")?;
    let bprm = named_struct(btf, "linux_binprm")?;
    let field = |s: &Struct, owner: &str, name: &str| {
        member_offset(btf, s, name)
            .ok_or_else(|| anyhow!("this kernel's BTF has no field {owner}.{name}"))
    };
    Ok(KernelOffsets {
        task_pid: field(&task, "task_struct", "pid")?,
        task_tgid: field(&task, "task_struct", "tgid")?,
        task_mm: field(&task, "task_struct", "mm")?,
        task_exit_code: field(&task, "task_struct", "exit_code")?,
        mm_arg_start: field(&mm, "mm_struct", "arg_start")?,
        mm_arg_end: field(&mm, "mm_struct", "arg_end")?,
        bprm_filename: field(&bprm, "linux_binprm", "filename")?,
        exit_has_group_dead: u32::from(tracepoint_arity(btf, "sched_process_exit")? >= 2),
    })
}

fn named_struct(btf: &Btf, name: &str) -> Result<Struct> {
    btf.resolve_types_by_name(name)
        .with_context(|| format!("looking up struct {name} in the kernel BTF"))?
        .into_iter()
        .find_map(|t| match t {
            Type::Struct(s) if !s.members.is_empty() => Some(s),
            _ => None,
        })
        .ok_or_else(|| anyhow!("the kernel BTF has no struct {name}"))
}

/// Byte offset of `name` in `s`, looking inside anonymous structs and unions too.
fn member_offset(btf: &Btf, s: &Struct, name: &str) -> Option<u32> {
    for m in &s.members {
        let member_name = btf.resolve_name(m).ok()?;
        if member_name == name {
            return Some(m.bit_offset() / 8);
        }
        if member_name.is_empty() {
            let inner = match strip_modifiers(btf, btf.resolve_chained_type(m).ok()?)? {
                Type::Struct(inner) | Type::Union(inner) => inner,
                _ => continue,
            };
            if let Some(off) = member_offset(btf, &inner, name) {
                return Some(m.bit_offset() / 8 + off);
            }
        }
    }
    None
}

fn strip_modifiers(btf: &Btf, mut t: Type) -> Option<Type> {
    loop {
        t = match &t {
            Type::Typedef(x) => btf.resolve_chained_type(x).ok()?,
            Type::Const(x) => btf.resolve_chained_type(x).ok()?,
            Type::Volatile(x) => btf.resolve_chained_type(x).ok()?,
            _ => return Some(t),
        };
    }
}

/// Number of arguments a tracepoint passes to tp_btf programs, from its
/// `btf_trace_<name>` typedef (a pointer to a function whose first parameter is the
/// tracepoint's private data, not an argument).
fn tracepoint_arity(btf: &Btf, name: &str) -> Result<usize> {
    let typedef = format!("btf_trace_{name}");
    let t = btf
        .resolve_types_by_name(&typedef)
        .with_context(|| format!("the kernel BTF has no {typedef}"))?
        .pop()
        .ok_or_else(|| anyhow!("the kernel BTF has no {typedef}"))?;
    let mut t = strip_modifiers(btf, t).ok_or_else(|| anyhow!("bad {typedef}"))?;
    if let Type::Ptr(p) = &t {
        t = btf.resolve_chained_type(p)?;
    }
    match t {
        Type::FuncProto(proto) => Ok(proto.parameters.len().saturating_sub(1)),
        other => Err(anyhow!(
            "{typedef} is a {}, not a function pointer",
            other.name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the real BTF of the machine the tests run on; every kernel permtrace supports
    /// has it (the tracer refuses to start without it).
    #[test]
    fn offsets_of_this_kernel_are_found_and_plausible() {
        let btf = Btf::from_file(VMLINUX_BTF).expect("kernel BTF");
        let off = kernel_offsets(&btf).expect("offsets");
        // pid and tgid are adjacent pid_t fields in task_struct.
        assert_eq!(off.task_tgid, off.task_pid + 4);
        assert!(off.task_mm > 0 && off.task_exit_code > 0);
        assert_eq!(off.mm_arg_end, off.mm_arg_start + 8);
        assert!(off.bprm_filename > 0);
    }
}
