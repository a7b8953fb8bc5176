//! Finding functions in an ELF file by symbol name, as the file offsets uprobes attach at.
//!
//! One pass over the dynamic and the full symbol table finds every wanted symbol at once
//! (aya's own lookup parses the file again for each symbol, and a node binary has 200k+
//! symbols). Only the headers, the symbol tables and their string tables are read, each in
//! one piece, never the ~100 MB of code. (Going through `object`'s generic symbol API read
//! every name with its own syscalls: 200-350 ms per node binary, time in which a child
//! node process probed at its exec runs unwatched.)

use std::{collections::HashMap, fs::File, path::Path};

use anyhow::{Context as _, Result, anyhow};
use object::{
    elf,
    read::{
        ReadCache,
        elf::{FileHeader as _, SectionHeader as _, SectionTable, Sym as _},
    },
};

type Header = elf::FileHeader64<object::Endianness>;

/// File offsets of the `wanted` symbols that are defined in the ELF file at `path`.
/// Missing symbols are simply absent from the map.
pub fn symbol_offsets(path: &Path, wanted: &[&str]) -> Result<HashMap<String, u64>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let data = ReadCache::new(file);
    let not_elf =
        |e: object::read::Error| anyhow!("{} is not a readable ELF file: {e}", path.display());
    let header = Header::parse(&data).map_err(not_elf)?;
    let endian = header.endian().map_err(not_elf)?;
    let sections = header.sections(endian, &data).map_err(not_elf)?;
    // Uprobes attach at file offsets; symbols of executables and shared objects give
    // virtual addresses.
    let translate = matches!(header.e_type(endian), elf::ET_DYN | elf::ET_EXEC);
    let mut found = HashMap::new();
    for kind in [elf::SHT_DYNSYM, elf::SHT_SYMTAB] {
        if found.len() == wanted.len() {
            break;
        }
        let Some((_, table)) = sections
            .enumerate()
            .find(|(_, s)| s.sh_type(endian) == kind)
        else {
            continue;
        };
        let read = |what| move |e: object::read::Error| anyhow!("{}: {what}: {e}", path.display());
        let symbols: &[elf::Sym64<object::Endianness>] = table
            .data_as_array(endian, &data)
            .map_err(read("reading the symbol table"))?;
        let strings_at = object::SectionIndex(table.sh_link(endian) as usize);
        let strings = sections
            .section(strings_at)
            .and_then(|s| s.data(endian, &data))
            .map_err(read("reading the symbol names"))?;
        for sym in symbols {
            let index = sym.st_shndx(endian);
            if index == elf::SHN_UNDEF || sym.st_value(endian) == 0 {
                continue;
            }
            let Some(name) = name_at(strings, sym.st_name(endian)) else {
                continue;
            };
            let Some(&name) = wanted.iter().find(|w| w.as_bytes() == name) else {
                continue;
            };
            if found.contains_key(name) {
                continue;
            }
            let value = sym.st_value(endian);
            let offset = match translate {
                true => match file_offset(&sections, endian, index, value) {
                    Some(off) => off,
                    None => continue,
                },
                false => value,
            };
            found.insert(name.to_string(), offset);
        }
    }
    Ok(found)
}

/// The NUL-terminated name at `offset` of a string table.
fn name_at(strings: &[u8], offset: u32) -> Option<&[u8]> {
    let rest = strings.get(offset as usize..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(&rest[..end])
}

/// Where virtual address `value` of section `index` is in the file.
fn file_offset<'a>(
    sections: &SectionTable<'a, Header, &'a ReadCache<File>>,
    endian: object::Endianness,
    index: u16,
    value: u64,
) -> Option<u64> {
    if index >= elf::SHN_LORESERVE {
        return None; // absolute or common: not code in a section
    }
    let section = sections
        .section(object::SectionIndex(index as usize))
        .ok()?;
    let (file_off, _) = section.file_range(endian)?;
    value
        .checked_sub(section.sh_addr(endian))
        .map(|delta| delta + file_off)
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

    /// The same lookup through `object`'s generic symbol API (slow, but independent).
    fn reference_offsets(path: &Path, wanted: &[&str]) -> HashMap<String, u64> {
        use object::{Object as _, ObjectSection as _, ObjectSymbol as _};
        let bytes = std::fs::read(path).unwrap();
        let obj = object::File::parse(&*bytes).unwrap();
        let mut out = HashMap::new();
        for sym in obj.dynamic_symbols().chain(obj.symbols()) {
            let Ok(name) = sym.name() else { continue };
            if sym.is_undefined() || !wanted.contains(&name) || out.contains_key(name) {
                continue;
            }
            let section = obj.section_by_index(sym.section_index().unwrap()).unwrap();
            let off = sym.address() - section.address() + section.file_range().unwrap().0;
            out.insert(name.to_string(), off);
        }
        out
    }

    #[test]
    fn finds_node_runtime_symbols_where_the_generic_elf_reader_does() {
        let node = Path::new("/usr/bin/node");
        let wanted = [
            "_ZN4node6worker6Worker11StartThreadERKN2v820FunctionCallbackInfoINS2_5ValueEEE",
            "_ZN4node4wasi4WASI3NewERKN2v820FunctionCallbackInfoINS2_5ValueEEE",
            "ares_init_options",
            "no_such_symbol_here",
        ];
        let found = symbol_offsets(node, &wanted).unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found, reference_offsets(node, &wanted));
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
