//! Finding functions in an ELF file by symbol name, as the file offsets uprobes attach at.
//!
//! One pass over the dynamic and the full symbol table finds every wanted symbol at once
//! (aya's own lookup parses the file again for each symbol, and a node binary has 100k+
//! symbols). The file is read lazily: only its headers and symbol tables, never the ~100 MB
//! of code.

use std::{collections::HashMap, fs::File, path::Path};

use anyhow::{Context as _, Result, anyhow};
use object::{Object as _, ObjectSection as _, ObjectSymbol as _, read::ReadCache};

/// File offsets of the `wanted` symbols that are defined in the ELF file at `path`.
/// Missing symbols are simply absent from the map.
pub fn symbol_offsets(path: &Path, wanted: &[&str]) -> Result<HashMap<String, u64>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let cache = ReadCache::new(file);
    let obj = object::File::parse(&cache)
        .map_err(|e| anyhow!("{} is not a readable ELF file: {e}", path.display()))?;
    let translate = matches!(
        obj.kind(),
        object::ObjectKind::Dynamic | object::ObjectKind::Executable
    );
    let mut found = HashMap::new();
    for sym in obj.dynamic_symbols().chain(obj.symbols()) {
        if sym.is_undefined() || sym.address() == 0 {
            continue;
        }
        let Ok(name) = sym.name() else { continue };
        if !wanted.contains(&name) || found.contains_key(name) {
            continue;
        }
        let offset = if translate {
            // Uprobes attach at file offsets; symbols give virtual addresses.
            let Some(index) = sym.section_index() else {
                continue;
            };
            let Ok(section) = obj.section_by_index(index) else {
                continue;
            };
            let Some((file_off, _)) = section.file_range() else {
                continue;
            };
            sym.address() - section.address() + file_off
        } else {
            sym.address()
        };
        found.insert(name.to_string(), offset);
        if found.len() == wanted.len() {
            break;
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C library this test binary runs on, from its own memory map.
    fn own_libc() -> std::path::PathBuf {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .find(|p| p.contains("libc.so"))
            .map(Into::into)
            .expect("the test binary maps a libc")
    }

    #[test]
    fn finds_getaddrinfo_in_the_real_libc_and_reports_missing_symbols_as_absent() {
        let libc = own_libc();
        let found = symbol_offsets(&libc, &["getaddrinfo", "no_such_symbol_here"]).unwrap();
        let off = found["getaddrinfo"];
        assert!(off > 0);
        assert!(!found.contains_key("no_such_symbol_here"));
        // The offset is inside the file.
        assert!(off < std::fs::metadata(&libc).unwrap().len());
    }

    #[test]
    fn a_non_elf_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("not-elf");
        std::fs::write(&p, b"#!/bin/sh\necho hi\n").unwrap();
        let e = symbol_offsets(&p, &["main"]).unwrap_err();
        assert!(e.to_string().contains("not a readable ELF file"), "{e}");
    }
}
